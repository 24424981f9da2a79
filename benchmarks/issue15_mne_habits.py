"""Issue 15 on the real data: MNE objects in and out, splits of a single session, and
the statistics the figures now show (MNE sample crop and Haxby subject 1 slice).

Run: ``.venv/bin/python benchmarks/issue15_mne_habits.py [DATA_ROOT]`` (default
``$NEURODECODE_TEST_DATA`` or ``../shared/data``). Prints every figure quoted in
``benchmarks/RESULTS.md`` under "Issue 15".
"""

from __future__ import annotations

import os
import sys
import time
import warnings
from pathlib import Path

import mne
import numpy as np


def _root() -> Path:
    if len(sys.argv) > 1:
        return Path(sys.argv[1])
    return Path(os.environ.get("NEURODECODE_TEST_DATA", Path(__file__).parents[1] / "../shared/data"))


def mne_in_and_out(folder: Path) -> None:
    from neurodecode.align import make_segments
    from neurodecode.io import read_meeg

    event_id = {"auditory/left": 1, "auditory/right": 2, "visual/left": 3, "visual/right": 4}
    rec = read_meeg(folder / "test_raw.fif", events=folder / "test-eve.fif", event_id=event_id)
    segs = make_segments(rec, tmin=-0.2, tmax=0.5, sfreq=100.0)
    epochs = segs.to_epochs()
    print("MNE in and out (MNE sample crop, events from test-eve.fif):")
    print(f"  raw sfreq {rec.sfreq:.3f} Hz -> Segments.sfreq {segs.sfreq:.3f} Hz, "
          f"Segments.info['sfreq'] {segs.info['sfreq']:.3f} Hz")
    print(f"  to_epochs: {len(epochs)} epochs, times {epochs.times[0]:+.3f} to "
          f"{epochs.times[-1]:+.3f} s, event_id {epochs.event_id}")
    raw = mne.io.read_raw_fif(folder / "test_raw.fif", verbose="error")
    ep = mne.Epochs(raw, mne.read_events(folder / "test-eve.fif"), event_id, -0.2, 0.5,
                    preload=True, verbose="error")
    for name, source in [("Raw", raw), ("Epochs", ep), ("Evoked x4", [ep[c].average()
                                                                      for c in event_id])]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            on = None if name != "Raw" else ["1", "2", "3", "4"]
            n = len(make_segments(source, tmin=-0.2, tmax=0.5, sfreq=100.0, on=on))
        print(f"  make_segments({name}): {n} windows")


def splits(folder: Path) -> None:
    from neurodecode.align import cv_splits, make_segments, split_segments
    from neurodecode.io import read_meeg

    rec = read_meeg(folder / "test_raw.fif")
    segs = make_segments(rec, tmin=-0.2, tmax=0.5, on=["1", "2", "3", "4"])
    parts = split_segments(segs, by="trial")
    print("Splits of the single session (29 trials, 0.7 s windows, about 0.7 s apart):")
    print("  split_segments(by='trial'): " + ", ".join(f"{k} {len(v)}" for k, v in parts.items())
          + f" (of {len(segs)}; overlapping windows dropped)")
    folds = cv_splits(segs, "stratified_kfold", n_splits=5)
    left = [len(segs) - len(te) - len(tr) for tr, te in folds]
    print(f"  cv_splits(stratified_kfold, 5): train windows left out for touching a test "
          f"window, per fold: {left}")


def statistics(folder: Path) -> None:
    from neurodecode.align import make_segments
    from neurodecode.decoding import above_chance, accuracy_over_time
    from neurodecode.io import read_meeg
    from neurodecode.io.filtering import bandpass

    event_id = {"auditory/left": 1, "auditory/right": 2, "visual/left": 3, "visual/right": 4}
    rec = bandpass(read_meeg(folder / "test_raw.fif", events=folder / "test-eve.fif",
                             event_id=event_id), 1.0, 40.0)
    segs = make_segments(rec, tmin=-0.2, tmax=0.5, sfreq=100.0)
    y = np.array([c.split("/")[0] for c in segs.meta["condition"]])
    start = time.perf_counter()
    folds = accuracy_over_time(segs.brain, y, np.zeros(len(y)), per_fold=True)
    acc = folds.mean(0)
    chance = float(np.unique(y, return_counts=True)[1].max() / len(y))
    sig, p = above_chance(acc, len(y), chance)
    i = int(np.argmax(acc))
    print("Time-resolved auditory vs visual decoding (1-40 Hz, 100 Hz, stratified 5-fold):")
    print(f"  peak {acc[i]:.3f} at {segs.times[i]:.3f} s, chance {chance:.3f}, FDR-corrected "
          f"binomial p at the peak {p[i]:.2g}; {int(sig.sum())} of {len(acc)} time points "
          f"significant; before 0 s: {int(sig[segs.times < 0].sum())} "
          f"({time.perf_counter() - start:.1f} s)")


def main() -> None:
    root = _root()
    folder = root / "meg_sample_crop"
    if not folder.is_dir():
        raise SystemExit(f"no MNE sample crop under {root}")
    mne_in_and_out(folder)
    splits(folder)
    statistics(folder)


if __name__ == "__main__":
    main()
