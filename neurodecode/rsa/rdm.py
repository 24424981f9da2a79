"""Representational dissimilarity matrices (RDMs), vectorised over leading axes.

Every RDM is returned condensed, in the order of :func:`scipy.spatial.distance.squareform`
(the upper triangle read row by row). All metrics are computed from Gram matrices, so
time points, subjects or searchlight centres stacked on leading axes are one batched
matrix product.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import _backend as B
from .._validation import check_finite, check_option
from ._streamed import STREAMED, copy_blocked, streamed_rdms, warn_flat_patterns

METRICS = ("correlation", "euclidean", "sqeuclidean", "cosine", "mahalanobis", "crossnobis")
NOISE_TYPES = ("precision", "covariance")


def n_conditions_from_pairs(n_pairs: int, name: str = "rdm") -> int:
    """Return ``n`` such that ``n * (n - 1) / 2 == n_pairs``, or raise ``ValueError``."""
    n = int(round((1 + np.sqrt(1 + 8 * n_pairs)) / 2))
    if n * (n - 1) // 2 != n_pairs or n_pairs < 1:
        raise ValueError(
            f"{name} must be condensed RDMs (last axis n_pairs = n*(n-1)/2, as given by "
            f"scipy.spatial.distance.squareform); got a last axis of length {n_pairs}."
        )
    return n


def to_square(rdms: np.ndarray) -> np.ndarray:
    """Condensed RDMs of shape (..., n_pairs) to square matrices of shape (..., n, n).

    Parameters
    ----------
    rdms : array of shape (..., n_pairs)
        Condensed RDMs.

    Returns
    -------
    square : array of shape (..., n, n)
        Symmetric matrices, zero diagonal.
    """
    rdms = np.asarray(rdms)
    n = n_conditions_from_pairs(rdms.shape[-1])
    iu = np.triu_indices(n, 1)
    out = np.zeros(rdms.shape[:-1] + (n, n), dtype=rdms.dtype)
    out[..., iu[0], iu[1]] = rdms
    out[..., iu[1], iu[0]] = rdms
    return out


def to_condensed(square: Any) -> Any:
    """Square matrices of shape (..., n, n) to condensed vectors of shape (..., n_pairs).

    Parameters
    ----------
    square : array of shape (..., n, n)
        Symmetric matrices.

    Returns
    -------
    rdms : array of shape (..., n_pairs)
        Their upper triangles, row by row (scipy's ``squareform`` order).
    """
    n = square.shape[-1]
    iu = np.triu_indices(n, 1)
    return square[..., iu[0], iu[1]]


def compute_rdm(
    patterns: Any,
    metric: str = "correlation",
    *,
    runs: Any = None,
    n_trials: Any = None,
    noise: Any = None,
    noise_type: str = "precision",
    backend: str | None = None,
    device: str | None = None,
    dtype: str | None = None,
    n_jobs: int = -1,
) -> Any:
    """Compute condensed RDMs from condition patterns.

    Parameters
    ----------
    patterns : array of shape (..., n_conditions, n_features)
        Condition-mean patterns. For ``metric="crossnobis"`` the shape is
        (..., n_runs, n_conditions, n_features): one estimate per run (or fold).
        Distances are computed from Gram matrices over the condition patterns centred
        on their mean (for the euclidean metrics), so they keep their precision on
        patterns far from the origin; two patterns closer than about
        ``sqrt(eps) * norm(pattern - mean pattern)`` (1e-8 relative in float64, 3e-4
        in float32) come out at 0 or a few ulps of that norm instead of their exact
        distance: use ``scipy.spatial.distance.pdist`` for nearly identical patterns.
    metric : str
        ``"correlation"`` (1 - Pearson r), ``"euclidean"``, ``"sqeuclidean"``,
        ``"cosine"`` (1 - cosine), all as :func:`scipy.spatial.distance.pdist`;
        ``"mahalanobis"`` (squared Mahalanobis distance divided by n_features, as in
        rsatoolbox) and ``"crossnobis"`` (its unbiased, cross-validated estimate:
        the mean over all pairs of distinct runs, equal to rsatoolbox's leave-one-run-out
        with equal trials per run, and with unequal ones given ``n_trials``).
    runs : array of shape (n_runs,) or None
        Crossnobis only: a group label per run; runs sharing a label are averaged
        before cross-validation (e.g. runs of one session). ``None``: each run alone.
    n_trials : array of shape (n_runs, n_conditions) or (n_runs,), or None
        Crossnobis only: the trials behind each run's condition mean. The training
        mean of each fold then weights the runs by their trials, as rsatoolbox's
        ``calc_rdm(method="crossnobis")`` does from single trials (equal to it with
        unequal counts); ``None``: every run counts alike (equal counts).
    noise : array of shape (n_features, n_features) or None
        Noise precision (or covariance, see ``noise_type``) used to whiten the
        ``"mahalanobis"`` and ``"crossnobis"`` distances; ``None`` is the identity.
        Estimate one with shrinkage from residuals with :func:`noise_precision`.
    noise_type : {"precision", "covariance"}
        What ``noise`` holds.
    backend : {"numpy", "torch"} or None
        Array library to compute with; torch can use a GPU through ``device``.
        ``None``: numpy on the CPU, torch on any other ``device``.
    device : str or None
        Torch device such as ``"cuda"``; not with ``backend="numpy"``.
    dtype : {"float32", "float64"} or None
        Computation precision; ``None`` keeps float32 input in float32, else float64.
    n_jobs : int
        Threads sharing the chunks of leading axes (numpy backend); -1: every core.

    Returns
    -------
    rdms : array of shape (..., n_pairs)
        Condensed RDMs, ``n_pairs = n_conditions * (n_conditions - 1) / 2``; a numpy
        array for the numpy backend, a tensor for the torch backend.

    Examples
    --------
    >>> import numpy as np
    >>> from neurodecode.rsa import compute_rdm
    >>> patterns = np.random.default_rng(0).standard_normal((4, 10))  # 4 conditions
    >>> compute_rdm(patterns, "euclidean").shape  # condensed: 4 * 3 / 2 pairs
    (6,)
    """
    check_option("metric", metric, METRICS)
    check_option("noise_type", noise_type, NOISE_TYPES)
    backend = B.check_backend(backend, device)
    x = _check_patterns(patterns, metric)
    dt = B.resolve_dtype(dtype, patterns)
    if noise is not None and metric not in ("mahalanobis", "crossnobis"):
        raise ValueError(
            f"noise is used only by metric='mahalanobis' or 'crossnobis'; got metric={metric!r}."
        )
    if n_trials is not None and metric != "crossnobis":
        raise ValueError(
            f"n_trials is used only by metric='crossnobis'; got metric={metric!r}."
        )
    cv = (runs, _checked_trials(n_trials, x) if n_trials is not None else None)
    if runs is not None and metric != "crossnobis":
        raise ValueError(
            f"runs is used only by metric='crossnobis'; got metric={metric!r}. Average the "
            "runs first, or use metric='crossnobis' with patterns of shape (..., n_runs, "
            "n_conditions, n_features)."
        )
    if metric == "correlation" and x.shape[-1] < 2:
        raise ValueError(
            f"metric='correlation' needs at least 2 features (axis -1 of patterns) to "
            f"correlate; got {x.shape[-1]}. Use metric='euclidean' for single features."
        )
    if noise is not None and noise_type == "covariance":  # invert once, not per chunk
        noise = np.linalg.inv(_checked_noise(noise, x.shape[-1]))
        noise_type = "precision"
    if backend == "numpy":
        with B.single_threaded_blas():
            return _compute_numpy(x, metric, cv, noise, noise_type, dt, n_jobs)
    out = _compute(B.to_backend(x, backend, device, dt), metric, cv, noise, noise_type)
    return _check_result(out, x)


def _compute_numpy(
    x: Any, metric: str, cv: tuple, noise: Any, noise_type: str, dt: np.dtype, n_jobs: int
) -> np.ndarray:
    core_ndim = 3 if metric == "crossnobis" else 2
    if x.ndim > core_ndim and not B._is_torch(x):
        x = np.asarray(x)
        if metric in STREAMED:
            return streamed_rdms(x, metric, dt, n_jobs)
        # chunks along the first leading axis: cache-friendly copies, bounded memory
        step = max(1, int(_CHUNK_BYTES // max(1, x[0].nbytes)))
        step = min(step, -(-x.shape[0] // 2))  # at least two chunks to share between threads
        parts = B.parallel_map(
            lambda i: _compute(_contiguous_chunk(x[i : i + step], metric, dt), metric, cv,
                               noise, noise_type),
            list(range(0, x.shape[0], step)),
            n_jobs,
        )
        return _check_result(np.concatenate(parts), x)
    x_b = B.to_backend(x, "numpy", None, dt)
    out = _compute(x_b, metric, cv, noise, noise_type, n_jobs=n_jobs)
    return _check_result(out, x)


_CHUNK_BYTES = 32e6
def _contiguous_chunk(view: np.ndarray, metric: str, dtype: np.dtype) -> np.ndarray:
    """C-contiguous copy of a chunk of patterns."""
    return np.ascontiguousarray(view, dtype=dtype)


def _compute(
    x: Any, metric: str, cv: tuple, noise: Any, noise_type: str, n_jobs: int = 1,
) -> Any:
    prec = _precision(noise, noise_type, x.shape[-1], x)
    if metric == "crossnobis":
        return _crossnobis(x, prec, cv, n_jobs)
    if metric == "mahalanobis":
        return to_condensed(_dist_from_gram(_gram(x, prec))) / x.shape[-1]
    return _condensed_rdm(x, metric)


def _check_patterns(patterns: Any, metric: str) -> Any:
    if B._is_torch(patterns):
        arr = patterns
    else:
        arr = np.asarray(patterns)
        if not np.issubdtype(arr.dtype, np.number):
            raise TypeError(f"patterns must be a numeric array; got dtype {arr.dtype}.")
    min_ndim = 3 if metric == "crossnobis" else 2
    if arr.ndim < min_ndim:
        wanted = "(..., n_runs, n_conditions, n_features)" if metric == "crossnobis" else (
            "(..., n_conditions, n_features)")
        raise ValueError(f"patterns must have shape {wanted}; got shape {tuple(arr.shape)}.")
    if arr.shape[-2] < 3:
        raise ValueError(
            f"patterns must hold at least 3 conditions (axis -2) for an RDM; got "
            f"{arr.shape[-2]} (shape {tuple(arr.shape)})."
        )
    if arr.shape[-1] < 1:
        raise ValueError(
            f"patterns must hold at least 1 feature (axis -1) for an RDM; got 0 (shape "
            f"{tuple(arr.shape)}). Check the selection of channels, voxels or time points."
        )
    if metric == "crossnobis" and arr.shape[-3] < 2:
        raise ValueError(
            f"metric='crossnobis' needs at least 2 runs (axis -3 of patterns); got "
            f"{arr.shape[-3]}. Use metric='mahalanobis' for a single run."
        )
    return arr


def _check_result(rdms: Any, patterns: Any) -> Any:
    """NaN/Inf in the patterns propagate to the RDMs: check the (small) result, and
    only then search the patterns for the culprit to name it, or for constant patterns
    (NaN correlation or cosine distances) to warn about."""
    finite = rdms.isfinite().all() if B._is_torch(rdms) else np.isfinite(rdms).all()
    if not bool(finite):
        values = B.to_numpy(patterns)
        check_finite("patterns", values)
        warn_flat_patterns(values)
    return rdms


def _precision(noise: Any, noise_type: str, n_features: int, like: Any) -> Any:
    if noise is None:
        return None
    noise_np = _checked_noise(noise, n_features)
    if noise_type == "covariance":
        noise_np = np.linalg.inv(noise_np)
    if isinstance(like, np.ndarray):
        return noise_np.astype(like.dtype)
    return B.to_backend(noise_np, "torch", str(like.device), str(like.dtype).split(".")[-1])


def _checked_noise(noise: Any, n_features: int) -> np.ndarray:
    noise_np = B.to_numpy(noise).astype(np.float64)
    if noise_np.shape != (n_features, n_features):
        raise ValueError(
            f"noise must have shape (n_features, n_features) = ({n_features}, {n_features}); "
            f"got {noise_np.shape}."
        )
    check_finite("noise", noise_np)
    return noise_np


def _gram(x: Any, prec: Any = None, y: Any = None) -> Any:
    """Gram matrices x @ prec @ y.T over the last two axes."""
    y = x if y is None else y
    left = x if prec is None else x @ prec
    return left @ B.swap(y)


def _dist_from_gram(gram: Any) -> Any:
    """Squared distances d_ij = G_ii + G_jj - 2 G_ij (square, symmetric)."""
    d = B.diagonal(gram)
    return d[..., :, None] + d[..., None, :] - gram - B.swap(gram)


def _condensed_rdm(x: Any, metric: str) -> Any:
    """Condensed RDMs from the upper triangle of the Gram matrices."""
    if metric == "correlation":
        constant = (x == x[..., :1]).all(-1)  # exactly zero once centred, not rounding errors
        x = (x - x.mean(-1, keepdims=True)) * ~constant[..., None]
    elif metric in ("euclidean", "sqeuclidean"):  # shift-invariant: centring saves digits
        x = x - x.mean(-2, keepdims=True)
    gram = _gram(x)
    iu = np.triu_indices(x.shape[-2], 1)
    g = gram[..., iu[0], iu[1]]
    diag = B.diagonal(gram)
    di, dj = diag[..., iu[0]], diag[..., iu[1]]
    if metric in ("correlation", "cosine"):
        with np.errstate(divide="ignore", invalid="ignore"):  # zero patterns: NaN, warned
            return 1.0 - g / B.sqrt(di * dj)
    sq = B.clip_min(di + dj - 2.0 * g, 0.0)
    return sq if metric == "sqeuclidean" else B.sqrt(sq)


def _checked_trials(n_trials: Any, x: Any) -> np.ndarray:
    """Trial counts as an array of shape (n_runs, n_conditions, 1), all > 0."""
    n_runs, n_cond = x.shape[-3], x.shape[-2]
    w = np.asarray(n_trials, dtype=np.float64)
    if w.ndim == 1 and w.shape == (n_runs,):
        w = np.repeat(w[:, None], n_cond, axis=1)
    if w.shape != (n_runs, n_cond) or not np.isfinite(w).all() or (w <= 0).any():
        raise ValueError(
            f"n_trials must hold a count > 0 per run and condition, shape ({n_runs}, "
            f"{n_cond}) or ({n_runs},); got shape {w.shape} with values {np.unique(w)[:5]}."
        )
    return w[:, :, None]


def _crossnobis(x: Any, prec: Any, cv: tuple, n_jobs: int = 1) -> Any:
    runs, n_trials = cv
    if n_trials is not None:
        if runs is not None:
            x, n_trials = _average_runs(x, runs, n_trials)
        return _crossnobis_weighted(x, prec, n_trials)
    if runs is not None:
        x = _average_runs(x, runs)
    n_runs, n_features = x.shape[-3], x.shape[-1]
    total = x.sum(-3)
    if isinstance(x, np.ndarray):  # one Gram matrix per run, shared between threads
        grams = B.parallel_map(
            lambda r: _dist_from_gram(_gram(x[..., r, :, :], prec)), list(range(n_runs)), n_jobs
        )
        d_within = np.sum(grams, axis=0)
    else:
        d_within = _dist_from_gram(_gram(x, prec)).sum(-3)
    d_total = _dist_from_gram(_gram(total, prec))
    d = (d_total - d_within) / (n_runs * (n_runs - 1) * n_features)
    return to_condensed(d)


def _crossnobis_weighted(x: Any, prec: Any, n_trials: np.ndarray) -> Any:
    """Leave-one-run-out crossnobis whose training means weight the runs by trials:
    mean over runs r of (train_i - train_j)' P (x_ri - x_rj) / n_features."""
    w = n_trials if isinstance(x, np.ndarray) else B.to_backend(
        n_trials, "torch", str(x.device), str(x.dtype).split(".")[-1])
    n_runs = x.shape[-3]
    total, count = (w * x).sum(-3), w.sum(-3)
    d = 0.0
    for r in range(n_runs):
        x_r = x[..., r, :, :]
        train = (total - w[r] * x_r) / (count - w[r])
        d = d + _dist_from_gram(_gram(train, prec, x_r))
    return to_condensed(d / (n_runs * x.shape[-1]))


def _average_runs(x: Any, runs: Any, n_trials: np.ndarray | None = None) -> Any:
    runs = np.asarray(runs)
    if runs.shape != (x.shape[-3],):
        raise ValueError(
            f"runs must have one label per run, shape ({x.shape[-3]},); got {runs.shape}."
        )
    labels = np.unique(runs)
    if len(labels) < 2:
        raise ValueError(
            f"metric='crossnobis' needs at least 2 distinct run labels; got runs with only "
            f"{labels.tolist()}."
        )
    groups = [np.flatnonzero(runs == lab) for lab in labels]
    if n_trials is not None:  # trial-weighted means, and the trials they hold
        w = n_trials if isinstance(x, np.ndarray) else B.to_backend(
            n_trials, "torch", str(x.device), str(x.dtype).split(".")[-1])
        parts = [(w[g] * x[..., g, :, :]).sum(-3) / w[g].sum(0) for g in groups]
        counts = np.stack([n_trials[g].sum(0) for g in groups])
        return _stack_runs(parts, x), counts
    return _stack_runs([x[..., g, :, :].mean(-3) for g in groups], x)


def _stack_runs(parts: list, like: Any) -> Any:
    if isinstance(like, np.ndarray):
        return np.stack(parts, axis=-3)
    import torch

    return torch.stack(parts, dim=-3)


_copy_blocked = copy_blocked  # the name rsa.timecourse imports from here

__all__ = ["METRICS", "NOISE_TYPES", "compute_rdm", "n_conditions_from_pairs", "to_condensed",
           "to_square"]
