"""Contrastive (CLIP) losses between brain predictions and stimulus features.

Two variants:

- ``"brainmagick"`` (Défossez et al. 2023): the score of prediction ``i`` against
  candidate ``j`` is ``sum_{c,t} pred[i, c, t] * target[j, c, t] / ||target[j]||``
  (the target is L2-normalised over channels and time, the prediction is not), and the
  loss is the cross-entropy from brain to stimulus, the matching segment being the
  positive and every other segment of the batch a negative.
- ``"infonce"`` (CLIP, Radford et al. 2021): both sides L2-normalised, logits scaled by
  a (learnable) inverse temperature, symmetric cross-entropy.

Under ``torch.distributed`` the candidates (and, for InfoNCE, the predictions) are
gathered from every process with gradients flowing back, so the negatives are the
global batch and the gradient does not depend on the number of processes
(brainmagick only uses the local batch).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .._distributed import all_gather_with_grad
from .._validation import check_option, check_positive

CLIP_KINDS = ("brainmagick", "infonce")
_DEFAULT_TEMPERATURE = {"brainmagick": 1.0, "infonce": 0.07}
_MIN_TEMPERATURE = 0.01  # CLIP caps the logit scale at 100
_DEFAULT_LEARN = {"brainmagick": False, "infonce": True}


def check_pair(pred: torch.Tensor, target: torch.Tensor) -> None:
    """Raise ``ValueError`` unless pred and target are (B, F) or (B, F, T) of one shape."""
    if pred.shape != target.shape or pred.dim() not in (2, 3):
        raise ValueError(
            "pred and target must have the same shape, (batch, n_features) or (batch, "
            f"n_features, n_times); got pred {tuple(pred.shape)} and target "
            f"{tuple(target.shape)}. The model's n_outputs must equal the feature "
            "dimension of the stimulus features."
        )


def brainmagick_scores(pred: torch.Tensor, candidates: torch.Tensor) -> torch.Tensor:
    """brainmagick's retrieval scores.

    Parameters
    ----------
    pred : tensor of shape (n_queries, n_features[, n_times])
    candidates : tensor of shape (n_candidates, n_features[, n_times])

    Returns
    -------
    scores : tensor of shape (n_queries, n_candidates)
        ``pred`` dotted with each candidate L2-normalised over features and time.
    """
    pred, candidates = pred.flatten(1), candidates.flatten(1)
    inv_norms = 1.0 / (1e-8 + candidates.norm(dim=1))
    return (pred @ candidates.T) * inv_norms


class ClipLoss(nn.Module):
    """Contrastive loss between predicted and true stimulus features.

    Parameters
    ----------
    kind : {"brainmagick", "infonce"}
        Score and loss variant (see the module docstring).
    temperature : float or None
        Logits are divided by it; None gives 1.0 for "brainmagick" (no temperature, as
        in brainmagick) and 0.07 for "infonce" (CLIP's initial value).
    learn_temperature : bool or None
        Learn the temperature (as a log inverse temperature, clamped to at most 100);
        None gives False for "brainmagick" and True for "infonce".
    gather_distributed : bool
        Under torch.distributed, use every process's segments as negatives.

    Notes
    -----
    Forward: ``pred`` and ``target`` of shape (batch, n_features, n_times) or
    (batch, n_features) -> scalar loss, the mean over this process's queries.
    """

    def __init__(self, kind: str = "brainmagick", temperature: float | None = None,
                 learn_temperature: bool | None = None, gather_distributed: bool = True) -> None:
        super().__init__()
        self.kind = check_option("kind", kind, CLIP_KINDS)
        temperature = _DEFAULT_TEMPERATURE[kind] if temperature is None else temperature
        check_positive("temperature", temperature)
        if temperature < _MIN_TEMPERATURE:
            raise ValueError(
                f"temperature must be >= {_MIN_TEMPERATURE} (the logit scale is capped at "
                f"{1 / _MIN_TEMPERATURE:g}, as in CLIP); got {temperature!r}."
            )
        learn = _DEFAULT_LEARN[kind] if learn_temperature is None else learn_temperature
        self.initial_temperature = float(temperature)
        self.learn_temperature = bool(learn)
        log_scale = torch.tensor(math.log(1.0 / temperature))
        if learn:
            self.log_scale = nn.Parameter(log_scale)
        else:
            self.register_buffer("log_scale", log_scale)
        self.gather_distributed = gather_distributed

    @property
    def temperature(self) -> float:
        """Current temperature (after clamping)."""
        return float(1.0 / self._scale().detach())

    def _scale(self) -> torch.Tensor:
        return self.log_scale.clamp(max=math.log(1 / _MIN_TEMPERATURE)).exp()

    def scores(self, pred: torch.Tensor, candidates: torch.Tensor) -> torch.Tensor:
        """Logits (n_queries, n_candidates) of this variant, before the temperature.

        Parameters
        ----------
        pred : tensor of shape (n_queries, ...)
            Predicted features (flattened per query).
        candidates : tensor of shape (n_candidates, ...)
            Candidate features (flattened per candidate).

        Returns
        -------
        logits : tensor of shape (n_queries, n_candidates)
            The similarity of each query to each candidate.
        """
        if self.kind == "brainmagick":
            return brainmagick_scores(pred, candidates)
        return F.normalize(pred.flatten(1), dim=1) @ F.normalize(candidates.flatten(1), dim=1).T

    def _gather(self, tensor: torch.Tensor) -> tuple[torch.Tensor, int]:
        if self.gather_distributed:
            return all_gather_with_grad(tensor)
        return tensor, 0

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Mean contrastive loss of this process's queries; see the class Notes.

        Parameters
        ----------
        pred : tensor of shape (batch, n_features, n_times) or (batch, n_features)
            Predicted features.
        target : tensor of the shape of ``pred``
            True features; the other rows of the batch (of every process) are the negatives.

        Returns
        -------
        loss : tensor of shape ()
            The mean loss.
        """
        check_pair(pred, target)
        pred, target = pred.float(), target.float()
        all_target, offset = self._gather(target)
        if all_target.shape[0] < 2:
            raise ValueError(
                f"ClipLoss needs at least 2 segments per batch (the positive and at least one "
                f"negative); got a batch of {all_target.shape[0]}, whose loss would be 0 (or "
                "NaN) and train nothing. Use batch_size >= 2 and splits of >= 2 segments."
            )
        labels = torch.arange(pred.shape[0], device=pred.device) + offset
        scale = self._scale()
        loss = F.cross_entropy(self.scores(pred, all_target) * scale, labels)
        if self.kind == "infonce":
            all_pred, _ = self._gather(pred)
            loss = (loss + F.cross_entropy(self.scores(target, all_pred) * scale, labels)) / 2
        return loss


__all__ = ["CLIP_KINDS", "ClipLoss", "brainmagick_scores"]
