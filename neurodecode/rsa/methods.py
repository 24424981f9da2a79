"""The RDM comparison methods: a registry of small records.

Each :class:`Method` says how :func:`neurodecode.rsa.compare_rdms` compares RDMs (a
row-wise ``transform`` followed by a cosine or inner-product ``kernel``, or a kernel
that works on the RDMs themselves), how :func:`neurodecode.rsa.pool_rdms` averages
RDMs for that method (``pool``) and whether a noise ceiling is defined. Adding a
method is adding one record to :data:`METHODS`; a method without a pooling rule has no
noise ceiling, and asking for one is an error, never a silent fallback.

Transforms take RDMs of shape (n_rdms, n_kept) (the pairs where ``keep`` is True) and
return vectors of shape (n_rdms, m); kernels given as functions take NaN-free RDMs of
shape (n_a, n_kept) and (n_b, n_kept) and ``n_jobs``, and return (n_a, n_b). Pooling
rules take RDMs of shape (n_rdms, ..., n_pairs), NaN where undefined, and return them
normalised for averaging over the first axis.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.stats

from .._validation import check_option
from ._ranks import _ranks, _tau_a, _tau_b
from .rdm import n_conditions_from_pairs

Transform = Callable[[np.ndarray, Any], np.ndarray]
Kernel = Callable[[np.ndarray, np.ndarray, int], np.ndarray]
Pool = Callable[[np.ndarray], np.ndarray]
KERNELS = ("cosine", "dot")


@dataclass(frozen=True)
class Method:
    """One RDM comparison method.

    Parameters
    ----------
    kernel : {"cosine", "dot"} or callable
        Similarity of the transformed vectors (cosine or inner product, one matrix
        product), or a function ``kernel(a, b, n_jobs) -> (n_a, n_b)`` on the RDMs.
    transform : callable or None
        Row-wise transform applied before a ``"cosine"`` or ``"dot"`` kernel
        (``transform(x, keep)``); None with a function kernel.
    pool : callable or None
        Normalisation of the RDMs before they are averaged by :func:`pool_rdms`;
        None: the method has no pooling rule, hence no noise ceiling.
    ceiling : bool
        Whether :func:`noise_ceiling` is defined (needs ``pool``).
    centred : bool
        The similarity is a correlation: undefined (NaN, with a warning) for an RDM
        that is constant over the compared pairs.
    complete : bool
        The method needs every pair (NaN pairs are an error, not excluded).
    peer : str or None
        The name of the same method in rsatoolbox's ``compare``.
    """

    kernel: str | Kernel
    transform: Transform | None = None
    pool: Pool | None = None
    ceiling: bool = True
    centred: bool = False
    complete: bool = False
    peer: str | None = None

    def __post_init__(self) -> None:
        if isinstance(self.kernel, str):
            check_option("kernel", self.kernel, KERNELS)
            if self.transform is None:
                raise ValueError(
                    f"a Method with kernel={self.kernel!r} needs a transform (use "
                    "methods.identity for none)."
                )
        if self.ceiling and self.pool is None:
            raise ValueError(
                "a Method with ceiling=True needs a pool rule (how its RDMs are averaged); "
                "give pool=... or set ceiling=False."
            )


# --------------------------------------------------------------------------- transforms
def identity(x: np.ndarray, keep: Any = None) -> np.ndarray:
    """The RDMs as they are."""
    return x


def center(x: np.ndarray, keep: Any = None) -> np.ndarray:
    """Rows minus their mean; a constant row becomes exactly zero (its correlation NaN)."""
    return (x - x.mean(-1, keepdims=True)) * ~(x == x[..., :1]).all(-1, keepdims=True)


def ranks(x: np.ndarray, keep: Any = None) -> np.ndarray:
    """Centred ranks (ties averaged, as :func:`scipy.stats.rankdata`)."""
    return _ranks(x)


def scaled_ranks(x: np.ndarray, keep: Any = None) -> np.ndarray:
    """Centred ranks times sqrt(12 / (n^3 - n)): their inner product is rho-a."""
    n = x.shape[-1]
    return _ranks(x) * np.sqrt(12.0 / (n**3 - n))


def whiten(x: np.ndarray, keep: np.ndarray | None = None) -> np.ndarray:
    """Double-centred second-moment matrices of the RDMs, stretched out (linear CKA).

    Equal to rsatoolbox's ``_cov_weighting`` without a pattern covariance: the cosine
    of these vectors is its ``cosine_cov``; on centred RDMs, its ``corr_cov``. ``x``
    holds the pairs where ``keep`` is True (all pairs when ``keep`` is None); with
    excluded pairs the centring is the least-squares projection rsatoolbox uses.
    """
    if keep is None or keep.all():
        return _whiten_full(x)
    return _whiten_missing(x, keep)


def whiten_centered(x: np.ndarray, keep: np.ndarray | None = None) -> np.ndarray:
    """:func:`whiten` of the centred RDMs (rsatoolbox's ``corr_cov``)."""
    return whiten(center(x), keep)


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
    g = second_moments(x)
    iu = np.triu_indices(g.shape[-1], 1)
    return np.concatenate([np.sqrt(2) * g[:, iu[0], iu[1]], np.diagonal(g, 0, 1, 2)], -1)


def second_moments(x: np.ndarray) -> np.ndarray:
    """Double-centred second-moment matrices -H D H / 2 of condensed RDMs (n_rdms, n_pairs)
    -> (n_rdms, n, n), with D the squared-distance matrix the RDM holds."""
    n = n_conditions_from_pairs(x.shape[-1])
    iu = np.triu_indices(n, 1)
    g = np.zeros((x.shape[0], n, n))
    g[:, iu[0], iu[1]] = -0.5 * x
    g[:, iu[1], iu[0]] = -0.5 * x
    row = g.mean(-1, keepdims=True)
    return g - row - np.swapaxes(row, -1, -2) + row.mean(-2, keepdims=True)


# ------------------------------------------------------------------------------ kernels
def bures(a: np.ndarray, b: np.ndarray, n_jobs: int = 1) -> np.ndarray:
    """Bures similarity of the second-moment matrices A, B of the RDMs, as rsatoolbox's
    ``bures``: sum of sqrt(eig(A+^1/2 B A+^1/2)) (negative eigenvalues clipped, A+ the
    PSD part of A) over sqrt(tr A tr B); for Euclidean RDMs, the fidelity of A and B."""
    g_a, g_b = second_moments(a), second_moments(b)
    vals, vecs = np.linalg.eigh(g_a)
    root = (vecs * np.sqrt(np.maximum(vals, 0.0))[:, None, :]) @ np.swapaxes(vecs, -1, -2)
    inner = root[:, None] @ g_b[None] @ root[:, None]  # (n_a, n_b, n, n)
    num = np.sqrt(np.maximum(np.linalg.eigvalsh(inner), 0.0)).sum(-1)
    tr_a, tr_b = np.trace(g_a, axis1=1, axis2=2), np.trace(g_b, axis1=1, axis2=2)
    with np.errstate(divide="ignore", invalid="ignore"):
        return num / np.sqrt(np.outer(tr_a, tr_b))


def tau_a(a: np.ndarray, b: np.ndarray, n_jobs: int = 1) -> np.ndarray:
    """Kendall's tau-a (compiled Fenwick-tree counts)."""
    return _tau_a(a, b, n_jobs)


def tau_b(a: np.ndarray, b: np.ndarray, n_jobs: int = 1) -> np.ndarray:
    """Kendall's tau-b, as :func:`scipy.stats.kendalltau`."""
    return _tau_b(a, b, n_jobs)


# ---------------------------------------------------------------------------- pool rules
def pool_zscore(x: np.ndarray) -> np.ndarray:
    """Z-scored RDMs (rsatoolbox's pooling for ``corr``)."""
    x = x - np.nanmean(x, -1, keepdims=True)
    return x / np.nanstd(x, -1, keepdims=True)


def pool_unit_rms(x: np.ndarray) -> np.ndarray:
    """RDMs of unit root-mean-square (rsatoolbox's pooling for ``cosine``)."""
    return x / np.sqrt(np.nanmean(x**2, -1, keepdims=True))


def pool_ranks(x: np.ndarray) -> np.ndarray:
    """Ranks of the defined pairs (rsatoolbox's pooling for the rank methods)."""
    r = scipy.stats.rankdata(x, axis=-1, nan_policy="omit")
    return np.where(np.isnan(x), np.nan, r)


def _whitened_unit(x: np.ndarray, centre: bool) -> np.ndarray:
    keep = ~np.isnan(x.reshape(-1, x.shape[-1])).any(0)
    if centre:
        x = x - np.nanmean(x, -1, keepdims=True)
    flat = x.reshape(-1, x.shape[-1])[:, keep]
    norms = np.linalg.norm(whiten(flat, keep), axis=-1)
    return x / norms.reshape(x.shape[:-1] + (1,))


def pool_whitened(x: np.ndarray) -> np.ndarray:
    """RDMs of unit whitened norm sqrt(x' V^-1 x) (rsatoolbox's pooling for
    ``cosine_cov``, solved exactly where rsatoolbox uses conjugate gradients)."""
    return _whitened_unit(x, centre=False)


def pool_whitened_centred(x: np.ndarray) -> np.ndarray:
    """:func:`pool_whitened` of centred RDMs (rsatoolbox's pooling for ``corr_cov``)."""
    return _whitened_unit(x, centre=True)


METHODS: dict[str, Method] = {
    "pearson": Method("cosine", center, pool_zscore, centred=True, peer="corr"),
    "spearman": Method("cosine", ranks, pool_ranks, centred=True, peer="spearman"),
    "rho_a": Method("dot", scaled_ranks, pool_ranks, peer="rho-a"),
    "kendall_tau_a": Method(tau_a, pool=pool_ranks, peer="tau-a"),
    "kendall_tau_b": Method(tau_b, pool=pool_ranks, peer="tau-b"),
    "cosine": Method("cosine", identity, pool_unit_rms, peer="cosine"),
    "whitened_pearson": Method("cosine", whiten_centered, pool_whitened_centred,
                               centred=True, peer="corr_cov"),
    "whitened_cosine": Method("cosine", whiten, pool_whitened, peer="cosine_cov"),
    "bures": Method(bures, ceiling=False, complete=True, peer="bures"),
}
"""The comparison methods by name. ``kendall_tau_b`` is scipy's ``kendalltau``;
``rho_a`` is rsatoolbox's ``rho-a`` (Spearman's rho for ranks of ties broken at
random); ``bures`` compares the second-moment matrices (no pooling rule, no noise
ceiling)."""


def get_method(name: str) -> Method:
    """The record of a comparison method, or a ``ValueError`` listing the valid names."""
    check_option("method", name, METHODS)
    return METHODS[name]


def get_pool(name: str) -> Pool:
    """The pooling rule of a method; a ``ValueError`` when it has none."""
    rule = get_method(name).pool
    if rule is None:
        raise ValueError(
            f"method={name!r} has no pooling rule, so RDMs cannot be pooled for it and "
            "it has no noise ceiling; methods with one: "
            f"{[k for k, m in METHODS.items() if m.pool is not None]}."
        )
    return rule


__all__ = ["KERNELS", "METHODS", "Method", "get_method", "get_pool"]
