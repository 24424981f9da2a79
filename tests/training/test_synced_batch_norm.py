"""``synced_batch_norm``: two gloo processes, each with half a batch, give the forward
output, input gradients, parameter gradients and running statistics of one process with
the whole batch (planted: a seeded batch with a per-channel offset and scale)."""

from __future__ import annotations

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import nn

from neurodecode.training.distributed import is_distributed, synced_batch_norm


def _problem():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(8, 3, 5, generator=g) * torch.tensor([1.0, 2.0, 0.5])[:, None] + 3.0
    torch.manual_seed(0)
    bn = nn.BatchNorm1d(3)
    with torch.no_grad():
        bn.weight.uniform_(0.5, 1.5)
        bn.bias.uniform_(-1, 1)
    return x, bn, torch.randn(8, 3, 5, generator=g)


def _step(bn: nn.Module, x: torch.Tensor, w: torch.Tensor):
    x = x.clone().requires_grad_(True)
    out = bn(x)
    (out * w).sum().backward()
    return out.detach(), x.grad


def _worker(rank: int, init: str, folder: str) -> None:
    dist.init_process_group("gloo", init_method=init, rank=rank, world_size=2)
    try:
        x, bn, w = _problem()
        part = slice(4 * rank, 4 * rank + 4)
        with synced_batch_norm(bn):
            assert type(bn).__name__ == "SyncedBatchNorm1d"
            out, grad = _step(bn, x[part], w[part])
        dist.all_reduce(bn.weight.grad)  # what DDP does (then it divides by the world size)
        dist.all_reduce(bn.bias.grad)
        assert type(bn) is nn.BatchNorm1d  # restored
        torch.save({"out": out, "grad": grad, "weight": bn.weight.grad, "bias": bn.bias.grad,
                    "mean": bn.running_mean, "var": bn.running_var}, f"{folder}/{rank}.pt")
    finally:
        dist.destroy_process_group()


def test_two_processes_equal_one_with_the_whole_batch(tmp_path):
    mp.start_processes(_worker, args=(f"file://{tmp_path}/init", str(tmp_path)), nprocs=2,
                       start_method="spawn")
    parts = [torch.load(tmp_path / f"{r}.pt") for r in (0, 1)]
    x, bn, w = _problem()
    out, grad = _step(bn, x, w)
    torch.testing.assert_close(torch.cat([p["out"] for p in parts]), out)
    torch.testing.assert_close(torch.cat([p["grad"] for p in parts]), grad)
    for p in parts:
        torch.testing.assert_close(p["weight"], bn.weight.grad)
        torch.testing.assert_close(p["bias"], bn.bias.grad)
        torch.testing.assert_close(p["mean"], bn.running_mean)
        torch.testing.assert_close(p["var"], bn.running_var)


def test_a_no_op_without_a_process_group():
    _, bn, _ = _problem()
    assert not is_distributed()
    with synced_batch_norm(bn):
        assert type(bn) is nn.BatchNorm1d
