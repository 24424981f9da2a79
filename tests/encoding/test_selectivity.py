"""Voxel selectivity: planted preferred stimuli recovered from a fitted RidgeCV."""

from __future__ import annotations

import numpy as np
import pytest

from neurodecode.encoding import RidgeCV, preferred_stimuli, project_weights


def _tuned(rng, n_stimuli=40, n_features=12, n_voxels=10, noise=0.3):
    """Voxel v prefers stimulus target[v]: its weights are that stimulus' features."""
    features = rng.standard_normal((n_stimuli, n_features))
    target = rng.choice(n_stimuli, n_voxels, replace=False)
    coef = features[target]
    X = rng.standard_normal((300, n_features))
    Y = X @ coef.T + noise * rng.standard_normal((300, n_voxels))
    return features, target, RidgeCV(alphas=[1e-2, 1, 1e2]).fit(X, Y)


def test_preferred_stimuli_recovered(rng):
    features, target, model = _tuned(rng)
    names = [f"stim{i}" for i in range(len(features))]
    res = preferred_stimuli(model, features, top_k=3, labels=names)
    assert np.mean(res.indices[:, 0] == target) >= 0.9
    assert res.labels[0, 0] == names[res.indices[0, 0]]
    assert np.all(np.diff(res.scores, axis=1) <= 0)
    np.testing.assert_allclose(res.scores[:, 0],
                               model.predict(features)[res.indices[:, 0], np.arange(10)])


def test_projection_finds_the_nearest_candidate(rng):
    features, target, model = _tuned(rng)
    res = project_weights(model, features, top_k=2)
    assert np.mean(res.indices[:, 0] == target) >= 0.9
    assert res.projected.shape == (10, 12) and np.all(res.scores[:, 0] > 0.9)
    cold = project_weights(model.coef_, features, temperature=1e-4)
    unit = features / np.linalg.norm(features, axis=1, keepdims=True)
    np.testing.assert_allclose(cold.projected, unit[cold.indices[:, 0]], atol=1e-6)


def test_bad_inputs(rng):
    coef = rng.standard_normal((3, 5))
    with pytest.raises(ValueError, match=r"stimulus_features is None: a stimulus set needs its "
                                         r"model features, shape \(n_stimuli, 5\)"):
        preferred_stimuli(coef, None)
    with pytest.raises(ValueError, match=r"stimulus_features must have shape \(n_stimuli >= 1, "
                                         r"5\).*got \(0, 5\)"):
        preferred_stimuli(coef, np.zeros((0, 5)))
    with pytest.raises(ValueError, match=r"candidate_features must have shape .*got \(4, 6\)"):
        project_weights(coef, np.ones((4, 6)))
    with pytest.raises(ValueError, match=r"top_k must be an int in \[1, 4\]"):
        preferred_stimuli(coef, np.ones((4, 5)), top_k=9)
    with pytest.raises(ValueError, match="labels must hold one name per stimulus"):
        preferred_stimuli(coef, np.ones((4, 5)), top_k=1, labels=["a"])
    with pytest.raises(ValueError, match="model must be a fitted linear encoding model"):
        preferred_stimuli(np.ones(5), np.ones((4, 5)))
    with pytest.raises(ValueError, match="temperature must be a finite number > 0"):
        project_weights(coef, np.ones((4, 5)), temperature=0)
