"""RidgeCV speed and accuracy against himalaya and scikit-learn, on the same inputs.

Run: ``python benchmarks/encoding.py`` (``--quick`` for a smaller scaling sweep).
All estimators run at their defaults on float32 data (what users pass from MNE/nilearn
after ``astype(np.float32)``); neurodecode's ``dtype=None`` keeps float32.
Prints timings, ratios, the scaling with targets and samples, and the achieved
GFLOP/s as a fraction of a float32 matmul throughput measured in the same run.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from neurodecode.encoding import RidgeCV

ALPHAS = np.logspace(-2, 10, 13)
N_TRAIN, N_TEST, N_FEATURES, N_TARGETS, N_FOLDS = 2000, 500, 512, 5000, 5


def make_data(n_train, n_targets, n_features=N_FEATURES, seed=0):
    """Planted linear responses with target-specific SNR (float32)."""
    rng = np.random.default_rng(seed)
    n = n_train + N_TEST
    X = rng.standard_normal((n, n_features), dtype=np.float32)
    W = rng.standard_normal((n_features, n_targets), dtype=np.float32) / np.sqrt(n_features)
    snr = np.logspace(-1.5, 0.5, n_targets).astype(np.float32)
    Y = X @ (W * snr) + rng.standard_normal((n, n_targets), dtype=np.float32)
    return X[:n_train], Y[:n_train], X[n_train:], Y[n_train:]


def matmul_gflops(size=2048, repeats=3):
    """Best float32 matmul throughput (numpy) in GFLOP/s."""
    a = np.random.default_rng(1).standard_normal((size, size), dtype=np.float32)
    out = np.empty_like(a)
    best = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        np.matmul(a, a, out=out)
        best = min(best, time.perf_counter() - t0)
    return 2 * size**3 / best / 1e9


def model_flops(n, p, t, n_alphas=13, k=N_FOLDS):
    """FLOPs of neurodecode's RidgeCV (primal path), counting matrix products."""
    n_val, n_tr = n / k, n - n / k
    per_fold = 2 * (n_tr * p * p + n_val * p * p + n_val * p * t + p * p * t
                    + n_alphas * n_val * p * t) + 3 * n_alphas * n_val * t
    refit = 2 * (n * p * p + n * p * t + 2 * p * p * t)
    return 2 * n * p * t + k * per_fold + refit


def mean_test_r2(Y_test, pred):
    sse = ((Y_test - pred) ** 2).sum(0)
    sst = ((Y_test - Y_test.mean(0)) ** 2).sum(0)
    return float(np.mean(1 - sse / sst))


def run_neurodecode(X, Y, Xt, Yt, backend, **kwargs):
    """RidgeCV at the user's defaults (``dtype=None``: float32 data computes in float32)."""
    t0 = time.perf_counter()
    model = RidgeCV(alphas=ALPHAS, cv=N_FOLDS, backend=backend, **kwargs).fit(X, Y)
    elapsed = time.perf_counter() - t0
    return elapsed, mean_test_r2(Yt, model.predict(Xt))


def run_himalaya(X, Y, Xt, Yt, backend):
    from himalaya.backend import set_backend
    from himalaya.ridge import RidgeCV as HimalayaRidgeCV

    be = set_backend(backend, on_error="raise")
    t0 = time.perf_counter()
    model = HimalayaRidgeCV(alphas=ALPHAS, cv=N_FOLDS, fit_intercept=True).fit(X, Y)
    elapsed = time.perf_counter() - t0
    pred = np.asarray(be.to_numpy(model.predict(Xt)))
    set_backend("numpy")
    return elapsed, mean_test_r2(Yt, pred)


def run_sklearn(X, Y, Xt, Yt):
    from sklearn.linear_model import RidgeCV as SkRidgeCV

    t0 = time.perf_counter()
    model = SkRidgeCV(alphas=ALPHAS, alpha_per_target=True).fit(X, Y)
    elapsed = time.perf_counter() - t0
    return elapsed, mean_test_r2(Yt, model.predict(Xt))


