"""One ``fit`` call's training and validation epochs: the model and loss as one module (DDP),
mixed precision, gradient clipping and the NaN check."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from .._validation import check_option
from ..exceptions import TrainingError
from ..rundir import LAST
from .determinism import FixedOrderConvolutions
from .distributed import all_reduce_mean, all_true

#: Mixed-precision modes of ``fit``: the autocast dtype (fp16 with a gradient scaler).
AMP = {"none": None, "bf16": torch.bfloat16, "fp16": torch.float16}


def amp_mode(amp: bool | str, device: torch.device) -> str:
    """The ``AMP`` key of ``amp``: a name, or a flag (True: fp16 on CUDA, bf16 elsewhere)."""
    if isinstance(amp, bool):
        return ("fp16" if device.type == "cuda" else "bf16") if amp else "none"
    check_option("amp", amp, AMP)
    return amp


class _Task(nn.Module):
    """Model and loss in one module, so that DDP synchronises both (e.g. a temperature)."""

    def __init__(self, model: nn.Module, loss: nn.Module) -> None:
        super().__init__()
        self.model, self.loss = model, loss

    def forward(self, batch: dict[str, torch.Tensor], positions) -> torch.Tensor:
        return self.loss(predict_batch(self.model, batch, positions), batch["stimulus"])


def predict_batch(model: nn.Module, batch: dict[str, torch.Tensor], positions) -> torch.Tensor:
    """Call ``model`` on a batch dict, with per-segment positions when the batch has them.

    Without autograd on CPU (validation, ``evaluation.predict``) the convolutions run in
    ``FixedOrderConvolutions``: the same bits on any number of threads, for any batch size.

    Parameters
    ----------
    model : nn.Module
        Called as ``model(brain, subject[, positions])``.
    batch : dict of str to tensor
        ``brain`` (batch, n_channels, n_times) or (batch, n_voxels), ``subject`` (batch,)
        and optionally ``positions`` (batch, n_channels, 2), which overrides
        ``positions``.
    positions : tensor of shape (n_channels, 2) or None
        Sensor positions shared by the batch; None for models without.

    Returns
    -------
    pred : tensor of shape (batch, n_outputs, n_times) or (batch, n_outputs)
        The model's output.
    """
    positions = batch.get("positions", positions)
    args = (batch["brain"], batch["subject"]) + (() if positions is None else (positions,))
    if torch.is_grad_enabled() or batch["brain"].device.type != "cpu":
        return model(*args)
    with FixedOrderConvolutions():
        return model(*args)


def _nan_error(where: str, epoch: int, step: int, lr: float, run_dir: Path) -> TrainingError:
    kept = run_dir / LAST
    note = (f"the last good checkpoint is kept at {str(kept)!r}" if kept.is_file()
            else "no epoch completed, so there is no checkpoint yet")
    return TrainingError(
        f"the {where} loss became NaN or Inf at epoch {epoch + 1}, batch {step + 1}; training "
        f"stopped and {note}. Lower the learning rate (lr={lr:g}), check the scaling of the "
        "brain data (robust scaling and clamping) and of the stimulus features, or set "
        "amp='none'."
    )


class _Runner:
    """State of one ``fit`` call (kept small; ``fit`` is the public entry point)."""

    def __init__(self, model, loss, positions, device, amp, max_grad_norm, run_dir, info):
        self.model, self.loss, self.device = model, loss, device
        self.positions = None if positions is None else torch.as_tensor(
            positions, dtype=torch.float32, device=device)
        self.task: nn.Module = _Task(model, loss).to(device)
        if info.world_size > 1:
            ids = [device.index] if device.type == "cuda" else None
            self.task = DistributedDataParallel(self.task, device_ids=ids)
        self.amp, self.max_grad_norm, self.run_dir, self.info = amp, max_grad_norm, run_dir, info
        dtype = AMP[amp]
        self.autocast = lambda: torch.autocast(device.type, dtype=dtype or torch.float32,
                                               enabled=dtype is not None)
        self.scaler = torch.amp.GradScaler(device.type, enabled=amp == "fp16")

    def _to_device(self, batch: dict) -> dict:
        return {k: v.to(self.device, non_blocking=True) for k, v in batch.items()}

    def train_epoch(self, loader, optimizer, epoch: int, lr: float) -> float:
        self.task.train()
        total, count = 0.0, 0
        for step, batch in enumerate(loader):
            batch = self._to_device(batch)
            with self.autocast():
                value = self.task(batch, self.positions)
            if not all_true(bool(torch.isfinite(value.detach())), self.device):
                raise _nan_error("training", epoch, step, lr, self.run_dir)
            optimizer.zero_grad(set_to_none=True)
            self.scaler.scale(value).backward()
            if self.max_grad_norm is not None:
                self.scaler.unscale_(optimizer)
                nn.utils.clip_grad_norm_(self.task.parameters(), self.max_grad_norm)
            self.scaler.step(optimizer)
            self.scaler.update()
            n = len(batch["subject"])
            total, count = total + float(value.detach()) * n, count + n
        return all_reduce_mean(total / max(count, 1), count, self.device)

    @torch.no_grad()
    def valid_epoch(self, loader, epoch: int, lr: float) -> float:
        self.task.eval()
        total, count = 0.0, 0
        for step, batch in enumerate(loader):
            batch = self._to_device(batch)
            with self.autocast():
                value = self.task(batch, self.positions)
            if not all_true(bool(torch.isfinite(value)), self.device):
                raise _nan_error("validation", epoch, step, lr, self.run_dir)
            n = len(batch["subject"])
            total, count = total + float(value) * n, count + n
        return all_reduce_mean(total / max(count, 1), count, self.device)


__all__ = ["AMP", "amp_mode", "predict_batch"]
