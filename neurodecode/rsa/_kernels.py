"""Compiled (numba) kernels for the parts of RSA that are not matrix products.

They release the GIL, so :func:`neurodecode.rsa._backend.parallel_map` runs them on
several threads; divisions follow numpy (0/0 is NaN, not an exception). Each is compiled on its first call and cached on disk (``cache=True``),
so later processes only load it. Callers pass C-contiguous float64 arrays (float32 for
the RDM kernels of float32 data); another dtype, or a read-only array, compiles (and
caches) one more version on its first call.
"""

from __future__ import annotations

import numba
import numpy as np

_INSERTION_MAX = 48  # a row whose fullest bucket holds more is left to the caller


@numba.njit(nogil=True, cache=True, error_model="numpy")
def centred_ranks(x: np.ndarray, out: np.ndarray, done: np.ndarray) -> None:  # pragma: no cover
    """Write the centred ranks of the rows of ``x`` into ``out`` (both (m, n), NaN-free).

    Ties get their average rank, as :func:`scipy.stats.rankdata`; ``out`` holds
    ``rank - (n + 1) / 2``. Rows are sorted by :func:`_counting_sort`; the rows it
    leaves are left to the caller: ``done[r]`` is False for them, True for the others.
    """
    m, n = x.shape
    work = _scratch(n)
    centre = (n + 1) / 2.0
    for r in range(m):
        done[r] = _counting_sort(x[r], work)
        if done[r]:
            _write_average_ranks(work[2], work[3], centre, out[r])


@numba.njit(nogil=True, cache=True, error_model="numpy")
def dense_ranks(x: np.ndarray, out: np.ndarray, ties: np.ndarray, done: np.ndarray) -> None:  # pragma: no cover
    """Dense ranks (1, 2, ...; equal values share one) of the rows of ``x`` into ``out``
    (int32, (m, n)) and the number of tied pairs of each row into ``ties`` (m,);
    ``done`` as in :func:`centred_ranks`."""
    m, n = x.shape
    work = _scratch(n)
    for r in range(m):
        done[r] = _counting_sort(x[r], work)
        if not done[r]:
            continue
        vals, order = work[2], work[3]
        rank = 0
        n_ties = 0
        run = 0
        for i in range(n):
            if i == 0 or vals[i] != vals[i - 1]:
                rank += 1
                run = 0
            else:
                run += 1
                n_ties += run  # the new value ties with the run's earlier ones
            out[r, order[i]] = rank
        ties[r] = n_ties


@numba.njit(nogil=True, cache=True, error_model="numpy")
def _scratch(n: int) -> tuple:  # pragma: no cover - compiled
    """Work arrays of :func:`_counting_sort` for rows of length ``n``."""
    return (np.empty(2 * n + 1, np.int32), np.empty(n, np.int32), np.empty(n, np.float64),
            np.empty(n, np.int64))


@numba.njit(nogil=True, cache=True, error_model="numpy")
def _counting_sort(row: np.ndarray, work: tuple) -> bool:  # pragma: no cover - compiled
    """Sort ``row`` into ``work[2]`` (values) and ``work[3]`` (their positions in ``row``).

    A counting sort into ``2 n`` buckets of equal width (bucketing is monotone, so equal
    values share a bucket), then one insertion pass over the nearly sorted values: the
    order is exact. Returns False, sorting nothing, for rows whose values crowd into a
    few buckets (heavy tails), or that hold infinities or a single value.
    """
    counts, bucket, vals, order = work
    n = row.size
    n_buckets = counts.size - 1
    lo = row[0]
    hi = row[0]
    for k in range(n):
        lo = min(lo, row[k])
        hi = max(hi, row[k])
    span = hi - lo
    scale = (n_buckets - 1) / span
    if not (span > 0.0 and np.isfinite(span) and np.isfinite(scale)):  # also NaN, subnormal
        return False
    counts[:] = 0
    for k in range(n):
        b = int(min((row[k] - lo) * scale, n_buckets - 1.0))
        bucket[k] = b
        counts[b + 1] += 1
    fullest = 0
    for b in range(n_buckets):
        fullest = max(fullest, counts[b + 1])
        counts[b + 1] += counts[b]
    if fullest > _INSERTION_MAX:
        return False
    for k in range(n):  # counts[b]: next free position of bucket b
        p = counts[bucket[k]]
        order[p] = k
        vals[p] = row[k]
        counts[bucket[k]] = p + 1
    _insertion_sort(vals, order)
    return True