def headline(peak):
    X, Y, Xt, Yt = make_data(N_TRAIN, N_TARGETS)
    print(f"\n== RidgeCV: {len(ALPHAS)} alphas, {N_FOLDS}-fold, {N_TRAIN} x {N_FEATURES} x "
          f"{N_TARGETS} targets, float32 ==")
    results = {
        "neurodecode (numpy)": run_neurodecode(X, Y, Xt, Yt, "numpy"),
        "neurodecode (numpy, dtype='float64' forced)": run_neurodecode(
            X, Y, Xt, Yt, "numpy", dtype="float64"),
        "neurodecode (torch)": run_neurodecode(X, Y, Xt, Yt, "torch"),
        "himalaya (numpy)": run_himalaya(X, Y, Xt, Yt, "numpy"),
        "himalaya (torch)": run_himalaya(X, Y, Xt, Yt, "torch"),
        "sklearn RidgeCV(alpha_per_target, GCV)": run_sklearn(X, Y, Xt, Yt),
    }
    for name, (sec, r2) in results.items():
        print(f"{name:42s} {sec:8.2f} s   mean test R2 {r2:.4f}")
    default, forced = results["neurodecode (numpy)"], results[
        "neurodecode (numpy, dtype='float64' forced)"]
    print(f"default RidgeCV(alphas, cv={N_FOLDS}) on float32 data vs forcing float64: "
          f"{forced[0] / default[0]:.2f}x faster, |dR2| = {abs(forced[1] - default[1]):.5f}")
    ours = min(results["neurodecode (numpy)"], results["neurodecode (torch)"])
    peers = {k: v for k, v in results.items() if not k.startswith("neurodecode")}
    print(f"(all at their defaults on the same float32 data; load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
    best_peer = min(peers, key=lambda k: peers[k][0])
    print(f"speed-up over the fastest peer ({best_peer}): {peers[best_peer][0] / ours[0]:.2f}x")
    for name, (sec, r2) in peers.items():
        print(f"  vs {name:40s} {sec / ours[0]:6.2f}x faster, |dR2| = {abs(r2 - ours[1]):.4f}")
    flops = model_flops(N_TRAIN, N_FEATURES, N_TARGETS)
    print(f"achieved {flops / ours[0] / 1e9:.1f} GFLOP/s = {flops / ours[0] / 1e9 / peak:.2f} of "
          f"the measured matmul peak ({peak:.1f} GFLOP/s)")


def scaling(peak, quick):
    targets = [1000, 5000, 20000] if quick else [1000, 5000, 10000, 20000, 50000]
    print("\n== scaling with targets (n_train=2000, 512 features) ==")
    print(f"{'targets':>8s} {'neurodecode s':>14s} {'GFLOP/s':>8s} {'frac':>5s} "
          f"{'himalaya(np) s':>15s} {'sklearn s':>10s}")
    for t in targets:
        X, Y, Xt, Yt = make_data(N_TRAIN, t)
        ours, _ = run_neurodecode(X, Y, Xt, Yt, "numpy")
        him, _ = run_himalaya(X, Y, Xt, Yt, "numpy")
        gf = model_flops(N_TRAIN, N_FEATURES, t) / ours / 1e9
        if t <= 10000:
            sk = f"{run_sklearn(X, Y, Xt, Yt)[0]:10.2f}"
        else:
            sk = "   skipped"
        print(f"{t:8d} {ours:14.2f} {gf:8.1f} {gf / peak:5.2f} {him:15.2f} {sk}")
    print("(sklearn skipped above 10k targets: its float64 GCV takes minutes there)")
    print("\n== scaling with samples (5000 targets, 512 features) ==")
    for n in [1000, 2000, 4000] if quick else [1000, 2000, 4000, 8000]:
        X, Y, Xt, Yt = make_data(n, N_TARGETS)
        ours, _ = run_neurodecode(X, Y, Xt, Yt, "numpy")
        gf = model_flops(n, N_FEATURES, N_TARGETS) / ours / 1e9
        print(f"n_train={n:5d}: {ours:6.2f} s, {gf:6.1f} GFLOP/s ({gf / peak:.2f} of peak)")


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller scaling sweep")
    parser.add_argument("--headline", action="store_true", help="only the side-by-side run")
    args = parser.parse_args()
    peak = matmul_gflops()
    print(f"float32 matmul throughput (numpy, 2048^3): {peak:.1f} GFLOP/s")
    headline(peak)
    if not args.headline:
        scaling(peak, args.quick)


if __name__ == "__main__":
    main()
