"""Throughput of the stimulus features on CPU, and peak memory on 1 hour of audio.

Run by hand: ``python benchmarks/features.py [--hour]``. Prints seconds per minute of
audio (mel, envelope, Resemblyzer) and per image (EfficientNet-Lite0, all layers), then,
with ``--hour`` (alone), the peak resident memory while computing the mel spectrogram and the
envelope of 1 hour of audio (chunked processing keeps it bounded by the output size).
"""

from __future__ import annotations

import argparse
import os
import resource
import time

import numpy as np
import torch


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _timed(fn, *args, repeat: int = 1, **kwargs):
    start = time.perf_counter()
    for _ in range(repeat):
        out = fn(*args, **kwargs)
    return (time.perf_counter() - start) / repeat, out


def audio_throughput(seconds: float = 60.0) -> None:
    from neurodecode.features import compute_envelope, compute_mel, get_feature

    rng = np.random.default_rng(0)
    wav = (0.1 * rng.standard_normal(int(seconds * 16000))).astype(np.float32)
    per_min = 60.0 / seconds
    t, _ = _timed(compute_mel, wav, 16000, out_sfreq=120.0, repeat=3)
    print(f"mel (120 bands, n_fft 512, -> 120 Hz): {t * per_min:.3f} s per minute of audio")
    t, _ = _timed(compute_envelope, wav, 16000, out_sfreq=100.0, repeat=3)
    print(f"envelope (hilbert, -> 100 Hz):          {t * per_min:.3f} s per minute of audio")
    for rate in (4.0, 16.0):
        feat = get_feature("resemblyzer", window_rate=rate).load()
        t, _ = _timed(feat.compute, [(wav[: 16000 * 15], 16000)])
        print(f"resemblyzer ({rate:g} windows/s):          {t * 4:.2f} s per minute of audio")


def image_throughput(n_images: int = 32) -> None:
    from neurodecode.features import extract_layers, get_feature

    rng = np.random.default_rng(0)
    images = [rng.integers(0, 256, (175, 175, 3), dtype=np.uint8) for _ in range(n_images)]
    feat = get_feature("efficientnet_lite0", batch_size=32).load()
    t, out = _timed(extract_layers, feat, images)
    print(f"efficientnet_lite0 ({len(out)} layers, pooled): {t / n_images * 1000:.1f} ms per image")


def hour_memory() -> None:
    from neurodecode.features import compute_envelope, compute_mel

    wav = np.zeros(3600 * 16000, dtype=np.float32)
    wav[::7] = 0.1  # deterministic, non-silent
    base = _peak_mb()
    t, mel = _timed(compute_mel, wav, 16000, out_sfreq=120.0)
    print(f"1 h mel: {t:.1f} s, output {mel.nbytes / 1e6:.0f} MB, peak RSS {_peak_mb():.0f} MB "
          f"(input {wav.nbytes / 1e6:.0f} MB, before {base:.0f} MB)")
    del mel
    t, env = _timed(compute_envelope, wav, 16000, out_sfreq=100.0)
    print(f"1 h envelope: {t:.1f} s, peak RSS {_peak_mb():.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--hour", action="store_true", help="only run the 1-hour memory check")
    args = parser.parse_args()
    if args.hour:  # alone, in a fresh process, so the peak RSS is the feature's own
        hour_memory()
        return
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"load average {os.getloadavg()[0]:.1f}")
    audio_throughput()
    image_throughput()


if __name__ == "__main__":
    main()
