"""The encoding methods taken from the peers, side by side with the peer in one run.

Run: ``python benchmarks/encoding_peers.py``. For each method: the largest absolute
difference from the peer on the same inputs, and both times with their ratio (peer
time / neurodecode time, > 1: neurodecode faster). Inputs are float32 where users
pass float32 (both libraries then run at their defaults on the same arrays).
"""

from __future__ import annotations

import os
import time
import warnings

import numpy as np
from _interleave import interleaved


def timed(fn, *args, **kwargs):
    """Seconds taken by ``fn(*args, **kwargs)``, and its result."""
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return time.perf_counter() - t0, out


def report(name, diff, ours, peer, peer_name):
    print(f"{name:34s} max |diff| {diff:9.2e}   neurodecode {ours:7.2f} s   {peer_name} "
          f"{peer:7.2f} s   ratio {peer / ours:5.2f}x")


def kernel_ridge(rng):
    from himalaya.backend import set_backend
    from himalaya.kernel_ridge import KernelRidgeCV as HimalayaKernelRidgeCV
    from himalaya.scoring import r2_score

    from neurodecode.encoding import KernelRidgeCV

    set_backend("numpy")
    n, p, t = 1000, 4000, 2000
    X = rng.standard_normal((n + 200, p), dtype=np.float32)
    Y = X @ (rng.standard_normal((p, t), dtype=np.float32) / np.sqrt(p)) * np.float32(0.3)
    Y += rng.standard_normal(Y.shape, dtype=np.float32)
    alphas = np.logspace(-2, 10, 13)
    for kernel, dtype in (("linear", np.float32), ("rbf", np.float32), ("linear", np.float64)):
        Xd, Yd = X.astype(dtype), Y.astype(dtype)
        ours_t, ours = timed(KernelRidgeCV(alphas, kernel=kernel).fit, Xd[:n], Yd[:n])
        peer = HimalayaKernelRidgeCV(alphas, kernel=kernel, fit_intercept=True, warn=False,
                                     solver_params={"score_func": r2_score})
        peer_t, peer = timed(peer.fit, Xd[:n], Yd[:n])
        diff = np.abs(ours.predict(Xd[n:]) - np.asarray(peer.predict(Xd[n:]))).max()
        report(f"KernelRidgeCV {kernel} {np.dtype(dtype).name} ({n}x{p}->{t})", diff, ours_t,
               peer_t, "himalaya")


def patterns(rng):
    from mne.decoding import LinearModel
    from sklearn.linear_model import Ridge

    from neurodecode.encoding import get_patterns

    n, p, t = 20000, 306, 4
    Y = rng.standard_normal((n, t))
    X = Y @ rng.standard_normal((t, p)) + rng.standard_normal((n, p))
    # the same fit (scikit-learn's Ridge) on both sides: the patterns step is compared
    ours_t, ours = timed(lambda: get_patterns(Ridge(1.0).fit(X, Y), X, Y))
    peer_t, peer = timed(lambda: LinearModel(Ridge(1.0)).fit(X, Y).patterns_)
    report(f"Haufe patterns ({n}x{p}, {t} targets)", np.abs(ours - peer).max(), ours_t, peer_t,
           "MNE")


def laplacian_trf(rng):
    from mne.decoding import ReceptiveField, TimeDelayingRidge

    from neurodecode.encoding import TemporalReceptiveField

    sfreq, n_trials, n_times, n_feat, n_out = 100.0, 4, 6000, 16, 32
    X = [rng.standard_normal((n_times, n_feat)) for _ in range(n_trials)]
    Y = [x[:, :1] @ rng.standard_normal((1, n_out)) + rng.standard_normal((n_times, n_out))
         for x in X]
    ours_t, ours = timed(lambda: TemporalReceptiveField(
        0.0, 0.3, sfreq, alphas=[100.0], reg_type="laplacian").fit(X, Y))
    est = TimeDelayingRidge(0.0, 0.3, sfreq, alpha=100.0, reg_type="laplacian")
    peer_t, peer = timed(lambda: ReceptiveField(0.0, 0.3, sfreq, estimator=est).fit(
        np.stack(X, 1), np.stack(Y, 1)))
    report(f"Laplacian TRF ({n_trials}x{n_times}, {n_feat}x31 lags)",
           np.abs(ours.coef_ - peer.coef_).max(), ours_t, peer_t, "MNE")


def n_permutations_exact(n, n_permutations=1024):
    """Whether a two-sided test of ``n`` observations enumerates all its sign flips."""
    return 2 ** (n - 1) - 1 < n_permutations


def cluster(rng):
    from mne.stats import permutation_cluster_1samp_test

    from neurodecode.encoding import cluster_permutation_test

    for n, n_times, label in ((10, 500, "exact, 512 flips"), (25, 2000, "1024 random flips")):
        X = rng.standard_normal((n, n_times))
        X[:, 100:160] += 0.8
        ours_t, ours = timed(cluster_permutation_test, X, n_permutations=1024)
        peer_t, peer = timed(permutation_cluster_1samp_test, X, n_permutations=1024, seed=0,
                             verbose=False)
        t_diff = np.abs(ours.t_obs - peer[0]).max()
        p_diff = np.abs(np.sort(ours.pvalues) - np.sort(peer[2])).max()
        report(f"cluster test {n}x{n_times} ({label})", t_diff, ours_t, peer_t, "MNE")
        note = "exact: the same flips" if n_permutations_exact(n) else "different random flips"
        print(f"{'':34s} max |p diff| {p_diff:.4f} ({note})")


