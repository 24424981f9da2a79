"""Time and peak memory of make_segments on a synthetic 1-hour, 208-channel, 1 kHz recording.

The recording is written chunk by chunk to an HDF5 file and read lazily (as a large FIF
file is read through MNE), so the float64 source (6 GB) is never in memory at once.
Windows: 3 s every 1 s inside 60-s blocks, resampled to 120 Hz (brainmagick's settings).

Usage: python benchmarks/segments_memory.py [--minutes 60] [--channels 208] [--sfreq 1000]
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
import tracemalloc
from pathlib import Path

import h5py
import numpy as np
import pandas as pd

from neurodecode.align import make_segments
from neurodecode.io import Recording


def write_recording(path: Path, n_channels: int, n_times: int, sfreq: float) -> None:
    rng = np.random.default_rng(0)
    step = int(60 * sfreq)
    with h5py.File(path, "w") as f:
        dset = f.create_dataset("data", (n_channels, n_times), dtype="f4",
                                chunks=(n_channels, min(step, n_times)))
        for start in range(0, n_times, step):
            stop = min(start + step, n_times)
            dset[:, start:stop] = rng.standard_normal((n_channels, stop - start), np.float32)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--channels", type=int, default=208)
    parser.add_argument("--sfreq", type=float, default=1000.0)
    args = parser.parse_args()
    n_times = int(args.minutes * 60 * args.sfreq)
    n_blocks = int(args.minutes)
    events = pd.DataFrame({"onset": np.arange(n_blocks) * 60.0, "duration": 60.0,
                           "kind": "sound", "condition": "speech", "stimulus": "",
                           "text": "", "block": [str(b) for b in range(n_blocks)], "value": 1})
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "recording.h5"
        t0 = time.perf_counter()
        write_recording(path, args.channels, n_times, args.sfreq)
        print(f"wrote {args.minutes:g} min x {args.channels} ch x {args.sfreq:g} Hz "
              f"({args.channels * n_times * 4 / 1e9:.2f} GB float32 on disk) in "
              f"{time.perf_counter() - t0:.1f} s")
        with h5py.File(path, "r") as f:
            rec = Recording(data_loader=f["data"], sfreq=args.sfreq, events=events,
                            modality="meeg", ch_names=[f"MEG{i:03d}" for i in range(args.channels)],
                            ch_types=["mag"] * args.channels)
            rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
            tracemalloc.start()
            t0 = time.perf_counter()
            segs = make_segments(rec, tmin=0.0, tmax=3.0, stride=1.0, sfreq=120.0, baseline=None)
            elapsed = time.perf_counter() - t0
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
    result = segs.brain.nbytes / 1e9
    print(segs.summary())
    print(f"time: {elapsed:.1f} s")
    print(f"result: {result:.2f} GB float32")
    print(f"peak traced memory (numpy): {peak / 1e9:.2f} GB = {peak / 1e9 / result:.2f} x result")
    print(f"peak RSS: {rss1:.2f} GB (before: {rss0:.2f} GB) = {rss1 / result:.2f} x result")


if __name__ == "__main__":
    main()
