"""Streamed decoding at scale: preprocessing time, store size and peak memory vs subjects.

Simulated studies of 1, 2, 4 and 8 subjects x ``--minutes`` of 208-channel MEG at 600 Hz
(read lazily, as MNE reads a FIF file), hearing the same story: 60-s sounds with a word
every 0.35 s and 1024-dimensional targets at 50 Hz (wav2vec2-large's rate and size). For
each study, in a fresh process: every recording is preprocessed into a fresh store
(``align.store``, resampled to 120 Hz), then a small encoder is trained for 2 epochs of
20 batches of 64 word windows (-0.5..2.5 s) cut on demand (``align.dataset``), and the
process's peak RSS is read. Then the loader's batches per second at the full-size setting
(batch 256, 208 x 360, 1,024 outputs, 2 workers) are compared with the full-size
``ConvEncoder``'s training step rate, and the store size and preprocessing time of the full
Gwilliams and MOUS studies are extrapolated from the measured rates.

``--stage eval`` (issue 11, streamed scoring): for each study, in a fresh process, the
test split (the last quarter of the sounds, every subject's word windows) is scored by an
untrained small encoder as the decoding job scores it (``decoding.windows.score_model``:
predicted one block at a time, ranked against the candidates cut on demand), and the peak
RSS of the evaluation stage alone is read (``VmHWM`` reset before it); with
``--materialised 1 2`` the same test split is also scored the way the job did before
(every prediction and target held, ``compute_topk_accuracy`` at the ks and again at the
retrieval curve's ks), at those sizes only (it grows by 2 x 1.47 MB per test window), and
its peak at the largest study is extrapolated linearly.

Usage: python benchmarks/decoding_scale.py [--minutes 30] [--subjects 1 2 4 8]
       python benchmarks/decoding_scale.py --stage eval --minutes 10 [--materialised 1 2]
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

N_CHANNELS, SFREQ, OUT_SFREQ, N_FEATURES, FEATURE_SFREQ = 208, 600.0, 120.0, 1024, 50.0
SOUND_S, WORD_EVERY_S = 60.0, 0.35
#: Full studies (assumptions, stated with the table): recordings, hours each, channels, Hz,
#: hours of distinct audio.
STUDIES = {"Gwilliams (MEG-MASC)": (27 * 2, 1.0, 208, 1000.0, 1.0),
           "MOUS (auditory)": (96, 0.75, 273, 1200.0, 0.5)}


class LazyMEG:
    """Noise generated on demand, the same for every read of a span (1-s seeded blocks)."""

    def __init__(self, seed: int, n_times: int) -> None:
        self.seed, self.n_times, self.shape = seed, n_times, (N_CHANNELS, n_times)

    def get(self, start: int, stop: int) -> np.ndarray:
        block = int(SFREQ)
        first, last = start // block, (stop - 1) // block
        parts = [np.random.default_rng((self.seed, b)).standard_normal(
            (N_CHANNELS, block), dtype=np.float32) for b in range(first, last + 1)]
        return np.concatenate(parts, axis=1)[:, start - first * block: stop - first * block]


def _events(minutes: float, offset: float) -> pd.DataFrame:
    rows = []
    for k in range(int(minutes * 60 // SOUND_S)):
        onset, stim = offset + k * SOUND_S, f"sound{k:03d}.wav"
        rows.append({"onset": onset, "duration": SOUND_S, "kind": "sound", "stimulus": stim,
                     "text": "", "block": stim, "condition": "sound"})
        for j, t in enumerate(np.arange(0.2, SOUND_S - 2.6, WORD_EVERY_S)):
            rows.append({"onset": onset + t, "duration": 0.3, "kind": "word", "stimulus": stim,
                         "text": f"w{j % 400}", "block": stim, "condition": "word"})
    return pd.DataFrame(rows)


def _recordings(n_subjects: int, minutes: float):
    from neurodecode.io.recording import Recording

    rng = np.random.default_rng(0)
    n_times = int(minutes * 60 * SFREQ)
    return [Recording(LazyMEG(s, n_times), SFREQ, _events(minutes - 0.1, 0.05 + 0.013 * s),
                      "meeg", subject=f"{s:02d}", ch_names=[f"MEG {i:03d}" for i in range(N_CHANNELS)],
                      ch_types=["mag"] * N_CHANNELS, pos_2d=rng.uniform(0, 1, (N_CHANNELS, 2)))
            for s in range(n_subjects)]


def _features(minutes: float):
    from neurodecode.features import StimulusFeatures

    n_sounds, n_frames = int(minutes * 60 // SOUND_S), int(SOUND_S * FEATURE_SFREQ)
    values = {f"sound{k:03d}.wav": np.random.default_rng(1000 + k).standard_normal(
        (N_FEATURES, n_frames), dtype=np.float32) for k in range(n_sounds)}
    return StimulusFeatures(values, FEATURE_SFREQ, "simulated_wav2vec")


def _streamed(n_subjects: int, minutes: float, store_dir: Path):
    from neurodecode.align.dataset import make_streamed
    from neurodecode.align.store import RecordingStore

    return make_streamed(_recordings(n_subjects, minutes), _features(minutes),
                         RecordingStore(store_dir), tmin=-0.5, tmax=2.5, on="word",
                         sfreq=OUT_SFREQ, baseline=(None, 0.0))


def _size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def child_study(n_subjects: int, minutes: float, store_dir: Path) -> dict:
    """Preprocess, then train 2 epochs x 20 batches of 64; returns the figures."""
    import torch

    from neurodecode.losses import ClipLoss
    from neurodecode.models import ConvEncoder
    from neurodecode.training import fit

    t0 = time.perf_counter()
    windows = _streamed(n_subjects, minutes, store_dir)
    prep_s = time.perf_counter() - t0
    rss_prep = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rng = np.random.default_rng(0)
    meta = windows.meta.iloc[rng.permutation(len(windows.meta))]
    valid, train = meta.iloc[:128], meta.iloc[128: 128 + 20 * 64]  # 20 batches when long enough
    scalers = windows.fit_scalers(train, "robust", 20.0)
    torch.manual_seed(0)
    model = ConvEncoder(N_CHANNELS, N_FEATURES, n_subjects, n_virtual=32, hidden=32, depth=2,
                        fourier_freqs=4)
    t0 = time.perf_counter()
    fit(model, ClipLoss(), windows.dataset(train, scalers), windows.dataset(valid, scalers),
        positions=windows.pos_2d, run_dir=store_dir / "run", epochs=2, batch_size=64,
        patience=5, progress=False, resume=False)
    return {"n_subjects": n_subjects, "minutes": minutes, "n_windows": len(windows.meta),
            "prep_s": prep_s, "store_bytes": _size(store_dir),
            "feature_bytes": sum(_size(p) for p in store_dir.iterdir()
                                 if p.is_dir() and '"feature"' in _entry_text(p)),
            "train_s": time.perf_counter() - t0, "rss_prep_mb": rss_prep,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def _entry_text(folder: Path) -> str:
    path = folder / "entry.json"
    return path.read_text() if path.is_file() else ""


def child_speed(minutes: float, store_dir: Path) -> dict:
    """Loader batches/s at the full-size setting vs the full-size training step rate."""
    import torch

    from neurodecode.losses import ClipLoss
    from neurodecode.models import ConvEncoder
    from neurodecode.training.loop import make_loader

    windows = _streamed(1, minutes, store_dir)
    dataset = windows.dataset(windows.meta, windows.fit_scalers(windows.meta, "robust", 20.0))
    def batches():
        for epoch in range(1000):
            yield from make_loader(dataset, 256, train=True, seed=0, epoch=epoch, num_workers=2)

    it, n = batches(), 8
    next(it)  # workers started
    t0 = time.perf_counter()
    for _ in range(n):
        next(it)
    loader_rate = n / (time.perf_counter() - t0)  # includes a worker start per epoch
    it.close()
    torch.manual_seed(0)
    model = ConvEncoder(N_CHANNELS, N_FEATURES, 27, n_virtual=270, hidden=320, depth=10,
                        fourier_freqs=32)
    loss, opt = ClipLoss(kind="brainmagick"), torch.optim.Adam(model.parameters(), 3e-4)
    batch = dataset.get_batch(np.arange(32))
    pos = torch.as_tensor(windows.pos_2d, dtype=torch.float32)
    times = []
    for _ in range(2):
        t0 = time.perf_counter()
        value = loss(model(batch["brain"], batch["subject"], pos), batch["stimulus"])
        opt.zero_grad()
        value.backward()
        opt.step()
        times.append(time.perf_counter() - t0)
    s_per_32 = min(times)
    return {"loader_batches_per_s": loader_rate, "s_per_batch32": s_per_32,
            "step_rate_256": 1.0 / (8 * s_per_32), "n_params": sum(p.numel() for p in
                                                                   model.parameters())}


def _run_child(args: list[str]) -> dict:
    out = subprocess.run([sys.executable, __file__, *args], check=True, capture_output=True,
                         text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _extrapolate(rows: list[dict]) -> list[str]:
    big = rows[-1]
    hours = big["minutes"] / 60 * big["n_subjects"]
    s_per_input_sample = big["prep_s"] / (hours * 3600 * SFREQ * N_CHANNELS)
    lines = ["study                  recordings  h each  ch    Hz    store GB  prep h (1 core)"]
    for name, (n_rec, h, ch, fs, audio_h) in STUDIES.items():
        brain = n_rec * h * 3600 * OUT_SFREQ * ch * 4
        feats = audio_h * 3600 * OUT_SFREQ * N_FEATURES * 4
        prep = n_rec * h * 3600 * fs * ch * s_per_input_sample / 3600
        lines.append(f"{name:<22} {n_rec:>10} {h:>7.2f} {ch:>4} {fs:>6.0f} "
                     f"{(brain + feats) / 1e9:>10.1f} {prep:>12.1f}")
    return lines


def _status_mb(field: str) -> float:
    """A memory figure of this process (``VmRSS``, ``VmHWM``: peak RSS) in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise KeyError(field)


