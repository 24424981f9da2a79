"""TRF on long recordings: the lagged design is never built (Gram matrices by chunks).

Run: ``python benchmarks/trf_memory.py`` (``--minutes 20`` for a shorter recording).
Simulates ``--minutes`` of 32 smooth stimulus features at 100 Hz in 5-minute trials and
64 channels driven by planted kernels over 0-400 ms (41 delays), fits a
TemporalReceptiveField with 8 alphas chosen by 4-fold CV over trials, and prints the
size the lagged design would have had, the wall time, the peak traced memory, and how
well the planted kernels are recovered. With ``--compare``, the same fit on the first
20 minutes is also run with the design materialised, for time and agreement.
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

import numpy as np
import scipy.signal

from neurodecode.encoding import TemporalReceptiveField, lag_matrix, times_to_delays

SFREQ, N_FEATURES, N_CHANNELS, TMAX, TRIAL_MIN = 100.0, 32, 64, 0.4, 5


def simulate(minutes: int, seed: int = 0):
    """Trials of smooth features and noisy responses; the planted kernels."""
    rng = np.random.default_rng(seed)
    delays = times_to_delays(0.0, TMAX, SFREQ)
    lags = delays / SFREQ
    latency = rng.uniform(0.05, 0.3, N_CHANNELS)
    kernel = rng.standard_normal((N_CHANNELS, N_FEATURES, 1)) * np.exp(
        -((lags[None, None, :] - latency[:, None, None]) ** 2) / (2 * 0.03**2))
    flat = kernel.reshape(N_CHANNELS, -1).T
    b, a = scipy.signal.butter(2, 8.0, fs=SFREQ)  # features smooth below 8 Hz
    X, Y = [], []
    for _ in range(minutes // TRIAL_MIN):
        n = int(TRIAL_MIN * 60 * SFREQ)
        x = scipy.signal.lfilter(b, a, rng.standard_normal((n, N_FEATURES)), axis=0)
        x /= x.std(0)
        clean = np.empty((n, N_CHANNELS))
        for start in range(0, n, 4096):  # planted response, chunk by chunk
            stop = min(start + 4096, n)
            clean[start:stop] = lag_matrix(x, delays, rows=(start, stop)) @ flat
        X.append(x)
        Y.append(clean + clean.std() * rng.standard_normal(clean.shape))
    return X, Y, kernel


def fit(X, Y, stream: bool | None):
    trf = TemporalReceptiveField(0.0, TMAX, SFREQ, alphas=np.logspace(-1, 6, 8), cv=4,
                                 stream=stream)
    tracemalloc.start()
    start = time.perf_counter()
    trf.fit(X, Y)
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return trf, seconds, peak


def kernel_recovery(trf, kernel) -> float:
    return float(np.median([np.corrcoef(trf.coef_[c].ravel(), kernel[c].ravel())[0, 1]
                            for c in range(N_CHANNELS)]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=int, default=60)
    parser.add_argument("--compare", action="store_true",
                        help="also fit the first 20 minutes with the design materialised")
    args = parser.parse_args()
    X, Y, kernel = simulate(args.minutes)
    n_times = sum(len(x) for x in X)
    n_cols = N_FEATURES * len(times_to_delays(0.0, TMAX, SFREQ))
    data_mb = sum(x.nbytes + y.nbytes for x, y in zip(X, Y)) / 1e6
    print(f"{args.minutes} min at {SFREQ:g} Hz, {N_FEATURES} features x "
          f"{n_cols // N_FEATURES} delays -> {N_CHANNELS} channels: the lagged design would "
          f"take {n_times * n_cols * 8 / 1e9:.2f} GB (stimulus + response {data_mb:.0f} MB)")
    trf, seconds, peak = fit(X, Y, stream=None)
    print(f"fit (streamed by default): {seconds:.1f} s, peak traced memory {peak / 1e6:.0f} MB, "
          f"median kernel recovery r {kernel_recovery(trf, kernel):.3f}")
    if args.compare:
        k = 20 // TRIAL_MIN
        sub_x, sub_y = X[:k], Y[:k]
        streamed, t_s, p_s = fit(sub_x, sub_y, stream=True)
        full, t_f, p_f = fit(sub_x, sub_y, stream=False)
        diff = np.abs(streamed.coef_ - full.coef_).max() / np.abs(full.coef_).max()
        print(f"first 20 min: streamed {t_s:.1f} s / {p_s / 1e6:.0f} MB, materialised "
              f"{t_f:.1f} s / {p_f / 1e6:.0f} MB; max relative coefficient difference "
              f"{diff:.1e}; same alphas: {bool(np.all(streamed.alpha_ == full.alpha_))}")


if __name__ == "__main__":
    main()
