"""Stimulus features: speech, image and text representations, aligned and cached."""

from neurodecode.features.audio import compute_envelope, compute_mel, compute_onsets
from neurodecode.features.base import FEATURES, Feature, get_feature, resample_frames

__all__ = [
    "FEATURES", "Feature", "compute_envelope", "compute_mel", "compute_onsets", "get_feature",
    "resample_frames",
]
