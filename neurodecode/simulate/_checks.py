"""Input checks shared by the simulators."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .._validation import check_finite, check_positive, check_shape


def check_features(features) -> list[np.ndarray]:
    """Return ``features`` as a list of float arrays of shape (n_features, n_times).

    Accepts one 2-D array or a sequence of 2-D arrays with the same ``n_features``.
    """
    if isinstance(features, np.ndarray):
        items = [features]
    elif isinstance(features, (list, tuple)) and len(features) > 0:
        items = list(features)
    else:
        raise TypeError(
            "features must be an array of shape (n_features, n_times) or a non-empty list "
            f"of such arrays, one per stimulus; got {type(features).__name__}."
        )
    out: list[np.ndarray] = []
    for k, item in enumerate(items):
        name = "features" if len(items) == 1 else f"features[{k}]"
        arr = check_shape(name, np.asarray(item, dtype=float), ("n_features", "n_times"))
        if arr.shape[0] < 1 or arr.shape[1] < 2:
            raise ValueError(f"{name} must have at least 1 feature and 2 time samples; "
                             f"got shape {arr.shape}.")
        check_finite(name, arr, ("feature", "sample"))
        if arr.shape[0] != out[0].shape[0] if out else False:
            raise ValueError(f"{name} has {arr.shape[0]} features but features[0] has "
                             f"{out[0].shape[0]}; every stimulus needs the same features.")
        out.append(arr)
    return out


def check_ids(name: str, values: Sequence[str] | None, n_items: int, *,
              default: str | None, unique: bool = True) -> list[str] | None:
    """Check one string per stimulus; fill ``<default>01``, ... when ``values`` is None."""
    if values is None:
        return None if default is None else [f"{default}{k + 1:02d}" for k in range(n_items)]
    values = list(values) if not isinstance(values, str) else [values]
    if len(values) != n_items or not all(isinstance(v, str) for v in values):
        raise ValueError(f"{name} must be a list of {n_items} strings (one per stimulus); "
                         f"got {values!r:.80}.")
    if unique and len(set(values)) != len(values):
        raise ValueError(f"{name} must be unique; got duplicates in {values!r:.80}.")
    return values


def check_snr(snr: float | None, snr_db: float | None, default: float = 0.1) -> float:
    """Return the SNR as a power ratio from ``snr`` (ratio) or ``snr_db`` (decibels)."""
    if snr is not None and snr_db is not None:
        raise ValueError(f"give snr (power ratio) or snr_db (decibels), not both; got "
                         f"snr={snr!r} and snr_db={snr_db!r}.")
    if snr_db is not None:
        if not np.isfinite(snr_db):
            raise ValueError(f"snr_db must be a finite number of decibels; got {snr_db!r}.")
        return float(10.0 ** (snr_db / 10.0))
    if snr is None:
        return default
    return float(check_positive("snr", snr))


__all__ = ["check_features", "check_ids", "check_snr"]
