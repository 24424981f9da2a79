"""Subject-conditioned convolutional M/EEG encoder (brainmagick's ``SimpleConv``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from .._validation import check_option, check_positive
from .base import BrainEncoder, attention_figures
from .image_eeg import ResidualProjection
from .spatial_attention import SpatialAttention
from .subject_layers import UNSEEN_SUBJECT, SubjectLayers

#: Initial subject maps of ``ConvEncoder``: random (brainmagick) or the identity.
SUBJECT_INITS = ("random", "identity")


class ConvBlock(nn.Module):
    """Dilated conv, BatchNorm, GELU, dropout, residual when shapes allow, optional GLU.

    Forward: (batch, in_channels, n_times) -> (batch, out_channels, n_times).

    Parameters
    ----------
    in_channels : int
        Channels of the input.
    out_channels : int
        Channels of the output; the block is residual when equal to ``in_channels``.
    kernel : int
        Odd kernel size of the dilated conv (the padding keeps ``n_times``).
    dilation : int
        Dilation of the conv.
    dropout : float
        Dropout after the activation (0: none).
    glu : bool
        Follow the block with a kernel-3 conv to twice the channels and a GLU.
    batch_norm : bool
        BatchNorm after the conv.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel: int, dilation: int,
                 dropout: float, glu: bool, batch_norm: bool = True) -> None:
        super().__init__()
        layers: list[nn.Module] = [
            nn.Conv1d(in_channels, out_channels, kernel, padding=kernel // 2 * dilation,
                      dilation=dilation)
        ]
        if batch_norm:
            layers.append(nn.BatchNorm1d(out_channels))
        layers.append(nn.GELU())
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        self.conv = nn.Sequential(*layers)
        self.residual = in_channels == out_channels
        self.glu = None
        if glu:
            self.glu = nn.Sequential(
                nn.Conv1d(out_channels, 2 * out_channels, 3, padding=1), nn.GLU(dim=1)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the block.

        Parameters
        ----------
        x : tensor of shape (batch, in_channels, n_times)
            Input activations.

        Returns
        -------
        y : tensor of shape (batch, out_channels, n_times)
            Conv, normalisation, activation, plus ``x`` when residual, then the GLU.
        """
        y = self.conv(x)
        if self.residual:
            y = y + x
        return self.glu(y) if self.glu is not None else y


class ConvEncoder(BrainEncoder):
    """Decode stimulus features from M/EEG (Défossez et al. 2023, brainmagick).

    Spatial attention over sensor positions -> 1x1 conv -> per-subject linear layer ->
    ``depth`` dilated residual conv blocks (kernel 3, dilations cycling 1, 2, 4, 8, 16,
    BatchNorm, GELU, a GLU every ``glu_every`` blocks) -> optional mean over time ->
    1x1 head (conv, GELU, conv) to ``n_outputs`` features.

    At the default size (270 virtual channels, 320 hidden, 10 blocks, 32 Fourier
    frequencies) the model has 7,017,290 parameters plus 72,900 per subject with
    ``n_outputs=120`` (mel), and 7,596,754 plus 72,900 per subject with ``n_outputs=1024``
    (wav2vec 2.0 large, brainmagick's default target): 9,565,054 for the 27 subjects of
    Gwilliams et al.

    Parameters
    ----------
    n_channels_in : int
        Number of input sensors. With spatial attention the layer accepts any sensor
        count (pad and mask missing sensors); without it, inputs must have exactly this.
    n_outputs : int
        Feature dimension of the target (e.g. 120 mel bands, 1024 for wav2vec 2.0).
    n_subjects : int
        Number of training subjects; subject indices are ``0..n_subjects-1``.
    n_virtual : int
        Output channels of the spatial attention.
    hidden : int
        Channels of the conv blocks.
    depth : int
        Number of conv blocks.
    kernel : int
        Odd kernel size of the conv blocks.
    dilation_cycle : sequence of int
        Dilations, cycled over the blocks.
    glu_every : int
        A GLU conv after every ``glu_every``-th block (0: none).
    dropout : float
        Dropout after each block's activation (brainmagick: 0).
    spatial_dropout_radius : float
        Training-time dropout of all sensors within this radius of a random point.
    fourier_freqs : int
        Frequencies per axis of the position embedding.
    pool_time : bool
        Average over time before the head: outputs (batch, n_outputs).
    spatial_attention : bool
        Use spatial attention (needs positions); if False, a 1x1 conv from
        ``n_channels_in`` channels replaces it.
    unseen_subject : {"error", "average"}
        Behaviour for a subject index not seen in training (see ``SubjectLayers``).
    subject_init : {"random", "identity"}
        Initial subject maps: random (brainmagick) or the identity, so that every subject
        starts in one shared space (NICE-style; see ``ConvEncoderTimeAgg``).

    Notes
    -----
    Forward: ``brain`` float (batch, n_channels, n_times), ``subject`` long (batch,),
    ``positions`` (n_channels, 2) or (batch, n_channels, 2) in [0, 1] (NaN or negative
    = absent sensor), optional ``mask`` bool (n_channels,) or (batch, n_channels)
    -> (batch, n_outputs, n_times), or (batch, n_outputs) with ``pool_time``.

    Examples
    --------
    >>> import torch
    >>> from neurodecode.models import ConvEncoder
    >>> model = ConvEncoder(n_channels_in=20, n_outputs=8, n_subjects=2)
    >>> brain = torch.zeros(3, 20, 120)  # (batch, channels, time)
    >>> out = model(brain, subject=torch.tensor([0, 1, 0]), positions=torch.rand(20, 2))
    >>> tuple(out.shape)  # (batch, features, time)
    (3, 8, 120)
    """

    def __init__(self, n_channels_in: int, n_outputs: int, n_subjects: int, *,
                 n_virtual: int = 270, hidden: int = 320, depth: int = 10, kernel: int = 3,
                 dilation_cycle: Sequence[int] = (1, 2, 4, 8, 16), glu_every: int = 2,
                 dropout: float = 0.0, spatial_dropout_radius: float = 0.2,
                 fourier_freqs: int = 32, pool_time: bool = False,
                 spatial_attention: bool = True, unseen_subject: str = "error",
                 subject_init: str = "random") -> None:
        super().__init__()
        for name, value in [("n_channels_in", n_channels_in), ("n_outputs", n_outputs),
                            ("n_subjects", n_subjects), ("n_virtual", n_virtual),
                            ("hidden", hidden), ("depth", depth), ("kernel", kernel)]:
            check_positive(name, value)
        if kernel % 2 == 0:
            raise ValueError(f"kernel must be odd to keep the length; got {kernel}.")
        if not 0 <= dropout < 1:
            raise ValueError(f"dropout must be in [0, 1); got {dropout}.")
        check_option("unseen_subject", unseen_subject, UNSEEN_SUBJECT)
        check_option("subject_init", subject_init, SUBJECT_INITS)
        self.n_channels_in, self.n_outputs, self.n_subjects = n_channels_in, n_outputs, n_subjects
        self.pool_time = pool_time
        self.spatial: nn.Module
        if spatial_attention:
            self.spatial = SpatialAttention(n_virtual, fourier_freqs, spatial_dropout_radius)
        else:
            self.spatial = nn.Conv1d(n_channels_in, n_virtual, 1)
        self.initial = nn.Conv1d(n_virtual, n_virtual, 1)
        self.subject_layers = SubjectLayers(n_virtual, n_virtual, n_subjects,
                                            init_identity=subject_init == "identity",
                                            unseen_subject=unseen_subject)
        cycle = tuple(dilation_cycle)
        self.blocks = nn.Sequential(*[
            ConvBlock(n_virtual if k == 0 else hidden, hidden, kernel, cycle[k % len(cycle)],
                      dropout, glu=bool(glu_every) and (k + 1) % glu_every == 0)
            for k in range(depth)
        ])
        self.head = nn.Sequential(nn.Conv1d(hidden, 2 * hidden, 1), nn.GELU(),
                                  nn.Conv1d(2 * hidden, n_outputs, 1))

    def _check_brain(self, brain: torch.Tensor, subject: torch.Tensor) -> None:
        if brain.dim() != 3:
            raise ValueError(
                "brain must have shape (batch, n_channels, n_times); got "
                f"{tuple(brain.shape)}."
            )
        if not isinstance(self.spatial, SpatialAttention) and brain.shape[1] != self.n_channels_in:
            raise ValueError(
                f"brain has {brain.shape[1]} channels; this model (spatial_attention=False) "
                f"expects n_channels_in={self.n_channels_in}."
            )
        if subject.shape != brain.shape[:1]:
            raise ValueError(
                f"subject must have shape ({brain.shape[0]},) (one index per example); got "
                f"{tuple(subject.shape)}."
            )

    @classmethod
    def declared_output(cls, params: Mapping[str, Any]) -> str:
        """``"item"`` with ``pool_time=True``, else ``"timeline"``."""
        return "item" if params.get("pool_time", False) else "timeline"

    def figures(self, positions: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """The spatial attention weights over ``positions`` (see ``BrainEncoder.figures``).

        Parameters
        ----------
        positions : array of shape (n_channels, 2) or None
            Sensor positions of the data in [0, 1]; None gives no figure.

        Returns
        -------
        figures : dict of str to array
            ``{"spatial_attention": (n_virtual, n_channels)}`` with spatial attention and
            positions, else empty.
        """
        return attention_figures(self.spatial, positions)

    def encode_time(self, brain: torch.Tensor, subject: torch.Tensor, positions=None,
                    mask: torch.Tensor | None = None) -> torch.Tensor:
        """The conv blocks' output, before the head.

        Parameters
        ----------
        brain : tensor of shape (batch, n_channels, n_times)
            M/EEG windows.
        subject : tensor of int of shape (batch,)
            Subject index of each window, selecting its subject layer.
        positions : tensor of shape (n_channels, 2) or (batch, n_channels, 2) or None
            Sensor positions in [0, 1] (NaN or negative: absent sensor), for the spatial
            attention; None without it.
        mask : tensor of bool of shape (n_channels,) or (batch, n_channels) or None
            Sensors to use (False: ignored by the attention); None: all present ones.

        Returns
        -------
        x : tensor of shape (batch, hidden, n_times)
            Activations of the last conv block.
        """
        subject = torch.as_tensor(subject, device=brain.device)
        self._check_brain(brain, subject)
        if isinstance(self.spatial, SpatialAttention):
            x = self.spatial(brain, positions, mask)
        else:
            x = self.spatial(brain)
        x = self.subject_layers(self.initial(x), subject)
        return self.blocks(x)

    def forward(self, brain: torch.Tensor, subject: torch.Tensor, positions=None,
                mask: torch.Tensor | None = None) -> torch.Tensor:
        """Encode a batch.

        Parameters
        ----------
        brain : tensor of shape (batch, n_channels, n_times)
            M/EEG windows.
        subject : tensor of int of shape (batch,)
            Subject index of each window, selecting its subject layer.
        positions : tensor of shape (n_channels, 2) or (batch, n_channels, 2) or None
            Sensor positions in [0, 1] (NaN or negative: absent sensor), for the spatial
            attention; None without it.
        mask : tensor of bool of shape (n_channels,) or (batch, n_channels) or None
            Sensors to use (False: ignored by the attention); None: all present ones.

        Returns
        -------
        pred : tensor of shape (batch, n_outputs, n_times) or (batch, n_outputs)
            Predicted stimulus features; (batch, n_outputs) with ``pool_time``.
        """
        x = self.encode_time(brain, subject, positions, mask)
        if self.pool_time:
            return self.head(x.mean(dim=-1, keepdim=True))[..., 0]
        return self.head(x)


TIME_AGGREGATIONS = ("attention", "mean", "bins")
TIME_AGG_HEADS = ("mlp", "projection")


def _item_head(kind: str, hidden: int, n_queries: int, n_outputs: int,
               dropout: float) -> nn.Sequential:
    """(batch, hidden * n_queries) -> (batch, n_outputs); see ``ConvEncoderTimeAgg``."""
    n_in = hidden * n_queries
    if kind == "projection":
        return nn.Sequential(nn.Dropout(dropout), ResidualProjection(n_in, n_outputs, dropout))
    return nn.Sequential(nn.Dropout(dropout), nn.Linear(n_in, 2 * hidden), nn.GELU(),
                         nn.Dropout(dropout), nn.Linear(2 * hidden, n_outputs))


class ConvEncoderTimeAgg(ConvEncoder):
    """brainmagick's encoder with a learned temporal aggregation to one vector per window.

    The ConvEncoder's blocks give (batch, hidden, n_times); a 1x1 conv scores every time
    step (``n_queries`` scores), a softmax over time turns each into weights, and the
    weighted sums (batch, hidden * n_queries) go through a head to ``n_outputs``: the
    item decoder of later brainmagick work on images (Benchetrit et al. 2023) and
    NeuralBench's ``SimpleConvTimeAgg``. ``aggregation="mean"`` replaces the learned
    weights by the plain mean over time; ``aggregation="bins"`` averages ``n_queries``
    consecutive time bins (as NICE's adaptive pooling), whose concatenation the head
    weighs with learned weights that do not depend on the window: on noisy single
    trials, attention weights computed from the window itself follow the noise (issue
    13: ``benchmarks/decode_images_simulated.py``).

    Parameters
    ----------
    n_channels_in, n_outputs, n_subjects
        As ``ConvEncoder``.
    aggregation : {"attention", "mean", "bins"}
        How time is aggregated: softmax weights over time scored from the window, the
        plain mean, or the means of consecutive time bins.
    n_queries : int
        Number of learned time weightings (with ``"mean"``, as many plain means; with
        ``"bins"``, the number of time bins); their weighted sums are concatenated, so
        that channels whose responses peak at different latencies can each be read at
        their own time.
    head : {"mlp", "projection"}
        ``"mlp"``: Linear, GELU, Linear (NeuralBench); ``"projection"``: NICE's projection
        head (Linear, then a residual GELU-Linear-dropout block and LayerNorm).
    head_dropout : float
        Dropout on the aggregated vector and inside the head.
    **params
        Every other keyword argument of ``ConvEncoder`` except ``pool_time``.

    Notes
    -----
    Forward: ``brain`` (batch, n_channels, n_times), ``subject`` (batch,), ``positions``
    (n_channels, 2) -> (batch, n_outputs).
    """

    output_rank = "item"

    def __init__(self, n_channels_in: int, n_outputs: int, n_subjects: int, *,
                 aggregation: str = "attention", n_queries: int = 1,
                 head: str = "mlp", head_dropout: float = 0.0, **params: Any) -> None:
        if "pool_time" in params:
            raise ValueError("ConvEncoderTimeAgg always aggregates time; remove pool_time "
                             f"(got pool_time={params['pool_time']!r}).")
        super().__init__(n_channels_in, n_outputs, n_subjects, **params)
        self.aggregation = check_option("aggregation", aggregation, TIME_AGGREGATIONS)
        check_positive("n_queries", n_queries)
        if not 0 <= head_dropout < 1:
            raise ValueError(f"head_dropout must be in [0, 1); got {head_dropout}.")
        first = self.head[0]
        assert isinstance(first, nn.Conv1d)  # ConvEncoder's head opens with a 1x1 conv
        hidden: int = first.in_channels
        self.time_scores = nn.Conv1d(hidden, n_queries, 1)
        self.head = _item_head(check_option("head", head, TIME_AGG_HEADS), hidden,
                               n_queries, n_outputs, head_dropout)

    @classmethod
    def declared_output(cls, params: Mapping[str, Any]) -> str:  # noqa: D102
        return "item"

    def time_weights(self, x: torch.Tensor) -> torch.Tensor:
        """Aggregation weights over time of the blocks' output.

        Parameters
        ----------
        x : tensor of shape (batch, hidden, n_times)
            Output of the conv blocks (``encode_time``).

        Returns
        -------
        weights : tensor of shape (batch, n_queries, n_times)
            Each query's weights over time, summing to 1.
        """
        if self.aggregation == "bins":  # what adaptive_avg_pool1d averages
            return _bin_weights(x.shape[-1], self.time_scores.out_channels, x).expand(
                x.shape[0], -1, -1)
        if self.aggregation == "mean":
            shape = (x.shape[0], self.time_scores.out_channels, x.shape[-1])
            return torch.full(shape, 1.0 / x.shape[-1], dtype=x.dtype, device=x.device)
        return torch.softmax(self.time_scores(x), dim=-1)

    def forward(self, brain: torch.Tensor, subject: torch.Tensor, positions=None,
                mask: torch.Tensor | None = None) -> torch.Tensor:
        """Encode a batch to one vector per window.

        Parameters
        ----------
        brain : tensor of shape (batch, n_channels, n_times)
            M/EEG windows.
        subject : tensor of int of shape (batch,)
            Subject index of each window, selecting its subject layer.
        positions : tensor of shape (n_channels, 2) or (batch, n_channels, 2) or None
            Sensor positions in [0, 1] (NaN or negative: absent sensor), for the spatial
            attention; None without it.
        mask : tensor of bool of shape (n_channels,) or (batch, n_channels) or None
            Sensors to use (False: ignored by the attention); None: all present ones.

        Returns
        -------
        pred : tensor of shape (batch, n_outputs)
            Predicted item features.
        """
        x = self.encode_time(brain, subject, positions, mask)
        pooled = torch.einsum("bht,bqt->bhq", x, self.time_weights(x))
        return self.head(pooled.flatten(1))


def _bin_weights(n_times: int, n_bins: int, like: torch.Tensor) -> torch.Tensor:
    """(1, n_bins, n_times) weights of adaptive average pooling into ``n_bins`` bins."""
    eye = torch.eye(n_times, dtype=like.dtype, device=like.device)[None]
    return nn.functional.adaptive_avg_pool1d(eye, n_bins).transpose(1, 2)


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters of ``model``.

    Parameters
    ----------
    model : nn.Module
        Any module; parameters with ``requires_grad=False`` are not counted.

    Returns
    -------
    n_parameters : int
        Total number of trainable scalar weights.
    """
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


__all__ = ["ConvBlock", "ConvEncoder", "ConvEncoderTimeAgg", "count_parameters"]
