"""Stimulus-response coherence: equal to MNE's multitaper CSD, a planted coupling frequency."""

from __future__ import annotations

import numpy as np
import pytest
from mne.time_frequency import csd_array_multitaper
from scipy.signal import butter, sosfiltfilt

from neurodecode.encoding import (
    channel_coherence,
    dominant_frequencies,
    multitaper_spectra,
    stimulus_response_coherence,
)

SFREQ = 100.0


def _coupled(rng, f0=8.0, n=12000, gain=1.0):
    """White-noise stimulus; channel 0 follows it in a 2 Hz band around f0, channel 1 not."""
    stim = rng.standard_normal(n)
    sos = butter(4, [f0 - 1, f0 + 1], "bandpass", fs=SFREQ, output="sos")
    eeg = rng.standard_normal((2, n))
    eeg[0] += gain * 3 * np.roll(sosfiltfilt(sos, stim), 7)  # 70 ms latency
    return stim, eeg


def test_coherence_and_psd_equal_mne(rng):
    stim, eeg = _coupled(rng, n=2000)
    epochs = np.concatenate([stim[None], eeg]).reshape(3, 5, 400).transpose(1, 0, 2)
    csd = csd_array_multitaper(epochs, SFREQ, fmin=1, fmax=30, bandwidth=1.0, adaptive=False,
                               verbose=False)
    ref = np.stack([csd.get_data(f) for f in csd.frequencies], -1)  # (3, 3, n_freqs)
    res = stimulus_response_coherence(stim, eeg, SFREQ, epoch_s=4.0, fmin=1, fmax=30,
                                      bandwidth=1.0, n_surrogates=5)
    np.testing.assert_allclose(res.freqs, csd.frequencies)
    coh = np.abs(ref[0, 1:]) ** 2 / (ref[0, 0].real * np.diagonal(ref).T[1:].real)
    np.testing.assert_allclose(res.coherence, coh, rtol=1e-8)
    np.testing.assert_allclose(res.response_psd, np.diagonal(ref).T[1:].real, rtol=1e-8)
    np.testing.assert_allclose(res.stimulus_psd, ref[0, 0].real, rtol=1e-8)
    pair, freqs = channel_coherence(eeg, SFREQ, epoch_s=4.0, fmin=1, fmax=30, bandwidth=1.0)
    np.testing.assert_allclose(pair[0], np.abs(ref[1, 2]) ** 2 / (ref[1, 1] * ref[2, 2]).real,
                               rtol=1e-8)


def test_planted_coupling_frequency_recovered_above_the_null(rng):
    stim, eeg = _coupled(rng, f0=8.0)
    res = stimulus_response_coherence(stim, eeg, SFREQ, fmax=40, n_surrogates=100)
    peak = res.dominant_frequency()
    assert abs(peak[0] - 8.0) <= 1.0 and np.isnan(peak[1])
    at = np.argmin(np.abs(res.freqs - peak[0]))
    assert res.coherence[0, at] > 0.5 > res.null_high[0, at]
    assert res.pvalue[0, at] == pytest.approx(1 / 101)
    far = np.abs(res.freqs - 8) > 3
    assert np.mean(res.coherence[0, far] > res.null_high[0, far]) < 0.1
    assert res.ch_names == ["ch0", "ch1"] and res.null_low.shape == res.coherence.shape


def test_channel_coherence_of_a_shared_oscillation(rng):
    t = np.arange(8000) / SFREQ
    common = np.sin(2 * np.pi * 11 * t + rng.uniform(0, 0.3, t.size).cumsum() * 0.01)
    x = rng.standard_normal((3, t.size))
    x[0] += 2 * common
    x[2] += 2 * common
    coh, freqs = channel_coherence(x, SFREQ, fmax=30)
    assert coh.shape == (3, freqs.size)
    assert dominant_frequencies(coh[1], freqs) == pytest.approx(11.0, abs=0.5)  # pair (0, 2)
    assert coh[1].max() > 0.8 and coh[0].max() < 0.5


def test_spectra_scaled_as_psd(rng):
    white = rng.standard_normal((50, 1, 400))
    mt, freqs = multitaper_spectra(white, SFREQ, 1.0, 45.0, 1.0)
    psd = (np.abs(mt) ** 2).sum(2).mean(0)[0]
    assert np.mean(psd) == pytest.approx(2 / SFREQ, rel=0.05)  # one-sided, variance 1


def test_bad_inputs(rng):
    stim, eeg = rng.standard_normal(1000), rng.standard_normal((2, 1000))
    with pytest.raises(ValueError, match=r"fmax=60 Hz is above the Nyquist frequency \(sfreq / 2 = 50 Hz\)"):
        stimulus_response_coherence(stim, eeg, SFREQ, fmax=60)
    with pytest.raises(ValueError, match="fmax=80 Hz is above the Nyquist"):
        channel_coherence(eeg, SFREQ, fmax=80)
    with pytest.raises(ValueError, match="fmin must be below fmax"):
        stimulus_response_coherence(stim, eeg, SFREQ, fmin=20, fmax=10)
    with pytest.raises(ValueError, match=r"data must have shape \(n_channels, n_times\) with n_times = 1000"):
        stimulus_response_coherence(stim, eeg[:, :900], SFREQ)
    with pytest.raises(ValueError, match="stimulus is constant"):
        stimulus_response_coherence(np.zeros(1000), eeg, SFREQ)
    with pytest.raises(ValueError, match=r"data has 1 constant channel\(s\) \(the first is channel 1\)"):
        stimulus_response_coherence(stim, np.r_[eeg[:1], np.ones((1, 1000))], SFREQ)
    with pytest.raises(ValueError, match="fewer than two epochs"):
        stimulus_response_coherence(stim, eeg, SFREQ, epoch_s=6.0)
    with pytest.raises(ValueError, match="bandwidth=0.1 Hz is narrower than the frequency"):
        stimulus_response_coherence(stim, eeg, SFREQ, epoch_s=2.0, bandwidth=0.1)
    with pytest.raises(ValueError, match=r"ci must be in \(0, 1\)"):
        stimulus_response_coherence(stim, eeg, SFREQ, ci=1.0)
    with pytest.raises(ValueError, match=r"pairs must be channel indices of shape \(n_pairs, 2\)"):
        channel_coherence(eeg, SFREQ, pairs=[[0, 5]])
    with pytest.raises(ValueError, match="values must end with n_freqs = 3"):
        dominant_frequencies(np.ones((2, 4)), [1, 2, 3])
