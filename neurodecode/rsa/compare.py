"""Comparison of RDMs by the methods of the registry :data:`neurodecode.rsa.methods.METHODS`,
vectorised over leading axes.

A NaN pair (an undefined dissimilarity) is left out of the comparisons of the RDM that
holds it, and of no other: each pair of RDMs is compared on the pairs defined in both
(rsatoolbox's rule, which asks all RDMs of a call to share their NaN pairs). So the
similarity of an RDM does not depend on which other RDMs are compared in the same
call (searchlight centres of one chunk, windows of one time course).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from .. import _backend as B
from ._ranks import _RANK_ROWS, _ranks  # noqa: F401  (_ranks: kept importable here)
from .methods import METHODS, Method, get_method, ranks, whiten  # noqa: F401
from .rdm import n_conditions_from_pairs

_whiten = whiten  # the name other modules and tests import


def compare_rdms(
    rdm_a: Any,
    rdm_b: Any,
    method: str = "spearman",
    *,
    backend: str | None = None,
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
        A name of :data:`METHODS`: ``"pearson"``, ``"spearman"`` (Pearson on ranks,
        ties averaged), ``"rho_a"``, ``"kendall_tau_a"``, ``"kendall_tau_b"``,
        ``"cosine"``, ``"whitened_pearson"`` and ``"whitened_cosine"`` (rsatoolbox's
        ``corr_cov`` and ``cosine_cov`` with an identity pattern covariance) and
        ``"bures"``.
    backend, device, dtype
        Array library, torch device and precision for the matrix products (see
        :func:`neurodecode.rsa.compute_rdm`).
    n_jobs : int
        Threads for the transforms and ranks; -1: every core.

    Returns
    -------
    similarity : array of shape (..., n_models) or (...)
        The last axis is absent when ``rdm_b`` is one RDM of shape (n_pairs,). Each
        data RDM is compared with each model on the pairs that are defined (not NaN)
        in both; NaN where fewer than 2 such pairs remain (an RDM of ``rdm_a`` that is
        entirely NaN, e.g. a one-voxel searchlight).

    Examples
    --------
    >>> import numpy as np
    >>> from neurodecode.rsa import compare_rdms, compute_rdm
    >>> rdm = compute_rdm(np.random.default_rng(0).standard_normal((4, 10)), "euclidean")
    >>> float(np.ravel(compare_rdms(rdm, rdm, "spearman"))[0])
    1.0
    """
    rec = get_method(method)
    backend = B.check_backend(backend, device)
    a, b, lead, single = _prepare(rdm_a, rdm_b)
    ctx = (backend, device, B.resolve_dtype(dtype, B.to_numpy(rdm_a)), n_jobs)
    with B.single_threaded_blas() if backend == "numpy" else _nothing():
        sim = _compare_groups(rec, method, a, b, ctx, strict=len(lead) == 0)
    sim = sim.reshape(lead + (b.shape[0],))
    return sim[..., 0] if single else sim


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: Any) -> None:
        return None


def _prepare(rdm_a: Any, rdm_b: Any) -> tuple[np.ndarray, np.ndarray, tuple, bool]:
    """Check the RDMs and flatten them to (n_a, n_pairs) and (n_b, n_pairs)."""
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
        n_a, n_b = n_conditions_from_pairs(a.shape[-1]), n_conditions_from_pairs(b.shape[-1])
        raise ValueError(
            f"rdm_a and rdm_b must have the same number of pairs (last axis); got "
            f"{a.shape[-1]} pairs ({n_a} conditions) and {b.shape[-1]} ({n_b} conditions): "
            f"the model RDM has {'fewer' if n_b < n_a else 'more'} conditions than the data."
        )
    return a.reshape(-1, a.shape[-1]), b.reshape(-1, b.shape[-1]), a.shape[:-1], b.ndim == 1


