"""Worker launched twice (RANK 0 and 1, gloo) by test_clip.py, as torchrun would.

Writes ``rank{R}.pt`` into the output folder: parameter gradients of a small model with
ClipLoss (with and without gathered negatives), averaged over processes as DDP does; the
gradient of an uneven ``all_gather_with_grad``; with ``--fit``, the final weights of a
short ``fit`` under DistributedDataParallel (slow: constructing DDP imports torch._dynamo).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch
from torch import nn

from neurodecode.losses import ClipLoss
from neurodecode.models import ConvEncoder
from neurodecode.training import SegmentDataset, fit
from neurodecode.training.distributed import (
    all_gather_with_grad,
    cleanup_distributed,
    setup_distributed,
)

N, C, F, T = 8, 4, 3, 6


def make_problem(seed: int = 0):
    """Full-batch brain (N, C, T), target (N, F, T) and a seeded model."""
    gen = torch.Generator().manual_seed(seed)
    brain = torch.randn(N, C, T, generator=gen)
    target = torch.randn(N, F, T, generator=gen)
    torch.manual_seed(seed)
    model = nn.Conv1d(C, F, 3, padding=1)
    return brain, target, model


class Task(nn.Module):
    def __init__(self, model: nn.Module, loss: nn.Module) -> None:
        super().__init__()
        self.model, self.loss = model, loss

    def forward(self, brain, target):
        return self.loss(self.model(brain), target)


def clip_gradients(rank: int, world: int) -> dict:
    out = {}
    for kind in ("brainmagick", "infonce"):
        for gather in (True, False):
            brain, target, model = make_problem()
            task = Task(model, ClipLoss(kind, gather_distributed=gather))
            rows = slice(rank * N // world, (rank + 1) * N // world)
            task(brain[rows], target[rows]).backward()
            for p in task.parameters():  # what DistributedDataParallel does
                torch.distributed.all_reduce(p.grad)
                p.grad /= world
            out[f"{kind}/{gather}"] = {k: p.grad.clone() for k, p in task.named_parameters()}
    return out


def uneven_gather_gradient(rank: int) -> torch.Tensor:
    x = torch.arange(3.0 + 2 * rank).requires_grad_()  # 3 rows on rank 0, 5 on rank 1
    gathered, offset = all_gather_with_grad(x)
    assert gathered.shape == (8,) and offset == 3 * rank
    weights = torch.arange(8.0) * (rank + 1)
    (gathered * weights).sum().backward()
    return x.grad


def ddp_fit(rank: int, run_dir: Path) -> dict:
    rng = np.random.default_rng(0)
    stim = rng.standard_normal((48, 3, 20)).astype(np.float32)
    brain = np.einsum("cf,nft->nct", rng.standard_normal((6, 3)), stim).astype(np.float32)
    subject = np.zeros(48, dtype=int)
    torch.manual_seed(0)
    model = ConvEncoder(6, 3, 1, n_virtual=6, hidden=8, depth=2, fourier_freqs=2)
    result = fit(model, ClipLoss(), SegmentDataset(brain[:32], stim[:32], subject[:32]),
                 SegmentDataset(brain[32:], stim[32:], subject[32:]),
                 positions=rng.uniform(0, 1, (6, 2)), run_dir=run_dir, epochs=2, batch_size=8,
                 lr=1e-2, progress=False)
    return {"state": model.state_dict(), "history": [h["valid_loss"] for h in result.history]}


def main(out_dir: Path, with_fit: bool) -> None:
    info = setup_distributed("gloo")
    results = {"world_size": info.world_size, "clip": clip_gradients(info.rank, info.world_size),
               "uneven": uneven_gather_gradient(info.rank)}
    if with_fit:
        results["fit"] = ddp_fit(info.rank, out_dir / "run")
    torch.save(results, out_dir / f"rank{info.rank}.pt")
    cleanup_distributed()


if __name__ == "__main__":
    main(Path(sys.argv[1]), "--fit" in sys.argv[2:])
