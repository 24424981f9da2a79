"""Spatial attention over 2-D sensor positions (brainmagick's ``ChannelMerger``).

Each of ``n_virtual`` output channels is a softmax-weighted average of the input
sensors; the weights are a function of the sensors' 2-D positions only (a Fourier
embedding dotted with learned queries), so the same layer works for any sensor set:
sensors can be reordered, added or removed as long as their positions are given.

Positions live in the unit square ``[0, 1] x [0, 1]``. A sensor is *absent* (padding,
bad channel, or a sensor that this dataset lacks) when its position is NaN or negative
(e.g. ``-1``), or when ``mask`` is False for it; absent sensors get zero weight.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ..io.positions import MONTAGE_HINT, positions_from_info


class FourierEmbedding(nn.Module):
    """Fourier features of 2-D positions.

    Parameters
    ----------
    n_freqs : int
        Frequencies per axis; the embedding has ``2 * n_freqs ** 2`` dimensions.
    margin : float
        Positions are shifted by ``margin`` and periods span ``1 + 2 * margin`` so that
        the unit square does not wrap around.
    """

    def __init__(self, n_freqs: int = 32, margin: float = 0.2) -> None:
        super().__init__()
        self.n_freqs = n_freqs
        self.margin = margin
        self.dimension = 2 * n_freqs**2

    def forward(self, positions: torch.Tensor) -> torch.Tensor:
        """Embed 2-D positions.

        Parameters
        ----------
        positions : tensor of shape (..., 2)
            Positions in the unit square.

        Returns
        -------
        embedding : tensor of shape (..., 2 * n_freqs ** 2)
            Cosines, then sines, of every pair of per-axis frequencies.
        """
        freqs = torch.arange(self.n_freqs, dtype=positions.dtype, device=positions.device)
        scale = 2 * math.pi / (1 + 2 * self.margin)
        pos = (positions + self.margin) * scale
        loc = pos[..., 0, None, None] * freqs[:, None] + pos[..., 1, None, None] * freqs
        loc = loc.flatten(-2)
        return torch.cat([torch.cos(loc), torch.sin(loc)], dim=-1)


def present_channels(
    positions: torch.Tensor, mask: torch.Tensor | None, batch: int
) -> torch.Tensor:
    """Boolean (batch, n_channels): True where a sensor is present."""
    present = torch.isfinite(positions).all(-1) & (positions >= 0).all(-1)
    present = present.expand(batch, -1) if present.dim() == 1 else present
    if mask is not None:
        mask = mask.to(device=present.device, dtype=torch.bool)
        present = present & (mask.expand(batch, -1) if mask.dim() == 1 else mask)
    return present


def check_positions(positions, n_channels: int, batch: int) -> torch.Tensor:
    """Validate positions: (n_channels, 2) or (batch, n_channels, 2) in [0, 1]."""
    if positions is None:
        raise ValueError(
            "positions is None: the spatial attention needs the 2-D position of each "
            f"sensor, an array of shape (n_channels, 2) in [0, 1]. {MONTAGE_HINT}"
        )
    positions = torch.as_tensor(positions, dtype=torch.float32)
    ok_shape = positions.shape[-1:] == (2,) and positions.shape[-2] == n_channels
    if positions.dim() == 3:
        ok_shape = ok_shape and positions.shape[0] == batch
    if positions.dim() not in (2, 3) or not ok_shape:
        raise ValueError(
            f"positions must have shape ({n_channels}, 2) or ({batch}, {n_channels}, 2) "
            f"to match brain of {n_channels} channels; got {tuple(positions.shape)}."
        )
    valid = torch.isfinite(positions).all(-1) & (positions >= 0).all(-1)
    if (positions[valid] > 1 + 1e-4).any():
        raise ValueError(
            "positions must lie in [0, 1] (NaN or negative values mark absent sensors); got "
            f"a maximum of {positions[valid].max().item():.3g}. Use "
            "neurodecode.models.positions_from_info, which scales them to the unit square."
        )
    return positions


class SpatialAttention(nn.Module):
    """Map any sensor set to ``n_virtual`` channels with position-based attention.

    Parameters
    ----------
    n_virtual : int
        Number of output (virtual) channels (brainmagick: 270).
    fourier_freqs : int
        Frequencies per axis of the position embedding (32 gives brainmagick's 2048-d).
    dropout_radius : float
        During training, all sensors within this distance of a random point (one per
        example) are dropped (brainmagick: 0.2). 0 disables it.

    Notes
    -----
    Forward: ``brain`` (batch, n_channels, n_times), ``positions`` (n_channels, 2) or
    (batch, n_channels, 2), optional ``mask`` (n_channels,) or (batch, n_channels) bool,
    True = present -> (batch, n_virtual, n_times). Permuting channels together with their
    positions leaves the output unchanged.
    """

    def __init__(self, n_virtual: int = 270, fourier_freqs: int = 32,
                 dropout_radius: float = 0.2) -> None:
        super().__init__()
        self.embedding = FourierEmbedding(fourier_freqs)
        dim = self.embedding.dimension
        self.queries = nn.Parameter(torch.randn(n_virtual, dim) / dim**0.5)
        self.dropout_radius = dropout_radius

    def attention(self, positions: torch.Tensor, present: torch.Tensor) -> torch.Tensor:
        """Attention weights of the virtual channels over the present sensors.

        Parameters
        ----------
        positions : tensor of shape (n_channels, 2) or (batch, n_channels, 2)
            Sensor positions in [0, 1] (NaN or negative: absent).
        present : tensor of bool of shape (batch, n_channels)
            Sensors that may receive weight (``present_channels``); in training, those
            near a random point are dropped too.

        Returns
        -------
        weights : tensor of shape (batch, n_virtual, n_channels)
            Softmax over the kept sensors (0 elsewhere).
        """
        safe = torch.where(torch.isfinite(positions), positions, 0.0).clamp(min=0.0)
        emb = self.embedding(safe.to(self.queries.dtype))
        scores = torch.einsum("...cd,od->...oc", emb, self.queries)
        if scores.dim() == 2:
            scores = scores.expand(present.shape[0], -1, -1)
        keep = present
        if self.training and self.dropout_radius > 0:
            keep = self._spatial_dropout(safe, present)
        scores = scores.masked_fill(~keep[:, None, :], float("-inf"))
        return torch.softmax(scores, dim=-1)

    def _spatial_dropout(self, positions: torch.Tensor, present: torch.Tensor) -> torch.Tensor:
        batch = present.shape[0]
        centre = torch.rand(batch, 1, 2, device=present.device)
        pos = positions.expand(batch, -1, -1) if positions.dim() == 2 else positions
        banned = (pos - centre).norm(dim=-1) <= self.dropout_radius
        keep = present & ~banned
        # An example whose every sensor would be dropped keeps them all.
        empty = ~keep.any(dim=1, keepdim=True)
        return torch.where(empty, present, keep)

    def forward(self, brain: torch.Tensor, positions, mask=None) -> torch.Tensor:
        """Mix the sensors into the virtual channels.

        Parameters
        ----------
        brain : tensor of shape (batch, n_channels, n_times)
            M/EEG windows.
        positions : tensor of shape (n_channels, 2) or (batch, n_channels, 2)
            Sensor positions in [0, 1] (NaN or negative: absent sensor).
        mask : tensor of bool of shape (n_channels,) or (batch, n_channels) or None
            True for sensors to use; None: every present one.

        Returns
        -------
        out : tensor of shape (batch, n_virtual, n_times)
            Attention-weighted sums of the present sensors.
        """
        batch, n_channels, _ = brain.shape
        positions = check_positions(positions, n_channels, batch).to(brain.device)
        present = present_channels(positions, mask, batch)
        if not present.any(dim=1).all():
            raise ValueError(
                "some examples have no present sensor: every position is NaN/negative or "
                "masked out; check positions and mask."
            )
        brain = brain.masked_fill(~present[:, :, None], 0.0)
        weights = self.attention(positions, present).to(brain.dtype)
        return torch.einsum("bct,boc->bot", brain, weights)


__all__ = ["FourierEmbedding", "SpatialAttention", "positions_from_info"]
