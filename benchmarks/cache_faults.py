"""Random byte flips in cache entries: none may come back as good data (issue 17.2).

For the segment cache and the feature cache, writes one entry, flips one random byte of
the file (``N_FLIPS`` times, a fresh entry each time) and reads it back through the
cache. Each read is classified as: ``rebuilt`` (the flip was detected, warned about and
the entry rebuilt: the data returned equal the truth), ``unaffected`` (the byte was in
unused space: the data read equal the truth, nothing to detect) or ``SILENT`` (data
differing from the truth returned without a warning). Run:
``python benchmarks/cache_faults.py``.
"""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from neurodecode.align import cached_make_segments
from neurodecode.features import FeatureCache
from neurodecode.features.audio import MelSpectrum
from neurodecode.io import Recording

N_FLIPS = 20
WINDOW = {"tmin": 0.0, "tmax": 0.5, "sfreq": None}


def _recording(rng) -> Recording:
    events = pd.DataFrame({"onset": np.arange(1.0, 19.0, 2.0), "duration": 1.0,
                           "kind": "sound", "condition": "a", "stimulus": "s", "text": "",
                           "block": [f"b{k % 3}" for k in range(9)], "value": 1})
    return Recording(data_loader=rng.standard_normal((8, 2000)), sfreq=100.0, events=events,
                     modality="meeg", ch_names=[f"c{k}" for k in range(8)],
                     ch_types=["eeg"] * 8, pos_2d=rng.random((8, 2)))


def _flip(path: Path, rng) -> None:
    data = bytearray(path.read_bytes())
    data[int(rng.integers(len(data)))] ^= 1 << int(rng.integers(8))
    path.write_bytes(bytes(data))


def _same_table(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    """Equal values (a table read back from JSON may hold other integer dtypes)."""
    try:
        pd.testing.assert_frame_equal(a, b, check_dtype=False)
    except AssertionError:
        return False
    return True


def _same_segments(a, b) -> bool:
    return (np.array_equal(a.brain, b.brain) and np.array_equal(a.subject, b.subject)
            and np.array_equal(a.pos_2d, b.pos_2d) and _same_table(a.meta, b.meta)
            and a.subjects == b.subjects and a.ch_names == b.ch_names and a.sfreq == b.sfreq
            and a.tmin == b.tmin and a.modality == b.modality)


def _classify(warned: bool, same: bool) -> str:
    if same:
        return "rebuilt" if warned else "unaffected"
    return "SILENT"


def _segment_trial(rng, folder: Path) -> str:
    rec = _recording(rng)
    truth = cached_make_segments(rec, folder, **WINDOW)
    (path,) = folder.glob("segments-*.h5")
    _flip(path, rng)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        got = cached_make_segments(rec, folder, **WINDOW)
    return _classify(bool(caught), _same_segments(truth, got))


def _feature_trial(rng, folder: Path) -> str:
    cache, feature = FeatureCache(folder), MelSpectrum(sfreq=100.0)
    truth = rng.standard_normal((40, 120)).astype(np.float32)
    path = cache.put(feature, "k", truth)
    _flip(path, rng)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        got = cache.get(feature, "k")
    if got is None:  # a detected corruption is a miss: the caller recomputes the truth
        return "rebuilt" if caught else "SILENT"
    return _classify(bool(caught), np.array_equal(got, truth))


def main() -> None:
    rng = np.random.default_rng(0)
    print(f"{'cache':16s} {'flips':>5s} {'rebuilt':>8s} {'unaffected':>10s} {'SILENT':>7s}")
    for name, trial in (("segment cache", _segment_trial), ("feature cache", _feature_trial)):
        counts = {"rebuilt": 0, "unaffected": 0, "SILENT": 0}
        for _ in range(N_FLIPS):
            with tempfile.TemporaryDirectory() as tmp:
                counts[trial(rng, Path(tmp))] += 1
        print(f"{name:16s} {N_FLIPS:5d} {counts['rebuilt']:8d} {counts['unaffected']:10d} "
              f"{counts['SILENT']:7d}")


if __name__ == "__main__":
    main()
