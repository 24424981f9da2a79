"""The seed papers' analyses on planted ground truth and on real data (issue 20, 18.3).

Run from the repository root: ``python benchmarks/seed_analyses.py [--data ../shared/data]``
(``--quick`` for fewer repetitions). Prints, in order:

1. topological RSA: model-selection accuracy over 4 known topologies (ring, chain, grid,
   two clusters) embedded through a random stretch and random Fourier features with
   noise, for plain RSA and for geo-topological RSA;
2. attention decoding: accuracy per decision window (1, 5, 10, 30 s) and the MESD on a
   simulated two-speaker study built from the 10 audiobook trials;
3. coherence: the planted coupling frequency recovered on simulated EEG, and the
   dominant frequencies of the MNE sample MEG/EEG with the stimulus event train, with
   circular-shift null bands;
4. similarity maps: planted layer and latency recovered by RSA over time; the planted
   model and layer of the which-layer example (``examples/which_layer.py``);
5. Haxby: held-out CCA between the BOLD slice and the category model, and the preferred
   category of the best-predicted voxels (``examples/cca_haxby.py``,
   ``examples/selectivity_haxby.py``).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import time
import warnings
from pathlib import Path

import numpy as np
from scipy.signal import butter, sosfiltfilt

import neurodecode
from neurodecode.encoding import stimulus_response_coherence
from neurodecode.rsa import TOPOLOGIES, compute_rdm, select_topology, topology_model_rdms

warnings.filterwarnings("ignore")
REPO = Path(__file__).resolve().parents[1]


def _latent(kind: str, n: int, rng: np.random.Generator) -> np.ndarray:
    """2-D points of a known topology, in the conditions' natural order."""
    i = np.arange(n)
    if kind == "ring":
        a = 2 * np.pi * i / n
        return np.c_[np.cos(a), np.sin(a)]
    if kind == "chain":
        return np.c_[np.linspace(-1, 1, n), np.zeros(n)]
    if kind == "grid":
        cols = int(np.ceil(np.sqrt(n)))
        return np.c_[i // cols, i % cols] / cols
    return np.c_[(i >= n // 2) * 1.0, np.zeros(n)] + 0.05 * rng.standard_normal((n, 2))


def _embed(z: np.ndarray, rng: np.random.Generator, noise: float) -> np.ndarray:
    """A random 3:1 stretch, then 60 random Fourier features, plus noise."""
    stretch = rng.standard_normal((2, 2)) * np.array([[3.0], [1.0]])
    w, b = 2.0 * rng.standard_normal((2, 60)), rng.uniform(0, 2 * np.pi, 60)
    x = np.cos(z @ stretch @ w + b)
    return x + noise * rng.standard_normal(x.shape)


def topology(n_reps: int) -> None:
    print("\n== 1. topological RSA: model selection among ring / chain / grid / clusters")
    n = 24
    models = topology_model_rdms(n)
    variants = {
        "plain RSA (Spearman, raw distances)": dict(lower=0, upper=1, geodesic=False,
                                                    method="spearman"),
        "tRSA graded 0-0.3 quantile (Pearson)": dict(lower=0, upper=0.3, geodesic=False),
        "tRSA geodesic, graph 0.3, graded 0-0.3": dict(lower=0, upper=0.3, geodesic=True),
        "tRSA geodesic, graph 0.1, graded 0-1": dict(lower=0, upper=1, neighbours=0.1),
    }
    for noise in (0.3, 0.6):
        rng = np.random.default_rng(0)
        data = [(kind, compute_rdm(_embed(_latent(kind, n, rng), rng, noise), "euclidean"))
                for _ in range(n_reps) for kind in TOPOLOGIES]
        print(f"  noise sd {noise}: {len(data)} data sets ({n_reps} per topology, {n} "
              "conditions), chance 25 %")
        for name, kw in variants.items():
            acc = np.mean([select_topology(d, models, **kw).best == k for k, d in data])
            print(f"    {name:<42} {100 * acc:5.1f} %")


def _example(name: str):
    """Import ``examples/<name>.py`` as a module (the benchmark runs the examples' studies)."""
    spec = importlib.util.spec_from_file_location(name, REPO / "examples" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def attention(data: Path) -> None:
    print("\n== 2. attention decoding: simulated two-speaker study from the audiobook")
    example = _example("attention_audiobook")
    start = time.perf_counter()
    res = example.run(data, snr=0.003)
    print(f"  {len(res.reconstruction_r)} trials (examples/attention_audiobook.py), 16 channels "
          f"at {example.SFREQ:g} Hz, SNR 0.003 (power), ignored speaker at 0.3 gain; backward "
          f"TRF 0-300 ms, leave one trial out ({time.perf_counter() - start:.1f} s)")
    print(f"  held-out reconstruction r (attended): median {np.median(res.reconstruction_r):.3f}")
    for w, a, n, c in zip(res.window_s, res.accuracy, res.n_decisions, res.chance_upper):
        print(f"    window {w:4.0f} s: accuracy {100 * a:5.1f} % of {n:4d} decisions "
              f"(chance 95 % bound {100 * c:.1f} %)")
    m = res.mesd
    print(f"  MESD {m.mesd:.1f} s (at {m.window_s:.1f} s windows, accuracy {100 * m.accuracy:.1f} %,"
          f" {m.n_states} states)")


def coherence(data: Path) -> None:
    print("\n== 3. stimulus-response coherence (multitaper, 200 circular shifts)")
    rng = np.random.default_rng(0)
    sfreq, n = 100.0, 30000
    for f0 in (4.0, 8.0, 12.0):
        stim = rng.standard_normal(n)
        sos = butter(4, [f0 - 1, f0 + 1], "bandpass", fs=sfreq, output="sos")
        eeg = rng.standard_normal((8, n))
        eeg[:3] += 2 * np.roll(sosfiltfilt(sos, stim), 8)
        res = stimulus_response_coherence(stim, eeg, sfreq, fmax=40, n_surrogates=200)
        peaks = res.dominant_frequency()
        print(f"  simulated: planted {f0:4.1f} Hz in channels 0-2 -> dominant "
              f"{peaks[:3].round(2).tolist()} Hz; null channels significant: "
              f"{int(np.isfinite(peaks[3:]).sum())} of 5")
    mne_sample(data)


def mne_sample(data: Path) -> None:
    res, rate, n_events = _example("coherence_meg_sample").event_train_coherence(data)
    peaks = res.dominant_frequency()
    sig = np.isfinite(peaks)
    values, counts = np.unique(peaks[sig], return_counts=True)
    top = sorted(zip(counts, values), reverse=True)[:4]
    print(f"  MNE sample (24 s, {len(peaks)} MEG+EEG channels, event train of {n_events} "
          f"stimuli, mean rate {rate:.2f} Hz; examples/coherence_meg_sample.py): "
          f"{int(sig.sum())} channels with coherence above the family-wise null")
    print("    dominant frequency (channels): "
          + ", ".join(f"{v:.2f} Hz ({c})" for c, v in top))
    best = int(np.argmax(res.coherence.max(1)))
    at = int(np.argmax(res.coherence[best]))
    print(f"    strongest: {res.ch_names[best]} coherence {res.coherence[best, at]:.2f} at "
          f"{res.freqs[at]:.2f} Hz (null band {res.null_low[best, at]:.2f}-"
          f"{res.null_high[best, at]:.2f}, max-null {res.null_max[best]:.2f})")


def _evoked(rng, layer, n_subjects=4, n_channels=16, n_times=40, peak=20, noise=1.0):
    mixing = rng.standard_normal((layer.shape[1], n_channels))
    gain = np.exp(-0.5 * ((np.arange(n_times) - peak) / 3.0) ** 2)
    clean = (layer @ mixing)[:, :, None] * gain
    return clean[None] + noise * rng.standard_normal((n_subjects,) + clean.shape)


def similarity(data: Path, n_reps: int) -> None:
    print("\n== 4. similarity maps: planted layer and latency")
    rng = np.random.default_rng(0)
    times = np.arange(40) * 0.01 - 0.1  # 100 Hz, -100..290 ms
    hits, errors = 0, []
    for _ in range(n_reps):
        base = rng.standard_normal((24, 12))
        layers = {f"layer {i}": base + (i + 1) * 0.7 * rng.standard_normal((24, 12))
                  for i in range(6)}  # correlated layers, as in deep networks
        planted, latency = int(rng.integers(6)), int(rng.integers(15, 30))
        brain = _evoked(rng, layers[f"layer {planted}"], peak=latency)
        res = neurodecode.similarity_map(brain, layers, over="time", times=times,
                                         subjects=True, n_bootstrap=50)
        peak = res.peak()
        hits += peak["layer"] == f"layer {planted}"
        errors.append(abs(peak["coord"] - times[latency]))
    print(f"  RSA over time, 6 correlated layers, 4 subjects, 24 conditions: planted layer "
          f"recovered in {hits} / {n_reps}; latency error median {1e3 * np.median(errors):.0f} "
          f"ms, max {1e3 * np.max(errors):.0f} ms (100 Hz)")
    example = _example("which_layer")
    for planted in (("hubert", "layer 2"), ("wav2vec2", "layer 3")):
        start = time.perf_counter()
        res = example.which_layer(data, 4, planted, n_bootstrap=100)
        models, layer_names, table = res.grid()
        peak = res.peak()
        i, j = models.index(peak["model"]), layer_names.index(peak["layer"])
        row = res.labels.index(f"{peak['model']}/{peak['layer']}")
        low, high = (c[row, 0] for c in res.normalized_ci)
        second = np.sort(table.ravel())[-2]
        print(f"  which layer (4 audiobook trials, 2 tiny models x 5 layers, encoding): planted "
              f"{planted[0]} {planted[1]} -> {peak['model']} {peak['layer']} (r / ceiling "
              f"{table[i, j]:.2f} [95 % CI {low:.2f}, {high:.2f}], runner-up {second:.2f}; "
              f"{time.perf_counter() - start:.0f} s)")


def haxby(data: Path) -> None:
    print("\n== 5. Haxby: CCA brain vs category model, voxel selectivity")
    res = _example("cca_haxby").haxby_cca(data / "fmri_haxby", n_permutations=100)
    print("  CCA (530 voxels vs 8 category regressors, leave one run out, reg_x 0.5, 100 "
          "circular shifts): held-out r " + ", ".join(
              f"{r:.3f} (p {p:.3f})" for r, p in zip(res.correlations, res.pvalue)))
    conditions, labels, scores, _ = _example("selectivity_haxby").haxby_selectivity(
        data / "fmri_haxby")
    best = np.argsort(-scores)[:100]
    counts = {c: int(np.sum(labels[best] == c)) for c in conditions}
    print(f"  preferred category of the 100 best-predicted voxels (held-out r >= "
          f"{scores[best].min():.2f}): " + ", ".join(f"{c} {n}" for c, n in counts.items()))


def main() -> None:
    default = os.environ.get("NEURODECODE_TEST_DATA", str(REPO.parent / "shared" / "data"))
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path(default))
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    args = parser.parse_args()
    reps = 5 if args.quick else 25
    topology(reps)
    attention(args.data)
    coherence(args.data)
    similarity(args.data, 5 if args.quick else 20)
    haxby(args.data)


if __name__ == "__main__":
    main()
