"""Decode speech from simulated MEG: CLIP vs regression vs untrained encoder vs chance.

The brainmagick table (Défossez et al. 2023) on simulated data with known ground truth:

- Stimuli: the real audiobook speech of ``speech_audiobook`` (data root from
  ``NEURODECODE_TEST_DATA`` or ``../shared/data``), cut so that the trials total
  ``--minutes`` of sound; synthetic speech-like sound when the data are absent (the
  output says which).
- Brain: ``--subjects`` simulated subjects (``simulate_meeg``), KIT 208-sensor MEG at
  120 Hz, driven by the mel spectrogram through planted TRFs (``--response``) at
  ``--snr-db``.
- Windows: 3 s, split by block (one block = one audiobook trial). Training and
  validation windows slide every ``--train-stride`` s; test windows every
  ``--test-stride`` s (shorter, to reach >= 500 unique test segments with ~2 test
  trials). Both sets are cut with ``make_segments`` from the same recordings and split
  together by ``split_segments`` with one block assignment, so no brain sample and no
  stimulus window of a test trial is in training or validation (checked again here).
- Models: the same ConvEncoder trained with the CLIP loss (brainmagick's variant), with
  MSE (regression baseline), and left untrained; top-k retrieval among all unique test
  segments (``compute_topk_accuracy``), with the chance level.

Defaults: nonlinear response at -28 dB, where the task is not trivial (at -20 and
-25 dB the CLIP encoder is at ceiling, 98 % and 91 % top-1; at -30 dB it stays at
chance within 4 epochs while regression reaches 25 % top-10), a small encoder (32
virtual channels, 32 hidden, 4 blocks, 39k parameters) trained up to 20 epochs. The mel
bands are z-scored with the training split's statistics for every model.

Run: ``.venv/bin/python benchmarks/decode_simulated.py`` (full size: about 1-4 min per
model on 2 idle CPU cores) or ``--quick`` (tiny, seconds).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from neurodecode.align import concatenate_segments, make_segments, split_segments
from neurodecode.build import build_simulated
from neurodecode.config import SimulationConfig
from neurodecode.decoding.windows import evaluate, scale_splits, segment_ids, train
from neurodecode.features import get_feature
from neurodecode.losses import ClipLoss, MSELoss
from neurodecode.models import ConvEncoder, count_parameters

REPO = Path(__file__).resolve().parents[1]
SFREQ = 120.0
WINDOW = 3.0
KS = (1, 5, 10)
MIN_TEST_SEGMENTS = 500


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Command-line options (``--quick`` shrinks every size for a smoke run)."""
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--subjects", type=int, default=4)
    p.add_argument("--minutes", type=float, default=10.0, help="minutes of speech per subject")
    p.add_argument("--trials", type=int, default=10, help="audiobook trials (blocks) used")
    p.add_argument("--snr-db", type=float, default=-28.0)
    p.add_argument("--response", choices=("trf", "nonlinear"), default="nonlinear")
    p.add_argument("--n-mels", type=int, default=40)
    p.add_argument("--train-stride", type=float, default=1.0)
    p.add_argument("--test-stride", type=float, default=0.2)
    p.add_argument("--test-size", type=float, default=0.2)
    p.add_argument("--valid-size", type=float, default=0.1)
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--patience", type=int, default=8)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--hidden", type=int, default=32, help="channels of the conv blocks")
    p.add_argument("--virtual", type=int, default=32, help="spatial-attention outputs")
    p.add_argument("--depth", type=int, default=4, help="conv blocks")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data-root", default=None, help="default: $NEURODECODE_TEST_DATA or "
                                                     "../shared/data")
    p.add_argument("--synthetic", action="store_true", help="speech-like audio even when "
                                                           "the audiobook is present")
    p.add_argument("--threads", type=int, default=None, help="torch threads")
    p.add_argument("--out", default=None, help="run directory (default: a temporary one)")
    p.add_argument("--progress", action="store_true", help="progress bars")
    p.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run in seconds")
    args = p.parse_args(argv)
    if args.quick:
        args.subjects, args.minutes, args.trials = min(args.subjects, 2), 1.0, 4
        args.epochs, args.hidden, args.virtual, args.depth = 2, 16, 16, 2
        args.n_mels, args.test_stride, args.test_size, args.valid_size = 16, 0.5, 0.25, 0.25
    return args


def find_audio_root(data_root: str | None) -> Path | None:
    """The ``speech_audiobook`` folder, or None when absent."""
    env = os.environ.get("NEURODECODE_TEST_DATA")
    root = Path(data_root or env or REPO.parent / "shared" / "data")
    folder = root / "speech_audiobook"
    return folder if any(folder.glob("trial*.wav")) else None


