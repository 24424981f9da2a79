"""The explicit registry of stimulus features: name -> class (no import side effects).

Adding a feature: write its class (with ``name``, ``modality`` and ``takes_sfreq``) and add
one line here.
"""

from __future__ import annotations

from typing import Any

from neurodecode._validation import check_option
from neurodecode.features.audio import Envelope, MelSpectrum, Onsets
from neurodecode.features.audio_models import UNSUPPORTED, AudioModelFeature
from neurodecode.features.audio_presets import (
    ASTFeature,
    ClapAudioFeature,
    Data2VecAudioFeature,
    EncodecFeature,
    HubertFeature,
    Wav2Vec2Feature,
    WavLMFeature,
    WhisperEncoderFeature,
)
from neurodecode.features.base import Feature
from neurodecode.features.image_models import (
    CLIPVisionFeature,
    DINOv2Feature,
    EfficientNetLite0Feature,
)
from neurodecode.features.panns import PannsCnn14Feature
from neurodecode.features.speech_models import ResemblyzerFeature
from neurodecode.features.text import SentenceEmbedding

#: Registry of feature classes: name -> class.
FEATURES: dict[str, type[Feature]] = {
    "mel": MelSpectrum,
    "envelope": Envelope,
    "onsets": Onsets,
    "audio_model": AudioModelFeature,
    "wav2vec2": Wav2Vec2Feature,
    "hubert": HubertFeature,
    "wavlm": WavLMFeature,
    "data2vec_audio": Data2VecAudioFeature,
    "whisper_encoder": WhisperEncoderFeature,
    "ast": ASTFeature,
    "clap_audio": ClapAudioFeature,
    "encodec": EncodecFeature,
    "panns_cnn14": PannsCnn14Feature,
    "resemblyzer": ResemblyzerFeature,
    "efficientnet_lite0": EfficientNetLite0Feature,
    "clip_vision": CLIPVisionFeature,
    "dinov2": DINOv2Feature,
    "minilm": SentenceEmbedding,
}


def get_feature(name: str, **params: Any) -> Feature:
    """Instantiate the registered feature ``name`` with ``params``.

    Parameters
    ----------
    name : str
        A key of :data:`FEATURES`; an unknown name raises ``ValueError`` listing the valid
        ones, a known but unsupported model (``beats``, ``ced``...) says why.
    **params
        Passed to the feature's constructor.

    Returns
    -------
    feature : Feature
    """
    if name in UNSUPPORTED:
        raise ValueError(f"feature={name!r} is not supported: {UNSUPPORTED[name]}")
    check_option("feature", name, sorted(FEATURES))
    return FEATURES[name](**params)


__all__ = ["FEATURES", "get_feature"]
