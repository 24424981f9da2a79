"""Training throughput of ConvEncoder at brainmagick's default size, and of the data loader.

Model: ConvEncoder with brainmagick's defaults (270 virtual channels, 320 hidden,
10 dilated conv blocks, GLU every 2nd block), 208 MEG sensors (KIT, Gwilliams et al.),
27 subjects, 3 s windows at 120 Hz (360 samples), output dimension 1024 (wav2vec 2.0
large, the target of brainmagick's headline results; ``--outputs 120`` for mel),
CLIP loss, AdamW, batch 64. One training step = forward + backward + optimiser step.

Data loader: ``SegmentDataset`` over in-memory float32 arrays read through the same
DataLoader set-up as ``fit`` (random order, one ``get_batch`` per batch, collation and
float32 conversion). The loader must deliver at least 3x the training step rate.

Run: ``.venv/bin/python benchmarks/train_throughput.py [--steps 3] [--device cpu]``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from neurodecode.losses import ClipLoss
from neurodecode.models import ConvEncoder, count_parameters
from neurodecode.training import SegmentDataset
from neurodecode.training.distributed import DistributedInfo
from neurodecode.training.loop import make_loader


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--channels", type=int, default=208)
    parser.add_argument("--times", type=int, default=360)
    parser.add_argument("--outputs", type=int, default=1024)
    parser.add_argument("--subjects", type=int, default=27)
    parser.add_argument("--steps", type=int, default=3, help="timed training steps")
    parser.add_argument("--loader-batches", type=int, default=30)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    return parser.parse_args()


def train_rate(args: argparse.Namespace, device: torch.device) -> float:
    torch.manual_seed(0)
    model = ConvEncoder(args.channels, args.outputs, args.subjects).to(device).train()
    print(f"ConvEncoder parameters: {count_parameters(model):,}")
    loss = ClipLoss().to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-4)
    brain = torch.randn(args.batch, args.channels, args.times, device=device)
    target = torch.randn(args.batch, args.outputs, args.times, device=device)
    subject = torch.randint(0, args.subjects, (args.batch,), device=device)
    positions = torch.rand(args.channels, 2, device=device)

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        loss(model(brain, subject, positions), target).backward()
        opt.step()

    step()  # warm-up
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(args.steps):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return args.steps / (time.perf_counter() - start)


def loader_rate(args: argparse.Namespace) -> float:
    rng = np.random.default_rng(0)
    n = 3 * args.batch
    data = SegmentDataset(
        rng.standard_normal((n, args.channels, args.times), dtype=np.float32),
        rng.standard_normal((n, args.outputs, args.times), dtype=np.float32),
        rng.integers(0, args.subjects, n))
    done, epoch = 0, 0
    start = time.perf_counter()
    while done < args.loader_batches:
        loader = make_loader(data, args.batch, train=True, seed=0, epoch=epoch, num_workers=0,
                         info=DistributedInfo(), pin=False)
        for batch in loader:
            assert batch["brain"].shape == (args.batch, args.channels, args.times)
            done += 1
        epoch += 1
    return done / (time.perf_counter() - start)


def main() -> None:
    args = _parse()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    print(f"batch {args.batch}, {args.channels} sensors, {args.times} samples, "
          f"{args.outputs} output features, {args.subjects} subjects; device {device}, "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    steps = train_rate(args, device)
    print(f"training: {steps:.3f} steps/s ({steps * args.batch:.1f} segments/s, "
          f"{1 / steps:.2f} s/step)")
    batches = loader_rate(args)
    ratio = batches / steps
    print(f"data loader: {batches:.1f} batches/s = {ratio:.0f}x the training step rate "
          f"({'OK' if ratio >= 3 else 'TOO SLOW'}: needs >= 3x)")


if __name__ == "__main__":
    main()
