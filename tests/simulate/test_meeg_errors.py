"""simulate_meeg: every bad input raises a clear error."""

from __future__ import annotations

import numpy as np
import pytest

from neurodecode.simulate import simulate_meeg

GOOD = np.random.default_rng(0).standard_normal((2, 200))


def _call(features=GOOD, sfreq=100.0, **kwargs):
    return simulate_meeg(features, sfreq, **kwargs)


def test_nan_in_features():
    bad = GOOD.copy()
    bad[1, 17] = np.nan
    with pytest.raises(ValueError, match=r"features contains 1 NaN.*feature 1, sample 17"):
        _call(bad)


@pytest.mark.parametrize(("features", "match"), [
    (GOOD[0], r"features must have 2 dimensions \(n_features, n_times\); got shape \(200,\)"),
    (GOOD[None], r"features must have 2 dimensions .* got shape \(1, 2, 200\)"),
    (GOOD[:, :1], r"at least 1 feature and 2 time samples; got shape \(2, 1\)"),
    (np.ones((2, 50)), r"features are constant over time"),
    ([GOOD, GOOD[:1]], r"features\[1\] has 1 features but features\[0\] has 2"),
])
def test_bad_feature_arrays(features, match):
    with pytest.raises(ValueError, match=match):
        _call(features)


@pytest.mark.parametrize("features", [{"a": GOOD}, [], "mel"])
def test_features_of_wrong_type(features):
    with pytest.raises(TypeError, match=r"features must be an array of shape \(n_features"):
        _call(features)


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"snr": -1.0}, ValueError, r"snr must be a finite number > 0; got -1.0"),
    ({"snr": 0.0}, ValueError, r"snr must be a finite number > 0; got 0.0"),
    ({"snr": 1.0, "snr_db": 0.0}, ValueError, r"give snr \(power ratio\) or snr_db"),
    ({"snr_db": np.inf}, ValueError, r"snr_db must be a finite number of decibels"),
    ({"sensors": "kit209"}, ValueError,
     r"sensors='kit209' is not valid; expected one of .*'kit208'.*Did you mean 'kit208'"),
    ({"response": "relu"}, ValueError, r"response='relu' is not valid; expected one of 'trf'"),
    ({"trf_length": -0.1}, ValueError, r"trf_length must be a finite number > 0; got -0.1"),
    ({"trf_length": 0.001}, ValueError, r"trf_length=0.001 s is shorter than one sample"),
    ({"n_subjects": 0}, ValueError, r"n_subjects must be a finite number > 0; got 0"),
    ({"n_subjects": 2.0}, TypeError, r"n_subjects must be int; got float"),
    ({"n_sources": 0}, ValueError, r"n_sources must be a finite number > 0; got 0"),
    ({"n_sources": "4"}, TypeError, r"n_sources must be int; got str"),
    ({"gap": -1.0}, ValueError, r"gap must be a finite number >= 0; got -1.0"),
    ({"noise_exponent": -1.0}, ValueError, r"noise_exponent must be a finite number >= 0"),
    ({"subject_variability": 1.5}, ValueError,
     r"subject_variability must be a number in \[0, 1\]; got 1.5"),
    ({"kind": "speech"}, ValueError, r"kind='speech' is not valid; expected one of 'word'"),
    ({"seed": 1.5}, TypeError, r"seed must be int; got float"),
    ({"sfreq": -100.0}, ValueError, r"sfreq must be a finite number > 0; got -100.0"),
    ({"stimulus_ids": ["a", "b"]}, ValueError,
     r"stimulus_ids must be a list of 1 strings \(one per stimulus\)"),
    ({"texts": ["x", "y"]}, ValueError, r"texts must be a list of 1 strings"),
])
def test_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        _call(**kwargs)


def test_duplicate_stimulus_ids():
    with pytest.raises(ValueError, match=r"stimulus_ids must be unique; got duplicates"):
        _call([GOOD, GOOD], stimulus_ids=["s", "s"])
