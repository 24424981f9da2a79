"""Cluster-based permutation test over time courses (Maris & Oostenveld 2007).

For time courses of several observations (subjects, or folds), e.g. encoding or
decoding scores minus chance: a one-sample t statistic per time point; clusters are
runs of adjacent time points beyond a threshold (above it, below minus it, or both);
a cluster's statistic is the sum of its t values; the null distribution of the
largest cluster statistic comes from flipping the sign of whole observations. The
numbers are those of MNE's ``permutation_cluster_1samp_test`` (1-D data, default
t-test, no adjacency, ``t_power=1``) with the same sign flips.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from .._stats import permutation_p_value
from .._validation import check_finite, check_option

TAILS = (-1, 0, 1)


@dataclass
class ClusterResult:
    """Result of :func:`cluster_permutation_test`.

    Parameters
    ----------
    t_obs : array of shape (n_times,)
        One-sample t statistic at each time point.
    clusters : list of slice
        Time points of each cluster (positive clusters first with ``tail=0``).
    cluster_stats : array of shape (n_clusters,)
        Sum of the t values in each cluster.
    pvalues : array of shape (n_clusters,)
        Corrected for the search over time (the null of the largest cluster).
    null : array of shape (n_flips,)
        Largest cluster statistic (signed) of each sign flip, observed data excluded.
    threshold : float
        The cluster-forming threshold on t (negative with ``tail=-1``).
    """

    t_obs: np.ndarray
    clusters: list[slice]
    cluster_stats: np.ndarray
    pvalues: np.ndarray
    null: np.ndarray
    threshold: float


def _t_stat(sums: np.ndarray, sq_sum: np.ndarray, n: int) -> np.ndarray:
    """One-sample t from the sums (..., n_times) of signed data; ``sq_sum`` is invariant."""
    mean = sums / n
    var = (sq_sum - n * mean**2) / (n - 1)
    return mean / np.sqrt(np.clip(var, 0, None) / n)


def _runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Label runs of True along the last axis: (labels (B, T), 0 outside runs), n per row."""
    starts = mask & ~np.pad(mask, ((0, 0), (1, 0)))[:, :-1]
    labels = np.cumsum(starts, axis=1) * mask
    return labels, starts.sum(1)


def _cluster_sums(t: np.ndarray, mask: np.ndarray) -> list[np.ndarray]:
    """Sum of ``t`` over each run of ``mask``, row by row of (B, T) arrays."""
    labels, counts = _runs(mask)
    offsets = np.concatenate([[0], np.cumsum(counts)])
    flat = (labels + offsets[:-1, None])[mask] - 1
    sums = np.bincount(flat, weights=t[mask], minlength=offsets[-1])
    return [sums[a:b] for a, b in zip(offsets[:-1], offsets[1:])]


def _max_cluster(t: np.ndarray, threshold: float, tail: int) -> np.ndarray:
    """Signed cluster statistic of largest magnitude per row of t (B, T); 0 without one."""
    masks = {1: [t > threshold], -1: [t < threshold], 0: [t > threshold, t < -threshold]}
    best = np.zeros(len(t))
    for mask in masks[tail]:
        for row, sums in enumerate(_cluster_sums(t, mask)):
            if len(sums):
                top = sums[np.argmax(np.abs(sums))]
                best[row] = top if abs(top) > abs(best[row]) else best[row]
    return best


def _observed_clusters(t: np.ndarray, threshold: float, tail: int):
    masks = {1: [t > threshold], -1: [t < threshold], 0: [t > threshold, t < -threshold]}
    clusters, sums = [], []
    for mask in masks[tail]:
        labels, _ = _runs(mask[None])
        for k in range(1, labels.max() + 1):
            idx = np.flatnonzero(labels[0] == k)
            clusters.append(slice(int(idx[0]), int(idx[-1]) + 1))
            sums.append(float(t[idx].sum()))
    return clusters, np.asarray(sums)


def _sign_flips(n: int, n_permutations: Any, tail: int, rng: np.random.Generator):
    """All distinct sign flips when they are fewer than ``n_permutations`` (exact), else
    ``n_permutations - 1`` random ones; the identity (observed data) is left out."""
    n_free = n - (tail == 0)  # two-sided: a flip and its negation give the same |stats|
    n_exact = 2**n_free - 1
    if n_permutations == "all" or n_exact < int(n_permutations):
        free = np.array(list(itertools.product([1.0, -1.0], repeat=n_free))[1:])
        return np.hstack([np.ones((len(free), n - n_free)), free])
    return rng.choice([-1.0, 1.0], size=(int(n_permutations) - 1, n))


def cluster_permutation_test(
    X: Any,
    *,
    threshold: float | None = None,
    tail: int = 0,
    n_permutations: int | str = 1024,
    seed: int | None = 0,
    batch: int = 256,
) -> ClusterResult:
    """Cluster-based sign-flip permutation test of time courses against 0.

    Parameters
    ----------
    X : array of shape (n_observations, n_times)
        E.g. one score time course per subject, minus chance.
    threshold : float or None
        Cluster-forming threshold on t; None: the t quantile of p = 0.05 (two-sided
        with ``tail=0``, i.e. 0.025 per side), negative for ``tail=-1``, as MNE.
    tail : {0, 1, -1}
        Two-sided (clusters above ``threshold`` and below ``-threshold``), greater,
        or less.
    n_permutations : int or "all"
        Number of sign flips including the observed data. When all distinct flips
        are fewer (``2 ** (n - 1)`` two-sided, ``2 ** n`` one-sided), they are all
        used (exact test).
    seed : int or None
        Seed of the random flips.
    batch : int
        Flips evaluated together (memory: batch x n_times).

    Returns
    -------
    result : ClusterResult
        p-values ``(1 + #{null at least as extreme}) / (n_flips + 1)``.

    Notes
    -----
    Two-sided and random flips: as MNE. One-sided exact test: all ``2 ** n`` flips
    are used once each; MNE's enumeration counts the unflipped data twice and never
    the fully flipped data, so its p-values differ by at most ``1 / 2 ** n``.
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[0] < 2:
        raise ValueError(
            f"X must have shape (n_observations >= 2, n_times); got {X.shape}."
        )
    check_finite("X", X, ("observation", "time"))
    check_option("tail", tail, TAILS)
    if n_permutations != "all" and int(n_permutations) < 2:
        raise ValueError(f"n_permutations must be >= 2 or 'all'; got {n_permutations!r}.")
    n = X.shape[0]
    if threshold is None:
        threshold = float(stats.t.ppf(1 - 0.05 / (1 + (tail == 0)), n - 1)) * (tail or 1)
    sq_sum = (X**2).sum(0)
    t_obs = _t_stat(X.sum(0), sq_sum, n)
    clusters, cluster_stats = _observed_clusters(t_obs, threshold, tail)
    flips = _sign_flips(n, n_permutations, tail, np.random.default_rng(seed))
    null = np.concatenate([_max_cluster(_t_stat(flips[i:i + batch] @ X, sq_sum, n),
                                        threshold, tail)
                           for i in range(0, len(flips), batch)])
    sign = {1: 1.0, -1: -1.0, 0: None}[tail]
    if sign is None:
        pvalues = permutation_p_value(np.abs(null)[:, None], np.abs(cluster_stats))
    else:
        pvalues = permutation_p_value(sign * null[:, None], sign * cluster_stats)
    return ClusterResult(t_obs, clusters, cluster_stats, pvalues, null, float(threshold))


__all__ = ["TAILS", "cluster_permutation_test", "ClusterResult"]
