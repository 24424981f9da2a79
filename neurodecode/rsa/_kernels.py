"""Compiled (numba) kernels for the parts of RSA that are not matrix products.

They release the GIL, so :func:`neurodecode.rsa._backend.parallel_map` runs them on
several threads. Each is compiled on its first call and cached on disk (``cache=True``),
so later processes only load it. Callers pass C-contiguous float64 arrays, so that one
compiled version serves every call.
"""

from __future__ import annotations

import numba
import numpy as np

_INSERTION_MAX = 48  # a row whose fullest bucket holds more is left to the caller


@numba.njit(nogil=True, cache=True)
def centred_ranks(x: np.ndarray, out: np.ndarray, done: np.ndarray) -> None:  # pragma: no cover
    """Write the centred ranks of the rows of ``x`` into ``out`` (both (m, n), NaN-free).

    Ties get their average rank, as :func:`scipy.stats.rankdata`; ``out`` holds
    ``rank - (n + 1) / 2``. Each row is sorted by a counting sort into ``2 n`` buckets
    of equal width (bucketing is monotone, so equal values share a bucket), then by one
    insertion pass over the nearly sorted values: the order, hence the ranks, are exact.
    Rows whose values crowd into a few buckets (heavy tails), hold infinities or a single
    value are left to the caller: ``done[r]`` is set False for them, True for the others.
    """
    m, n = x.shape
    n_buckets = 2 * n
    counts = np.empty(n_buckets + 1, np.int32)
    bucket = np.empty(n, np.int32)
    order = np.empty(n, np.int64)
    vals = np.empty(n, np.float64)
    centre = (n + 1) / 2.0
    for r in range(m):
        row = x[r]
        lo = row[0]
        hi = row[0]
        for k in range(n):
            lo = min(lo, row[k])
            hi = max(hi, row[k])
        span = hi - lo
        done[r] = False
        if not (span > 0.0 and np.isfinite(span)):
            continue
        scale = (n_buckets - 1) / span
        counts[:] = 0
        for k in range(n):
            b = min(int((row[k] - lo) * scale), n_buckets - 1)
            bucket[k] = b
            counts[b + 1] += 1
        fullest = 0
        for b in range(n_buckets):
            fullest = max(fullest, counts[b + 1])
            counts[b + 1] += counts[b]
        if fullest > _INSERTION_MAX:
            continue
        for k in range(n):  # counts[b]: next free position of bucket b
            p = counts[bucket[k]]
            order[p] = k
            vals[p] = row[k]
            counts[bucket[k]] = p + 1
        _insertion_sort(vals, order)
        _write_average_ranks(vals, order, centre, out[r])
        done[r] = True


@numba.njit(nogil=True, cache=True)
def _insertion_sort(vals: np.ndarray, order: np.ndarray) -> None:  # pragma: no cover
    """Sort ``vals`` ascending in place, carrying ``order`` along (fast when nearly sorted)."""
    for i in range(1, vals.size):
        v = vals[i]
        if vals[i - 1] > v:
            idx = order[i]
            j = i - 1
            while j >= 0 and vals[j] > v:
                vals[j + 1] = vals[j]
                order[j + 1] = order[j]
                j -= 1
            vals[j + 1] = v
            order[j + 1] = idx


@numba.njit(nogil=True, cache=True)
def _write_average_ranks(
    vals: np.ndarray, order: np.ndarray, centre: float, dest: np.ndarray
) -> None:  # pragma: no cover - compiled
    """``dest[order[i]] = rank of vals[i] - centre``; runs of equal values share the mean rank."""
    n = vals.size
    i = 0
    while i < n:
        j = i + 1
        while j < n and vals[j] == vals[i]:
            j += 1
        rank = (i + 1 + j) / 2.0 - centre
        for k in range(i, j):
            dest[order[k]] = rank
        i = j


@numba.njit(nogil=True, cache=True)
def centre_rows(x: np.ndarray) -> None:  # pragma: no cover - compiled
    """Subtract from each row of ``x`` (C-contiguous, (m, n, p)) its mean, in place."""
    m, n, p = x.shape
    for t in range(m):
        for i in range(n):
            row = x[t, i]
            s0 = s1 = s2 = s3 = 0.0  # four sums: the loop vectorises
            k = 0
            while k + 4 <= p:
                s0 += row[k]
                s1 += row[k + 1]
                s2 += row[k + 2]
                s3 += row[k + 3]
                k += 4
            while k < p:
                s0 += row[k]
                k += 1
            mean = ((s0 + s1) + (s2 + s3)) / p
            for k in range(p):
                row[k] -= mean


@numba.njit(nogil=True, cache=True)
def gram_to_condensed(gram: np.ndarray, kind: int, dest: np.ndarray) -> bool:  # pragma: no cover
    """Condensed distances from Gram matrices; return whether all are finite.

    ``gram`` of shape (m, n, n) (C-contiguous) gives ``dest`` of shape (m, n_pairs), in
    the order of ``squareform``: ``kind`` 0 is ``1 - g_ij / sqrt(g_ii g_jj)`` (correlation
    and cosine distances), 1 the squared and 2 the plain Euclidean distance
    ``g_ii + g_jj - 2 g_ij`` (clipped at 0).
    """
    m, n = gram.shape[:2]
    diag = np.empty(n)
    finite = True
    for t in range(m):
        g = gram[t]
        out = dest[t]
        for i in range(n):
            diag[i] = 1.0 / np.sqrt(g[i, i]) if kind == 0 else g[i, i]
        k = 0
        for i in range(n - 1):
            for j in range(i + 1, n):
                if kind == 0:
                    d = 1.0 - g[i, j] * diag[i] * diag[j]
                else:
                    d = max(diag[i] + diag[j] - 2.0 * g[i, j], 0.0)
                    if kind == 2:
                        d = np.sqrt(d)
                out[k] = d
                finite = finite and np.isfinite(d)
                k += 1
    return finite
