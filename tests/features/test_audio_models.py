"""The generic audio-model extractor and its presets, on tiny random models saved to tmp."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from neurodecode.exceptions import DataFormatError, DataNotFoundError
from neurodecode.features import FEATURES, FeatureCache, get_feature
from tests.features.tiny_audio import BUILDERS, save_tiny_model, save_tiny_panns

SR = 16000
PRESETS = sorted(BUILDERS)
CONV = ["data2vec_audio", "hubert", "wav2vec2", "wavlm"]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("audio_models")
    return {name: save_tiny_model(name, root / name) for name in PRESETS}


def _noise(seconds: float, seed: int = 0) -> np.ndarray:
    return (0.01 * np.random.default_rng(seed).standard_normal(int(seconds * SR))).astype(np.float32)


@pytest.mark.parametrize("name", PRESETS)
def test_every_layer_kept_on_the_output_clock(tiny, name):
    feat = get_feature(name, model_path=tiny[name], layers="all", average=False, sfreq=120.0)
    out = feat.compute([(_noise(2.5), SR)])[0]
    assert out.shape == (feat.dimension, 300) and np.isfinite(out).all()
    assert len(feat.layer_names()) >= 3
    last = get_feature(name, model_path=tiny[name], sfreq=120.0)
    assert last.compute([(_noise(2.5), SR)])[0].shape == (last.dimension, 300)


def _click_lag(name, path, layer, t_click, sfreq=200.0):
    """Seconds from a click to the output frame where the features change most."""
    base = _noise(2.0, seed=1)
    wav = base.copy()
    wav[int(round(t_click * SR))] += 1.0
    feat = get_feature(name, model_path=path, layers=layer, sfreq=sfreq)
    with_click, without = feat.compute([(wav, SR), (base, SR)])
    change = np.linalg.norm(with_click - without, axis=0)
    return np.argmax(change) / sfreq - t_click, feat


@pytest.mark.parametrize("name", PRESETS)
def test_click_appears_at_its_frame(tiny, name):
    """An impulse lands on the frame whose receptive field is centred on it (within one frame)."""
    layer = "hidden_states.2" if name == "clap_audio" else 0
    for t_click in (0.6113, 0.7391, 0.8657, 1.0129, 1.3257):
        lag, feat = _click_lag(name, tiny[name], layer, t_click)
        frame_s = feat._hop(feat._layer_indices()[0]) / feat._model_sr()
        assert abs(lag) <= frame_s + 1 / 200.0, (name, t_click, lag, frame_s)


@pytest.mark.parametrize("name", ["clap_audio", "encodec", *CONV])
def test_chunked_equals_whole_file_for_local_layers(tiny, tmp_path, name):
    """Layers with a bounded receptive field: chunks with context give the whole-file values."""
    path = tiny[name]
    if name in CONV:  # the waveform normalisation spans the whole chunk: keep the raw waveform
        from transformers import Wav2Vec2FeatureExtractor

        path = save_tiny_model(name, tmp_path / name)
        Wav2Vec2FeatureExtractor(do_normalize=False).save_pretrained(path)
    layer = 2 if name == "encodec" else 0
    wav = 10 * _noise(9.0) * (1 + np.sin(np.arange(9 * SR) / SR * 2 * np.pi * 3)).astype(np.float32)
    whole = get_feature(name, model_path=path, layers=layer, chunk_s=9.2, context_s=0.0)
    chunked = get_feature(name, model_path=path, layers=layer, chunk_s=2.0, context_s=0.5)
    a, b = (f.compute([(wav, SR)])[0] for f in (whole, chunked))
    assert a.shape == b.shape
    inner = slice(int(0.5 * 50), a.shape[1] - int(0.5 * 50))  # away from the file's ends
    np.testing.assert_allclose(a[:, inner], b[:, inner], atol=2e-4)


@pytest.mark.parametrize("name", ["ast"])
def test_chunked_close_to_whole_file_for_windowed_models(tiny, name):
    """AST adds absolute patch positions within its window: close, not equal. (Whisper, whose
    log-mel floor and positions span its 30 s window, is not compared.)"""
    wav = _noise(9.0) * (1 + np.sin(np.arange(9 * SR) / SR * 2 * np.pi * 3)).astype(np.float32)
    whole = get_feature(name, model_path=tiny[name], layers=0, chunk_s=9.2, context_s=0.0)
    chunked = get_feature(name, model_path=tiny[name], layers=0, chunk_s=3.0, context_s=1.0)
    a, b = (f.compute([(wav, SR)])[0] for f in (whole, chunked))
    assert a.shape == b.shape and np.corrcoef(a.ravel(), b.ravel())[0, 1] > 0.9


def test_cache_key_changes_with_the_weights(tiny, tmp_path):
    cache = FeatureCache(tmp_path / "cache")
    stim = (_noise(1.0), SR)
    folder = save_tiny_model("ast", tmp_path / "ast", seed=0)
    key = cache.key(get_feature("ast", model_path=folder), stim)
    assert key == cache.key(get_feature("ast", model_path=save_tiny_model("ast", folder)), stim)
    retrained = save_tiny_model("ast", folder, seed=1)  # new weights in the same folder
    assert key != cache.key(get_feature("ast", model_path=retrained), stim)


def test_other_rate_is_resampled_with_a_log_line(tiny, caplog):
    feat = get_feature("clap_audio", model_path=tiny["clap_audio"], layers=0)
    with caplog.at_level(logging.INFO, logger="neurodecode"):
        out = feat.compute([(_noise(1.0), SR)])[0]
    assert "resampling audio from 16000 Hz to 48000 Hz" in caplog.text
    assert out.shape == (feat.dimension, 50)


def test_generic_name_reads_any_conv_model(tiny):
    generic = get_feature("audio_model", model_path=tiny["wavlm"], layers=[1, 2])
    preset = get_feature("wavlm", model_path=tiny["wavlm"], layers=[1, 2])
    wav = (_noise(1.5), SR)
    np.testing.assert_allclose(generic.compute([wav])[0], preset.compute([wav])[0], atol=1e-6)


def test_projection_is_one_embedding_per_chunk(tiny):
    feat = get_feature("clap_audio", model_path=tiny["clap_audio"], layers="projection",
                       sfreq=10.0, chunk_s=2.0, context_s=0.5)
    out = feat.compute([(_noise(6.0), SR)])[0]
    assert out.shape == (8, 60)
    np.testing.assert_allclose(out[:, 8], out[:, 10], atol=1e-4)  # held before chunk 0's centre
    assert not np.allclose(out[:, 10], out[:, 30], atol=1e-3)
    wide = get_feature("clap_audio", model_path=tiny["clap_audio"], layers="projection",
                       sfreq=10.0, chunk_s=2.0, context_s=2.0)  # context wider than a chunk
    assert wide.compute([(_noise(6.0), SR)])[0].shape == (8, 60)


def test_registry_is_explicit_and_declares_time_bases():
    assert all(cls.name == name for name, cls in FEATURES.items())
    assert sorted(n for n, cls in FEATURES.items() if cls.takes_sfreq) == ["envelope", "mel",
                                                                          "onsets"]


def test_bad_folders(tiny, tmp_path):
    import transformers

    no_extractor = tmp_path / "no_extractor"
    transformers.ASTModel.from_pretrained(tiny["ast"]).save_pretrained(no_extractor)
    with pytest.raises(DataNotFoundError, match="holds no preprocessor_config.json.*save_pretrained"):
        get_feature("ast", model_path=no_extractor).compute([(_noise(1.0), SR)])
    bert = tmp_path / "bert"
    transformers.BertModel(transformers.BertConfig(
        hidden_size=8, num_hidden_layers=1, num_attention_heads=2, intermediate_size=16,
        vocab_size=20)).save_pretrained(bert)
    transformers.Wav2Vec2FeatureExtractor().save_pretrained(bert)
    with pytest.raises(ValueError, match="holds a 'bert' model, not an audio model"):
        get_feature("audio_model", model_path=bert).compute([(_noise(1.0), SR)])
    with pytest.raises(ValueError, match="holds a 'wav2vec2' model; feature 'ast' expects"):
        get_feature("ast", model_path=tiny["wav2vec2"]).compute([(_noise(1.0), SR)])
    with pytest.raises(ValueError, match="holds a 'audio-spectrogram-transformer' model; use "
                                         "feature 'ast'"):
        get_feature("audio_model", model_path=tiny["ast"]).compute([(_noise(1.0), SR)])


def test_bad_inputs_and_parameters(tiny):
    ast = get_feature("ast", model_path=tiny["ast"])
    with pytest.raises(ValueError, match="wav is empty"):
        ast.compute([(np.zeros(0, dtype=np.float32), SR)])
    with pytest.raises(ValueError, match=r"layers=\['hidden_states.9'\]: unknown layer name.*valid layers are"):
        get_feature("ast", model_path=tiny["ast"], layers=9).compute([(_noise(1.0), SR)])
    with pytest.raises(ValueError, match="average=True needs layers of one width"):
        get_feature("clap_audio", model_path=tiny["clap_audio"], layers=[0, 1]).compute(
            [(_noise(1.0), SR)])
    with pytest.raises(ValueError, match=r"chunk_s \+ 2 \* context_s must be <= 10.255 s for AST"):
        get_feature("ast", model_path=tiny["ast"], chunk_s=8.0, context_s=2.0)
    with pytest.raises(ValueError, match="feature='beats' is not supported: BEATs has no"):
        get_feature("beats")


def test_stereo_encodec_is_refused(tmp_path):
    import transformers

    folder = tmp_path / "encodec_stereo"
    transformers.EncodecModel(transformers.EncodecConfig(
        audio_channels=2, hidden_size=8, num_filters=2, num_lstm_layers=1, codebook_size=8,
        target_bandwidths=[1.5])).save_pretrained(folder)
    transformers.EncodecFeatureExtractor(feature_size=2).save_pretrained(folder)
    with pytest.raises(ValueError, match="2-channel EnCodec; only mono models"):
        get_feature("encodec", model_path=folder).compute([(_noise(1.0), SR)])


@pytest.fixture(scope="module")
def panns(tmp_path_factory):
    return save_tiny_panns(tmp_path_factory.mktemp("panns") / "Cnn14_tiny.pth")


def test_panns_blocks_timing_and_chunks(panns):
    import librosa

    feat = get_feature("panns_cnn14", model_path=panns, layers="all", average=False, sfreq=100.0)
    out = feat.compute([(_noise(2.5), SR)])[0]
    reference = librosa.filters.mel(sr=32000, n_fft=1024, n_mels=64, fmin=50, fmax=14000)
    np.testing.assert_allclose(feat._melw.numpy().T, reference, atol=1e-7)  # torchlibrosa's
    assert out.shape == (4 + 4 + 8 + 8 + 16 + 16 + 16, 250) and np.isfinite(out).all()
    for t_click in (0.6113, 0.8657, 1.3257):
        lag, _ = _click_lag("panns_cnn14", panns, 1, t_click)
        assert abs(lag) <= 0.02 + 1 / 200.0, (t_click, lag)
    wav = 10 * _noise(9.0)
    whole = get_feature("panns_cnn14", model_path=panns, layers=2, chunk_s=9.5, context_s=0.0)
    chunked = get_feature("panns_cnn14", model_path=panns, layers=2, chunk_s=2.0, context_s=0.7)
    a, b = (f.compute([(wav, SR)])[0] for f in (whole, chunked))
    np.testing.assert_allclose(a[:, 25:-25], b[:, 25:-25], atol=2e-4)


def test_panns_bad_checkpoints(tmp_path):
    import torch

    with pytest.raises(DataNotFoundError, match="PANNs checkpoint .* does not exist"):
        get_feature("panns_cnn14", model_path=tmp_path / "absent.pth").compute([(_noise(1.0), SR)])
    torch.save({"model": {"fc.weight": torch.zeros(2, 2)}}, tmp_path / "other.pth")
    with pytest.raises(DataFormatError, match="is not a PANNs CNN14 checkpoint"):
        get_feature("panns_cnn14", model_path=tmp_path / "other.pth").compute([(_noise(1.0), SR)])


def test_model_only_speech_folders_load_with_a_warning(tiny, tmp_path, caplog):
    """wav2vec2 / HuBERT / Whisper folders saved before the extractor config was required
    still load (the extractor's defaults, with a warning); newer presets need the config."""
    import transformers

    folder = tmp_path / "w2v_model_only"
    transformers.AutoModel.from_pretrained(tiny["wav2vec2"]).save_pretrained(folder)
    wav = (_noise(1.0), SR)
    with caplog.at_level(logging.WARNING, logger="neurodecode"):
        out = get_feature("wav2vec2", model_path=folder).compute([wav])[0]
    assert "holds no preprocessor_config.json; using the wav2vec2 feature extractor" in caplog.text
    np.testing.assert_allclose(out, get_feature("wav2vec2", model_path=tiny["wav2vec2"]).compute(
        [wav])[0], atol=1e-6)
    wavlm = tmp_path / "wavlm_model_only"
    transformers.AutoModel.from_pretrained(tiny["wavlm"]).save_pretrained(wavlm)
    with pytest.raises(DataNotFoundError, match="holds no preprocessor_config.json"):
        get_feature("wavlm", model_path=wavlm).compute([wav])


def test_extract_layers_pools_every_clap_layer(tiny):
    from neurodecode.features import extract_layers

    feat = get_feature("clap_audio", model_path=tiny["clap_audio"])
    layers = extract_layers(feat, [(_noise(1.0), SR), (_noise(1.5, seed=2), SR)])
    assert sorted(layers) == feat.layer_names()
    assert {k: v.shape for k, v in layers.items()} == {
        "hidden_states.0": (2, 8), "hidden_states.1": (2, 16), "hidden_states.2": (2, 32),
        "hidden_states.3": (2, 32), "projection": (2, 8)}


def test_extract_layers_pools_every_panns_block(panns):
    from neurodecode.features import extract_layers

    layers = extract_layers(get_feature("panns_cnn14", model_path=panns), [(_noise(1.0), SR)])
    assert [v.shape for v in layers.values()] == [(1, 4), (1, 4), (1, 8), (1, 8), (1, 16),
                                                  (1, 16), (1, 16)]
