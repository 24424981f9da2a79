"""Comparison of RDMs: one small function per method, vectorised over leading axes.

Every method takes data RDMs of shape (n_a, n_pairs) and model RDMs of shape
(n_b, n_pairs), NaN-free (the pairs where any input is NaN are removed first by
:func:`compare_rdms`), and returns similarities of shape (n_a, n_b).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.stats

from .._validation import check_option
from . import _backend as B
from .rdm import n_conditions_from_pairs

METHODS = (
    "pearson",
    "spearman",
    "kendall_tau_a",
    "cosine",
    "whitened_pearson",
    "whitened_cosine",
)


def compare_rdms(
    rdm_a: Any,
    rdm_b: Any,
    method: str = "spearman",
    *,
    backend: str = "numpy",
    device: str | None = None,
    dtype: str | None = None,
    n_jobs: int = -1,
) -> np.ndarray:
    """Compare data RDMs with model RDMs.

    Parameters
    ----------
    rdm_a : array of shape (..., n_pairs)
        Condensed data RDMs (any leading axes: time, subjects, centres).
    rdm_b : array of shape (n_models, n_pairs) or (n_pairs,)
        Condensed model RDMs.
    method : str
        ``"pearson"``, ``"spearman"`` (Pearson on ranks, ties averaged),
        ``"kendall_tau_a"``, ``"cosine"``, ``"whitened_pearson"`` and
        ``"whitened_cosine"`` (rsatoolbox's ``corr_cov`` and ``cosine_cov`` with an
        identity pattern covariance).
    backend, device, dtype
        Array library, torch device and precision for the matrix products (see
        :func:`neurodecode.rsa.compute_rdm`).
    n_jobs : int
        Threads for the ranks of ``"spearman"`` and ``"kendall_tau_a"``; -1: every core.

    Returns
    -------
    similarity : array of shape (..., n_models) or (...)
        The last axis is absent when ``rdm_b`` is one RDM of shape (n_pairs,).
        Pairs that are NaN in any RDM of ``rdm_a`` or ``rdm_b`` are excluded from
        every comparison of the call, so all values use the same pairs; an RDM of
        ``rdm_a`` that is entirely NaN gives NaN.
    """
    check_option("method", method, METHODS)
    B.check_backend(backend, device)
    a_all = np.asarray(B.to_numpy(rdm_a), dtype=np.float64)
    empty: np.ndarray = np.zeros(a_all.shape[:-1], bool)
    nan_rows: np.ndarray | None = None
    if a_all.ndim > 1:
        nan_rows = np.asarray(np.isnan(a_all).any(-1))
        if nan_rows.any():
            empty[nan_rows] = np.isnan(a_all[nan_rows]).all(-1)
    if empty.all():  # nothing to compare: NaN of the documented shape
        b_shape = np.shape(B.to_numpy(rdm_b))
        return np.full(empty.shape + b_shape[:-1], np.nan)
    if empty.any():  # RDMs that are all NaN (e.g. a one-voxel searchlight) give NaN
        sim_ok = compare_rdms(a_all[~empty], rdm_b, method, backend=backend, device=device,
                              dtype=dtype, n_jobs=n_jobs)
        out = np.full(empty.shape + sim_ok.shape[1:], np.nan)
        out[~empty] = sim_ok
        return out
    if backend == "numpy":
        with B.single_threaded_blas():
            return _compare(a_all, rdm_b, method, backend, device, dtype, n_jobs, nan_rows)
    return _compare(a_all, rdm_b, method, backend, device, dtype, n_jobs, nan_rows)


def _compare(
    a_all: np.ndarray, rdm_b: Any, method: str, backend: str, device: Any, dtype: Any,
    n_jobs: int, nan_rows: np.ndarray | None = None,
) -> np.ndarray:
    a, b, lead, single, keep = _prepare(a_all, rdm_b, nan_rows)
    if method in ("pearson", "spearman", "whitened_pearson"):  # centred: undefined
        _warn_constant_rdms(a, b)
    dt = B.resolve_dtype(a_all, dtype)
    if method == "kendall_tau_a":
        sim = _tau_a(a, b, n_jobs)
    else:
        if method == "spearman" and backend == "numpy":
            sim = _spearman_numpy(a, b, dt, n_jobs)
            return sim.reshape(lead + (b.shape[0],))[..., 0] if single else sim.reshape(
                lead + (b.shape[0],))
        if method == "spearman":
            a_t, b_t = _parallel_ranks(a, n_jobs), _ranks(b)
        else:
            a_t, b_t = _TRANSFORMS[method](a, keep), _TRANSFORMS[method](b, keep)
        sim = _cosine(B.to_backend(a_t, backend, device, dt), B.to_backend(b_t, backend, device, dt))
        sim = B.to_numpy(sim)
    sim = sim.reshape(lead + (b.shape[0],))
    return sim[..., 0] if single else sim


def _warn_constant_rdms(a: np.ndarray, b: np.ndarray) -> None:
    """Warn when RDMs are constant over the compared pairs: correlations are undefined."""
    const_a, const_b = (a == a[:, :1]).all(1), (b == b[:, :1]).all(1)
    if const_a.any() or const_b.any():
        warnings.warn(
            f"{int(const_a.sum())} data RDM(s) and {int(const_b.sum())} model RDM(s) are "
            "constant over the compared pairs: their correlations are undefined (NaN).",
            UserWarning,
            stacklevel=4,
        )


def _prepare(
    rdm_a: Any, rdm_b: Any, nan_rows: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, tuple, bool, np.ndarray]:
    """Flatten and check the RDMs; ``nan_rows``: which RDMs of ``rdm_a`` hold a NaN,
    when the caller knows already."""
    a = np.asarray(B.to_numpy(rdm_a), dtype=np.float64)
    b = np.asarray(B.to_numpy(rdm_b), dtype=np.float64)
    if a.ndim < 1 or b.ndim not in (1, 2):
        raise ValueError(
            f"rdm_a must have shape (..., n_pairs) and rdm_b (n_models, n_pairs) or "
            f"(n_pairs,); got {a.shape} and {b.shape}."
        )
    n_conditions_from_pairs(a.shape[-1], "rdm_a")
    n_conditions_from_pairs(b.shape[-1], "rdm_b")
    if a.shape[-1] != b.shape[-1]:
        raise ValueError(
            f"rdm_a and rdm_b must have the same number of pairs (last axis); got "
            f"{a.shape[-1]} and {b.shape[-1]}."
        )
    single = b.ndim == 1
    lead = a.shape[:-1]
    a, b = a.reshape(-1, a.shape[-1]), b.reshape(-1, b.shape[-1])
    keep = np.asarray(~np.isnan(b).any(0))
    rows = np.isnan(a).any(-1) if nan_rows is None else nan_rows.reshape(-1)
    if rows.any():
        keep = np.asarray(keep & ~np.isnan(a[rows]).any(0))
    if keep.sum() < 2:
        raise ValueError(
            f"rdm_a and rdm_b have fewer than 2 pairs that are not NaN ({int(keep.sum())} "
            f"of {keep.size}); nothing to compare."
        )
    if not keep.all():
        return a[:, keep], b[:, keep], lead, single, keep
    return a, b, lead, single, keep


def _cosine(a: Any, b: Any) -> Any:
    """Cosine similarity of every row of ``a`` with every row of ``b``."""
    na = B.sqrt((a * a).sum(-1))[:, None]
    nb = B.sqrt((b * b).sum(-1))[None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        return (a @ B.swap(b)) / na / nb


def _center(x: np.ndarray, keep: Any = None) -> np.ndarray:
    """Rows minus their mean; a constant row becomes exactly zero (its correlation NaN)."""
    return (x - x.mean(-1, keepdims=True)) * ~(x == x[..., :1]).all(-1, keepdims=True)


def _ranks(x: np.ndarray, keep: Any = None) -> np.ndarray:
    """Centred ranks along the last axis (ties get their average rank, as rankdata)."""
    x = np.asarray(x, dtype=np.float64)
    out = np.empty(x.shape)  # C-contiguous, as _ranks_into needs
    for start in range(0, x.shape[0], _RANK_ROWS):
        _ranks_into(x[start : start + _RANK_ROWS], out[start : start + _RANK_ROWS])
    return out


def _parallel_ranks(x: np.ndarray, n_jobs: int) -> np.ndarray:
    """:func:`_ranks` of the rows of a 2-D array, blocks of rows shared between threads."""
    out = np.empty(x.shape)
    B.parallel_map(
        lambda i: _ranks_into(x[i : i + _RANK_ROWS], out[i : i + _RANK_ROWS]),
        list(range(0, x.shape[0], _RANK_ROWS)),
        n_jobs,
    )
    return out


def _spearman_numpy(a: np.ndarray, b: np.ndarray, dt: str, n_jobs: int) -> np.ndarray:
    """Spearman correlations of the rows of ``a`` with those of ``b``, block by block.

    The ranks of each block of rows of ``a`` go to a small buffer and straight into the
    correlations: the ranks of all of ``a`` (as large as ``a``) are never stored.
    """
    b_t = _parallel_ranks(b, n_jobs).astype(dt, copy=False)
    nb = np.sqrt(np.einsum("ij,ij->i", b_t, b_t))
    out = np.empty((a.shape[0], b.shape[0]))

    def block(rows_slice: slice) -> None:
        rows = a[rows_slice]
        ranks = np.empty(rows.shape)
        _ranks_into(rows, ranks)
        ranks_t = ranks.astype(dt, copy=False)
        na = np.sqrt(np.einsum("ij,ij->i", ranks_t, ranks_t))
        with np.errstate(divide="ignore", invalid="ignore"):
            out[rows_slice] = (ranks_t @ b_t.T) / na[:, None] / nb[None, :]

    B.parallel_map(block, _balanced_blocks(a.shape[0], n_jobs), n_jobs)
    return out


def _balanced_blocks(n_rows: int, n_jobs: int) -> list:
    """Slices of at most about ``_RANK_ROWS`` rows, as many for every thread."""
    workers = B.n_workers(n_jobs)
    n_blocks = workers * max(1, -(-n_rows // (workers * _RANK_ROWS)))
    edges = np.linspace(0, n_rows, min(n_blocks, max(1, n_rows)) + 1).astype(int)
    return [slice(lo, hi) for lo, hi in zip(edges[:-1], edges[1:]) if hi > lo]


_RANK_ROWS = 64  # rows ranked at once by one thread


def _ranks_into(x: np.ndarray, out: np.ndarray) -> None:
    """Write the centred ranks of the rows of ``x`` (2-D, NaN-free) into C-contiguous ``out``.

    Ties get their average rank, as :func:`scipy.stats.rankdata`. A compiled counting
    sort (:func:`neurodecode.rsa._kernels.centred_ranks`) ranks most rows; rows it
    leaves (heavy tails, infinities, constant) are ranked by ``rankdata``.
    """
    from ._kernels import centred_ranks

    x = np.ascontiguousarray(x, dtype=np.float64)
    done = np.empty(x.shape[0], dtype=np.bool_)
    centred_ranks(x, out, done)
    if not done.all():
        out[~done] = scipy.stats.rankdata(x[~done], axis=-1) - (x.shape[1] + 1) / 2.0


def _whiten(x: np.ndarray, keep: np.ndarray | None = None) -> np.ndarray:
    """Double-centred second-moment matrices of the RDMs, stretched out (linear CKA).

    Equal to rsatoolbox's ``_cov_weighting`` without a pattern covariance: the cosine
    of these vectors is its ``cosine_cov``; on centred RDMs, its ``corr_cov``. ``x``
    holds the pairs where ``keep`` is True (all pairs when ``keep`` is None); with
    excluded pairs the centring is the least-squares projection rsatoolbox uses.
    """
    if keep is None or keep.all():
        return _whiten_full(x)
    return _whiten_missing(x, keep)


def _whiten_missing(x: np.ndarray, keep: np.ndarray) -> np.ndarray:
    n = n_conditions_from_pairs(keep.size)
    iu = np.triu_indices(n, 1)
    n_kept = x.shape[-1]
    rows = np.arange(n_kept)
    sum_i = np.zeros((n_kept + n, n))
    sum_i[rows, iu[0][keep]] = 1.0
    sum_i[rows, iu[1][keep]] += 1.0
    sum_i[n_kept:] = np.eye(n)
    weight = np.concatenate([np.full(n_kept, 0.5), np.ones(n)])[:, None] * sum_i
    vec = -0.5 * np.concatenate([x, np.zeros((x.shape[0], n))], -1)
    vec = vec - (vec @ sum_i) @ np.linalg.inv(sum_i.T @ weight) @ weight.T
    vec[:, :n_kept] *= np.sqrt(2)
    return vec


def _whiten_full(x: np.ndarray) -> np.ndarray:
    n = n_conditions_from_pairs(x.shape[-1])
    iu = np.triu_indices(n, 1)
    g = np.zeros((x.shape[0], n, n))
    g[:, iu[0], iu[1]] = -0.5 * x
    g[:, iu[1], iu[0]] = -0.5 * x
    row = g.mean(-1, keepdims=True)
    g = g - row - np.swapaxes(row, -1, -2) + row.mean(-2, keepdims=True)
    return np.concatenate([np.sqrt(2) * g[:, iu[0], iu[1]], np.diagonal(g, 0, 1, 2)], -1)


def _identity(x: np.ndarray, keep: Any = None) -> np.ndarray:
    return x


def _whiten_centered(x: np.ndarray, keep: np.ndarray | None = None) -> np.ndarray:
    return _whiten(_center(x), keep)


_TRANSFORMS: dict[str, Callable[[np.ndarray, np.ndarray | None], np.ndarray]] = {
    "pearson": _center,
    "spearman": _ranks,
    "cosine": _identity,
    "whitened_cosine": _whiten,
    "whitened_pearson": _whiten_centered,
}


# ----------------------------------------------------------------------- Kendall tau-a
def _dense_ranks(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Dense ranks (1, 2, ...; ties share a rank) along the last axis of a 2-D array,
    as int32, and the number of tied pairs in each row (compiled counting sort; the rows
    it leaves go to :func:`_dense_ranks_by_argsort`)."""
    from ._kernels import dense_ranks

    x = np.ascontiguousarray(x, dtype=np.float64)
    ranks = np.empty(x.shape, dtype=np.int32)
    ties = np.empty(x.shape[0], dtype=np.int64)
    done = np.empty(x.shape[0], dtype=np.bool_)
    dense_ranks(x, ranks, ties, done)
    if not done.all():
        ranks[~done], ties[~done] = _dense_ranks_by_argsort(x[~done])
    return ranks, ties


