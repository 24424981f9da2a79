"""Deterministic training on CPU: bit-identity on 1 and 2 threads, and what it costs.

For ``fit(deterministic=True)`` (the default) and ``False``, trains the demo's
``ConvEncoder`` (KIT-208 sensors, 64 hidden, 4 blocks, 40 mel outputs, 3 s at 120 Hz) for
a few steps on 1 and on 2 threads from the same seed, prints whether the two results are
bit-identical and the time per training step on 2 threads.

Run: ``python benchmarks/determinism.py`` (about 2 minutes on a loaded 2-core machine).
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("MKL_CBWR", "AUTO,STRICT")  # as the neurodecode command sets it

import numpy as np  # noqa: E402
import torch  # noqa: E402

from neurodecode.losses import ClipLoss  # noqa: E402
from neurodecode.models import ConvEncoder  # noqa: E402
from neurodecode.training import SegmentDataset, fit  # noqa: E402

C, F, T, S, N, BATCH = 208, 40, 360, 4, 128, 32


def _data():
    rng = np.random.default_rng(0)
    brain = rng.standard_normal((N, C, T)).astype(np.float32)
    stim = rng.standard_normal((N, F, T)).astype(np.float32)
    subject = rng.integers(0, S, N)
    return (SegmentDataset(brain[:96], stim[:96], subject[:96]),
            SegmentDataset(brain[96:], stim[96:], subject[96:]), rng.uniform(0, 1, (C, 2)))


def _train(n_threads: int, deterministic: bool) -> tuple[str, float]:
    """Digest of the trained weights and seconds per training step."""
    torch.set_num_threads(n_threads)
    train, valid, pos = _data()
    torch.manual_seed(0)
    model = ConvEncoder(C, F, S, n_virtual=64, hidden=64, depth=4, fourier_freqs=8)
    with tempfile.TemporaryDirectory() as run_dir:
        result = fit(model, ClipLoss(), train, valid, positions=pos, run_dir=Path(run_dir),
                     epochs=1, batch_size=BATCH, lr=1e-3, progress=False,
                     deterministic=deterministic)
    digest = hashlib.sha256()
    for value in model.state_dict().values():
        digest.update(value.numpy().tobytes())
    return digest.hexdigest(), result.seconds / (len(train) // BATCH)


def main() -> int:
    print(f"{'fit(deterministic=...)':<24}{'1 vs 2 threads':>16}{'s/step (2 threads)':>20}")
    for deterministic in (True, False):
        one, _ = _train(1, deterministic)
        two, seconds = _train(2, deterministic)
        same = "bit-identical" if one == two else "differ"
        print(f"{deterministic!s:<24}{same:>16}{seconds:>20.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
