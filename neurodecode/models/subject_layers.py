"""Per-subject linear maps (brainmagick's ``SubjectLayers``)."""

from __future__ import annotations

import torch
from torch import nn

from .._validation import check_option

UNSEEN_SUBJECT = ("error", "average")


def check_subjects(subject: torch.Tensor, n_subjects: int, unseen_subject: str) -> torch.Tensor:
    """Validate subject indices (batch,) against ``n_subjects``; return a bool mask of unseen.

    Raises ``ValueError`` for an index outside ``[0, n_subjects)`` unless
    ``unseen_subject == "average"``.
    """
    if subject.dim() != 1 or subject.dtype.is_floating_point or subject.dtype == torch.bool:
        raise TypeError(
            f"subject must be a 1-D integer tensor of shape (batch,); got dtype "
            f"{subject.dtype} and shape {tuple(subject.shape)}."
        )
    unseen = (subject < 0) | (subject >= n_subjects)
    if unseen_subject == "error" and bool(unseen.any()):
        bad = int(subject[unseen][0])
        raise ValueError(
            f"subject index {bad} was not seen in training (n_subjects={n_subjects}, valid "
            "indices 0..n_subjects-1). Map subjects to the training indices, or build the "
            "model with unseen_subject='average' to use the average subject."
        )
    return unseen


class _GatherSubjects(torch.autograd.Function):
    """``weights[index]`` whose gradient is a deterministic ``index_add_``.

    The forward is the plain gather (same values as brainmagick's ``weights.gather``);
    autograd's own gradient of ``weights[index]`` is a parallel accumulate on CPU whose
    summation order, and so its rounding, depends on the number of threads. ``index_add_``
    on CPU adds the rows one after another in batch order, whatever the thread count.
    """

    @staticmethod
    def forward(ctx, weights: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(index)
        ctx.n_subjects = weights.shape[0]
        return weights[index]

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        (index,) = ctx.saved_tensors
        out = grad.new_zeros((ctx.n_subjects, *grad.shape[1:]))
        return out.index_add_(0, index, grad), None


def gather_subjects(weights: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """``weights[index]`` (n_subjects, ...) -> (batch, ...) with a deterministic gradient."""
    return _GatherSubjects.apply(weights, index)


class SubjectLayers(nn.Module):
    """One linear map per subject: ``out[b] = W[subject[b]].T @ x[b]``.

    Parameters
    ----------
    in_channels, out_channels : int
        Channel counts of the input and output.
    n_subjects : int
        Number of training subjects (indices ``0..n_subjects-1``).
    init_identity : bool
        Start every map at the (scaled) identity (needs ``in_channels == out_channels``).
    unseen_subject : {"error", "average"}
        At inference, an index outside ``[0, n_subjects)`` raises ``ValueError``
        ("error") or uses the average of the subjects' maps ("average").

    Notes
    -----
    Forward: ``x`` (batch, in_channels, n_times), ``subject`` (batch,) long ->
    (batch, out_channels, n_times). Parameters: ``n_subjects * in_channels * out_channels``.
    """

    def __init__(self, in_channels: int, out_channels: int, n_subjects: int, *,
                 init_identity: bool = False, unseen_subject: str = "error") -> None:
        super().__init__()
        check_option("unseen_subject", unseen_subject, UNSEEN_SUBJECT)
        if n_subjects < 1:
            raise ValueError(f"n_subjects must be >= 1; got {n_subjects}.")
        if init_identity and in_channels != out_channels:
            raise ValueError(
                f"init_identity needs in_channels == out_channels; got {in_channels} and "
                f"{out_channels}."
            )
        weights = torch.randn(n_subjects, in_channels, out_channels)
        if init_identity:
            weights = torch.eye(in_channels).expand(n_subjects, -1, -1).clone()
        self.weights = nn.Parameter(weights / in_channels**0.5)
        self.n_subjects = n_subjects
        self.unseen_subject = unseen_subject

    def forward(self, x: torch.Tensor, subject: torch.Tensor) -> torch.Tensor:
        """Apply each example's subject map.

        Parameters
        ----------
        x : tensor of shape (batch, in_channels, n_times)
            Input activations.
        subject : tensor of int of shape (batch,)
            Subject index of each example; an unseen one follows ``unseen_subject``.

        Returns
        -------
        out : tensor of shape (batch, out_channels, n_times)
            ``W[subject[b]].T @ x[b]`` for each example ``b``.
        """
        subject = subject.to(x.device)
        unseen = check_subjects(subject, self.n_subjects, self.unseen_subject)
        index = subject.clamp(0, self.n_subjects - 1)
        weights = gather_subjects(self.weights, index)
        if bool(unseen.any()):
            average = self.weights.mean(dim=0, keepdim=True).expand_as(weights)
            weights = torch.where(unseen[:, None, None], average, weights)
        return torch.einsum("bct,bcd->bdt", x, weights.to(x.dtype))


__all__ = ["SubjectLayers"]
