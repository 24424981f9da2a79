"""RDMs of many pattern sets at once, streamed through per-thread buffers.

The metrics built from one Gram matrix (``STREAMED``) are computed chunk by chunk over
the flattened leading axes (time, subjects, centres) without copying the input; and the
warning that :func:`~neurodecode.rsa.compute_rdm` gives for constant patterns, whose
correlation or cosine distances are NaN.
"""

from __future__ import annotations

import threading
import warnings

import numpy as np

from .. import _backend as B
from .._validation import check_finite

STREAMED = ("correlation", "cosine", "euclidean", "sqeuclidean")
_COPY_BYTES = 8e6  # patterns copied at once per thread, into one reused buffer
_GRAM_BYTES = 2e6  # patterns multiplied at once: they stay in the core's cache
_BLOCK_ROWS = 512  # rows of features copied at once from a strided view


def streamed_rdms(x: np.ndarray, metric: str, dt: np.dtype, n_jobs: int) -> np.ndarray:
    """RDMs of the metrics built from one Gram matrix, over the flattened leading axes.

    The RDMs are cut into chunks that the threads take in turn (a thread that the
    machine's load holds back takes fewer); each thread reuses its own buffers: a chunk
    of patterns is copied there (in blocks, so that strided views such as
    ``data.transpose(2, 0, 1)`` are read cache line by cache line), then centred and
    multiplied in smaller steps, and written straight into the result: no copy of the
    whole input is made.
    """
    n, p = x.shape[-2:]
    lead = x.shape[:-2]
    try:
        x3 = np.reshape(x, (-1, n, p), copy=False)
    except ValueError:  # leading axes that cannot be merged without a copy
        x3 = np.ascontiguousarray(x).reshape(-1, n, p)
    out = np.empty((x3.shape[0], n * (n - 1) // 2), dtype=dt)
    size = n * p * np.dtype(dt).itemsize
    workers = B.n_workers(n_jobs)
    per_thread = -(-x3.shape[0] // workers)
    step = max(1, min(int(_COPY_BYTES // size), -(-per_thread // _CHUNKS_PER_THREAD)))
    sub = max(1, min(int(_GRAM_BYTES // size), step))
    local = threading.local()

    def chunk(start: int) -> bool:
        if not hasattr(local, "buffers"):
            local.buffers = (np.empty((step, n, p), dtype=dt), np.empty((sub, n, n), dtype=dt))
        stop = min(start + step, x3.shape[0])
        return _streamed_range(x3, out, (start, stop), local.buffers, metric)

    finite = B.parallel_map(chunk, list(range(0, x3.shape[0], step)), n_jobs)
    if not all(finite):
        check_finite("patterns", x)
        warn_flat_patterns(x)
    return out.reshape(lead + (out.shape[-1],))


_CHUNKS_PER_THREAD = 4  # chunks each thread takes on average


def _streamed_range(
    x3: np.ndarray, out: np.ndarray, rows: tuple[int, int], buffers: tuple, metric: str
) -> bool:
    """Write the RDMs ``rows[0]:rows[1]`` into ``out`` with the thread's ``buffers``
    (patterns, Gram matrices); return whether they are all finite."""
    from ._kernels import centre_rows, gram_to_condensed

    start, stop = rows
    buf, gram = buffers
    sub = len(gram)
    kind = _CONDENSED_KIND[metric]
    finite = True
    chunk = buf[: stop - start]
    copy_blocked(x3[start:stop], chunk)
    for j in range(0, len(chunk), sub):
        part = chunk[j : j + sub]
        if metric == "correlation":
            centre_rows(part)
        elif metric in ("euclidean", "sqeuclidean"):  # shift-invariant: saves digits
            part -= part.mean(-2, keepdims=True)
        g_sq = np.matmul(part, part.swapaxes(-1, -2), out=gram[: len(part)])
        dest = out[start + j : start + j + len(part)]
        finite = gram_to_condensed(g_sq, kind, dest) and finite
    return finite


_CONDENSED_KIND = {"correlation": 0, "cosine": 0, "sqeuclidean": 1, "euclidean": 2}


def copy_blocked(view: np.ndarray, dest: np.ndarray) -> None:
    """``dest[...] = view`` for a (m, n, p) view, in blocks of rows when it is strided."""
    m, n, p = view.shape
    if view.flags.c_contiguous or view.strides[-1] == view.itemsize:
        np.copyto(dest, view, casting="unsafe")
        return
    if view.strides[1] == p * view.strides[2]:  # features of all conditions as one axis
        src2, dest2 = view.reshape(m, n * p), dest.reshape(m, n * p)
        for r in range(0, n * p, _BLOCK_ROWS):
            np.copyto(dest2[:, r : r + _BLOCK_ROWS].T, src2[:, r : r + _BLOCK_ROWS].T,
                      casting="unsafe")
        return
    rows = max(1, _BLOCK_ROWS // p)
    for c in range(0, n, rows):
        np.copyto(dest[:, c : c + rows].transpose(1, 2, 0),
                  view[:, c : c + rows].transpose(1, 2, 0), casting="unsafe")


def warn_flat_patterns(patterns: np.ndarray) -> None:
    """Warn about the condition patterns that make correlation/cosine distances NaN."""
    flat = (patterns == patterns[..., :1]).all(-1)  # constant (all zero for cosine)
    if not flat.any():
        return
    where = tuple(int(i) for i in np.argwhere(flat)[0])
    warnings.warn(
        f"{int(flat.sum())} condition pattern(s) are constant over features (the first: "
        f"condition {where[-1]} at leading index {where[:-1]}); their correlation or "
        "cosine distances are undefined and set to NaN.",
        UserWarning,
        stacklevel=3,
    )


__all__ = ["STREAMED", "copy_blocked", "streamed_rdms", "warn_flat_patterns"]