def trial_cap(durations: Sequence[float], total: float) -> float:
    """Largest per-trial length ``c`` with ``sum(min(d, c)) <= total`` (water filling)."""
    d = np.sort(np.asarray(durations, dtype=float))
    if d.sum() <= total:
        return float(d[-1])
    for i in range(len(d)):
        cap = (total - d[:i].sum()) / (len(d) - i)
        if cap <= d[i]:
            return float(cap)
    return float(d[-1])  # pragma: no cover (the sum test above catches it)


def simulate(args: argparse.Namespace):
    """Recordings of the simulated subjects, their mel features and the audio's origin."""
    from neurodecode.simulate import load_audiobook

    audio_root = None if args.synthetic else find_audio_root(args.data_root)
    total = 60.0 * args.minutes
    if audio_root is not None:
        trials = load_audiobook(audio_root, n_trials=args.trials)
        cap = trial_cap([t.duration for t in trials], total)
        origin = f"real audiobook speech ({audio_root})"
    else:
        cap = total / args.trials
        origin = "speech-like synthetic audio (audiobook not found)"
    sim = SimulationConfig(n_subjects=args.subjects, n_trials=args.trials, trial_duration=cap,
                           audio_root=None if audio_root is None else str(audio_root),
                           sensors="kit208", snr_db=args.snr_db, response=args.response)
    feature = get_feature("mel", sfreq=SFREQ, n_mels=args.n_mels)
    recordings, features = build_simulated(sim, feature, sfreq=SFREQ, seed=args.seed,
                                           progress=args.progress)
    return recordings, features, origin


def _segment(recs, features, stride: float, blocks=None):
    parts = []
    for i, rec in enumerate(recs):
        if blocks is not None:
            rec = dataclasses.replace(rec, events=rec.events[rec.events["block"].isin(blocks)])
        part = make_segments(rec, tmin=0.0, tmax=WINDOW, on="sound", stride=stride, sfreq=SFREQ,
                             baseline=None, features=features)
        part.meta["recording"] = i
        parts.append(part)
    return parts


def make_splits(recordings, features, args: argparse.Namespace) -> dict:
    """Leak-free train/valid (``train_stride``) and test (``test_stride``) segments."""
    coarse = _segment(recordings, features, args.train_stride)
    blocks = split_segments(concatenate_segments(coarse), by="block", test_size=args.test_size,
                            valid_size=args.valid_size, seed=args.seed)
    assignment = {str(b): name for name, s in blocks.items() for b in s.meta["block"].unique()}
    test_blocks = [b for b, name in assignment.items() if name == "test"]
    fine = _segment(recordings, features, args.test_stride, blocks=test_blocks)
    # Coarse windows of the test blocks are replaced by the finer ones.
    coarse = [p.select(~p.meta["block"].isin(test_blocks).to_numpy()) for p in coarse]
    both = concatenate_segments(coarse + fine)
    del coarse, fine
    splits = split_segments(both, by="block", assignment=assignment)
    check_leak_free(splits)
    return splits


def check_leak_free(splits: dict) -> None:
    """Raise AssertionError if a test sample or stimulus window is in train or valid."""
    test = splits["test"]
    test_ids = set(segment_ids(test.stimulus))
    for name in ("train", "valid"):
        other = splits[name]
        assert not test_ids & set(segment_ids(other.stimulus)), f"test stimulus in {name}"
        assert not set(test.meta["block"]) & set(other.meta["block"]), f"test block in {name}"
        for rec in np.unique(test.meta["recording"]):
            t = test.meta[test.meta["recording"] == rec]
            o = other.meta[other.meta["recording"] == rec]
            if len(o):
                covered = np.zeros(int(max(t["stop"].max(), o["stop"].max())) + 1, bool)
                for a, b in zip(o["start"], o["stop"]):
                    covered[a:b] = True
                hit = any(covered[a:b].any() for a, b in zip(t["start"], t["stop"]))
                assert not hit, f"a test sample of recording {rec} is in {name}"


def standardise_features(splits: dict) -> dict:
    """z-score each mel band with the training split's mean and SD (all splits)."""
    stim = splits["train"].stimulus
    mean = stim.mean(axis=(0, 2), keepdims=True)
    sd = stim.std(axis=(0, 2), keepdims=True) + 1e-6
    return {k: dataclasses.replace(s, stimulus=((s.stimulus - mean) / sd).astype(np.float32))
            for k, s in splits.items()}


