"""An EEG image encoder in the style of NICE / ATM (Song et al. 2024; Li et al. 2024).

NICE's ``TSConv``: a temporal convolution over every channel, average pooling over
time, a spatial convolution across all channels, a 1x1 projection; then a projection
head (Linear, and a residual GELU-Linear-dropout block, LayerNorm) to the image
embedding. Here a per-subject linear map over channels comes first (the subject layer
of brainmagick, initialised at the identity) and an adaptive pooling makes the
flattened size independent of the window length.
"""

from __future__ import annotations

import torch
from torch import nn

from .._validation import check_option, check_positive
from .base import BrainEncoder
from .subject_layers import UNSEEN_SUBJECT, SubjectLayers


class ResidualProjection(nn.Module):
    """NICE's projection head: Linear, then x + Dropout(Linear(GELU(x))), LayerNorm."""

    def __init__(self, n_in: int, n_out: int, dropout: float) -> None:
        super().__init__()
        self.linear = nn.Linear(n_in, n_out)
        self.residual = nn.Sequential(nn.GELU(), nn.Linear(n_out, n_out), nn.Dropout(dropout))
        self.norm = nn.LayerNorm(n_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # noqa: D102
        x = self.linear(x)
        return self.norm(x + self.residual(x))


class NiceEncoder(BrainEncoder):
    """Subject-conditioned temporal-spatial conv encoder for EEG image decoding.

    Parameters
    ----------
    n_channels_in : int
        EEG channels (the spatial convolution spans all of them).
    n_outputs : int
        Dimension of the image embedding.
    n_subjects : int
        Training subjects.
    n_filters : int
        Filters of the temporal and spatial convolutions (NICE: 40).
    temporal_kernel : int
        Samples of the temporal convolution (NICE: 25 at 250 Hz).
    pool_kernel, pool_stride : int
        Average pooling over time (NICE: 51 and 5); shrunk to the window when longer.
    n_pooled : int
        Time steps kept by the adaptive pooling before flattening.
    dropout : float
        Dropout after the spatial convolution and in the projection head (NICE: 0.5).
    unseen_subject : {"error", "average"}
        See ``SubjectLayers``.

    Notes
    -----
    Forward: ``brain`` (batch, n_channels_in, n_times), ``subject`` long (batch,),
    ``positions`` ignored (the spatial convolution is tied to the channel order)
    -> (batch, n_outputs).
    """

    output_rank = "item"

    def __init__(self, n_channels_in: int, n_outputs: int, n_subjects: int, *,
                 n_filters: int = 40, temporal_kernel: int = 25, pool_kernel: int = 51,
                 pool_stride: int = 5, n_pooled: int = 8, dropout: float = 0.5,
                 unseen_subject: str = "error") -> None:
        super().__init__()
        for name, value in [("n_channels_in", n_channels_in), ("n_outputs", n_outputs),
                            ("n_subjects", n_subjects), ("n_filters", n_filters),
                            ("temporal_kernel", temporal_kernel), ("pool_kernel", pool_kernel),
                            ("pool_stride", pool_stride), ("n_pooled", n_pooled)]:
            check_positive(name, value)
        if not 0 <= dropout < 1:
            raise ValueError(f"dropout must be in [0, 1); got {dropout}.")
        check_option("unseen_subject", unseen_subject, UNSEEN_SUBJECT)
        self.n_channels_in, self.n_outputs, self.n_subjects = n_channels_in, n_outputs, n_subjects
        self.pool_kernel, self.pool_stride = pool_kernel, pool_stride
        self.subject_layers = SubjectLayers(n_channels_in, n_channels_in, n_subjects,
                                            init_identity=True, unseen_subject=unseen_subject)
        self.temporal = nn.Conv2d(1, n_filters, (1, temporal_kernel),
                                  padding=(0, temporal_kernel // 2))
        self.spatial = nn.Sequential(
            nn.BatchNorm2d(n_filters), nn.ELU(), nn.Conv2d(n_filters, n_filters, (n_channels_in, 1)),
            nn.BatchNorm2d(n_filters), nn.ELU(), nn.Dropout(dropout),
            nn.Conv2d(n_filters, n_filters, 1), nn.AdaptiveAvgPool2d((1, n_pooled)))
        self.projection = ResidualProjection(n_filters * n_pooled, n_outputs, dropout)

    def forward(self, brain: torch.Tensor, subject: torch.Tensor, positions=None,
                mask: torch.Tensor | None = None) -> torch.Tensor:
        """Encode a batch of EEG windows.

        Parameters
        ----------
        brain : tensor of shape (batch, n_channels_in, n_times)
            EEG windows, channels in the training order.
        subject : tensor of int of shape (batch,)
            Subject index of each window, selecting its subject layer.
        positions : array or None
            Ignored: the spatial convolution is tied to the channel order.
        mask : tensor or None
            Ignored (every channel is used).

        Returns
        -------
        pred : tensor of shape (batch, n_outputs)
            Predicted image embeddings.
        """
        if brain.dim() != 3 or brain.shape[1] != self.n_channels_in:
            raise ValueError(
                f"brain must have shape (batch, {self.n_channels_in}, n_times) "
                f"(n_channels_in={self.n_channels_in}); got {tuple(brain.shape)}.")
        subject = torch.as_tensor(subject, device=brain.device)
        x = self.subject_layers(brain, subject)
        x = self.temporal(x[:, None])
        kernel = min(self.pool_kernel, x.shape[-1])
        x = nn.functional.avg_pool2d(x, (1, kernel), (1, min(self.pool_stride, kernel)))
        x = self.spatial(x)
        return self.projection(x.flatten(1))


__all__ = ["NiceEncoder", "ResidualProjection"]
