"""Stimulus features: speech, image and text representations, layer by layer, aligned and cached.

Importing this package fills the registry :data:`FEATURES` (name -> feature class):
``mel``, ``envelope``, ``onsets``, ``wav2vec2``, ``hubert``, ``whisper_encoder``,
``resemblyzer``, ``efficientnet_lite0``, ``clip_vision``, ``dinov2``, ``minilm``.
Models are imported lazily, on first use.
"""

from neurodecode.features import audio, image, speech_models, text  # noqa: F401  (registers)
from neurodecode.features.alignment import StimulusFeatures, compute_stimulus_features
from neurodecode.features.audio import compute_envelope, compute_mel, compute_onsets
from neurodecode.features.base import FEATURES, Feature, get_feature, resample_frames
from neurodecode.features.cache import FeatureCache, compute_cached
from neurodecode.features.image import extract_layers, load_image

__all__ = [
    "FEATURES", "Feature", "FeatureCache", "StimulusFeatures", "compute_cached",
    "compute_envelope", "compute_mel", "compute_onsets", "compute_stimulus_features",
    "extract_layers", "get_feature", "load_image", "resample_frames",
]
