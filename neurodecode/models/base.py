"""The brain-encoder contract: what an encoder takes, what it returns, what it can draw.

Every encoder of ``MODELS`` subclasses :class:`BrainEncoder` and declares

- ``input_rank``: ``"windows"`` for M/EEG windows ``(C, T)`` (a batch is
  ``(batch, n_channels, n_times)``) or ``"patterns"`` for fMRI voxel patterns ``(V,)``
  (a batch is ``(batch, n_voxels)``; fMRI windows of several TRs are reduced first with
  a named reduction, see ``neurodecode.align.items.FMRI_REDUCTIONS``);
- ``output_rank``: ``"timeline"`` for ``(F, T)`` outputs (decoding time-resolved features
  such as speech) or ``"item"`` for one ``(F,)`` vector per window (images, sentences).

A stimulus feature declares ``kind`` (``"timeline"`` or ``"item"``,
``neurodecode.features.Feature.kind``); :func:`check_contract` compares the two before
any training and names the recipe key to change. The constructor is keyword-only after
the three sizes; the forward signature is ``forward(x, subject, positions=None)``; and
:meth:`BrainEncoder.figures` is the hook through which a job gets the arrays it draws
from a trained model (e.g. spatial attention maps) instead of reaching into attributes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from ..exceptions import ConfigError

INPUT_RANKS = {"windows": "(n_channels, n_times)", "patterns": "(n_voxels,)"}
OUTPUT_RANKS = {"timeline": "(n_features, n_times)", "item": "(n_features,)"}
#: Item encoders, named in contract errors.
ITEM_ENCODERS_HINT = ("conv_time_agg (M/EEG), nice_eeg (EEG), fmri_encoder (fMRI), or "
                      "conv_encoder with model.params.pool_time=true")


class BrainEncoder(nn.Module):
    """Base class of the brain encoders of ``neurodecode.models.MODELS``.

    Subclasses set ``input_rank`` and ``output_rank`` (class attributes, or override
    :meth:`declared_output` when a parameter decides it), ``size_argument`` (the name of
    their first size argument: ``n_channels_in`` or ``n_voxels``), take every other
    argument by keyword and implement ``forward(x, subject, positions=None)``.

    Notes
    -----
    Forward: ``x`` (batch, n_channels, n_times) for ``input_rank="windows"`` or
    (batch, n_voxels) for ``"patterns"``; ``subject`` long (batch,); ``positions``
    (n_channels, 2) in [0, 1] or None -> (batch, n_outputs, n_times) for
    ``output_rank="timeline"`` or (batch, n_outputs) for ``"item"``.

    Parameters
    ----------
    *args
        Passed to ``nn.Module``; subclasses define their own arguments.
    **kwargs
        Passed to ``nn.Module``.
    """

    input_rank: ClassVar[str] = "windows"
    output_rank: ClassVar[str] = "timeline"
    size_argument: ClassVar[str] = "n_channels_in"

    @classmethod
    def declared_output(cls, params: Mapping[str, Any]) -> str:
        """The output rank of an encoder built with ``params`` (``"timeline"``/``"item"``)."""
        return cls.output_rank

    @classmethod
    def from_sizes(cls, *, n_inputs: int, n_outputs: int, n_subjects: int,
                   **params: Any) -> BrainEncoder:
        """Build the encoder by keyword: ``n_inputs`` channels (or voxels), the rest as given."""
        return cls(**{cls.size_argument: n_inputs, "n_outputs": n_outputs,
                      "n_subjects": n_subjects}, **params)

    def figures(self, positions: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """Arrays a job saves and draws from the trained model, by file stem.

        Parameters
        ----------
        positions : array of shape (n_channels, 2) or None
            Sensor positions of the data, for maps over sensors.

        Returns
        -------
        figures : dict of str to array
            E.g. ``{"spatial_attention": (n_virtual, n_channels)}``; empty by default.
        """
        return {}


def attention_figures(spatial: nn.Module, positions: np.ndarray | None) -> dict[str, np.ndarray]:
    """``spatial_attention`` weights (n_virtual, n_channels) of a SpatialAttention layer."""
    from .spatial_attention import SpatialAttention

    if positions is None or not isinstance(spatial, SpatialAttention):
        return {}
    with torch.no_grad():
        pos = torch.as_tensor(np.asarray(positions), dtype=torch.float32)[None]
        present = torch.ones(pos.shape[:2], dtype=torch.bool)
        weights = spatial.attention(pos, present)[0].numpy()
    return {"spatial_attention": weights, "positions": np.asarray(positions)}


def check_contract(*, feature: str, feature_kind: str, encoder: str, encoder_cls: type,
                   params: Mapping[str, Any], data_rank: str | None = None) -> None:
    """Check that a feature, an encoder and the data fit, before any data is trained on.

    Parameters
    ----------
    feature : str
        The recipe's ``features.name``.
    feature_kind : {"timeline", "item"}
        The feature's declared kind.
    encoder : str
        The recipe's ``model.name``.
    encoder_cls : type
        A :class:`BrainEncoder` subclass.
    params : mapping
        The recipe's ``model.params``.
    data_rank : {"windows", "patterns"} or None
        What the segments are (M/EEG windows or reduced fMRI patterns); None skips it.

    Raises
    ------
    ConfigError
        Naming the feature, the encoder, both shapes and the recipe key to change.
    """
    if not (isinstance(encoder_cls, type) and issubclass(encoder_cls, BrainEncoder)):
        return
    out = encoder_cls.declared_output(params)
    if out != feature_kind:
        key = (f"model.name to an item encoder ({ITEM_ENCODERS_HINT})" if feature_kind == "item"
               else "model.name to a time-resolved encoder (conv_encoder with "
                    "model.params.pool_time=false) or features.name to a timeline feature")
        raise ConfigError(
            f"feature {feature!r} is {'an' if feature_kind == 'item' else 'a'} {feature_kind} "
            "feature with targets of shape "
            f"{OUTPUT_RANKS[feature_kind]} per window, but encoder {encoder!r} outputs "
            f"{OUTPUT_RANKS[out]}; set {key}.")
    if data_rank is not None and data_rank != encoder_cls.input_rank:
        key = ("segments.reduction (mean, tr:<k> or hrf) with model.name=fmri_encoder"
               if data_rank == "patterns" else "model.name to an M/EEG encoder "
               "(conv_encoder, conv_time_agg, nice_eeg)")
        raise ConfigError(
            f"the segments are {data_rank} of shape {INPUT_RANKS[data_rank]} but encoder "
            f"{encoder!r} takes {INPUT_RANKS[encoder_cls.input_rank]} (feature {feature!r}); "
            f"set {key}.")


def check_batch_shapes(*, feature: str, encoder: str, pred_shape: tuple, target_shape: tuple,
                       n_features_key: str = "features") -> None:
    """Raise ``ConfigError`` when one batch's prediction and target shapes differ.

    Parameters
    ----------
    feature : str
        Name of the stimulus feature, shown in the message.
    encoder : str
        Name of the encoder (a ``MODELS`` key), shown in the message.
    pred_shape : tuple of int
        Shape of the model's prediction for one batch, e.g. (batch, n_outputs, n_times).
    target_shape : tuple of int
        Shape of the batch's stimulus features, expected equal to ``pred_shape``.
    n_features_key : str
        The recipe key that sets the feature dimension, named in the message.
    """
    if tuple(pred_shape) != tuple(target_shape):
        raise ConfigError(
            f"encoder {encoder!r} predicts a batch of shape {tuple(pred_shape)} but feature "
            f"{feature!r} gives targets of shape {tuple(target_shape)}; the model's "
            f"n_outputs and rank must match the {n_features_key} (check model.name and "
            "model.params, e.g. pool_time).")


__all__ = ["BrainEncoder", "INPUT_RANKS", "OUTPUT_RANKS", "attention_figures",
           "check_batch_shapes", "check_contract"]
