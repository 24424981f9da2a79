"""Training: segment datasets, the ``fit`` loop, checkpoints and torch.distributed helpers."""

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
