"""Simulation driven by the real audiobook speech; speed at the benchmark's size."""

from __future__ import annotations

import time

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter1d

from neurodecode.simulate import simulate_meeg
from neurodecode.simulate.audio import load_audiobook, make_speech_like_audio

SFREQ = 120.0


def _mel(wav: np.ndarray, sr: int) -> np.ndarray:
    from neurodecode.features.audio import compute_mel

    return compute_mel(wav, sr, n_mels=20, out_sfreq=SFREQ)


@pytest.mark.realdata
def test_simulation_from_real_speech_mel(data_root):
    trials = load_audiobook(data_root / "speech_audiobook", n_trials=2)
    mels = [_mel(t.wav, t.sr) for t in trials]
    subjects = simulate_meeg(mels, SFREQ, n_subjects=2, snr=1.0, seed=0,
                             stimulus_ids=[t.name for t in trials],
                             texts=[t.text for t in trials])
    sub = subjects[0]
    events = sub.events
    assert events["block"].tolist() == ["trial01", "trial02"]
    np.testing.assert_allclose(events["duration"], [m.shape[1] / SFREQ for m in mels])
    assert events["onset"][1] == pytest.approx(1.0 + events["duration"][0] + 1.0)
    rec = sub.to_recording()
    assert rec.n_channels == 208 and rec.sfreq == SFREQ
    data, signal = sub.raw.get_data(), sub.ground_truth.signal
    data, signal = data - data.mean(1, keepdims=True), signal - signal.mean(1, keepdims=True)
    # signal and noise are independent at SNR 1: half of the power is signal
    assert np.sum(data * signal) / np.sum(data**2) == pytest.approx(0.5, abs=0.05)


def test_simulation_from_speech_like_audio():
    wav = make_speech_like_audio(20.0, 16000, seed=0)
    from neurodecode.features.audio import compute_envelope

    env = compute_envelope(wav, 16000, out_sfreq=SFREQ)
    (sub,) = simulate_meeg(env, SFREQ, snr=1.0, seed=0)
    truth = sub.ground_truth
    assert truth.features.shape == (1, env.shape[1] + 2 * int(SFREQ))
    # the envelope's syllable rhythm reaches the sources
    lagged = [np.corrcoef(truth.features[0, : -k or None], truth.sources[s, k:])[0, 1]
              for s in range(4) for k in range(0, 60, 6)]
    assert np.max(np.abs(lagged)) > 0.4


@pytest.mark.slow
def test_four_subjects_ten_minutes_208_sensors_in_seconds():
    rng = np.random.default_rng(0)
    stims = [gaussian_filter1d(rng.standard_normal((40, 60 * int(SFREQ))), 3, axis=1)
             for _ in range(10)]
    start = time.perf_counter()
    subjects = simulate_meeg(stims, SFREQ, n_subjects=4, sensors="kit208", seed=0)
    elapsed = time.perf_counter() - start
    assert subjects[3].raw.get_data().shape == (208, int(611 * SFREQ))
    assert elapsed < 20.0, f"took {elapsed:.1f} s"
