"""Regression baseline: mean squared error between predicted and true features."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .clip import check_pair


class MSELoss(nn.Module):
    """Mean squared error, the regression baseline of brainmagick's tables.

    Notes
    -----
    Forward: ``pred`` and ``target`` of shape (batch, n_features, n_times) or
    (batch, n_features) -> scalar, the mean over every element.
    """

    def __init__(self) -> None:  # no parameters (``nn.Module`` takes ``*args, **kwargs``)
        super().__init__()

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Mean squared error; see the class Notes.

        Parameters
        ----------
        pred : tensor of shape (batch, n_features, n_times) or (batch, n_features)
            The encoder's output.
        target : tensor of the shape of ``pred``
            The stimulus features it regresses onto (no negatives, unlike CLIP).

        Returns
        -------
        loss : tensor of shape ()
            The mean squared error.
        """
        check_pair(pred, target)
        squared = F.mse_loss(pred.float(), target.float(), reduction="none")
        # summed per example, then over the batch: one order on any number of threads
        # (a full reduction of over 32,768 elements is split by the thread count)
        return squared.flatten(1).sum(1).sum() / squared.numel()


__all__ = ["MSELoss"]
