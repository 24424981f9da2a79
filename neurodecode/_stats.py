"""Statistics shared by the RSA and encoding modules."""

from __future__ import annotations

from typing import Any

import numpy as np


def fdr_correction(p_values: Any, alpha: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """Benjamini-Hochberg false discovery rate correction.

    Parameters
    ----------
    p_values : array of any shape
        Uncorrected p-values, in [0, 1].
    alpha : float
        FDR level.

    Returns
    -------
    reject : array of bool, same shape
        Where the null hypothesis is rejected.
    p_adjusted : array, same shape
        FDR-adjusted p-values (equal to ``mne.stats.fdr_correction``).

    Raises
    ------
    ValueError
        If a p-value is NaN or outside [0, 1] (naming the first and its index).
    """
    p = np.asarray(p_values, dtype=np.float64)
    flat = p.ravel()
    bad = ~((flat >= 0) & (flat <= 1))  # NaN too
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        more = f" and {int(bad.sum()) - 1} more" if bad.sum() > 1 else ""
        raise ValueError(
            f"p_values must lie in [0, 1] with no NaN; got {float(flat[i])!r} at flat index {i}{more}."
        )
    order = np.argsort(flat)
    ranked = flat[order] * flat.size / np.arange(1, flat.size + 1)
    adj = np.minimum.accumulate(ranked[::-1])[::-1].clip(max=1)
    out = np.empty_like(flat)
    out[order] = adj
    return (out <= alpha).reshape(p.shape), out.reshape(p.shape)