def _nan_groups(x: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Rows of ``x`` grouped by their NaN pattern: [(row indices, NaN mask)]."""
    nan = np.isnan(x)
    has = nan.any(-1)
    groups = []
    if not has.all():
        groups.append((np.flatnonzero(~has), np.zeros(x.shape[-1], bool)))
    if has.any():
        rows = np.flatnonzero(has)
        masks, inverse = np.unique(nan[rows], axis=0, return_inverse=True)
        groups += [(rows[inverse.ravel() == k], m) for k, m in enumerate(masks)]
    return groups


def _compare_groups(
    rec: Method, method: str, a: np.ndarray, b: np.ndarray, ctx: tuple, strict: bool
) -> np.ndarray:
    """Similarities of every row of ``a`` with every row of ``b``, each group of rows
    sharing a NaN pattern compared on the pairs defined in both."""
    out = np.full((a.shape[0], b.shape[0]), np.nan)
    constant = [np.zeros(len(a), bool), np.zeros(len(b), bool)]
    for rows_a, nan_a in _nan_groups(a):
        for rows_b, nan_b in _nan_groups(b):
            keep = ~(nan_a | nan_b)
            if keep.sum() < 2:
                if strict or nan_b.sum() > nan_b.size - 2:
                    raise ValueError(
                        f"rdm_a and rdm_b have fewer than 2 pairs that are not NaN "
                        f"({int(keep.sum())} of {keep.size}); nothing to compare."
                    )
                continue  # an RDM of rdm_a with (almost) no defined pair: NaN
            if rec.complete and not keep.all():
                raise ValueError(
                    f"method={method!r} needs complete RDMs; got {int((~keep).sum())} NaN "
                    "pair(s). Compare on complete RDMs or use another method."
                )
            sub_a, sub_b = _take(a, rows_a, keep), _take(b, rows_b, keep)
            if rec.centred:
                constant[0][rows_a] |= (sub_a == sub_a[:, :1]).all(1)
                constant[1][rows_b] |= (sub_b == sub_b[:, :1]).all(1)
            out[np.ix_(rows_a, rows_b)] = _kernel(rec, sub_a, sub_b, keep, ctx)
    _warn_constant_rdms(*constant)
    return out


def _take(x: np.ndarray, rows: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """``x[rows][:, keep]``, without a copy when that is all of ``x``."""
    if len(rows) < len(x):
        x = x[rows]
    return x if keep.all() else x[:, keep]


def _warn_constant_rdms(const_a: np.ndarray, const_b: np.ndarray) -> None:
    """Warn when RDMs are constant over the compared pairs: correlations are undefined."""
    if const_a.any() or const_b.any():
        warnings.warn(
            f"{int(const_a.sum())} data RDM(s) and {int(const_b.sum())} model RDM(s) are "
            "constant over the compared pairs: their correlations are undefined (NaN).",
            UserWarning,
            stacklevel=4,
        )


def _kernel(rec: Method, a: np.ndarray, b: np.ndarray, keep: np.ndarray, ctx: tuple) -> Any:
    backend, device, dt, n_jobs = ctx
    if callable(rec.kernel):
        return rec.kernel(a, b, n_jobs)
    assert rec.transform is not None  # checked by Method
    b_t = rec.transform(b, keep)
    if backend == "numpy" and rec.transform is ranks and rec.kernel == "cosine" and dt == "float64":
        return _spearman(a, b_t, rec, keep, n_jobs)
    if backend == "numpy":
        return _blocked_products(a, b_t.astype(dt, copy=False), rec, keep, dt, n_jobs)
    a_t = B.to_backend(rec.transform(a, keep), backend, device, dt)
    b_b = B.to_backend(b_t, backend, device, dt)
    sim = a_t @ B.swap(b_b)
    if rec.kernel == "cosine":
        with np.errstate(divide="ignore", invalid="ignore"):
            sim = sim / B.sqrt((a_t * a_t).sum(-1))[:, None] / B.sqrt((b_b * b_b).sum(-1))[None]
    return B.to_numpy(sim)


def _blocked_products(
    a: np.ndarray, b_t: np.ndarray, rec: Method, keep: np.ndarray, dt: str, n_jobs: int
) -> np.ndarray:
    """Kernel of the transformed rows of ``a`` with ``b_t``, block of rows by block of
    rows shared between threads: the transform of all of ``a`` (as large as ``a``) is
    never stored."""
    transform = rec.transform
    assert transform is not None
    nb = np.sqrt(np.einsum("ij,ij->i", b_t, b_t))
    out = np.empty((a.shape[0], b_t.shape[0]))

    def block(rows: slice) -> None:
        a_t = transform(a[rows], keep).astype(dt, copy=False)
        prod = a_t @ b_t.T
        if rec.kernel == "cosine":
            na = np.sqrt(np.einsum("ij,ij->i", a_t, a_t))
            with np.errstate(divide="ignore", invalid="ignore"):
                prod = prod / na[:, None] / nb[None, :]
        out[rows] = prod

    B.parallel_map(block, _balanced_blocks(a.shape[0], n_jobs), n_jobs)
    return out


def _spearman(
    a: np.ndarray, b_t: np.ndarray, rec: Method, keep: np.ndarray, n_jobs: int
) -> np.ndarray:
    """Spearman correlations by the compiled kernel (ranks of a block of rows, each
    compared with the models as it is ranked; no array of ranks is stored), blocks of
    rows shared between threads; rows it leaves go to :func:`_blocked_products`."""
    from ._kernels import spearman_rows

    with np.errstate(divide="ignore", invalid="ignore"):  # a constant model: NaN
        models = np.ascontiguousarray(b_t / np.sqrt(np.einsum("ij,ij->i", b_t, b_t))[:, None])
    out = np.empty((a.shape[0], b_t.shape[0]))
    done = np.empty(a.shape[0], dtype=bool)

    def block(rows: slice) -> None:
        spearman_rows(np.ascontiguousarray(a[rows], dtype=np.float64), models, out[rows],
                      done[rows])

    B.parallel_map(block, _balanced_blocks(a.shape[0], n_jobs), n_jobs)
    if not done.all():
        out[~done] = _blocked_products(a[~done], b_t, rec, keep, "float64", n_jobs)
    return out


def _balanced_blocks(n_rows: int, n_jobs: int) -> list:
    """Slices of at most about ``_RANK_ROWS`` rows, as many for every thread."""
    workers = B.n_workers(n_jobs)
    n_blocks = workers * max(1, -(-n_rows // (workers * _RANK_ROWS)))
    edges = np.linspace(0, n_rows, min(n_blocks, max(1, n_rows)) + 1).astype(int)
    return [slice(lo, hi) for lo, hi in zip(edges[:-1], edges[1:]) if hi > lo]


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
        Threads for the function kernels (Kendall's tau).

    Returns
    -------
    similarity : array of shape (...)
        Each pair of RDMs is compared on the pairs defined in both (see
        :func:`compare_rdms`).
    """
    rec = get_method(method)
    a, b = np.broadcast_arrays(
        np.asarray(B.to_numpy(rdm_a), float), np.asarray(B.to_numpy(rdm_b), float)
    )
    lead = a.shape[:-1]
    a2, b2, _, _ = _prepare(a.reshape(-1, a.shape[-1]), b.reshape(-1, b.shape[-1]))
    sim = np.full(len(a2), np.nan)
    nan = np.isnan(a2) | np.isnan(b2)
    for rows, mask in _nan_groups(np.where(nan, np.nan, 0.0)):
        keep = ~mask
        if keep.sum() < 2:
            continue
        sim[rows] = _paired(rec, method, a2[rows][:, keep], b2[rows][:, keep], keep, n_jobs)
    return sim.reshape(lead)


def _paired(rec: Method, method: str, a: np.ndarray, b: np.ndarray, keep: np.ndarray,
            n_jobs: int) -> np.ndarray:
    if rec.complete and not keep.all():
        raise ValueError(f"method={method!r} needs complete RDMs; got NaN pairs.")
    if callable(rec.kernel):
        return np.array([rec.kernel(x[None], y[None], n_jobs)[0, 0] for x, y in zip(a, b)])
    assert rec.transform is not None
    ta, tb = rec.transform(a, keep), rec.transform(b, keep)
    dot = (ta * tb).sum(-1)
    if rec.kernel == "dot":
        return dot
    with np.errstate(divide="ignore", invalid="ignore"):
        return dot / np.sqrt((ta * ta).sum(-1) * (tb * tb).sum(-1))


__all__ = ["METHODS", "compare_rdms", "compare_rdms_paired"]
