"""Attention decoding on a simulated two-speaker study; the MESD against its closed form."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter1d

from neurodecode.encoding import (
    decode_attention,
    expected_switch_duration,
    minimal_expected_switch_duration,
    optimal_n_states,
    simulate_two_speaker,
    window_decisions,
)

SFREQ = 32.0


def _envelopes(rng, n_trials=6, seconds=60):
    """Speech-like envelopes: rectified noise smoothed to syllable rates (~4 Hz)."""
    return [np.abs(gaussian_filter1d(rng.standard_normal(int(seconds * SFREQ)), 2.0))
            for _ in range(n_trials)]


def _closed_form_esd(tau, p, k):
    """Geirnaert et al. (2020), eqs. for the mean hitting time of state k (MESD toolbox)."""
    r = p / (1 - p)
    total = 0.0
    for i in range(1, k):
        h = (k - i) / (2 * p - 1) + p * (r ** -k - r ** -i) / (2 * p - 1) ** 2
        total += r ** -i * h
    return tau * (r ** (k + 1) - r ** k) / (r ** k - r) * total


@pytest.mark.parametrize("p", [0.6, 0.75, 0.9])
def test_switch_duration_equals_closed_form(p):
    n = optimal_n_states(p)
    r = p / (1 - p)
    kbar = np.floor(np.log(r ** n * 0.2 + 0.8) / np.log(r) + 1)  # P(state >= kbar) >= 0.8
    assert (kbar - 1) / (n - 1) >= 0.65 and n >= 5
    if n > 5:
        kprev = np.floor(np.log(r ** (n - 1) * 0.2 + 0.8) / np.log(r) + 1)
        assert (kprev - 1) / (n - 2) < 0.65
    k = int(np.ceil(0.65 * (n - 1) + 1))
    assert expected_switch_duration(2.0, p, n) == pytest.approx(_closed_form_esd(2.0, p, k))


def test_mesd_of_a_known_curve():
    res = minimal_expected_switch_duration([1, 5, 10, 30], [0.55, 0.8, 0.88, 0.95])
    assert 1 < res.window_s < 30 and 0.55 < res.accuracy < 0.95 and res.n_states >= 5
    assert res.mesd == pytest.approx(
        expected_switch_duration(res.window_s, res.accuracy, res.n_states))
    better = minimal_expected_switch_duration([1, 5, 10, 30], [0.6, 0.9, 0.95, 0.99])
    assert better.mesd < res.mesd
    with pytest.warns(UserWarning, match=r"reached at the shortest window \(1 s\)"):
        minimal_expected_switch_duration([1, 5, 10, 30], [0.65, 0.8, 0.88, 0.95])


def test_window_decisions_planted():
    t = np.arange(400.0)
    att, unatt = np.sin(t / 3), np.cos(t / 7)
    assert window_decisions(att + 0.1 * unatt, att, unatt, 50).all()
    assert not window_decisions(unatt, att, unatt, 50).any()
    assert window_decisions(att, att, unatt, 500).size == 0


def test_decoding_accuracy_grows_with_the_window(rng):
    eeg, att, unatt = simulate_two_speaker(_envelopes(rng), SFREQ, n_channels=8, snr=0.02)
    with pytest.warns(UserWarning, match="the MESD is reached at the"):
        res = decode_attention(eeg, att, unatt, SFREQ, window_s=(1, 5, 20), tmax=0.3)
    assert res.n_decisions.tolist() == [6 * 60, 6 * 12, 6 * 3]
    assert 0.55 < res.accuracy[0] < res.accuracy[1] <= res.accuracy[2]
    assert res.accuracy[2] >= 0.9 and res.accuracy[0] > res.chance_upper[0]
    assert np.all(res.reconstruction_r > 0.2) and res.mesd.mesd > 0


def test_bad_inputs(rng):
    env = _envelopes(rng, 3, 10)
    eeg, att, unatt = simulate_two_speaker(env, SFREQ, n_channels=4)
    with pytest.raises(ValueError, match=r"trial 1: the EEG and both speakers' envelopes must "
                                         r"have the same length .* attended 320 and unattended "
                                         r"300 samples"):
        decode_attention(eeg, att, [unatt[0], unatt[1][:300], unatt[2]], SFREQ)
    with pytest.raises(ValueError, match="same number"):
        decode_attention(eeg, att[:2], unatt, SFREQ)
    with pytest.raises(ValueError, match="needs >= 3 trials"):
        decode_attention(eeg[:2], att[:2], unatt[:2], SFREQ)
    with pytest.raises(ValueError, match="window_s must be a finite number > 0; got -1.0"):
        decode_attention(eeg, att, unatt, SFREQ, window_s=(-1,))
    with pytest.raises(ValueError, match="envelopes must hold >= 2"):
        simulate_two_speaker(env[:1], SFREQ)
    with pytest.raises(ValueError, match="every accuracy is at or below chance"):
        minimal_expected_switch_duration([1, 2], [0.5, 0.4])
    with pytest.raises(ValueError, match="window_s must be > 0 and accuracy in"):
        minimal_expected_switch_duration([1, 2], [0.7, 1.2])
    with pytest.raises(ValueError, match="same length"):
        minimal_expected_switch_duration([1, 2], [0.7])
    with pytest.warns(UserWarning, match="1 accuracies at or below 0.5 are left out"):
        minimal_expected_switch_duration([1, 5, 10], [0.5, 0.8, 0.9])
