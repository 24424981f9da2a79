"""Time lags of a stimulus: delays from seconds, the lagged design and its chunks.

Shared by :mod:`neurodecode.encoding.trf` (the estimator) and
:mod:`neurodecode.encoding._streamed` (the streamed cross-validation), which keeps the
two free of an import cycle.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from .._validation import check_positive

__all__ = ["lag_matrix", "lagged_chunks", "times_to_delays"]


def times_to_delays(tmin: float, tmax: float, sfreq: float) -> np.ndarray:
    """Delays in samples from ``tmin`` to ``tmax`` seconds (as MNE's ReceptiveField).

    A delay ``d`` pairs the response at ``t`` with the stimulus at ``t - d``.

    Parameters
    ----------
    tmin, tmax : float
        First and last lag in seconds (``tmin <= tmax``).
    sfreq : float
        Sampling rate in Hz.

    Returns
    -------
    delays : array of int, shape (n_delays,)
        The delays in samples.

    Examples
    --------
    >>> from neurodecode.encoding import times_to_delays
    >>> times_to_delays(-0.1, 0.2, 10.0).tolist()
    [-1, 0, 1, 2]
    """
    check_positive("sfreq", sfreq)
    if tmin > tmax:
        raise ValueError(f"tmin must be <= tmax; got tmin={tmin} and tmax={tmax}.")
    return np.arange(int(np.round(tmin * sfreq)), int(np.round(tmax * sfreq)) + 1)


def lag_matrix(
    x: np.ndarray, delays: np.ndarray, out: np.ndarray | None = None,
    rows: tuple[int, int] | None = None,
) -> np.ndarray:
    """Time-lagged copy of ``x`` with zeros outside the trial, written into ``out``.

    Parameters
    ----------
    x : array of shape (n_times, n_features)
    delays : array of int, shape (n_delays,)
    out : array of shape (n_rows, n_features * n_delays) or None
    rows : (start, stop) or None
        Only rows ``start:stop`` of the lagged matrix (``n_rows = stop - start``);
        ``None``: all ``n_times`` rows.

    Returns
    -------
    lagged : array of shape (n_rows, n_features * n_delays)
        Column ``f * n_delays + j`` holds feature ``f`` delayed by ``delays[j]``.
    """
    n_times, n_features = x.shape
    start, stop = (0, n_times) if rows is None else rows
    if out is None:
        out = np.empty((stop - start, n_features * len(delays)), dtype=x.dtype)
    view = out.reshape(stop - start, n_features, len(delays))
    for j, d in enumerate(delays):
        lo, hi = max(start - d, 0), min(stop - d, n_times)  # source rows inside the trial
        first, last = lo + d - start, max(hi + d - start, lo + d - start)
        view[:first, :, j] = 0
        view[last:, :, j] = 0
        if hi > lo:
            view[first:last, :, j] = x[lo:hi]
    return out


def lagged_chunks(
    x: np.ndarray, lags: np.ndarray, chunk_rows: int
) -> Iterator[tuple[int, int, np.ndarray]]:
    """Yield ``(start, stop, rows start:stop of lag_matrix(x, lags))``, in one reused buffer."""
    n_times = x.shape[0]
    buf = np.empty((min(chunk_rows, n_times), x.shape[1] * len(lags)), dtype=x.dtype)
    for start in range(0, n_times, chunk_rows):
        stop = min(start + chunk_rows, n_times)
        yield start, stop, lag_matrix(x, lags, buf[: stop - start], rows=(start, stop))
