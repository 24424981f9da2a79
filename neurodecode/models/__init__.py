"""Brain encoders: the subject-conditioned conv encoder (M/EEG), its time-aggregated
variant and a NICE-style EEG image encoder (items), and an fMRI encoder. Every one is a
``BrainEncoder`` (``base.py``: declared input/output ranks, ``figures`` hook).

``MODELS`` maps a recipe name to its class; ``get_model`` looks one up and lists the
valid names when the name is unknown.
"""

from __future__ import annotations

from torch import nn

from .._validation import check_option
from .base import BrainEncoder, check_batch_shapes, check_contract
from .conv_encoder import ConvBlock, ConvEncoder, ConvEncoderTimeAgg, count_parameters
from .fmri_encoder import FmriEncoder
from .image_eeg import NiceEncoder
from .spatial_attention import FourierEmbedding, SpatialAttention, positions_from_info
from .subject_layers import SubjectLayers

MODELS: dict[str, type[nn.Module]] = {
    "conv_encoder": ConvEncoder, "conv_time_agg": ConvEncoderTimeAgg,
    "nice_eeg": NiceEncoder, "fmri_encoder": FmriEncoder}


def get_model(name: str) -> type[nn.Module]:
    """Return the model class registered under ``name`` (see ``MODELS``).

    Parameters
    ----------
    name : str
        A key of ``MODELS``, e.g. ``"conv_encoder"``; an unknown name lists the valid ones.

    Returns
    -------
    model_class : type of nn.Module
        The encoder class, to be built with its size arguments.
    """
    return MODELS[check_option("model", name, MODELS)]


__all__ = [
    "MODELS",
    "BrainEncoder",
    "ConvBlock",
    "ConvEncoder",
    "ConvEncoderTimeAgg",
    "FmriEncoder",
    "NiceEncoder",
    "check_batch_shapes",
    "check_contract",
    "FourierEmbedding",
    "SpatialAttention",
    "SubjectLayers",
    "count_parameters",
    "get_model",
    "positions_from_info",
]
