"""Cross-validated temporal receptive fields of condition impulses (M/EEG encoding).

``fit_trf_cv`` fits a :class:`~neurodecode.encoding.TemporalReceptiveField` on contiguous
chunks of a design (e.g. :func:`neurodecode.io.condition_impulses`) and scores each
held-out chunk, and ``resample_channels`` brings a recording to the analysis rate.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def _chunks(n_times: int, n_folds: int) -> tuple[np.ndarray, list[slice]]:
    bounds = np.linspace(0, n_times, n_folds + 1).astype(int)
    return bounds, [slice(a, b) for a, b in zip(bounds[:-1], bounds[1:])]


def fit_trf_cv(X: np.ndarray, Y: np.ndarray, *, sfreq: float, tmin: float, tmax: float,
               alphas: Sequence[float], n_folds: int = 5, n_permutations: int = 0,
               seed: int = 0, progress: bool = False) -> dict:
    """Cross-validated TRF: fit on all but one contiguous chunk, predict it, score r.

    Parameters
    ----------
    X : array of shape (n_times, n_features)
        Stimulus (condition impulses).
    Y : array of shape (n_times, n_channels)
        Response, z-scored per channel.
    sfreq : float
        Sampling rate in Hz.
    tmin, tmax : float
        Lags in seconds.
    alphas : sequence of float
        Ridge penalties, chosen by CV over the training chunks.
    n_folds : int
        Contiguous chunks (at least 3: alpha is chosen by CV over the training chunks).
    n_permutations : int
        Circular shifts of the held-out predictions for p-values (0: none).
    seed : int
        Seed of the permutations.
    progress : bool
        Show a progress bar over the folds.

    Returns
    -------
    result : dict
        ``r`` (n_channels,), ``kernels`` (n_channels, n_features, n_delays) of the TRF
        fitted on all chunks, ``lags`` (n_delays,) in seconds, ``significant`` (bool,
        n_channels) or None.

    Raises
    ------
    ValueError
        If ``n_folds`` is below 3.
    """
    from tqdm import tqdm

    from .scoring import permutation_test, score_targets
    from .trf import TemporalReceptiveField

    if n_folds < 3:
        raise ValueError(f"n_folds={n_folds}: the M/EEG encoding needs at least 3 "
                         "contiguous chunks (outer and inner cross-validation).")
    bounds, chunks = _chunks(len(X), n_folds)
    pred = np.zeros_like(Y)

    def trf():
        return TemporalReceptiveField(tmin, tmax, sfreq, alphas=list(alphas), cv=n_folds - 1)

    for k, test in enumerate(tqdm(chunks, desc="encoding CV (TRF folds)", disable=not progress)):
        train = [c for j, c in enumerate(chunks) if j != k]
        model = trf().fit([X[c] for c in train], [Y[c] for c in train])
        pred[test] = model.predict(X[test])
    r = score_targets(Y, pred, "r")
    significant = None
    if n_permutations > 0:
        groups = np.repeat(np.arange(n_folds), np.diff(bounds))
        significant = permutation_test(Y, pred, metric="r", n_permutations=n_permutations,
                                       groups=groups, method="shift",
                                       seed=seed)["significant"]
    full = trf().fit([X[c] for c in chunks], [Y[c] for c in chunks])
    return {"r": r, "kernels": full.coef_, "lags": full.delays_ / sfreq,
            "significant": significant}


def resample_channels(data: np.ndarray, sfreq: float, target: float | None) -> tuple[np.ndarray, float]:
    """``data`` resampled (polyphase) from ``sfreq`` to about ``target`` Hz.

    Parameters
    ----------
    data : array of shape (n_channels, n_times)
        Channels-first signals.
    sfreq : float
        Their rate in Hz.
    target : float or None
        The rate wanted (None: unchanged); the ratio is a fraction of denominator <= 1000.

    Returns
    -------
    resampled : array of shape (n_channels, n_times_out)
        The signals at the new rate.
    sfreq_out : float
        The rate obtained.
    """
    from scipy.signal import resample_poly

    from ..align.resample import resample_ratio

    data = np.asarray(data, np.float64)
    if target is None or np.isclose(target, sfreq):
        return data, sfreq
    up, down = resample_ratio(sfreq, float(target))
    return resample_poly(data, up, down, axis=1), sfreq * up / down


__all__ = ["fit_trf_cv", "resample_channels"]
