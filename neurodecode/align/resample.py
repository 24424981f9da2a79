"""Chunked polyphase resampling: exact in the interior, memory bounded by the chunk size."""

from __future__ import annotations

import math
from collections.abc import Callable
from fractions import Fraction

import numpy as np
from scipy.signal import resample_poly


def resample_ratio(sfreq: float, target: float, max_denominator: int = 1000) -> tuple[int, int]:
    """Integers ``(up, down)`` with ``sfreq * up / down`` closest to ``target``."""
    ratio = Fraction(target / sfreq).limit_denominator(max_denominator)
    return ratio.numerator, ratio.denominator


def n_resampled(n_times: int, up: int, down: int) -> int:
    """Length of the output of :func:`scipy.signal.resample_poly` for ``n_times`` samples."""
    return math.ceil(n_times * up / down)


def resample_chunked(read: Callable[[int, int], np.ndarray], n_times: int, up: int, down: int,
                     *, out: np.ndarray, chunk_out: int = 12_000,
                     on_chunk: Callable[[np.ndarray, int], None] | None = None) -> np.ndarray:
    """Resample a long signal by ``up / down`` chunk by chunk into ``out``.

    Parameters
    ----------
    read : callable
        ``read(start, stop)`` returns the input samples ``[start, stop)`` as an array of
        shape (n_channels, stop - start).
    n_times : int
        Number of input samples.
    up, down : int
        Resampling factors (see :func:`resample_ratio`).
    out : array of shape (n_channels, n_resampled(n_times, up, down))
        Output buffer, written in place (any float dtype).
    chunk_out : int
        Output samples per chunk (rounded to a multiple of ``up``).
    on_chunk : callable, optional
        Called as ``on_chunk(x, start)`` on each raw input chunk (e.g. a NaN check).

    Returns
    -------
    out : array
        The buffer, equal to :func:`resample_full` (``resample_poly`` of the signal
        extended by its first and last values) up to float rounding.

    Notes
    -----
    The recording's ends are extended with their first and last values before
    filtering (``resample_poly`` alone pads with zeros, which bends the first and last
    ~80 ms of a signal with an offset towards zero); the interior is unaffected.
    """
    k_out = max(1, chunk_out // up)  # chunks start on input multiples of `down`
    pad = edge_pad(up, down)
    n_out = out.shape[1]
    for k0 in range(0, math.ceil(n_out / up), k_out):
        o0, o1 = k0 * up, min((k0 + k_out) * up, n_out)
        i0, i1 = k0 * down, min((k0 + k_out) * down, n_times)
        a0, a1 = max(0, i0 - pad), min(n_times, i1 + pad)
        x = read(a0, a1)
        if on_chunk is not None:
            on_chunk(x[:, i0 - a0: i1 - a0], i0)
        if up == down == 1:
            out[:, o0:o1] = x[:, i0 - a0: i0 - a0 + (o1 - o0)]
            continue
        before = pad if a0 == 0 else 0  # the recording's ends: extend their values
        after = pad if a1 == n_times else 0
        if before or after:
            x = np.pad(x, ((0, 0), (before, after)), mode="edge")
        y = resample_poly(x, up, down, axis=1)
        skip = (i0 - a0 + before) * up // down
        out[:, o0:o1] = y[:, skip: skip + (o1 - o0)]
    return out


def edge_pad(up: int, down: int) -> int:
    """Input samples (a multiple of ``down``) beyond the reach of the resampling filter."""
    return (math.ceil(10 * max(up, down) / up / down) + 2) * down


def resample_full(x: np.ndarray, up: int, down: int) -> np.ndarray:
    """Whole-signal reference of :func:`resample_chunked` (axis 1, ends extended)."""
    pad = edge_pad(up, down)
    y = resample_poly(np.pad(x, ((0, 0), (pad, pad)), mode="edge"), up, down, axis=1)
    start = pad * up // down
    return y[:, start: start + n_resampled(x.shape[1], up, down)]


__all__ = ["edge_pad", "n_resampled", "resample_chunked", "resample_full", "resample_ratio"]
