"""Haufe patterns: equal to MNE's LinearModel.patterns_ and get_coef(..., inverse_transform)
on MNE's own test data, planted forward model recovered, errors."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from neurodecode.encoding import RidgeCV, get_patterns, haufe_patterns


def _mne_make_data(n_samples=1000, n_features=5, n_targets=3):
    """mne/decoding/tests/test_base.py::_make_data (seed 0): latent Y, forward model A,
    X = Y A^T + noise + offset."""
    rs = np.random.RandomState(0)
    cov_Y = np.eye(n_targets) * 10 + rs.rand(n_targets, n_targets)
    cov_Y = (cov_Y + cov_Y.T) / 2.0
    Y = rs.multivariate_normal(rs.rand(n_targets), cov_Y, size=n_samples)
    A = rs.randn(n_features, n_targets)
    X = Y @ A.T + rs.randn(n_samples, n_features) + rs.rand(n_features)
    return X, (Y[:, 0] if n_targets == 1 else Y), A


@pytest.mark.parametrize("n_targets", [1, 3])
def test_equals_mne_linear_model_patterns(n_targets):
    from mne.decoding import LinearModel, get_coef

    X, Y, _ = _mne_make_data(n_targets=n_targets)
    ref = LinearModel(Ridge(alpha=1.0)).fit(X, Y)
    ours = RidgeCV(alphas=[1.0]).fit(X, Y)
    np.testing.assert_allclose(ours.coef_.squeeze(), ref.filters_, rtol=1e-8)
    np.testing.assert_allclose(get_patterns(ours, X, Y), ref.patterns_, rtol=1e-8, atol=1e-12)

    pipe_ref = make_pipeline(StandardScaler(), LinearModel(Ridge(alpha=1.0))).fit(X, Y)
    pipe = make_pipeline(StandardScaler(), RidgeCV(alphas=[1.0])).fit(X, Y)
    for inverse in (False, True):
        np.testing.assert_allclose(get_patterns(pipe, X, Y, inverse_transform=inverse),
                                   get_coef(pipe_ref, "patterns_", inverse_transform=inverse),
                                   rtol=1e-8, atol=1e-12)


def test_planted_forward_model_recovered():
    """MNE's test_get_coef_multiclass: 30,000 samples, patterns.T close to A."""
    X, Y, A = _mne_make_data(n_samples=30000, n_features=5, n_targets=3)
    model = RidgeCV(alphas=[1e-3, 1.0]).fit(X, Y)
    np.testing.assert_allclose(get_patterns(model, X, Y).T, A, atol=2e-2)
    # without Y: the decoder's outputs as the sources (Haufe et al. 2014)
    np.testing.assert_allclose(haufe_patterns(X, model.coef_).T, A, atol=0.1)


def test_errors():
    X, Y, _ = _mne_make_data(n_samples=50)
    model = RidgeCV(alphas=[1.0]).fit(X, Y)
    with pytest.raises(ValueError, match=r"same n_features; got X \(50, 4\)"):
        haufe_patterns(X[:, :4], model.coef_)
    with pytest.raises(ValueError, match=r"Y must have one column per filter \(3\); got 2"):
        haufe_patterns(X, model.coef_, Y[:, :2])
    with pytest.raises(TypeError, match="must end in a fitted linear model with coef_"):
        get_patterns(StandardScaler().fit(X), X)
    with pytest.raises(ValueError, match="inverse_transform=True needs a pipeline"):
        get_patterns(model, X, Y, inverse_transform=True)


@pytest.mark.parametrize("n_outputs", [1, 3])
def test_trf_patterns_equal_mne_receptive_field(rng, n_outputs):
    """A backward TRF (stimulus reconstruction) as MNE's ReceptiveField(patterns=True):
    equal for one output; for several, equal to Haufe's formula on MNE's own lagged
    covariance (MNE itself reshapes instead of transposing there)."""
    from mne.decoding import ReceptiveField

    from neurodecode.encoding import TemporalReceptiveField, lag_matrix, trf_patterns

    sfreq, n_times, n_trials = 100.0, 300, 3
    stim = [rng.standard_normal((n_times, n_outputs)) for _ in range(n_trials)]
    mixing = rng.standard_normal((6, 5))
    resp = [lag_matrix(s[:, :1], np.arange(6)) @ mixing + rng.standard_normal((n_times, 5))
            for s in stim]
    ours = TemporalReceptiveField(0.0, 0.05, sfreq, alphas=[10.0], direction="backward")
    ours.fit(stim, resp)
    rf = ReceptiveField(-0.05, 0.0, sfreq, estimator=10.0, patterns=True)
    rf.fit(np.stack(resp, 1), np.stack(stim, 1) if n_outputs > 1 else np.stack(stim, 1)[..., 0])
    got = trf_patterns(ours, stim, resp)
    theirs_coef = rf.coef_.reshape(ours.coef_.shape)
    np.testing.assert_allclose(ours.coef_[:, :, ::-1], theirs_coef, rtol=1e-7, atol=1e-12)
    if n_outputs == 1:
        np.testing.assert_allclose(got[:, :, ::-1], rf.patterns_.reshape(got.shape), rtol=1e-7, atol=1e-12)
    else:
        cov = rf.estimator_.cov_ / (n_times * n_trials - 1)
        cat = np.concatenate(stim)
        W = theirs_coef.reshape(n_outputs, -1).T
        haufe = (cov @ W @ np.linalg.pinv(np.cov((cat - cat.mean(0)).T))).T
        np.testing.assert_allclose(got[:, :, ::-1], haufe.reshape(got.shape), rtol=1e-7,
                                   atol=1e-12)
    with pytest.raises(TypeError, match="trf must be a fitted TemporalReceptiveField"):
        trf_patterns(TemporalReceptiveField(0.0, 0.05, sfreq), stim, resp)
