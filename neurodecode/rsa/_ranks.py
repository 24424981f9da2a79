"""Ranks of RDM vectors: centred average ranks (Spearman, rho-a), dense ranks and
Kendall's tau-a and tau-b in O(n log n) per pair, shared between threads."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.stats

from .. import _backend as B


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



def _tau_b(a: np.ndarray, b: np.ndarray, n_jobs: int) -> np.ndarray:
    """Kendall tau-b (as :func:`scipy.stats.kendalltau`) of every row of ``a`` with every
    row of ``b``: tau-a rescaled by the pairs untied in each RDM; NaN for a constant RDM."""
    n_all = a.shape[-1] * (a.shape[-1] - 1) / 2
    tau_a = _tau_a(a, b, n_jobs)
    ties_a, ties_b = _dense_ranks(a)[1], _dense_ranks(b)[1]
    with np.errstate(divide="ignore", invalid="ignore"):
        tau = tau_a * n_all / np.sqrt(np.outer(n_all - ties_a, n_all - ties_b))
    return np.clip(tau, -1.0, 1.0)


__all__: list[str] = []  # private helpers only
