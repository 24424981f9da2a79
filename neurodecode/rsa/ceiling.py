"""Noise ceilings: how well the best possible model could match a group of subject RDMs."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.stats

from .._validation import check_option
from .compare import METHODS, _whiten, compare_rdms_paired


def pool_rdms(rdms: Any, method: str = "spearman") -> np.ndarray:
    """Average RDMs into the one that best fits them all under ``method``.

    The same pooling as rsatoolbox's ``pool_rdm``: z-scored RDMs for ``"pearson"``,
    RDMs of unit root-mean-square for ``"cosine"``, mean ranks for ``"spearman"`` and
    ``"kendall_tau_a"``, unit whitened norm for the whitened methods.

    Parameters
    ----------
    rdms : array of shape (n_rdms, ..., n_pairs)
        Condensed RDMs to pool over the first axis.
    method : str
        The comparison method the pooled RDM is meant for (one of ``METHODS``).

    Returns
    -------
    pooled : array of shape (..., n_pairs)
        NaN where any input RDM is NaN.
    """
    check_option("method", method, METHODS)
    x = np.asarray(rdms, dtype=np.float64)
    if method == "pearson":
        x = x - np.nanmean(x, -1, keepdims=True)
        x = x / np.nanstd(x, -1, keepdims=True)
    elif method == "cosine":
        x = x / np.sqrt(np.nanmean(x**2, -1, keepdims=True))
    elif method in ("spearman", "kendall_tau_a"):
        x = _nan_ranks(x)
    else:
        x = _whitened_unit(x, centre=method == "whitened_pearson")
    return x.mean(0)


def _nan_ranks(x: np.ndarray) -> np.ndarray:
    ranks = scipy.stats.rankdata(x, axis=-1, nan_policy="omit")
    return np.where(np.isnan(x), np.nan, ranks)


def _whitened_unit(x: np.ndarray, centre: bool) -> np.ndarray:
    keep = ~np.isnan(x.reshape(-1, x.shape[-1])).any(0)
    if centre:
        x = x - np.nanmean(x, -1, keepdims=True)
    flat = x.reshape(-1, x.shape[-1])[:, keep]
    norms = np.linalg.norm(_whiten(flat, keep), axis=-1)
    return x / norms.reshape(x.shape[:-1] + (1,))


def noise_ceiling(
    subject_rdms: Any, method: str = "spearman"
) -> tuple[np.ndarray | float, np.ndarray | float]:
    """Lower and upper bounds of the noise ceiling of a group of subject RDMs.

    Parameters
    ----------
    subject_rdms : array of shape (n_subjects, ..., n_pairs)
        One condensed RDM per subject (leading axes such as time are kept).
    method : str
        Comparison method, one of ``METHODS``.

    Returns
    -------
    lower : float or array of shape (...)
        Mean similarity of each subject's RDM with the pooled RDM of the other
        subjects (leave one subject out).
    upper : float or array of shape (...)
        Mean similarity of each subject's RDM with the pooled RDM of all subjects.
        Equal to rsatoolbox's ``boot_noise_ceiling``.
    """
    check_option("method", method, METHODS)
    x = np.asarray(subject_rdms, dtype=np.float64)
    if x.ndim < 2 or x.shape[0] < 2:
        raise ValueError(
            f"subject_rdms must have shape (n_subjects >= 2, ..., n_pairs); got {x.shape}."
        )
    pooled_all = pool_rdms(x, method)
    upper = np.mean([compare_rdms_paired(s, pooled_all, method) for s in x], axis=0)
    lower = np.mean(
        [
            compare_rdms_paired(x[s], pool_rdms(np.delete(x, s, axis=0), method), method)
            for s in range(x.shape[0])
        ],
        axis=0,
    )
    if np.ndim(lower) == 0:
        return float(lower), float(upper)
    return lower, upper
