"""Training: segment datasets, the ``fit`` loop, checkpoints and torch.distributed helpers.

Several GPUs (or CPU processes) with ``torchrun --nproc_per_node=N train.py``, where
``train.py`` does::

    info = setup_distributed()            # reads RANK, WORLD_SIZE, LOCAL_RANK
    fit(model, ClipLoss(), train_set, valid_set, positions=positions, run_dir="runs/x",
        device=f"cuda:{info.local_rank}")  # DDP + DistributedSampler, rank 0 writes
    cleanup_distributed()

``batch_size`` is per process; ``ClipLoss`` gathers the negatives from every process,
so the gradient equals that of one process with the global batch.
"""

from __future__ import annotations

from .checkpoint import load_checkpoint, save_checkpoint
from .data import SegmentDataset
from .distributed import (
    DistributedInfo,
    all_gather_with_grad,
    cleanup_distributed,
    is_distributed,
    setup_distributed,
)
from .loop import OPTIMIZERS, FitResult, fit, make_loader, predict_batch

__all__ = [
    "OPTIMIZERS",
    "DistributedInfo",
    "FitResult",
    "SegmentDataset",
    "all_gather_with_grad",
    "cleanup_distributed",
    "fit",
    "is_distributed",
    "load_checkpoint",
    "make_loader",
    "predict_batch",
    "save_checkpoint",
    "setup_distributed",
]