def run_models(splits: dict, args: argparse.Namespace, run_dir: Path) -> dict:
    """Train CLIP and MSE encoders, build an untrained one; retrieval results of each."""
    import torch

    train_set = splits["train"]
    n_out, n_subjects = train_set.stimulus.shape[1], len(train_set.subjects)

    def make_model():
        return ConvEncoder(len(train_set.ch_names), n_out, n_subjects, n_virtual=args.virtual,
                           hidden=args.hidden, depth=args.depth, fourier_freqs=8)

    fit_kwargs = dict(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                      patience=args.patience, resume=False)
    eval_kwargs = dict(ks=KS, pool_size=None, n_bootstraps=200, seed=args.seed, device="cpu")
    out = {}
    for name, loss in (("CLIP", ClipLoss()), ("regression (MSE)", MSELoss())):
        model, fitted, seconds = train(make_model, loss, splits, run_dir=run_dir / name[:4],
                                       seed=args.seed, progress=args.progress, **fit_kwargs)
        out[name] = {"result": evaluate(model, splits["test"], **eval_kwargs),
                     "seconds": seconds, "epochs": len(fitted.history),
                     "best_epoch": fitted.best_epoch}
    torch.manual_seed(args.seed)
    model = make_model()
    out["untrained"] = {"result": evaluate(model, splits["test"], **eval_kwargs),
                        "seconds": 0.0, "epochs": 0, "best_epoch": 0}
    out["_n_parameters"] = count_parameters(model)
    return out


def format_table(results: dict) -> str:
    """The four rows (CLIP, regression, untrained, chance) as a text table."""
    head = f"{'model':<18}" + "".join(f"{'top-' + str(k):>9}" for k in KS)
    head += f"{'top-10 95% CI':>17}{'train s':>9}{'epochs':>8}"
    lines = [head, "-" * len(head)]
    chance = None
    for name in ("CLIP", "regression (MSE)", "untrained"):
        res = results[name]["result"]
        chance = res.chance
        lo, hi = res.ci[10]
        row = f"{name:<18}" + "".join(f"{100 * res.topk[k]:>8.1f}%" for k in KS)
        row += f"{f'{100 * lo:.1f}-{100 * hi:.1f}%':>17}"
        row += f"{results[name]['seconds']:>9.0f}{results[name]['epochs']:>8}"
        lines.append(row)
    lines.append(f"{'chance':<18}" + "".join(f"{100 * chance[k]:>8.1f}%" for k in KS))
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> dict:
    """Run the benchmark, print the table and return the figures."""
    import torch

    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    recordings, features, origin = simulate(args)
    t_sim = time.perf_counter() - t0
    splits = make_splits(recordings, features, args)
    del recordings
    splits = standardise_features(scale_splits(splits, "robust", 20.0))
    t_data = time.perf_counter() - t0
    test = splits["test"]
    n_unique = len(np.unique(segment_ids(test.stimulus)))
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = Path(args.out or tmp)
        results = run_models(splits, args, run_dir)
    print(f"Stimuli: {origin}")
    print(f"Simulation: {args.subjects} subjects x {args.minutes:g} min "
          f"({args.trials} blocks), kit208 MEG at {SFREQ:g} Hz, response={args.response}, "
          f"SNR {args.snr_db:g} dB; mel {args.n_mels} bands; {WINDOW:g} s windows")
    print(f"Split by block: train {len(splits['train'])} windows "
          f"({splits['train'].meta['block'].nunique()} blocks, stride {args.train_stride:g} s), "
          f"valid {len(splits['valid'])} ({splits['valid'].meta['block'].nunique()} blocks), "
          f"test {len(test)} queries = {n_unique} unique segments x {args.subjects} subjects "
          f"({test.meta['block'].nunique()} blocks, stride {args.test_stride:g} s); "
          "leak-free checked")
    print(f"ConvEncoder: {results['_n_parameters']:,} parameters (virtual {args.virtual}, "
          f"hidden {args.hidden}, depth {args.depth}); batch {args.batch_size}, lr {args.lr:g},"
          f" max {args.epochs} epochs, patience {args.patience}; torch threads "
          f"{torch.get_num_threads()}")
    print(f"Data (simulate + segment + scale): {t_data:.0f} s (simulation {t_sim:.0f} s); "
          f"total {time.perf_counter() - t0:.0f} s")
    if n_unique < MIN_TEST_SEGMENTS and not args.quick:
        print(f"WARNING: only {n_unique} unique test segments (< {MIN_TEST_SEGMENTS}); "
              "lower --test-stride.")
    print(f"\nTop-k retrieval among {n_unique} unique test segments (segment level):")
    print(format_table(results))
    summary = {name: {**{f"top{k}": r["result"].topk[k] for k in KS},
                      "seconds": r["seconds"], "epochs": r["epochs"]}
               for name, r in results.items() if not name.startswith("_")}
    summary["chance"] = {f"top{k}": results["CLIP"]["result"].chance[k] for k in KS}
    summary["n_candidates"] = n_unique
    summary["origin"] = origin
    return summary


if __name__ == "__main__":
    main(sys.argv[1:])
