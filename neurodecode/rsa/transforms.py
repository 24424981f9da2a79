"""Transforms of condensed RDMs, vectorised over leading axes: ranks, square roots, and
reordering, subsetting and subsampling of conditions (rsatoolbox's ``rank_transform``,
``sqrt_transform``, ``RDMs.reorder``, ``subset_pattern`` and ``subsample_pattern``)."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.stats

from .._validation import check_option
from .rdm import n_conditions_from_pairs

RANK_TIES = ("average", "min", "max", "dense", "ordinal")


def rank_rdms(rdms: Any, ties: str = "average") -> np.ndarray:
    """Ranks of the dissimilarities of each RDM (NaN pairs stay NaN, not ranked).

    Parameters
    ----------
    rdms : array of shape (..., n_pairs)
    ties : {"average", "min", "max", "dense", "ordinal"}
        How ties are ranked (as :func:`scipy.stats.rankdata`).

    Returns
    -------
    ranks : array of shape (..., n_pairs)
    """
    check_option("ties", ties, RANK_TIES)
    x = _as_rdms(rdms)
    ranks = scipy.stats.rankdata(x, method=ties, axis=-1, nan_policy="omit")
    return np.where(np.isnan(x), np.nan, ranks)


def sqrt_rdms(rdms: Any) -> np.ndarray:
    """Square roots of the dissimilarities (e.g. squared Euclidean -> Euclidean).

    Parameters
    ----------
    rdms : array of shape (..., n_pairs)
        Non-negative dissimilarities (NaN allowed).

    Returns
    -------
    rdms : array of shape (..., n_pairs)
    """
    x = _as_rdms(rdms)
    if (x < 0).any():
        raise ValueError(
            f"sqrt_rdms needs non-negative dissimilarities; got {int((x < 0).sum())} "
            f"negative value(s) (min {np.nanmin(x):.3g}). Crossnobis estimates can be "
            "negative: take the square root only of distances that cannot."
        )
    return np.sqrt(x)


def reorder_rdms(rdms: Any, order: Any) -> np.ndarray:
    """RDMs of the conditions in a new order (a permutation of all conditions).

    Parameters
    ----------
    rdms : array of shape (..., n_pairs)
    order : array of shape (n_conditions,)
        ``order[k]`` is the old index of the new k-th condition.

    Returns
    -------
    rdms : array of shape (..., n_pairs)
    """
    x = _as_rdms(rdms)
    n = n_conditions_from_pairs(x.shape[-1], "rdms")
    order = np.asarray(order)
    if order.shape != (n,) or not np.array_equal(np.sort(order), np.arange(n)):
        raise ValueError(
            f"order must be a permutation of the {n} conditions (0..{n - 1}); got "
            f"{order.tolist()[:10]}."
        )
    return x[..., pair_index(n, order)]


def subset_rdms(rdms: Any, conditions: Any) -> np.ndarray:
    """RDMs restricted to some distinct conditions, kept in their original order.

    Parameters
    ----------
    rdms : array of shape (..., n_pairs)
    conditions : array of int or bool of shape (n_conditions,)
        Indices (at least 2, distinct) or a mask of the conditions to keep.

    Returns
    -------
    rdms : array of shape (..., n_kept * (n_kept - 1) / 2)
    """
    x = _as_rdms(rdms)
    n = n_conditions_from_pairs(x.shape[-1], "rdms")
    keep = _indices(conditions, n)
    if len(np.unique(keep)) != len(keep) or len(keep) < 2:
        raise ValueError(
            f"conditions must name at least 2 distinct conditions; got {keep.tolist()[:10]}. "
            "Use subsample_rdms for repeats."
        )
    return x[..., pair_index(n, np.sort(keep))]


def subsample_rdms(rdms: Any, conditions: Any) -> np.ndarray:
    """RDMs of a sample of conditions that may repeat (a bootstrap of conditions).

    As rsatoolbox's ``subsample_pattern``: the conditions are taken in sorted order,
    and the pairs of a condition with its own copy are NaN (left out of comparisons).

    Parameters
    ----------
    rdms : array of shape (..., n_pairs)
    conditions : array of int of shape (n_sampled,)

    Returns
    -------
    rdms : array of shape (..., n_sampled * (n_sampled - 1) / 2)
    """
    x = _as_rdms(rdms)
    n = n_conditions_from_pairs(x.shape[-1], "rdms")
    pick = np.sort(_indices(conditions, n))
    if len(pick) < 2:
        raise ValueError(f"conditions must hold at least 2 entries; got {pick.tolist()}.")
    iu = np.triu_indices(len(pick), 1)
    same = pick[iu[0]] == pick[iu[1]]
    out = x[..., np.where(same, 0, pair_index(n, pick))]
    out[..., same] = np.nan
    return out


def pair_index(n: int, pick: np.ndarray) -> np.ndarray:
    """Indices into condensed RDMs of n conditions giving the RDM of conditions ``pick``
    (in that order; a repeated condition gives index 0 for its self pair)."""
    iu = np.triu_indices(len(pick), 1)
    pi, pj = pick[iu[0]], pick[iu[1]]
    lo, hi = np.minimum(pi, pj), np.maximum(pi, pj)
    return np.where(lo == hi, 0, n * lo - lo * (lo + 1) // 2 + (hi - lo - 1))


def _indices(conditions: Any, n: int) -> np.ndarray:
    idx = np.asarray(conditions)
    if idx.dtype == bool:
        if idx.shape != (n,):
            raise ValueError(f"a condition mask must have shape ({n},); got {idx.shape}.")
        return np.flatnonzero(idx)
    if not np.issubdtype(idx.dtype, np.integer) or idx.ndim != 1:
        raise ValueError(f"conditions must be a 1-D array of indices; got {idx.dtype} {idx.shape}.")
    if idx.size and (idx.min() < 0 or idx.max() >= n):
        raise ValueError(f"conditions must lie in [0, {n}); got {idx.min()}..{idx.max()}.")
    return idx


def _as_rdms(rdms: Any) -> np.ndarray:
    x = np.asarray(rdms, dtype=np.float64)
    n_conditions_from_pairs(x.shape[-1] if x.ndim else 0, "rdms")
    return x


__all__ = ["rank_rdms", "reorder_rdms", "sqrt_rdms", "subsample_rdms", "subset_rdms"]
