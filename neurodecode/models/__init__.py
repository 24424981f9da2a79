"""Brain encoders: the subject-conditioned conv encoder (M/EEG) and an fMRI encoder.

``MODELS`` maps a recipe name to its class; ``get_model`` looks one up and lists the
valid names when the name is unknown.
"""

from __future__ import annotations

from torch import nn

from .._validation import check_option
from .conv_encoder import ConvBlock, ConvEncoder, count_parameters
from .fmri_encoder import FmriEncoder
from .spatial_attention import FourierEmbedding, SpatialAttention, positions_from_info
from .subject_layers import SubjectLayers

MODELS: dict[str, type[nn.Module]] = {"conv_encoder": ConvEncoder, "fmri_encoder": FmriEncoder}


def get_model(name: str) -> type[nn.Module]:
    """Return the model class registered under ``name`` (see ``MODELS``)."""
    return MODELS[check_option("model", name, MODELS)]


__all__ = [
    "MODELS",
    "ConvBlock",
    "ConvEncoder",
    "FmriEncoder",
    "FourierEmbedding",
    "SpatialAttention",
    "SubjectLayers",
    "count_parameters",
    "get_model",
    "positions_from_info",
]
