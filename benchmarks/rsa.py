"""Speed of neurodecode.rsa against rsatoolbox and mne-rsa (one run each, same inputs).

Run from the repository root: ``python benchmarks/rsa.py`` (add ``--skip-searchlight-peer``
to skip mne-rsa's slow searchlight). Every contender runs on the same inputs; each timing
is the best of ``--repeat`` runs (default 3) so that a busy machine penalises no one. Prints
each timing and the speed ratio against the faster peer; results are checked to agree
(to 1e-6) before timings are reported.
"""

from __future__ import annotations

import argparse
import time
import tracemalloc
import warnings

import numpy as np
from _interleave import interleaved

from neurodecode.rsa import (
    compare_rdms,
    compare_rdms_jointly,
    compute_rdm,
    crossval_models,
    fit_weights,
    sensor_neighbors,
    sensor_searchlight,
)

warnings.filterwarnings("ignore")


REPEAT = 3


def _timed(fn, *args, **kwargs):
    """Best of REPEAT runs (the machine may be shared): (result, seconds)."""
    best = np.inf
    for _ in range(REPEAT):
        start = time.perf_counter()
        out = fn(*args, **kwargs)
        best = min(best, time.perf_counter() - start)
    return out, best


def _report(name, ours, peers):
    best = min(peers, key=peers.get)
    print(f"\n== {name}")
    print(f"  neurodecode : {ours:8.3f} s")
    for peer, sec in peers.items():
        print(f"  {peer:12s}: {sec:8.3f} s   (neurodecode is {sec / ours:6.1f}x faster)")
    print(f"  ratio vs faster peer ({best}): {peers[best] / ours:.1f}x")


