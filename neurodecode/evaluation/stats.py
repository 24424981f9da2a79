"""Chance levels, bootstrap confidence intervals and a binomial test for accuracies.

:func:`bootstrap_ci` is the generic percentile bootstrap of a statistic of values; the
RSA bootstrap of model-RDM similarities is :func:`neurodecode.rsa.bootstrap_ci_rdms`.
Both take their interval from :func:`neurodecode._stats.percentile_interval`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.stats import binomtest

from .._stats import check_confidence, percentile_interval


def chance_level(k: int, n_candidates: int) -> float:
    """Top-``k`` accuracy of a random ranking of ``n_candidates``: ``min(k, n) / n``.

    Parameters
    ----------
    k : int
        The rank that counts as correct.
    n_candidates : int
        The size of the ranked pool.

    Returns
    -------
    chance : float
        The top-``k`` accuracy of chance.
    """
    if k < 1 or n_candidates < 1:
        raise ValueError(f"k and n_candidates must be >= 1; got k={k}, n_candidates={n_candidates}.")
    return min(k, n_candidates) / n_candidates


def bootstrap_ci(values, *, n_bootstraps: int = 1000, confidence: float = 0.95, seed: int = 0,
                 statistic: Callable[[np.ndarray], float] = np.mean,
                 groups=None) -> tuple[float, float]:
    """Percentile bootstrap confidence interval of ``statistic(values)``.

    Parameters
    ----------
    values : array of shape (n,)
        Per-query scores (e.g. 1 if the true segment is in the top 10, else 0).
    n_bootstraps : int
        Number of resamples.
    confidence : float
        Coverage, in (0, 1).
    seed : int
        Seed of the resampling.
    statistic : callable
        Applied to each resample.
    groups : array of shape (n,) or None
        Resample whole groups (e.g. subjects or stories) instead of single values,
        when values within a group are not independent.

    Returns
    -------
    low, high : float
    """
    values = np.asarray(values, dtype=float)
    if values.ndim != 1 or len(values) == 0:
        raise ValueError(f"values must be a non-empty 1-D array; got shape {values.shape}.")
    check_confidence("confidence", confidence)
    if n_bootstraps < 1:
        raise ValueError(f"n_bootstraps must be >= 1; got {n_bootstraps}.")
    rng = np.random.default_rng(seed)
    if groups is None:
        stats = [statistic(values[rng.integers(0, len(values), len(values))])
                 for _ in range(n_bootstraps)]
    else:
        groups = np.asarray(groups)
        if groups.shape != values.shape:
            raise ValueError(f"groups must have shape {values.shape}; got {groups.shape}.")
        members = [np.flatnonzero(groups == g) for g in np.unique(groups)]
        stats = [statistic(values[np.concatenate([members[i] for i in rng.integers(
            0, len(members), len(members))])]) for _ in range(n_bootstraps)]
    low, high = percentile_interval(stats, confidence)
    return float(low), float(high)


def binomial_p_value(n_correct: int, n_queries: int, chance: float) -> float:
    """One-sided p-value that an accuracy ``n_correct / n_queries`` exceeds ``chance``.

    Assumes independent queries (use ``bootstrap_ci`` with ``groups`` otherwise).

    Parameters
    ----------
    n_correct : int
        Correct queries.
    n_queries : int
        All queries.
    chance : float
        Accuracy of chance (:func:`chance_level`).

    Returns
    -------
    p_value : float
        ``P(X >= n_correct)`` for ``X ~ Binomial(n_queries, chance)``.
    """
    return float(binomtest(int(n_correct), int(n_queries), chance, alternative="greater").pvalue)


__all__ = ["binomial_p_value", "bootstrap_ci", "chance_level"]
