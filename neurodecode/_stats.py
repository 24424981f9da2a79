"""Statistics shared by the RSA, encoding and evaluation modules: FDR correction, the
permutation p-value (with or without the +1 of Phipson & Smyth 2010) and the percentile
interval of a bootstrap distribution."""

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


def p_value_from_counts(count: Any, total: Any, plus_one: bool = True) -> np.ndarray:
    """``(1 + count) / (1 + total)``, or ``count / total`` without the +1 correction.

    Parameters
    ----------
    count : array
        Number of null draws at least as extreme as the observed statistic.
    total : int or array
        Number of null draws (e.g. permutations or valid bootstrap resamples).
    plus_one : bool
        Count the observed statistic among the draws (Phipson & Smyth 2010): the
        p-value is never 0 and the test is exact. ``False``: the plain fraction.

    Returns
    -------
    p_value : array of the broadcast shape of ``count`` and ``total``
        NaN where ``total`` is 0 without the correction.
    """
    extra = 1 if plus_one else 0
    with np.errstate(divide="ignore", invalid="ignore"):
        return (extra + np.asarray(count)) / (extra + np.asarray(total))


def permutation_p_value(null: Any, observed: Any, plus_one: bool = True) -> np.ndarray:
    """One-sided (greater) permutation p-value of each observed statistic.

    Parameters
    ----------
    null : array of shape (n_permutations, ...)
        The statistic under each permutation.
    observed : array of shape (...)
        The observed statistic.
    plus_one : bool
        ``(1 + #{null >= observed}) / (n_permutations + 1)``; False:
        ``#{null >= observed} / n_permutations``.

    Returns
    -------
    p_value : array of shape (...)
    """
    null, observed = np.asarray(null), np.asarray(observed)
    return p_value_from_counts((null >= observed[None]).sum(0), len(null), plus_one)


def percentile_interval(samples: Any, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval of a bootstrap distribution (NaN samples left out).

    Parameters
    ----------
    samples : array of shape (n_bootstraps, ...)
        Bootstrap distribution.
    confidence : float
        Coverage, in (0, 1).

    Returns
    -------
    low, high : arrays of shape (...)
        The ``(1 - confidence) / 2`` and ``(1 + confidence) / 2`` quantiles.

    Raises
    ------
    ValueError
        If ``confidence`` is not in (0, 1).
    """
    check_confidence("confidence", confidence)
    alpha = (1 - confidence) / 2
    low, high = np.nanquantile(np.asarray(samples, dtype=np.float64), [alpha, 1 - alpha], axis=0)
    return low, high


def check_confidence(name: str, value: float) -> float:
    """Return ``value`` if it is in (0, 1), else raise ``ValueError`` naming ``name``."""
    if not 0 < value < 1:
        raise ValueError(f"{name} must be in (0, 1); got {value!r}.")
    return value


__all__ = ["check_confidence", "fdr_correction", "p_value_from_counts", "percentile_interval",
           "permutation_p_value"]