def multiple_kernel_ridge(rng):
    from himalaya.backend import set_backend
    from himalaya.kernel_ridge import MultipleKernelRidgeCV as Himalaya
    from himalaya.scoring import r2_score

    from neurodecode.encoding import MultipleKernelRidgeCV

    set_backend("numpy")
    n, sizes, t, n_iter = 600, (300, 700), 2000, 10
    Xs = [rng.standard_normal((n + 100, p), dtype=np.float32) for p in sizes]
    Y = sum(X @ (rng.standard_normal((X.shape[1], t), dtype=np.float32) / np.sqrt(X.shape[1]))
            for X in Xs) + 2 * rng.standard_normal((n + 100, t), dtype=np.float32)
    Ks = np.stack([X[:n] @ X[:n].T for X in Xs])
    Ks_new = np.stack([X[n:] @ X[:n].T for X in Xs])
    gammas = rng.dirichlet(np.ones(2), size=n_iter)
    gammas[0] = 0.5
    alphas = np.logspace(-2, 10, 13)
    ours_t, ours = timed(MultipleKernelRidgeCV(kernel="precomputed", alphas=alphas,
                                               n_iter=gammas).fit, Ks, Y[:n])
    params = dict(n_iter=gammas, alphas=alphas, score_func=r2_score, progress_bar=False)
    peer = Himalaya(kernels="precomputed", solver="random_search", solver_params=params,
                    fit_intercept=True)
    peer_t, peer = timed(peer.fit, Ks, Y[:n])
    diff = np.abs(ours.predict(Ks_new) - np.asarray(peer.predict(Ks_new))).max()
    report(f"MultipleKernelRidgeCV ({n}, 2 kernels, {t}, {n_iter} iter)", diff, ours_t,
           peer_t, "himalaya")


def hyper_gradient(rng, repeat=1):
    """Both solvers descend the CV error from a kernel ridge over the uniformly weighted
    kernels (himalaya's ``initial_deltas="ridgecv"``, our ``n_iter=1``) for 10 steps:
    their CV R^2 is compared (the optimisers differ, so their solutions do). The two run
    in turn ``repeat`` times (the machine is shared): median wall and fewest CPU seconds."""
    from himalaya.backend import set_backend
    from himalaya.kernel_ridge import solve_multiple_kernel_ridge_hyper_gradient
    from himalaya.scoring import r2_score

    from neurodecode.encoding import MultipleKernelRidgeCV

    set_backend("numpy")
    n, sizes, t = 300, (100, 400), 200
    Xs = [rng.standard_normal((n, p)) for p in sizes]
    scales = rng.random((2, t))
    Y = sum(X @ rng.standard_normal((X.shape[1], t)) / np.sqrt(X.shape[1]) * np.sqrt(g)
            for X, g in zip(Xs, scales)) + rng.standard_normal((n, t))
    Y -= Y.mean(0)
    Ks = np.stack([X @ X.T for X in Xs])
    contenders = {
        "neurodecode": lambda: MultipleKernelRidgeCV(
            kernel="precomputed", n_iter=1, solver="hyper_gradient", max_iter=10,
            fit_intercept=False).fit(Ks, Y).cv_scores_[-1],
        "himalaya": lambda: np.asarray(solve_multiple_kernel_ridge_hyper_gradient(
            Ks, Y, max_iter=10, tol=None, score_func=r2_score, cv=5,
            initial_deltas="ridgecv", progress_bar=False)[2])[-1],
    }
    run = interleaved(contenders, repeat)
    wall, cpu, out, loads = run["median"], run["cpu"], run["results"], run["loads"]
    diff = float(np.mean(out["neurodecode"] - out["himalaya"]))
    report(f"MKR hyper-gradient ({n}, 2 kernels, {t})", abs(diff), wall["neurodecode"],
           wall["himalaya"], "himalaya")
    print(f"{'':34s} mean CV R2: neurodecode {out['neurodecode'].mean():.4f}, himalaya "
          f"{out['himalaya'].mean():.4f} (max |diff| above is of the mean)")
    print(f"{'':34s} median of {repeat} interleaved runs, load average "
          f"{min(loads):.1f}-{max(loads):.1f}; CPU seconds (fewest) neurodecode "
          f"{cpu['neurodecode']:.2f}, himalaya {cpu['himalaya']:.2f}, ratio "
          f"{cpu['himalaya'] / cpu['neurodecode']:.2f}x")


def main():
    import argparse

    import mne

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", choices=["hyper_gradient"])
    parser.add_argument("--repeat", type=int, default=1, help="interleaved runs (hyper_gradient)")
    args = parser.parse_args()

    mne.set_log_level("ERROR")
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores "
          f"(OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')})")
    rng = np.random.default_rng(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if args.only == "hyper_gradient":
            hyper_gradient(rng, args.repeat)
            return
        kernel_ridge(rng)
        multiple_kernel_ridge(rng)
        hyper_gradient(rng, args.repeat)
        patterns(rng)
        laplacian_trf(rng)
        cluster(rng)


if __name__ == "__main__":
    main()
