"""torch.distributed helpers: setup from torchrun's environment and synchronised batch norm.

The primitives (``get_info``, ``barrier``, ``all_gather_with_grad``, ...) live in
:mod:`neurodecode._distributed` and are importable from here.

Launch with ``torchrun --nproc_per_node=N script.py``; ``setup_distributed`` reads
``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK`` (and ``MASTER_ADDR``/``MASTER_PORT``) and
initialises the default process group (NCCL on GPU, gloo on CPU). ``fit`` then wraps the
model in ``DistributedDataParallel`` and shards the data with a ``DistributedSampler``.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import torch
import torch.distributed as dist
import torch.distributed.nn.functional as dist_fn
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from .._distributed import (
    DistributedInfo,
    all_gather_with_grad,
    all_reduce_mean,
    all_true,
    barrier,
    get_info,
    is_distributed,
)


def setup_distributed(backend: str | None = None) -> DistributedInfo:
    """Initialise the default process group from torchrun's environment variables.

    Parameters
    ----------
    backend : str or None
        ``"nccl"``, ``"gloo"`` or None (NCCL when CUDA is available, else gloo).

    Returns
    -------
    info : DistributedInfo
        A single-process info when ``WORLD_SIZE`` is unset or 1 (nothing initialised).
    """
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1 or is_distributed():
        return get_info()
    missing = [k for k in ("RANK", "MASTER_ADDR", "MASTER_PORT") if k not in os.environ]
    if missing:
        raise RuntimeError(
            f"WORLD_SIZE={world_size} but {', '.join(missing)} unset; launch with torchrun "
            "(e.g. torchrun --nproc_per_node=2 script.py)."
        )
    backend = backend or ("nccl" if torch.cuda.is_available() else "gloo")
    dist.init_process_group(backend=backend)
    info = get_info()
    if backend == "nccl":
        torch.cuda.set_device(info.local_rank)
    return info


def cleanup_distributed() -> None:
    """Destroy the default process group if one is initialised."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


@contextlib.contextmanager
def main_process_first() -> Iterator[None]:
    """Run the block on rank 0 first, then on the others (e.g. to build a cache once).

    The other ranks wait at a barrier until rank 0 has left the block, then run it
    themselves (reading what rank 0 wrote). Nothing happens when not distributed.
    """
    main = get_info().is_main
    if not main:
        barrier()
    yield
    if main:
        barrier()


class _SyncedBatchNorm(_BatchNorm):
    """A batch norm whose training-time statistics are those of the global batch.

    Means and variances over (batch, time) are summed over processes with
    ``torch.distributed.nn.functional.all_reduce``, which carries gradients, so the
    forward and backward pass equal those of one process holding the whole global batch
    (DDP then averages parameter gradients). Works with gloo (CPU) and NCCL, unlike
    ``nn.SyncBatchNorm`` (GPU only). Outside training, or not distributed, it is the
    plain batch norm.
    """

    def forward(self, input: torch.Tensor) -> torch.Tensor:  # noqa: D102
        if not (self.training and is_distributed()):
            return super().forward(input)
        dims = [d for d in range(input.dim()) if d != 1]
        shape = [1, input.shape[1]] + [1] * (input.dim() - 2)
        count = input.new_full((1,), float(input.numel() // input.shape[1]))
        total = dist_fn.all_reduce(torch.cat([input.sum(dims), count]))
        n, mean = total[-1], total[:-1] / total[-1]
        centered = input - mean.view(shape)
        var = dist_fn.all_reduce((centered * centered).sum(dims)) / n
        self._update_running(mean.detach(), var.detach() * n / (n - 1).clamp_min(1))
        out = centered / torch.sqrt(var.view(shape) + self.eps)
        if self.affine:
            out = out * self.weight.view(shape) + self.bias.view(shape)
        return out

    @torch.no_grad()
    def _update_running(self, mean: torch.Tensor, var: torch.Tensor) -> None:
        running_mean, running_var = self.running_mean, self.running_var
        tracked = self.num_batches_tracked
        if not self.track_running_stats or running_mean is None or running_var is None:
            return
        assert tracked is not None  # tracked with the running statistics
        tracked.add_(1)
        momentum = 1.0 / float(tracked) if self.momentum is None else self.momentum
        running_mean.mul_(1 - momentum).add_(mean.to(running_mean.dtype), alpha=momentum)
        running_var.mul_(1 - momentum).add_(var.to(running_var.dtype), alpha=momentum)


@contextlib.contextmanager
def synced_batch_norm(module: nn.Module) -> Iterator[nn.Module]:
    """Make every batch norm of ``module`` use global-batch statistics for the block.

    Each ``nn.BatchNorm1d/2d/3d`` keeps its identity, parameters and buffers (the state
    dict is unchanged); only its class is swapped to a synchronised one and restored on
    exit. A no-op when not distributed.
    """
    if not is_distributed():
        yield module
        return
    swapped = []
    for sub in module.modules():
        synced = _SYNCED.get(type(sub))
        if synced is not None:
            swapped.append((sub, type(sub)))
            sub.__class__ = synced
    try:
        yield module
    finally:
        for sub, cls in swapped:
            sub.__class__ = cls


_SYNCED: dict[type, type] = {cls: type(f"Synced{cls.__name__}", (_SyncedBatchNorm, cls), {})
           for cls in (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)}




__all__ = [
    "DistributedInfo",
    "all_true",
    "all_gather_with_grad",
    "all_reduce_mean",
    "barrier",
    "cleanup_distributed",
    "get_info",
    "is_distributed",
    "main_process_first",
    "setup_distributed",
    "synced_batch_norm",
]
