"""Speed and frame timing of every audio-model preset, at a tiny size, on CPU.

Run from the repository root: ``python benchmarks/audio_models.py``. For each preset a tiny
randomly initialised model (``tests/features/tiny_audio.py``: the public architectures,
shrunk; CNN14 as a released-format checkpoint) is saved to a temporary folder; the script prints, as a Markdown table:

- seconds of extraction per minute of 16 kHz audio (every layer kept, default chunks,
  median of 3 runs after one warm-up), which measures the framing, chunking and placement
  overhead around the network, not the speed of the full-size model;
- the timing error against a click train: one impulse per 2 s stimulus at 5 phases, the
  output frame (200 Hz) where the features change most minus the click time, as the mean and
  the largest absolute error in ms, for the first layer and the last one, next to the
  layer's frame hop.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from neurodecode.features import get_feature  # noqa: E402
from tests.features.tiny_audio import BUILDERS, save_tiny_model, save_tiny_panns  # noqa: E402

SR = 16000
CLICKS = (0.6113, 0.7391, 0.8657, 1.0129, 1.1473)
OUT_SFREQ = 200.0


def _noise(seconds: float, seed: int) -> np.ndarray:
    return (0.01 * np.random.default_rng(seed).standard_normal(int(seconds * SR))).astype(np.float32)


def seconds_per_minute(name: str, path: Path, seconds: float) -> float:
    feat = get_feature(name, model_path=path, layers="all", average=False).load()
    wav = (_noise(seconds, 0), SR)
    feat.compute([wav])  # warm-up
    runs = []
    for _ in range(3):
        start = time.perf_counter()
        feat.compute([wav])
        runs.append(time.perf_counter() - start)
    return float(np.median(runs)) * 60.0 / seconds


def click_errors(name: str, path: Path, layer) -> tuple[np.ndarray, float]:
    """Lag (s) of the largest feature change after each click, and the layer's hop (s)."""
    feat = get_feature(name, model_path=path, layers=layer, sfreq=OUT_SFREQ)
    base = _noise(2.0, 1)
    lags = []
    for t_click in CLICKS:
        wav = base.copy()
        wav[int(round(t_click * SR))] += 1.0
        with_click, without = feat.compute([(wav, SR), (base, SR)])
        change = np.linalg.norm(with_click - without, axis=0)
        lags.append(np.argmax(change) / OUT_SFREQ - t_click)
    hop = feat._hop(feat._layer_indices()[0])
    return np.array(lags), (hop or 0) / feat._model_sr()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=60.0, help="audio length for the speed")
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, load average "
          f"{os.getloadavg()[0]:.1f}; tiny random models; clicks at 200 Hz output\n")
    print("| preset | s per min of audio | layer | hop (ms) | mean abs error (ms) | max abs "
          "error (ms) |")
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as root:
        for name in [*sorted(BUILDERS), "panns_cnn14"]:
            path = (save_tiny_panns(Path(root) / "cnn14.pth") if name == "panns_cnn14"
                    else save_tiny_model(name, Path(root) / name))
            speed = seconds_per_minute(name, path, args.seconds)
            names = get_feature(name, model_path=path).layer_names()
            last = names[-2] if names[-1] in ("projection", "embedding") else names[-1]
            for k, layer in enumerate([names[0], last]):
                lags, hop = click_errors(name, path, layer)
                print(f"| {name if k == 0 else ''} | {f'{speed:.2f}' if k == 0 else ''} | "
                      f"{layer} | {hop * 1000:.1f} | {np.mean(np.abs(lags)) * 1000:.1f} | "
                      f"{np.max(np.abs(lags)) * 1000:.1f} |")


if __name__ == "__main__":
    main()