@numba.njit(nogil=True, cache=True, error_model="numpy")
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


@numba.njit(nogil=True, cache=True, error_model="numpy")
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


@numba.njit(nogil=True, cache=True, error_model="numpy")
def centre_rows(x: np.ndarray) -> None:  # pragma: no cover - compiled
    """Subtract from each row of ``x`` (C-contiguous, (m, n, p)) its mean, in place; a
    constant row becomes exactly zero (not the rounding errors of its mean)."""
    m, n, p = x.shape
    for t in range(m):
        for i in range(n):
            row = x[t, i]
            constant = True
            for k in range(1, p):
                if row[k] != row[0]:
                    constant = False
                    break
            if constant:
                row[:] = 0.0
                continue
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


@numba.njit(nogil=True, cache=True, error_model="numpy")
def gram_to_condensed(gram: np.ndarray, kind: int, dest: np.ndarray) -> bool:  # pragma: no cover
    """Condensed distances from Gram matrices; return whether all are finite.

    ``gram`` of shape (m, n, n) (C-contiguous) gives ``dest`` of shape (m, n_pairs), in
    the order of ``squareform``: ``kind`` 0 is ``1 - g_ij / sqrt(g_ii g_jj)`` (correlation
    and cosine distances), 1 the squared and 2 the plain Euclidean distance
    ``g_ii + g_jj - 2 g_ij`` (clipped at 0). A pattern with ``g_ii = 0`` (constant after
    centring, or all zero) has NaN correlation and cosine distances.
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




@numba.njit(nogil=True, cache=True, error_model="numpy")
def tau_a_rows(
    a_sorted: np.ndarray, order: np.ndarray, b_dense: np.ndarray, b_ties: np.ndarray,
    out: np.ndarray,
) -> None:  # pragma: no cover - compiled
    """Kendall tau-a of one RDM with every row of ``b_dense``, O(n log n) each.

    ``a_sorted`` (n,) is the RDM sorted ascending and ``order`` (n,) its argsort;
    ``b_dense`` (n_models, n) holds the dense ranks of the other RDMs (int32, 1..n) and
    ``b_ties`` (n_models,) their numbers of tied pairs; ``out`` (n_models,) receives
    tau-a. Walking the runs of equal ``a`` from the largest, a Fenwick tree of the ranks
    already seen counts, for each value, the later values with a smaller rank in ``b``:
    the discordant pairs (Knight 1966). Pairs tied in both are counted per run.
    """
    n = a_sorted.size
    starts = [0]
    for i in range(1, n):
        if a_sorted[i] != a_sorted[i - 1]:
            starts.append(i)
    starts.append(n)
    a_ties = 0
    for g in range(len(starts) - 1):
        size = starts[g + 1] - starts[g]
        a_ties += size * (size - 1) // 2
    total = n * (n - 1) // 2
    tree = np.zeros(n + 1, np.int64)
    seen = np.zeros(n + 1, np.int64)
    y = np.empty(n, np.int32)
    for m in range(b_dense.shape[0]):
        for k in range(n):
            y[k] = b_dense[m, order[k]]
        tree[:] = 0
        discordant = 0
        joint = 0
        for g in range(len(starts) - 2, -1, -1):
            lo, hi = starts[g], starts[g + 1]
            for k in range(lo, hi):  # later runs with a smaller rank in b
                v = y[k] - 1
                while v > 0:
                    discordant += tree[v]
                    v -= v & -v
            if hi - lo > 1:  # pairs of this run tied in b too
                for k in range(lo, hi):
                    joint += seen[y[k]]
                    seen[y[k]] += 1
                for k in range(lo, hi):
                    seen[y[k]] = 0
            for k in range(lo, hi):
                v = y[k]
                while v <= n:
                    tree[v] += 1
                    v += v & -v
        tau = (total - a_ties - b_ties[m] + joint - 2 * discordant) / total
        out[m] = min(1.0, max(-1.0, tau))


# ------------------------------------------------------------------ searchlight centres
@numba.njit(nogil=True, cache=True, error_model="numpy")
def searchlight_similarity(
    xt: np.ndarray, nb: np.ndarray, nb_len: np.ndarray, kind: int, centre: bool, mode: int,
    models: np.ndarray, out: np.ndarray, ok: np.ndarray,
) -> None:  # pragma: no cover - compiled
    """Similarity with the models of the RDM of every neighbourhood at every time.

    ``xt`` (n_times, n_features, n_conditions) holds the patterns, one row of conditions
    per feature; ``nb`` (n_centres, k_max) the features of each neighbourhood (the
    first ``nb_len[c]`` of row ``c``). Each RDM (``kind`` as in
    :func:`gram_to_condensed`, patterns centred over the neighbourhood's features when
    ``centre``) is compared with the unit-norm transformed ``models`` (n_models,
    n_pairs): ``mode`` 0 Spearman (centred ranks), 1 Pearson (centred values), 2
    cosine. ``out`` (n_centres, n_times, n_models) receives the similarities and ``ok``
    (n_centres, n_times) says where; it is False where the caller must compute the
    value itself (an undefined distance, a constant pattern or RDM, or a correlation
    over 2 features: exactly 0 or 2 but for rounding, whose ties the caller's rounding
    decides).
    """
    n = xt.shape[2]
    n_pairs = n * (n - 1) // 2
    sub = np.empty((nb.shape[1], n))
    gram, d, vec = np.empty(n_pairs), np.empty(n_pairs), np.empty(n_pairs)
    diag = np.empty(n)
    work = _scratch(n_pairs)
    for t in range(xt.shape[0]):
        for c in range(nb.shape[0]):
            k = nb_len[c]
            if centre and k < 3:
                ok[c, t] = False
                continue
            for f in range(k):
                sub[f] = xt[t, nb[c, f]]
            good = _neighbourhood_rdm(sub[:k], kind, centre, gram, diag, d)
            good = good and _transformed(d, mode, work, vec)
            ok[c, t] = good
            if good:
                norm = np.sqrt(_dot(vec, vec))
                for m in range(models.shape[0]):
                    out[c, t, m] = _dot(vec, models[m]) / norm


@numba.njit(nogil=True, cache=True, error_model="numpy", fastmath={"reassoc", "contract"})
def _dot(a: np.ndarray, b: np.ndarray) -> float:  # pragma: no cover - compiled
    """Inner product of two vectors (vectorised: the sum is reassociated)."""
    s = 0.0
    for i in range(a.size):
        s += a[i] * b[i]
    return s


@numba.njit(nogil=True, cache=True, error_model="numpy")
def _neighbourhood_rdm(
    sub: np.ndarray, kind: int, centre: bool, gram: np.ndarray, diag: np.ndarray,
    d: np.ndarray,
) -> bool:  # pragma: no cover - compiled
    """Condensed RDM of the patterns ``sub`` (k, n) into ``d``; False (``d`` unusable)
    for a pattern constant over the features (``centre``) or a non-finite distance."""
    n = sub.shape[1]
    if centre and not _centre_columns(sub):
        return False
    _gram_upper(sub, gram, diag)
    p = 0
    check = 0.0  # v - v is NaN for a NaN or infinite v
    for i in range(n - 1):
        row, dest, right = gram[p : p + n - i - 1], d[p : p + n - i - 1], diag[i + 1 :]
        di = diag[i]
        if kind == 0:
            for q in range(row.size):
                dest[q] = 1.0 - row[q] / np.sqrt(di * right[q])
        else:
            for q in range(row.size):
                dest[q] = max(di + right[q] - 2.0 * row[q], 0.0)
            if kind == 2:
                for q in range(row.size):
                    dest[q] = np.sqrt(dest[q])
        for q in range(row.size):
            check += dest[q] - dest[q]
        p += n - i - 1
    return check == 0.0


@numba.njit(nogil=True, cache=True, error_model="numpy")
def _gram_upper(sub: np.ndarray, gram: np.ndarray, diag: np.ndarray) -> None:  # pragma: no cover
    """Upper triangle (condensed, into ``gram``) and diagonal of ``sub.T @ sub``, by
    rank-4 then rank-1 updates row by row (slices, so that the inner loops vectorise)."""
    k, n = sub.shape
    gram[:] = 0.0
    diag[:] = 0.0
    f = 0
    while f + 4 <= k:
        a, b, c, e = sub[f], sub[f + 1], sub[f + 2], sub[f + 3]
        p = 0
        for i in range(n):
            ai, bi, ci, ei = a[i], b[i], c[i], e[i]
            diag[i] += ai * ai + bi * bi + ci * ci + ei * ei
            m = n - i - 1
            row, ra, rb, rc, re = gram[p : p + m], a[i + 1 :], b[i + 1 :], c[i + 1 :], e[i + 1 :]
            for q in range(m):
                row[q] += ai * ra[q] + bi * rb[q] + ci * rc[q] + ei * re[q]
            p += m
        f += 4
    for g in range(f, k):
        a = sub[g]
        p = 0
        for i in range(n):
            ai = a[i]
            diag[i] += ai * ai
            row, right = gram[p : p + n - i - 1], a[i + 1 :]
            for q in range(row.size):
                row[q] += ai * right[q]
            p += n - i - 1


@numba.njit(nogil=True, cache=True, error_model="numpy")
def _centre_columns(sub: np.ndarray) -> bool:  # pragma: no cover - compiled
    """Centre each column of ``sub`` (k, n) in place; False if one is constant."""
    k, n = sub.shape
    sums = np.zeros(n)
    varies = np.zeros(n)  # > 0 where a later feature differs from the first
    first = sub[0]
    for f in range(k):
        row = sub[f]
        for i in range(n):
            sums[i] += row[i]
            varies[i] += row[i] != first[i]
    if varies.min() == 0.0:
        return False
    for i in range(n):
        sums[i] /= k
    for f in range(k):
        row = sub[f]
        for i in range(n):
            row[i] -= sums[i]
    return True


@numba.njit(nogil=True, cache=True, error_model="numpy")
def _transformed(d: np.ndarray, mode: int, work: tuple, vec: np.ndarray) -> bool:  # pragma: no cover
    """The RDM ``d`` transformed for ``mode`` (see :func:`searchlight_similarity`) into
    ``vec``: centred ranks, centred values or the values; False for a constant RDM."""
    n = d.size
    varies = 0.0
    for p in range(n):
        varies += d[p] != d[0]
    if varies == 0.0:
        return False
    if mode == 0:
        if _counting_sort(d, work):
            _write_average_ranks(work[2], work[3], (n + 1) / 2.0, vec)
        else:
            order = np.argsort(d)
            _write_average_ranks(d[order], order, (n + 1) / 2.0, vec)
        return True
    shift = 0.0
    if mode == 1:
        for p in range(n):
            shift += d[p]
        shift /= n
    for p in range(n):
        vec[p] = d[p] - shift
    return True


@numba.njit(nogil=True, cache=True, error_model="numpy")
def spearman_rows(a: np.ndarray, models: np.ndarray, out: np.ndarray, done: np.ndarray) -> None:  # pragma: no cover
    """Spearman correlation of each row of ``a`` (m, n), NaN-free, with each row of
    ``models`` (n_models, n): their centred ranks scaled to unit norm. ``out`` (m,
    n_models) receives them; ``done[r]`` is False for the rows that
    :func:`_counting_sort` leaves to the caller."""
    n = a.shape[1]
    work = _scratch(n)
    vec = np.empty(n)
    for r in range(a.shape[0]):
        done[r] = _counting_sort(a[r], work)
        if not done[r]:
            continue
        _write_average_ranks(work[2], work[3], (n + 1) / 2.0, vec)
        norm = np.sqrt(_dot(vec, vec))
        for m in range(models.shape[0]):
            out[r, m] = _dot(vec, models[m]) / norm


__all__ = ["centre_rows", "centred_ranks", "dense_ranks", "gram_to_condensed",
           "searchlight_similarity", "spearman_rows", "tau_a_rows"]
