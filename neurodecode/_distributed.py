"""The process-group primitives: where this process stands, a barrier, and gathers and
reductions over processes (each the identity without torch.distributed).

They sit below ``losses`` and ``training`` (both import them) and ``rundir``; setting the
process group up is :mod:`neurodecode.training.distributed`'s.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class DistributedInfo:
    """Where this process stands: ``rank`` of ``world_size``, ``local_rank`` on its node.

    Parameters
    ----------
    rank : int
        Rank of this process (0 without torch.distributed).
    world_size : int
        Number of processes.
    local_rank : int
        Rank on this node (its GPU index).
    """

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        """True on the process that writes files and logs (rank 0)."""
        return self.rank == 0


def is_distributed() -> bool:
    """True when a process group with more than one process is initialised.

    Returns
    -------
    distributed : bool
        Whether more than one process takes part.
    """
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def get_info() -> DistributedInfo:
    """Rank and world size of the current process group (single process if none)."""
    if not is_distributed():
        return DistributedInfo()
    local = int(os.environ.get("LOCAL_RANK", dist.get_rank()))
    return DistributedInfo(dist.get_rank(), dist.get_world_size(), local)


def barrier() -> None:
    """Wait for every process (nothing when not distributed)."""
    if is_distributed():
        dist.barrier()


def _gather_sizes(n_local: int, device: torch.device) -> list[int]:
    size = torch.tensor([n_local], device=device)
    sizes = [torch.zeros_like(size) for _ in range(dist.get_world_size())]
    dist.all_gather(sizes, size)
    return [int(s) for s in sizes]


class _GatherWithGrad(torch.autograd.Function):
    """All-gather along dim 0 (sizes may differ); backward sums gradients over processes."""

    @staticmethod
    def forward(ctx, tensor: torch.Tensor, sizes: list[int], offset: int) -> torch.Tensor:  # noqa: D102
        padded = tensor.new_zeros((max(sizes), *tensor.shape[1:]))
        padded[: tensor.shape[0]] = tensor
        parts = [torch.empty_like(padded) for _ in sizes]
        dist.all_gather(parts, padded)
        ctx.offset, ctx.length = offset, tensor.shape[0]
        return torch.cat([p[:n] for p, n in zip(parts, sizes)])

    @staticmethod
    def backward(ctx, grad: torch.Tensor):  # noqa: D102
        grad = grad.contiguous().clone()
        dist.all_reduce(grad, op=dist.ReduceOp.SUM)
        return grad[ctx.offset: ctx.offset + ctx.length], None, None


def all_gather_with_grad(tensor: torch.Tensor) -> tuple[torch.Tensor, int]:
    """Concatenate ``tensor`` (n_local, ...) from every process, keeping gradients.

    The gradient reaching each process's input is the sum, over processes, of the
    gradients with respect to its slice of the output. When each process minimises the
    mean loss of its own queries against all gathered candidates and DDP averages the
    parameter gradients, the result equals the single-process full-batch gradient
    provided every process holds the same number of queries (as ``fit``'s distributed
    sampler gives); with unequal local batches it is a mean of per-process means.

    Parameters
    ----------
    tensor : tensor of shape (n_local, ...)
        This process's rows; ``n_local`` may differ between processes.

    Returns
    -------
    gathered : tensor of shape (n_total, ...)
        Every process's rows, in rank order (the input itself when not distributed).
    offset : int
        Index of this process's first row in ``gathered``.
    """
    if not is_distributed():
        return tensor, 0
    sizes = _gather_sizes(tensor.shape[0], tensor.device)
    offset = sum(sizes[: dist.get_rank()])
    return _GatherWithGrad.apply(tensor.contiguous(), sizes, offset), offset


def all_reduce_mean(value: float, weight: float = 1.0, device: str | torch.device = "cpu") -> float:
    """Weighted mean of a Python number over processes (the number itself if single)."""
    if not is_distributed():
        return value
    buf = torch.tensor([value * weight, weight], dtype=torch.float64, device=device)
    dist.all_reduce(buf, op=dist.ReduceOp.SUM)
    return float(buf[0] / buf[1])


def all_true(flag: bool, device: str | torch.device = "cpu") -> bool:
    """True when ``flag`` is True on every process (so that all stop together)."""
    if not is_distributed():
        return flag
    buf = torch.tensor([float(flag)], device=device)
    dist.all_reduce(buf, op=dist.ReduceOp.MIN)
    return bool(buf.item() > 0)


__all__ = ["DistributedInfo", "all_gather_with_grad", "all_reduce_mean", "all_true", "barrier",
           "get_info", "is_distributed"]
