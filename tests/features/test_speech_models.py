"""Transformer speech models from tiny random local folders, and Resemblyzer."""

from __future__ import annotations

import numpy as np
import pytest

from neurodecode.exceptions import DataNotFoundError
from neurodecode.features import extract_layers, get_feature
from tests.features.tiny_audio import save_tiny_model

SR = 16000


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory):
    """Tiny wav2vec2, HuBERT and Whisper folders, each with its feature-extractor config."""
    root = tmp_path_factory.mktemp("speech_models")
    return {name: save_tiny_model(name, root / name)
            for name in ("wav2vec2", "hubert", "whisper_encoder")}


@pytest.fixture
def speechlike(rng):
    t = np.arange(int(2.5 * SR)) / SR
    return ((1 + np.sin(2 * np.pi * 4 * t)) * np.sin(2 * np.pi * 220 * t)
            + 0.05 * rng.standard_normal(t.size)).astype(np.float32)


@pytest.mark.parametrize("name", ["wav2vec2", "hubert", "whisper_encoder"])
def test_tiny_speech_model_layers_and_rate(tiny_models, speechlike, name):
    feat = get_feature(name, model_path=tiny_models[name], layers=[1, 2], sfreq=120.0,
                       chunk_s=1.0 if name != "whisper_encoder" else 20.0, context_s=0.5)
    out = feat.compute([(speechlike, SR)])[0]
    assert out.shape == (16, 300) and feat.dimension == 16 and np.isfinite(out).all()
    # the average of layers 1-2 equals the mean of the two single-layer features
    single = [get_feature(name, model_path=tiny_models[name], layers=k, sfreq=120.0,
                          chunk_s=feat.chunk_s, context_s=0.5).compute([(speechlike, SR)])[0]
              for k in (1, 2)]
    np.testing.assert_allclose(out, (single[0] + single[1]) / 2, atol=1e-4)
    concat = get_feature(name, model_path=tiny_models[name], layers=[1, 2], average=False)
    assert concat.dimension == 32


def test_chunking_close_to_whole_pass(tiny_models, speechlike):
    whole = get_feature("wav2vec2", model_path=tiny_models["wav2vec2"], chunk_s=60.0)
    chunked = get_feature("wav2vec2", model_path=tiny_models["wav2vec2"], chunk_s=0.5,
                          context_s=0.5)
    a, b = whole.compute([(speechlike, SR)])[0], chunked.compute([(speechlike, SR)])[0]
    assert a.shape == b.shape == (16, 125)
    assert np.corrcoef(a.ravel(), b.ravel())[0, 1] > 0.9


def test_resampled_input_and_extract_layers(tiny_models, speechlike, caplog):
    import logging

    feat = get_feature("hubert", model_path=tiny_models["hubert"])
    with caplog.at_level(logging.INFO, logger="neurodecode"):
        layers = extract_layers(feat, [(speechlike[::2], SR // 2), (speechlike, SR)])
    assert "resampling audio from 8000 Hz to 16000 Hz" in caplog.text
    assert sorted(layers) == [f"hidden_states.{i}" for i in range(4)]
    assert layers["hidden_states.3"].shape == (2, 16)
    with pytest.raises(ValueError, match="pooled=False needs stimuli of equal length"):
        extract_layers(feat, [(speechlike[:8000], SR), (speechlike, SR)], pooled=False)


def test_speech_model_errors(tiny_models, tmp_path, speechlike):
    with pytest.raises(DataNotFoundError, match="does not exist or holds no config.json.*save_pretrained"):
        get_feature("wav2vec2", model_path=tmp_path / "nowhere").compute([(speechlike, SR)])
    with pytest.raises(DataNotFoundError, match="needs model_path"):
        get_feature("wav2vec2").compute([(speechlike, SR)])
    with pytest.raises(ValueError, match="unknown layer name.*'hidden_states.3'"):
        get_feature("wav2vec2", model_path=tiny_models["wav2vec2"], layers=7).compute(
            [(speechlike, SR)])
    with pytest.raises(ValueError, match="wav is silent"):
        get_feature("wav2vec2", model_path=tiny_models["wav2vec2"]).compute([(np.zeros(SR), SR)])
    with pytest.raises(ValueError, match="must be <= 30 s for Whisper"):
        get_feature("whisper_encoder", model_path=tiny_models["whisper_encoder"], chunk_s=29.0)


def test_resemblyzer_matches_reference_windows(speechlike):
    from resemblyzer import VoiceEncoder
    from resemblyzer.audio import normalize_volume

    feat = get_feature("resemblyzer", sfreq=100.0, window_rate=100 / 6)
    out = feat.compute([(speechlike, SR)])[0]
    assert out.shape == (256, 250)
    ref = VoiceEncoder(device="cpu", verbose=False)
    _, partials, _ = ref.embed_utterance(normalize_volume(speechlike, -30, increase_only=True),
                                         return_partials=True, rate=100 / 6)
    n_inside = (speechlike.size // 160 - 160) // 6  # windows not reaching the zero padding
    for i in range(n_inside):  # window i is centred on frame 6 i + 80 at 100 Hz
        np.testing.assert_allclose(out[:, 6 * i + 80], partials[i], atol=1e-5)


def test_resemblyzer_errors(tmp_path):
    with pytest.raises(DataNotFoundError, match="Resemblyzer weights"):
        get_feature("resemblyzer", weights=tmp_path / "x.pt").load()
