"""Subject-conditioned fMRI encoder: per-subject linear layer, shared residual MLP."""

from __future__ import annotations

import torch
from torch import nn

from .._validation import check_option, check_positive
from .base import BrainEncoder
from .subject_layers import UNSEEN_SUBJECT, check_subjects


class ResidualMLPBlock(nn.Module):
    """LayerNorm -> Linear -> GELU -> Dropout, added to the input: (batch, hidden)."""

    def __init__(self, hidden: int, dropout: float) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.LayerNorm(hidden), nn.Linear(hidden, hidden), nn.GELU(),
                                 nn.Dropout(dropout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # noqa: D102
        return x + self.net(x)


class FmriEncoder(BrainEncoder):
    """Map fMRI responses to stimulus features.

    One linear map per subject from that subject's voxels to a shared ``hidden`` space,
    ``depth`` residual MLP blocks shared by all subjects, and a linear head.

    Parameters
    ----------
    n_voxels : int
        Number of voxels (pad subjects with fewer voxels with zeros).
    n_outputs : int
        Feature dimension of the target.
    n_subjects : int
        Number of training subjects.
    hidden : int
        Width of the shared MLP.
    depth : int
        Number of residual blocks.
    dropout : float
        Dropout inside the blocks.
    unseen_subject : {"error", "average"}
        Behaviour for a subject index not seen in training: raise, or average the
        subjects' input maps.

    Notes
    -----
    Forward: ``brain`` float (batch, n_voxels), ``subject`` long (batch,) ->
    (batch, n_outputs). ``positions`` is accepted for a uniform call signature and must
    be None. Parameters: ``n_subjects * (n_voxels + 1) * hidden + depth * (hidden**2 +
    3 * hidden) + (hidden + 1) * n_outputs``.
    """

    input_rank = "patterns"
    output_rank = "item"
    size_argument = "n_voxels"

    def __init__(self, n_voxels: int, n_outputs: int, n_subjects: int, *, hidden: int = 1024,
                 depth: int = 2, dropout: float = 0.1, unseen_subject: str = "error") -> None:
        super().__init__()
        for name, value in [("n_voxels", n_voxels), ("n_outputs", n_outputs),
                            ("n_subjects", n_subjects), ("hidden", hidden)]:
            check_positive(name, value)
        check_option("unseen_subject", unseen_subject, UNSEEN_SUBJECT)
        self.n_voxels, self.n_outputs, self.n_subjects = n_voxels, n_outputs, n_subjects
        self.unseen_subject = unseen_subject
        self.weights = nn.Parameter(torch.randn(n_subjects, n_voxels, hidden) / n_voxels**0.5)
        self.bias = nn.Parameter(torch.zeros(n_subjects, hidden))
        self.blocks = nn.Sequential(*[ResidualMLPBlock(hidden, dropout) for _ in range(depth)])
        self.head = nn.Sequential(nn.LayerNorm(hidden), nn.Linear(hidden, n_outputs))

    def forward(self, brain: torch.Tensor, subject: torch.Tensor,
                positions=None) -> torch.Tensor:
        """Encode a batch of fMRI patterns.

        Parameters
        ----------
        brain : tensor of shape (batch, n_voxels)
            One response pattern per item.
        subject : tensor of int of shape (batch,)
            Subject index of each pattern, selecting its voxel-to-hidden map.
        positions : None
            Not used (no sensors); anything else is a ``ValueError``.

        Returns
        -------
        pred : tensor of shape (batch, n_outputs)
            Predicted item features.
        """
        if positions is not None:
            raise ValueError("FmriEncoder takes no sensor positions; pass positions=None.")
        if brain.dim() != 2 or brain.shape[1] != self.n_voxels:
            raise ValueError(
                f"brain must have shape (batch, {self.n_voxels}) (n_voxels); got "
                f"{tuple(brain.shape)}."
            )
        subject = torch.as_tensor(subject, device=brain.device)
        unseen = check_subjects(subject, self.n_subjects, self.unseen_subject)
        index = subject.clamp(0, self.n_subjects - 1)
        weights, bias = self.weights[index], self.bias[index]
        if bool(unseen.any()):
            weights = torch.where(unseen[:, None, None], self.weights.mean(0), weights)
            bias = torch.where(unseen[:, None], self.bias.mean(0), bias)
        x = torch.einsum("bv,bvh->bh", brain, weights) + bias
        return self.head(self.blocks(x))


__all__ = ["FmriEncoder"]