def bench_timecourse(rng):
    """Time-resolved RSA at the defaults, the contenders interleaved REPEAT times (ours,
    rsatoolbox, mne-rsa, ours through rsa_timecourse): the best of each is reported."""
    import os

    import mne_rsa
    import rsatoolbox

    from neurodecode.rsa import rsa_timecourse

    n_cond, n_ch, n_times, n_models = 92, 306, 700, 10
    data = rng.standard_normal((n_cond, n_ch, n_times))
    models = rng.random((n_models, n_cond * (n_cond - 1) // 2))

    def ours():
        rdms = compute_rdm(data.transpose(2, 0, 1), "correlation")
        return compare_rdms(rdms, models, "spearman")

    def ours_timecourse():  # from single trials (one per condition): the means copied
        return rsa_timecourse(data, np.arange(n_cond), models).similarity[0]

    def rsatb():
        ds = rsatoolbox.data.TemporalDataset(
            data, obs_descriptors={"conds": np.arange(n_cond)},
            time_descriptors={"time": np.arange(n_times)},
        )
        rdms = rsatoolbox.rdm.calc_rdm_movie(ds, method="correlation", descriptor="conds")
        return rsatoolbox.rdm.compare(rdms, rsatoolbox.rdm.RDMs(models), "spearman")

    def mnersa():
        patches = mne_rsa.searchlight(data.shape, temporal_radius=0)
        return mne_rsa.rsa_array(data, list(models), patches, data_rdm_metric="correlation",
                                 rsa_metric="spearman")

    contenders = {"ours": ours, "rsatoolbox": rsatb, "mne-rsa": mnersa,
                  "rsa_timecourse": ours_timecourse}
    ours()  # loads the compiled kernels once
    run = interleaved(contenders, REPEAT)
    best, cpu, results, loads, median = (run[k] for k in ("best", "cpu", "results", "loads",
                                                          "median"))
    sim = results["ours"]
    assert np.allclose(sim, results["rsatoolbox"], atol=1e-6), "mismatch with rsatoolbox"
    assert np.allclose(sim, np.asarray(results["mne-rsa"]).T, atol=1e-6), "mismatch with mne-rsa"
    assert np.allclose(sim, results["rsa_timecourse"], atol=1e-12)
    _report("correlation RDMs 92 cond x 306 ch x 700 times + Spearman vs 10 models "
            f"(interleaved, best of {REPEAT}, load average {min(loads):.1f}-{max(loads):.1f} "
            f"on {os.cpu_count()} cores)", best["ours"],
            {"rsatoolbox": best["rsatoolbox"], "mne-rsa": best["mne-rsa"]})
    print(f"  rsa_timecourse (from trials): {best['rsa_timecourse']:.3f} s "
          f"({best['rsatoolbox'] / best['rsa_timecourse']:.1f}x rsatoolbox)")
    print("  CPU seconds (best; ours summed over its threads): " + ", ".join(
        f"{name} {sec:.3f}" for name, sec in cpu.items())
          + f"; rsatoolbox / ours {cpu['rsatoolbox'] / cpu['ours']:.1f}x")
    print(f"  medians of {REPEAT}: " + ", ".join(f"{k} {v:.3f} s" for k, v in median.items())
          + f"; rsatoolbox / rsa_timecourse {median['rsatoolbox'] / median['rsa_timecourse']:.1f}x"
          f", rsatoolbox / ours {median['rsatoolbox'] / median['ours']:.1f}x")


def bench_timecourse_window(rng, window=5):
    """Sliding windows of ``window`` samples (step 1), correlation RDMs, Spearman: the
    summed per-sample Gram matrices of rsa_timecourse against the windows' patterns
    (the code before, still the fallback) and mne-rsa's temporal searchlight (radius
    ``window // 2``), interleaved REPEAT times."""
    import os

    import mne_rsa

    from neurodecode.rsa import rsa_timecourse
    from neurodecode.rsa.timecourse import _windows

    n_cond, n_ch, n_times, n_models = 92, 306, 700, 10
    data = rng.standard_normal((n_cond, n_ch, n_times))
    models = rng.random((n_models, n_cond * (n_cond - 1) // 2))
    contenders = {
        "rsa_timecourse": lambda: rsa_timecourse(data, np.arange(n_cond), models,
                                                 window=window).similarity[0],
        "window patterns (before)": lambda: compare_rdms(
            compute_rdm(_windows(data, window, 1), "correlation"), models, "spearman"),
        "mne-rsa": lambda: np.asarray(mne_rsa.rsa_array(
            data, list(models), mne_rsa.searchlight(data.shape, temporal_radius=window // 2),
            data_rdm_metric="correlation", rsa_metric="spearman")).T,
    }
    contenders["rsa_timecourse"]()  # compiled kernels loaded once
    run = interleaved(contenders, REPEAT)
    best, cpu, results, loads, median = (run[k] for k in ("best", "cpu", "results", "loads",
                                                          "median"))
    ours = results["rsa_timecourse"]
    diffs = {k: float(np.abs(ours - v).max()) for k, v in results.items()}
    print(f"\n== sliding windows of {window} samples, 92 cond x 306 ch x 700 times, Spearman vs "
          f"10 models (interleaved, {REPEAT} runs, load average {min(loads):.1f}-"
          f"{max(loads):.1f} on {os.cpu_count()} cores)")
    for name in contenders:
        print(f"  {name:26s} median {median[name]:7.3f} s  best {best[name]:7.3f} s  CPU "
              f"{cpu[name]:7.3f} s  max |diff| vs rsa_timecourse {diffs[name]:.1e}")
    for name in ("window patterns (before)", "mne-rsa"):
        print(f"  {name} / rsa_timecourse (medians): "
              f"{median[name] / median['rsa_timecourse']:.1f}x")


def bench_timecourse_stages(rng):
    """CPU seconds of the time course's stages on one thread (best of REPEAT): the
    transposing copy and the float64 Gram matrices (syrk) are the floor."""
    from neurodecode.rsa._kernels import gram_to_condensed

    data = rng.standard_normal((92, 306, 700))
    models = rng.random((10, 92 * 91 // 2))
    view = data.transpose(2, 0, 1)
    copy = np.empty(view.shape)
    gram = np.empty((700, 92, 92))
    rdms = compute_rdm(view, "correlation", n_jobs=1)
    stages = {
        "numpy copy of the strided view (unblocked)": lambda: np.copyto(copy, view),
        "Gram matrices (numpy matmul = syrk)": lambda: np.matmul(copy, copy.swapaxes(-1, -2),
                                                                  out=gram),
        "Gram -> condensed correlation distances": lambda: gram_to_condensed(
            gram, 0, np.empty((700, rdms.shape[-1]))),
        "compute_rdm (all of it)": lambda: compute_rdm(view, "correlation", n_jobs=1),
        "compare_rdms Spearman vs 10 models": lambda: compare_rdms(rdms, models, "spearman",
                                                                   n_jobs=1),
    }
    print("\n== time course stages, CPU seconds on one thread (best of REPEAT)")
    for name, fn in stages.items():
        best = np.inf
        for _ in range(REPEAT):
            start = time.thread_time()
            fn()
            best = min(best, time.thread_time() - start)
        print(f"  {name:44s} {best:.3f} s")
    sim64 = compare_rdms(rdms, models, "spearman")
    sim32 = compare_rdms(compute_rdm(view, "correlation", dtype="float32").astype(float),
                         models, "spearman")
    print(f"  Spearman from float32 RDMs: max |diff| vs float64 {np.abs(sim32 - sim64).max():.1e}")


def bench_crossnobis(rng):
    import rsatoolbox

    n_runs, n_cond, n_ch = 8, 200, 2000
    x = rng.standard_normal((n_runs, n_cond, n_ch))
    ds = rsatoolbox.data.Dataset(
        x.reshape(-1, n_ch),
        obs_descriptors={"conds": np.tile(np.arange(n_cond), n_runs),
                         "runs": np.repeat(np.arange(n_runs), n_cond)},
    )
    for label, prec in [("identity noise", None),
                        ("with a noise precision", np.linalg.inv(np.cov(rng.standard_normal((4000, n_ch)).T)))]:
        ours, t_ours = _timed(compute_rdm, x, "crossnobis", noise=prec)
        ref, t_ref = _timed(rsatoolbox.rdm.calc_rdm, ds, method="crossnobis", descriptor="conds",
                            cv_descriptor="runs", noise=prec)
        assert np.allclose(ours, ref.get_vectors()[0], atol=1e-6)
        _report(f"crossnobis 8 runs x 200 cond x 2000 ch ({label})", t_ours, {"rsatoolbox": t_ref})


def bench_kendall(rng):
    import mne_rsa
    import rsatoolbox

    n_pairs = 200 * 199 // 2
    a, b = rng.random(n_pairs), rng.random((100, n_pairs))
    ours, t_ours = _timed(compare_rdms, a, b, "kendall_tau_a")
    ref_a, t_a = _timed(rsatoolbox.rdm.compare, rsatoolbox.rdm.RDMs(a[None]),
                        rsatoolbox.rdm.RDMs(b), "tau-a")
    ref_b, t_b = _timed(mne_rsa.rsa, a, list(b), metric="kendall-tau-a")
    assert np.allclose(ours, ref_a[0], atol=1e-6) and np.allclose(ours, np.ravel(ref_b), atol=1e-6)
    _report("Kendall tau-a, 1 RDM vs 100 RDMs of 200 conditions", t_ours,
            {"rsatoolbox": t_a, "mne-rsa": t_b})


def _agree(name, ours, t_ours, ref, t_ref, peer):
    """One line: max abs difference and time ratio against a peer (same inputs)."""
    diff = float(np.nanmax(np.abs(np.asarray(ours, float) - np.asarray(ref, float))))
    print(f"  {name:34s} max |diff| vs {peer} {diff:8.1e}   neurodecode {t_ours:7.3f} s, "
          f"{peer} {t_ref:7.3f} s ({t_ref / t_ours:6.1f}x)")


def bench_methods(rng):
    """Each new method against its peer: max abs difference and time, side by side."""
    import mne_rsa
    import rsatoolbox
    from rsatoolbox.data import Dataset
    from rsatoolbox.inference import crossval
    from rsatoolbox.model import ModelWeighted
    from rsatoolbox.model.fitter import fit_regress, fit_regress_nn
    from rsatoolbox.rdm import RDMs

    print("\n== new methods against their peers (same inputs, best of REPEAT runs)")
    a, b = rng.random((200, 4950)), rng.random((10, 4950))  # 100 conditions
    for method, peer in [("rho_a", "rho-a"), ("kendall_tau_b", "tau-b")]:
        ours, t_o = _timed(compare_rdms, a[:20], b, method)
        ref, t_r = _timed(rsatoolbox.rdm.compare, RDMs(a[:20]), RDMs(b), peer)
        _agree(f"{method} 20 x 10 RDMs, 100 cond", ours, t_o, ref, t_r, "rsatoolbox")
    small_a, small_b = rng.random((20, 190)), rng.random((5, 190))  # 20 conditions
    ours, t_o = _timed(compare_rdms, small_a, small_b, "bures")
    ref, t_r = _timed(rsatoolbox.rdm.compare, RDMs(small_a), RDMs(small_b), "bures")
    _agree("bures 20 x 5 RDMs, 20 cond", ours, t_o, ref, t_r, "rsatoolbox")
    models = rng.random((3, 4950))
    data = models[0] - 0.5 * models[1] + rng.random((500, 4950))
    for method, peer in [("regression", "regression"), ("partial", "partial"),
                         ("partial_spearman", "partial-spearman")]:
        ours, t_o = _timed(compare_rdms_jointly, data, models, method)
        ref, t_r = _timed(lambda m=peer: np.array(
            [mne_rsa.rsa(d, list(models), metric=m) for d in data]))
        _agree(f"{method} 500 RDMs x 3 models", ours, t_o, ref, t_r, "mne-rsa")
    comps = rng.random((4, 4950))
    subj = comps[0] + 0.5 * comps[2] + rng.random((20, 4950))
    for nn, fitter in [(False, fit_regress), (True, fit_regress_nn)]:
        ours, t_o = _timed(fit_weights, subj, comps, "cosine", nonnegative=nn)
        ref, t_r = _timed(fitter, ModelWeighted("w", RDMs(comps)), RDMs(subj), method="cosine")
        _agree(f"fit_weights{' NNLS' if nn else ''} 20 RDMs x 4 comps", ours, t_o, ref, t_r,
               "rsatoolbox")
    n = 100
    folds = [np.arange(k, n, 5) for k in range(5)]
    rdms = RDMs(subj)
    train = [(rdms.subset_pattern("index", np.setdiff1d(np.arange(n), f)),
              np.setdiff1d(np.arange(n), f)) for f in folds]
    test = [(rdms.subset_pattern("index", f), f) for f in folds]
    ours, t_o = _timed(crossval_models, subj, [comps], folds, "cosine", fit="weighted")
    ref, t_r = _timed(lambda: np.asarray(crossval(
        [ModelWeighted("w", RDMs(comps))], rdms, train, test, method="cosine",
        fitter=[fit_regress], calc_noise_ceil=False).evaluations)[0].T)
    _agree("crossval 5 folds, weighted model", ours, t_o, ref, t_r, "rsatoolbox")
    counts = rng.integers(1, 6, (6, 40))
    trials = [rng.standard_normal((counts[r, c], 300)) for r in range(6) for c in range(40)]
    conds = np.concatenate([[c] * counts[r, c] for r in range(6) for c in range(40)])
    runs = np.concatenate([[r] * counts[r, c] for r in range(6) for c in range(40)])
    flat = np.concatenate(trials)
    means = np.stack([[flat[(runs == r) & (conds == c)].mean(0) for c in range(40)]
                      for r in range(6)])
    ds = Dataset(flat, obs_descriptors={"conds": conds, "runs": runs})
    ours, t_o = _timed(compute_rdm, means, "crossnobis", n_trials=counts)
    ref, t_r = _timed(lambda: rsatoolbox.rdm.calc_rdm(
        ds, method="crossnobis", descriptor="conds", cv_descriptor="runs").get_vectors()[0])
    _agree("crossnobis, unequal trials per run", ours, t_o, ref, t_r, "rsatoolbox")
    bench_more_methods(rng)


def bench_more_methods(rng):
    """Transforms, Poisson and unbalanced RDMs, interpolation, t-tests, spatio-temporal
    searchlight: max abs difference and time against the peer."""
    import mne
    import mne_rsa
    import rsatoolbox
    from rsatoolbox.data import Dataset
    from rsatoolbox.model import ModelInterpolate
    from rsatoolbox.model.fitter import fit_interpolate
    from rsatoolbox.rdm import RDMs
    from rsatoolbox.rdm.transform import rank_transform
    from rsatoolbox.util.inference_util import extract_variances, t_tests

    from neurodecode.rsa import (
        compute_poisson_rdm,
        compute_unbalanced_rdm,
        evaluation_variances,
        fit_interpolation,
        rank_rdms,
        t_test_pairs,
    )

    x = rng.random((200, 4950))
    ours, t_o = _timed(rank_rdms, x)
    ref, t_r = _timed(lambda: rank_transform(RDMs(x)).get_vectors())
    _agree("rank_rdms 200 RDMs, 100 cond", ours, t_o, ref, t_r, "rsatoolbox")
    counts = rng.poisson(3.0, (100, 500)).astype(float)
    ours, t_o = _timed(compute_poisson_rdm, counts)
    ref, t_r = _timed(lambda: rsatoolbox.rdm.calc_rdm(Dataset(counts), method="poisson")
                      .get_vectors()[0])
    _agree("poisson RDM 100 cond x 500 units", ours, t_o, ref, t_r, "rsatoolbox")
    conds = np.repeat(np.arange(30), rng.integers(2, 8, 30))
    runs = rng.integers(0, 4, len(conds))
    trials = rng.standard_normal((len(conds), 100)) + conds[:, None] * 0.1
    ds = Dataset(trials, obs_descriptors={"conds": conds, "runs": runs})
    ours, t_o = _timed(lambda: compute_unbalanced_rdm(trials, conds, runs=runs)[0])
    ref, t_r = _timed(lambda: rsatoolbox.rdm.calc_rdm_unbalanced(
        ds, method="euclidean", descriptor="conds", cv_descriptor="runs").get_vectors()[0])
    _agree("unbalanced RDM, 30 cond, 4 runs", ours, t_o, ref, t_r, "rsatoolbox")
    comps = rng.random((4, 1225))
    data = 0.4 * comps[1] + 0.6 * comps[2] + 0.1 * rng.random((10, 1225))
    ours, t_o = _timed(fit_interpolation, data, comps, "pearson")
    ref, t_r = _timed(fit_interpolate, ModelInterpolate("i", RDMs(comps)), RDMs(data),
                      method="corr")
    _agree("fit_interpolation 4 RDMs, 50 cond", ours, t_o, ref, t_r, "rsatoolbox")
    evals = rng.normal(0.3, 0.1, (1000, 20, 3))
    cov = np.cov(evals.mean(-1).T)
    ours, t_o = _timed(lambda: t_test_pairs(evals, evaluation_variances(cov, n_subjects=20)[1]))
    ref, t_r = _timed(lambda: t_tests(evals, extract_variances(cov, False, n_rdm=20)[1]))
    _agree("t_test_pairs 20 models", ours, t_o, ref, t_r, "rsatoolbox")
    montage = mne.channels.make_standard_montage("biosemi32")
    info = mne.create_info(montage.ch_names, 100.0, "eeg")
    info.set_montage(montage)
    eeg = rng.standard_normal((20, 32, 60))
    model = rng.random(190)
    nbrs = sensor_neighbors(info, radius=0.05)
    ours, t_o = _timed(lambda: sensor_searchlight(eeg, model, info, radius=0.05, window=5)
                       ["model0"].data)
    patches = mne_rsa.searchlight(eeg.shape, spatial_radius=[list(n) for n in nbrs],
                                  temporal_radius=2)
    ref, t_r = _timed(lambda: np.asarray(mne_rsa.rsa_array(eeg, model, patches,
                                                           data_rdm_metric="correlation"))
                      .reshape(32, 56))
    _agree("spatio-temporal searchlight 32 ch", ours, t_o, ref, t_r, "mne-rsa")


def bench_searchlight(rng, skip_peer, peer_times=700):
    """Ours, mne-rsa, ours again (interleaved: the load of a shared machine changes),
    at the user's defaults (MNE adjacency, correlation RDMs, Spearman, default memory)."""
    import os
    from pathlib import Path

    import mne
    import mne_rsa

    path = Path(__file__).resolve().parents[2] / "shared" / "data" / "meg_sample_crop" / "test_raw.fif"
    info = mne.io.read_info(path, verbose=False)
    info = mne.pick_info(info, mne.pick_types(info, meg=True))
    n_cond, n_times = 92, 700
    data = rng.standard_normal((n_cond, 306, n_times))
    model = rng.random(n_cond * (n_cond - 1) // 2)
    sensor_searchlight(data[:, :, :4], model, info)  # loads the compiled kernels once
    print("\n== sensor searchlight, 306 sensors (MNE adjacency) x 700 times, 92 conditions "
          f"({os.cpu_count()} cores)")
    tracemalloc.start()
    start = time.perf_counter()
    maps = sensor_searchlight(data, model, info)
    t_ours = [time.perf_counter() - start]  # traced by tracemalloc (slows it a little)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    print(f"  neurodecode : {t_ours[0]:8.3f} s, load average {os.getloadavg()[0]:.1f}, peak "
          f"traced memory {peak / 1e6:.0f} MB (input {data.nbytes / 1e6:.0f} MB, output "
          f"{maps['model0'].data.nbytes / 1e6:.1f} MB)")
    if skip_peer:
        return
    nbrs = sensor_neighbors(info)
    n_sub = peer_times  # mne-rsa on the first peer_times time points (all 700 by default)
    sub = data[:, :, :n_sub]
    patches = mne_rsa.searchlight(sub.shape, spatial_radius=[list(n) for n in nbrs], temporal_radius=0)
    start = time.perf_counter()
    ref = mne_rsa.rsa_array(sub, model, patches, data_rdm_metric="correlation")
    t_peer = (time.perf_counter() - start) * n_times / n_sub
    diff = np.abs(np.asarray(ref).reshape(306, n_sub) - maps["model0"].data[:, :n_sub]).max()
    assert diff < 1e-6, diff
    start = time.perf_counter()
    sensor_searchlight(data, model, info)
    t_ours.append(time.perf_counter() - start)
    print(f"  mne-rsa     : {t_peer:8.3f} s{'' if n_sub == n_times else f' (extrapolated from {n_sub} time points)'}, "
          f"load average {os.getloadavg()[0]:.1f}, max |diff| {diff:.1e}")
    print(f"  neurodecode : {t_ours[1]:8.3f} s again, load average {os.getloadavg()[0]:.1f}")
    print(f"  ratio: mne-rsa / neurodecode = {t_peer / t_ours[0]:.1f}x (before), "
          f"{t_peer / t_ours[1]:.1f}x (after), {t_peer / np.mean(t_ours):.1f}x (mean)")


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--skip-searchlight-peer", action="store_true")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--peer-times", type=int, default=700,
                        help="time points mne-rsa's searchlight runs on (700: all, no extrapolation)")
    parser.add_argument("--only", choices=["timecourse", "window", "stages", "crossnobis", "kendall",
                                           "methods", "searchlight"])
    args = parser.parse_args()
    global REPEAT
    REPEAT = args.repeat
    rng = np.random.default_rng(0)
    benches = {
        "timecourse": lambda: bench_timecourse(rng),
        "window": lambda: bench_timecourse_window(rng),
        "stages": lambda: bench_timecourse_stages(rng),
        "crossnobis": lambda: bench_crossnobis(rng),
        "kendall": lambda: bench_kendall(rng),
        "methods": lambda: bench_methods(rng),
        "searchlight": lambda: bench_searchlight(rng, args.skip_searchlight_peer, args.peer_times),
    }
    for name, bench in benches.items():
        if args.only in (None, name):
            bench()


if __name__ == "__main__":
    main()
