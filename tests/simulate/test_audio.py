"""Speech-like synthetic audio and the audiobook reader."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.signal
import soundfile

from neurodecode.exceptions import DataNotFoundError
from neurodecode.simulate.audio import load_audiobook, make_speech_like_audio


def _envelope(wav: np.ndarray, sr: int, out: int = 100) -> np.ndarray:
    env = np.abs(scipy.signal.hilbert(wav))
    return scipy.signal.resample_poly(env, out, sr)


def test_speech_like_audio_has_syllable_rate_modulation_and_pauses():
    sr = 16000
    wav = make_speech_like_audio(30.0, sr, seed=0)
    assert wav.shape == (30 * sr,) and wav.dtype == np.float32
    assert np.max(np.abs(wav)) == pytest.approx(0.9)
    env = _envelope(wav, sr)
    freqs, psd = scipy.signal.welch(env - env.mean(), 100.0, nperseg=800)
    band = freqs > 1.0
    assert 2.5 < freqs[band][np.argmax(psd[band])] < 7.0  # syllable rate, as in speech
    frames = np.sqrt(np.mean(wav[: 30 * sr].reshape(-1, 800) ** 2, axis=1))  # 50 ms
    assert np.mean(frames < 1e-4) > 0.05  # pauses between phrases
    freqs, psd = scipy.signal.welch(wav, sr, nperseg=2048)
    assert freqs[np.argmax(psd)] < 1000  # energy in the low formant / voicing range
    assert psd[(freqs > 1000) & (freqs < 3000)].sum() > 0.01 * psd.sum()  # F2/F3 present


def test_speech_like_audio_is_seeded():
    a = make_speech_like_audio(3.0, 8000, seed=1)
    np.testing.assert_array_equal(a, make_speech_like_audio(3.0, 8000, seed=1))
    assert not np.array_equal(a, make_speech_like_audio(3.0, 8000, seed=2))


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"duration": 0.0}, ValueError, r"duration must be a finite number > 0; got 0.0"),
    ({"duration": 1.0, "sr": 4000}, ValueError, r"sr=4000 Hz is too low .* >= 8000"),
    ({"duration": 1.0, "sr": 16000.0}, TypeError, r"sr must be int; got float"),
    ({"duration": 1.0, "seed": None}, TypeError, r"seed must be int; got NoneType"),
])
def test_speech_like_audio_bad_input(kwargs, error, match):
    with pytest.raises(error, match=match):
        make_speech_like_audio(**kwargs)


@pytest.fixture
def fake_audiobook(tmp_path, rng):
    folder = tmp_path / "speech_audiobook"
    folder.mkdir()
    for k in (1, 2, 10):
        stereo = rng.uniform(-0.5, 0.5, (800 * k, 2)).astype(np.float32)
        soundfile.write(folder / f"trial{k:02d}.wav", stereo, 8000, subtype="FLOAT")
    (folder / "trial02.txt").write_text("HELLO WORLD\n")
    (folder / "notes.wav").write_bytes(b"")
    return folder


def test_load_audiobook_orders_trials_and_reads_text(fake_audiobook):
    trials = load_audiobook(fake_audiobook.parent)  # the data root works too
    assert [t.name for t in trials] == ["trial01", "trial02", "trial10"]
    assert [t.wav.shape for t in trials] == [(800,), (1600,), (8000,)]
    assert trials[2].duration == pytest.approx(1.0) and trials[0].sr == 8000
    assert trials[1].text == "HELLO WORLD" and trials[0].text == ""
    stereo, _ = soundfile.read(fake_audiobook / "trial01.wav")
    np.testing.assert_allclose(trials[0].wav, stereo.mean(axis=1), atol=1e-7)
    assert [t.name for t in load_audiobook(fake_audiobook, n_trials=2)] == ["trial01",
                                                                            "trial02"]


def test_load_audiobook_errors(fake_audiobook, tmp_path):
    with pytest.raises(DataNotFoundError, match=r"holds no trialNN.wav files"):
        load_audiobook(tmp_path / "nowhere")
    with pytest.raises(ValueError, match=r"n_trials=4 but .* holds only 3 trialNN.wav"):
        load_audiobook(fake_audiobook, n_trials=4)
    with pytest.raises(ValueError, match=r"n_trials must be a finite number > 0; got 0"):
        load_audiobook(fake_audiobook, n_trials=0)
    with pytest.raises(TypeError, match=r"n_trials must be int; got float"):
        load_audiobook(fake_audiobook, n_trials=2.0)


@pytest.mark.realdata
def test_load_real_audiobook(data_root):
    trials = load_audiobook(data_root / "speech_audiobook", n_trials=2)
    assert [t.name for t in trials] == ["trial01", "trial02"]
    assert trials[0].sr == 11025
    assert trials[0].duration == pytest.approx(61.975, abs=0.01)
    assert trials[0].text.startswith("IT IS ME AGAIN")