def _test_split(windows):
    """The last quarter of the sounds, every subject's word windows (scaled per recording
    on the other windows)."""
    sounds = sorted(set(windows.meta["stimulus"]))
    is_test = windows.meta["stimulus"].isin(sounds[-max(1, len(sounds) // 4):])
    scalers = windows.fit_scalers(windows.meta[~is_test], "robust", 20.0)
    return windows.dataset(windows.meta[is_test], scalers)


def _score_materialised(model, windows, test, kw: dict):
    """The job's scoring before issue 11's last part: every test prediction and target in
    memory, scored at the ks and again at the retrieval curve's ks."""
    from neurodecode.align.dataset import candidate_ids
    from neurodecode.decoding.windows import CURVE_KS
    from neurodecode.evaluation import compute_topk_accuracy, predict

    pred = predict(model, test, positions=windows.pos_2d)
    target = test.stimulus(np.arange(len(test)))
    score = dict(segment_ids=candidate_ids(windows, test.meta), subjects=test.subject,
                 groups=test.meta["text"].astype(str).to_numpy(), **kw)
    result = compute_topk_accuracy(pred, target, ks=(1, 5, 10), **score)
    ks = [k for k in CURVE_KS if k <= result.n_candidates]
    compute_topk_accuracy(pred, target, ks=ks, **score)
    return result


def child_eval(n_subjects: int, minutes: float, store_dir: Path, materialised: bool) -> dict:
    """Score the test split with an untrained small encoder; the evaluation's peak RSS."""
    from neurodecode.decoding.windows import fresh_model, score_model, window_candidates
    from neurodecode.models import ConvEncoder

    windows = _streamed(n_subjects, minutes, store_dir)
    test = _test_split(windows)
    model = fresh_model(lambda: ConvEncoder(N_CHANNELS, N_FEATURES, n_subjects, n_virtual=32,
                                            hidden=32, depth=2, fourier_freqs=4), 0)
    kw = dict(pool_size=None, n_bootstraps=200, seed=0)
    gc.collect()
    Path("/proc/self/clear_refs").write_text("5")  # the peak (VmHWM) restarts from here
    before, t0 = _status_mb("VmRSS"), time.perf_counter()
    if materialised:
        result = _score_materialised(model, windows, test, kw)
    else:
        result, _ = score_model(model, test, window_candidates(windows, test),
                                positions=windows.pos_2d, device="cpu", ks=(1, 5, 10), **kw)
    return {"n_subjects": n_subjects, "n_test": len(test), "n_candidates": result.n_candidates,
            "eval_s": time.perf_counter() - t0, "rss_before_mb": before,
            "eval_peak_mb": _status_mb("VmHWM"), "top10": result.topk[10],
            "ci_top10": list(result.ci[10]), "word_top10": result.word_topk[10]}


def main_eval(args: argparse.Namespace) -> None:
    """The evaluation stage's peak RSS vs subjects, streamed (and materialised)."""
    rows: dict[str, list[dict]] = {"streamed": [], "materialised": []}
    for mode, sizes in (("streamed", args.subjects), ("materialised", args.materialised)):
        for n in sizes:
            with tempfile.TemporaryDirectory(prefix="decoding_scale_") as tmp:
                rows[mode].append(_run_child(["--child", "eval", "--n", str(n), "--minutes",
                                              str(args.minutes), "--store", tmp,
                                              "--mode", mode]))
            r = rows[mode][-1]
            print(f"{mode} {n} subject(s): {r['n_test']} test windows, peak "
                  f"{r['eval_peak_mb']:.0f} MB", file=sys.stderr, flush=True)
    print(f"Scoring the test split (last quarter of the sounds), {args.minutes:g} min per "
          f"subject, {N_FEATURES}-d targets x {360} samples (1.47 MB a window), untrained "
          "small ConvEncoder, ks 1/5/10 + the retrieval curve:")
    print("scorer        subjects  test windows  candidates  eval s  RSS before MB  "
          "eval peak MB  top-10 (CI)")
    for mode, found in rows.items():
        for r in found:
            print(f"{mode:<13} {r['n_subjects']:>8} {r['n_test']:>13} {r['n_candidates']:>11} "
                  f"{r['eval_s']:>7.0f} {r['rss_before_mb']:>14.0f} {r['eval_peak_mb']:>13.0f}"
                  f"  {r['top10']:.4f} ({r['ci_top10'][0]:.4f}-{r['ci_top10'][1]:.4f})")
    streamed = rows["streamed"]
    growth = streamed[-1]["eval_peak_mb"] / streamed[0]["eval_peak_mb"] - 1
    print(f"streamed peak growth {streamed[0]['n_subjects']} -> {streamed[-1]['n_subjects']} "
          f"subjects ({streamed[0]['n_test']} -> {streamed[-1]['n_test']} test windows): "
          f"{100 * growth:+.1f} % ({'OK' if growth < 0.2 else 'FAIL'}: needs < 20 %)")
    old = rows["materialised"]
    same = {r["n_subjects"]: (r["top10"], r["ci_top10"], r["word_top10"]) for r in streamed}
    for r in old:
        if r["n_subjects"] in same:
            equal = same[r["n_subjects"]] == (r["top10"], r["ci_top10"], r["word_top10"])
            print(f"{r['n_subjects']} subject(s): streamed and materialised top-10, CI and "
                  f"word top-10 {'equal' if equal else 'DIFFER'}")
    if len(old) >= 2:
        slope = (old[-1]["eval_peak_mb"] - old[0]["eval_peak_mb"]) / (
            old[-1]["n_test"] - old[0]["n_test"])
        big = streamed[-1]
        at_big = old[-1]["eval_peak_mb"] + slope * (big["n_test"] - old[-1]["n_test"])
        print(f"materialised peak: +{slope:.2f} MB per test window; at {big['n_subjects']} "
              f"subjects ({big['n_test']} test windows) extrapolated {at_big:.0f} MB vs "
              f"streamed {big['eval_peak_mb']:.0f} MB ({at_big / big['eval_peak_mb']:.1f}x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--subjects", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--stage", choices=["train", "eval"], default="train")
    parser.add_argument("--materialised", type=int, nargs="*", default=[],
                        help="--stage eval: also score the old way at these sizes")
    parser.add_argument("--child", choices=["study", "speed", "eval"])
    parser.add_argument("--mode", choices=["streamed", "materialised"], default="streamed")
    parser.add_argument("--n", type=int, default=1)
    parser.add_argument("--store", type=Path)
    args = parser.parse_args()
    if args.child == "study":
        print(json.dumps(child_study(args.n, args.minutes, args.store)))
        return
    if args.child == "speed":
        print(json.dumps(child_speed(args.minutes, args.store)))
        return
    if args.child == "eval":
        print(json.dumps(child_eval(args.n, args.minutes, args.store,
                                    args.mode == "materialised")))
        return
    if args.stage == "eval":
        main_eval(args)
        return
    rows = []
    for n in args.subjects:
        with tempfile.TemporaryDirectory(prefix="decoding_scale_") as tmp:
            rows.append(_run_child(["--child", "study", "--n", str(n), "--minutes",
                                    str(args.minutes), "--store", tmp]))
        r = rows[-1]
        print(f"{n} subject(s): prep {r['prep_s']:.0f} s, store {r['store_bytes'] / 1e9:.2f} GB, "
              f"peak RSS {r['peak_rss_mb']:.0f} MB", file=sys.stderr, flush=True)
    with tempfile.TemporaryDirectory(prefix="decoding_scale_") as tmp:
        speed = _run_child(["--child", "speed", "--minutes", str(min(args.minutes, 10.0)),
                            "--store", tmp])
    print(f"Streamed decoding, {args.minutes:g} min per subject, {N_CHANNELS} ch at "
          f"{SFREQ:g} Hz -> {OUT_SFREQ:g} Hz, {N_FEATURES}-d targets; training 2 epochs x 20 "
          "batches of 64 with a small ConvEncoder:")
    print("subjects  windows  prep s  store GB (features)  train s  peak RSS MB  (after prep)")
    for r in rows:
        print(f"{r['n_subjects']:>8} {r['n_windows']:>8} {r['prep_s']:>7.0f} "
              f"{r['store_bytes'] / 1e9:>8.2f} ({r['feature_bytes'] / 1e9:.2f}) "
              f"{r['train_s']:>12.0f} {r['peak_rss_mb']:>12.0f} {r['rss_prep_mb']:>13.0f}")
    growth = rows[-1]["peak_rss_mb"] / rows[0]["peak_rss_mb"] - 1
    ok = growth < 0.2 and max(r["peak_rss_mb"] for r in rows) < 4096
    print(f"peak RSS growth {rows[0]['n_subjects']} -> {rows[-1]['n_subjects']} subjects: "
          f"{100 * growth:+.1f} % ({'OK' if ok else 'FAIL'}: needs < 20 % and < 4 GB)")
    ratio = speed["loader_batches_per_s"] / speed["step_rate_256"]
    print(f"loader (batch 256, 2 workers): {speed['loader_batches_per_s']:.2f} batches/s; "
          f"full-size ConvEncoder ({speed['n_params']:,} parameters): "
          f"{speed['s_per_batch32']:.1f} s per batch of 32 -> {speed['step_rate_256']:.3f} "
          f"steps/s at 256; ratio {ratio:.0f}x ({'OK' if ratio >= 3 else 'FAIL'}: needs >= 3x)")
    print("Extrapolated from the measured preprocessing rate (assumed sizes: Gwilliams 27 "
          "subjects x 2 sessions x 1 h, 208 ch at 1 kHz, 1 h of audio; MOUS 96 auditory "
          "subjects x 45 min, 273 ch at 1.2 kHz, 30 min of audio):")
    print("\n".join(_extrapolate(rows)))


if __name__ == "__main__":
    main()
