"""Acoustic features: mel against librosa, envelope and onsets with planted ground truth."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import soundfile as sf

from neurodecode.exceptions import DataFormatError, DataNotFoundError
from neurodecode.features import get_feature
from neurodecode.features.audio import (
    as_waveform,
    check_waveform,
    compute_envelope,
    compute_mel,
    compute_onsets,
    mel_filterbank,
    read_audio,
)

SR = 16000


@pytest.fixture
def noisy_tone(rng):
    t = np.arange(2 * SR) / SR
    return (np.sin(2 * np.pi * 440 * t) + 0.1 * rng.standard_normal(t.size)).astype(np.float32)


@pytest.mark.parametrize("pad_mode", ["reflect", "constant"])
def test_mel_equals_librosa_htk(noisy_tone, pad_mode):
    librosa = pytest.importorskip("librosa")
    ours = compute_mel(noisy_tone, SR, normalized=False, log=False, pad_mode=pad_mode)
    ref = librosa.feature.melspectrogram(
        y=noisy_tone, sr=SR, n_fft=512, hop_length=256, n_mels=120, htk=True, norm=None,
        pad_mode=pad_mode, center=True, power=2.0)
    assert ours.shape == ref.shape == (120, 1 + noisy_tone.size // 256)
    np.testing.assert_allclose(ours, ref, rtol=1e-3, atol=1e-6 * ref.max())
    # log10 and window normalisation are exactly what brainmagick applies on top
    logged = compute_mel(noisy_tone, SR, pad_mode=pad_mode)
    win_energy = np.sum(np.hanning(513)[:-1] ** 2)
    np.testing.assert_allclose(logged, np.log10(ref / win_energy + 1e-5), atol=1e-3)


def test_mel_equals_librosa_slaney(noisy_tone):
    librosa = pytest.importorskip("librosa")
    ours = compute_mel(noisy_tone, SR, n_mels=64, hop_length=128, scale="slaney", norm="slaney",
                       normalized=False, log=False, pad_mode="constant", fmin=50, fmax=7000)
    ref = librosa.feature.melspectrogram(y=noisy_tone, sr=SR, n_fft=512, hop_length=128,
                                         n_mels=64, fmin=50, fmax=7000, pad_mode="constant")
    np.testing.assert_allclose(ours, ref, rtol=1e-3, atol=1e-6 * ref.max())


def test_mel_chunking_is_exact(noisy_tone):
    whole = compute_mel(noisy_tone, SR, chunk_frames=100_000)
    chunked = compute_mel(noisy_tone, SR, chunk_frames=7)
    np.testing.assert_allclose(chunked, whole, atol=1e-5)


def test_mel_tone_peaks_in_right_band_and_resamples():
    t = np.arange(SR) / SR
    mel = compute_mel(np.sin(2 * np.pi * 1000 * t), SR, out_sfreq=120.0)
    assert mel.shape == (120, 120)
    fb = mel_filterbank(SR, 512, 120)
    bin_1k = int(round(1000 / (SR / 512)))
    assert abs(int(np.argmax(mel[:, 60])) - int(np.argmax(fb[:, bin_1k]))) <= 1


def test_mel_bad_frequency_range(noisy_tone):
    with pytest.raises(ValueError, match="fmin < fmax"):
        compute_mel(noisy_tone, SR, fmin=9000)


def test_envelope_tracks_planted_modulation():
    t = np.arange(4 * SR) / SR
    modulation = 1 + 0.8 * np.sin(2 * np.pi * 3 * t)
    wav = modulation * np.sin(2 * np.pi * 800 * t)
    env = compute_envelope(wav, SR, out_sfreq=100, chunk_s=1.0)
    assert env.shape == (1, 400)
    truth = modulation[:: SR // 100]
    assert np.corrcoef(env[0, 20:-20], truth[20:-20])[0, 1] > 0.99


def test_onsets_find_planted_clicks():
    wav = np.zeros(3 * SR, dtype=np.float32)
    rng = np.random.default_rng(1)
    for onset in (0.5, 1.3, 2.2):
        i = int(onset * SR)
        wav[i: i + 2000] = rng.standard_normal(2000) * np.exp(-np.arange(2000) / 400)
    impulses = compute_onsets(wav, SR, out_sfreq=100, peaks=True)
    found = np.flatnonzero(impulses[0]) / 100
    assert len(found) == 3
    np.testing.assert_allclose(found, [0.5, 1.3, 2.2], atol=0.03)
    strength = compute_onsets(wav, SR, out_sfreq=100)
    assert strength.shape == (1, 300) and strength.min() >= 0


def test_empty_and_silent_audio():
    with pytest.raises(ValueError, match="wav is empty"):
        compute_mel(np.zeros(0), SR)
    with pytest.raises(ValueError, match="wav is silent"):
        check_waveform(np.zeros(100), SR, allow_silent=False)
    with pytest.raises(ValueError, match="NaN or Inf"):
        check_waveform(np.array([0.0, np.nan]), SR)
    with pytest.raises(ValueError, match="must have shape"):
        check_waveform(np.zeros((2, 2, 2)), SR)
    with pytest.raises(ValueError, match="sr must be"):
        check_waveform(np.zeros(10), 0)
    silent_mel = compute_mel(np.zeros(SR), SR)  # acoustic features accept silence
    np.testing.assert_allclose(silent_mel, -5.0)


def test_read_audio_errors_and_resampling(tmp_path, caplog, noisy_tone):
    with pytest.raises(DataNotFoundError, match="does not exist"):
        read_audio(tmp_path / "missing.wav")
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"not a wav file at all")
    with pytest.raises(DataFormatError, match="cannot be read as audio"):
        read_audio(bad)
    good = tmp_path / "tone.wav"
    sf.write(good, noisy_tone, 22050)
    with caplog.at_level(logging.INFO, logger="neurodecode"):
        wav, sr = as_waveform(good, target_sr=SR)
    assert sr == SR and abs(wav.size - noisy_tone.size * SR / 22050) <= 1
    assert "resampling audio from 22050 Hz to 16000 Hz" in caplog.text
    with pytest.raises(TypeError, match="path or a \\(wav, sr\\) tuple"):
        as_waveform(12)


def test_registered_acoustic_features(noisy_tone):
    mel = get_feature("mel", sfreq=50.0)
    out = mel.compute([(noisy_tone, SR)])[0]
    assert out.shape == (120, 100) and mel.dimension == 120
    env = get_feature("envelope", sfreq=50.0).compute([(noisy_tone, SR)])[0]
    assert env.shape == (1, 100)
    ons = get_feature("onsets", sfreq=50.0).compute([(noisy_tone, SR)])[0]
    assert ons.shape == (1, 100)
    with pytest.raises(ValueError, match="feature='mell' is not valid.*Did you mean 'mel'"):
        get_feature("mell")


def test_stereo_either_way_and_integer_pcm_equal_the_float_mono():
    """(n_samples, 2), librosa's (2, n_samples) and int16 PCM give the mono float result."""
    from neurodecode.features.audio import check_waveform

    t = np.arange(8000) / 8000
    mono = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    np.testing.assert_allclose(check_waveform(np.stack([mono, mono], 1), 8000), mono)
    np.testing.assert_allclose(check_waveform(np.stack([mono, mono]), 8000), mono)
    pcm = np.round(mono * 32767).astype(np.int16)
    np.testing.assert_allclose(check_waveform(pcm, 8000), mono, atol=1e-4)
    with pytest.raises(ValueError, match=r"wav of shape \(40, 40\): expected"):
        check_waveform(np.zeros((40, 40)), 8000)


def test_speech_model_chunks_join_without_drift():
    """Chunks and context that are not whole 20 ms frames: every frame keeps its time."""
    import torch

    from neurodecode.features.audio_presets import Wav2Vec2Feature

    class Stub(Wav2Vec2Feature):  # frame value = the absolute time of its first sample
        def _encode(self, wav):
            n = wav.size // 320
            return [torch.from_numpy(wav[: n * 320].reshape(n, 320)[:, :1].copy())]

    ramp = np.arange(16000 * 30) / 16000.0
    for chunk_s, context_s in [(7.33, 2.0), (5.005, 0.5), (20.0, 1.01)]:
        out = Stub(model_path=None, chunk_s=chunk_s, context_s=context_s).hidden_states(ramp, [0])
        frames = out[0][0]
        np.testing.assert_allclose(frames[:-1], np.arange(frames.size - 1) * 0.02, atol=1e-9)