def _dense_ranks_by_argsort(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_dense_ranks` for any rows (infinities, heavy tails), by one argsort."""
    order = np.argsort(x, axis=-1)
    srt = np.take_along_axis(x, order, -1)
    step = np.ones(x.shape, bool)
    np.not_equal(srt[:, 1:], srt[:, :-1], out=step[:, 1:])
    ranks = np.empty(x.shape, dtype=np.int32)
    np.put_along_axis(ranks, order, np.cumsum(step, -1, dtype=np.int32), -1)
    ties = np.zeros(x.shape[0], dtype=np.int64)
    for i in np.flatnonzero(~step.all(-1)):
        cnt = np.bincount(ranks[i])
        ties[i] = (cnt * (cnt - 1) // 2).sum()
    return ranks, ties


def _tau_a(a: np.ndarray, b: np.ndarray, n_jobs: int) -> np.ndarray:
    """Kendall tau-a of every row of ``a`` with every row of ``b``: O(n log n) per pair.

    The dense ranks of ``b`` are computed once; the work is shared between threads by
    blocks of rows of ``a`` and, when ``a`` has fewer rows than threads, of ``b``.
    """
    from ._kernels import tau_a_rows

    workers = B.n_workers(n_jobs)
    b_parts = B.parallel_map(_dense_ranks, np.array_split(b, min(workers, len(b))), n_jobs)
    b_dense = np.concatenate([p[0] for p in b_parts])
    b_ties = np.concatenate([p[1] for p in b_parts])
    out = np.empty((a.shape[0], b.shape[0]))
    row_edges = np.linspace(0, len(a), min(workers, len(a)) + 1).astype(int)
    model_edges = np.linspace(0, len(b), min(len(b), -(-workers // len(a))) + 1).astype(int)

    def work(item: tuple) -> None:
        rows, (m0, m1) = item
        for i in range(*rows):
            order = np.argsort(a[i], kind="stable")
            tau_a_rows(a[i][order], order, b_dense[m0:m1], b_ties[m0:m1], out[i, m0:m1])

    items = [(r, m) for r in zip(row_edges[:-1], row_edges[1:])
             for m in zip(model_edges[:-1], model_edges[1:])]
    B.parallel_map(work, items, n_jobs)
    return out


def compare_rdms_paired(
    rdm_a: Any, rdm_b: Any, method: str = "spearman", *, n_jobs: int = -1
) -> np.ndarray:
    """Compare RDMs element by element: ``rdm_a[k]`` with ``rdm_b[k]``.

    Parameters
    ----------
    rdm_a, rdm_b : arrays of shape (..., n_pairs)
        Condensed RDMs of the same shape (or broadcastable leading axes).
    method : str
        One of :data:`METHODS`.
    n_jobs : int
        Threads for ``"kendall_tau_a"``.

    Returns
    -------
    similarity : array of shape (...)
        Pairs NaN in any input are excluded from every comparison.
    """
    check_option("method", method, METHODS)
    a, b = np.broadcast_arrays(
        np.asarray(B.to_numpy(rdm_a), float), np.asarray(B.to_numpy(rdm_b), float)
    )
    lead = a.shape[:-1]
    a2, b2, _, _, keep = _prepare(a.reshape(-1, a.shape[-1]), b.reshape(-1, b.shape[-1]))
    if method == "kendall_tau_a":
        sim = np.array([_tau_a(x[None], y[None], n_jobs)[0, 0] for x, y in zip(a2, b2)])
    else:
        ta, tb = _TRANSFORMS[method](a2, keep), _TRANSFORMS[method](b2, keep)
        with np.errstate(divide="ignore", invalid="ignore"):
            sim = (ta * tb).sum(-1) / np.sqrt((ta * ta).sum(-1) * (tb * tb).sum(-1))
    return sim.reshape(lead)
