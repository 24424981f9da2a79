"""Stimulus features: speech, image and text representations, layer by layer, aligned and cached.

:data:`FEATURES` (name -> feature class) is written out in :mod:`.registry`: ``mel``,
``envelope``, ``onsets``, ``resemblyzer``, the audio models ``audio_model``, ``wav2vec2``,
``hubert``, ``wavlm``, ``data2vec_audio``, ``whisper_encoder``, ``ast``, ``clap_audio``,
``encodec``, ``panns_cnn14``, and ``efficientnet_lite0``, ``clip_vision``, ``dinov2``, ``minilm``.
Models are imported lazily, on first use.
"""

from neurodecode.features.alignment import StimulusFeatures, compute_stimulus_features
from neurodecode.features.audio import compute_envelope, compute_mel, compute_onsets
from neurodecode.features.audio_models import WAV2VEC_HOP, AudioModelFeature
from neurodecode.features.base import Feature, resample_frames
from neurodecode.features.cache import FeatureCache, compute_cached
from neurodecode.features.image_io import load_image
from neurodecode.features.layers import extract_layers
from neurodecode.features.registry import FEATURES, get_feature

__all__ = [
    "FEATURES", "WAV2VEC_HOP", "AudioModelFeature", "Feature", "FeatureCache",
    "StimulusFeatures", "compute_cached", "compute_envelope", "compute_mel", "compute_onsets",
    "compute_stimulus_features", "extract_layers", "get_feature", "load_image",
    "resample_frames",
]
