"""Real data: the audiobook trials (mel, Resemblyzer, the audio-model presets) and the 92 images
(EfficientNet-Lite0 layers)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from neurodecode.features import FeatureCache, compute_cached, extract_layers, get_feature

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def audiobook(data_root):
    folder = data_root / "speech_audiobook"
    trials = json.loads((folder / "trials.json").read_text())
    return folder, trials


@pytest.fixture(scope="module")
def images_92(data_root):
    from scipy.io import loadmat

    mat = loadmat(data_root / "rsa_92images" / "Kriegeskorte_Neuron2008_supplementalData.mat")
    images = [s["image"] for s in mat["stimuli_92objs"][0]]
    animate = mat["categoryVectors"][:, 0].astype(bool)
    hit_rdm = mat["RDMs_mIT_hIT_fig1"][0, 1]["RDM"].ravel()
    return images, animate, hit_rdm


def test_mel_of_the_10_audiobook_trials(audiobook, tmp_path):
    folder, trials = audiobook
    paths = [folder / f"trial{t['trial']:02d}.wav" for t in trials]
    mel = get_feature("mel", sfreq=120.0)
    values = compute_cached(mel, paths, FeatureCache(tmp_path))
    assert len(values) == 10
    for value, trial in zip(values, trials):
        assert value.shape[0] == 120
        assert abs(value.shape[1] / 120 - trial["duration_s"]) < 0.05
        before = value[:, 12:96].mean()  # inside the 1 s of silence before speech
        speech = value[:, 240:-240].mean()
        assert speech > before + 0.5  # log10 power: speech is louder than the silence


def test_resemblyzer_on_two_trials_same_speaker(audiobook):
    folder, trials = audiobook
    feat = get_feature("resemblyzer", sfreq=16.0, window_rate=1.0)
    a, b = feat.compute([folder / "trial01.wav", folder / "trial02.wav"])
    assert a.shape == (256, int(round(trials[0]["duration_s"] * 16)))
    mean_a, mean_b = a[:, 32:-32].mean(1), b[:, 32:-32].mean(1)
    cos = mean_a @ mean_b / np.linalg.norm(mean_a) / np.linalg.norm(mean_b)
    assert cos > 0.9  # one narrator
    frames = a[:, 32:-32] / np.linalg.norm(a[:, 32:-32], axis=0)
    assert np.median(frames.T @ frames) < 0.999  # time-resolved, not constant


@pytest.mark.slow
def test_resemblyzer_all_10_trials(audiobook):
    folder, trials = audiobook
    values = get_feature("resemblyzer").compute(
        [folder / f"trial{t['trial']:02d}.wav" for t in trials])
    assert all(v.shape[0] == 256 and np.isfinite(v).all() for v in values)


def test_efficientnet_on_some_of_the_92_images(images_92):
    images, animate, _ = images_92
    assert len(images) == 92 and images[0].shape == (175, 175, 3)
    idx = np.r_[np.flatnonzero(animate)[:6], np.flatnonzero(~animate)[:6]]
    feats = extract_layers("efficientnet_lite0", [images[i] for i in idx], ["_avg_pooling"])
    x = feats["_avg_pooling"]
    corr = np.corrcoef(x)
    same = np.r_[corr[:6, :6][np.triu_indices(6, 1)], corr[6:, 6:][np.triu_indices(6, 1)]]
    assert same.mean() > corr[:6, 6:].mean()


@pytest.mark.slow
def test_layerwise_efficientnet_rdms_track_human_it(images_92):
    from scipy.spatial.distance import pdist
    from scipy.stats import spearmanr

    images, _, hit_rdm = images_92
    layers = extract_layers("efficientnet_lite0", images, batch_size=32)
    assert all(v.shape[0] == 92 for v in layers.values())
    rho = {k: spearmanr(pdist(v, "correlation"), hit_rdm)[0] for k, v in layers.items()}
    assert rho["_avg_pooling"] > 0.1 and rho["_avg_pooling"] > rho["_stem_act"]


@pytest.mark.parametrize("name", ["ast", "clap_audio", "encodec", "panns_cnn14", "wav2vec2",
                                  "whisper_encoder"])
def test_audio_models_on_an_audiobook_trial(audiobook, tmp_path, name, caplog):
    """A real 11,025 Hz trial (naplib demo data), resampled and chunked: speech starts after
    the trial's 1 s of leading silence, where the first layer starts to change."""
    import logging

    from tests.features.tiny_audio import save_tiny_model, save_tiny_panns

    folder, trials = audiobook
    import soundfile as sf

    trial = min(trials, key=lambda t: t["duration_s"])
    wav_path = folder / f"trial{trial['trial']:02d}.wav"
    path = (save_tiny_panns(tmp_path / "cnn14.pth") if name == "panns_cnn14"
            else save_tiny_model(name, tmp_path / name))
    feat = get_feature(name, model_path=path, layers=1 if name == "panns_cnn14" else 0,
                       sfreq=50.0)
    with caplog.at_level(logging.INFO, logger="neurodecode"):
        out = feat.compute([wav_path])[0]
    assert "resampling audio from 11025 Hz" in caplog.text
    assert out.shape == (feat.dimension, int(round(sf.info(str(wav_path)).duration * 50)))
    assert np.isfinite(out).all()
    if name == "whisper_encoder":  # its layer 0 adds a position embedding to every frame
        return
    change = np.linalg.norm(out - out[:, 25:26], axis=0)  # against the frame at 0.5 s
    onset = np.argmax(change > 0.5 * np.percentile(change, 90)) / 50.0
    assert 0.8 <= onset <= 1.5, (name, onset)
