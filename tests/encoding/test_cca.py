"""CCA against scikit-learn, planted shared components, cross-validation and permutations."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.cross_decomposition import CCA as SkCCA

from neurodecode.encoding import CCA, cross_validated_cca


def _shared(rng, n=400, strengths=(1.0, 0.5)):
    """Two latent signals in both views (mixed by random matrices), plus noise."""
    z = rng.standard_normal((n, len(strengths))) * np.asarray(strengths)
    X = z @ rng.standard_normal((len(strengths), 6)) + 0.5 * rng.standard_normal((n, 6))
    Y = z @ rng.standard_normal((len(strengths), 5)) + 0.5 * rng.standard_normal((n, 5))
    return X, Y, z


def test_equal_to_sklearn_cca(rng):
    X, Y, _ = _shared(rng)
    ours = CCA(n_components=2).fit(X, Y)
    ref = SkCCA(n_components=2, max_iter=5000, tol=1e-12).fit(X, Y)
    xs, ys = ours.transform(X, Y)
    rx, ry = ref.transform(X, Y)
    for k in range(2):
        assert abs(np.corrcoef(xs[:, k], rx[:, k])[0, 1]) > 0.9999
        assert abs(np.corrcoef(ys[:, k], ry[:, k])[0, 1]) > 0.9999
        np.testing.assert_allclose(ours.correlations_[k],
                                   np.corrcoef(rx[:, k], ry[:, k])[0, 1], atol=1e-6)
    np.testing.assert_allclose(ours.score(X, Y), ours.correlations_, atol=1e-10)
    np.testing.assert_allclose(np.corrcoef(xs.T), np.eye(2), atol=1e-10)  # uncorrelated


def test_cross_validated_cca_finds_the_planted_components(rng):
    X, Y, _ = _shared(rng, strengths=(1.0, 0.6))
    res = cross_validated_cca(X, Y, n_components=3, cv=5, n_permutations=30)
    assert res.fold_correlations.shape == (5, 3)
    assert res.correlations[0] > 0.8 and res.correlations[1] > 0.4 and res.correlations[2] < 0.2
    assert res.pvalue[0] == pytest.approx(1 / 31) and res.pvalue[1] == pytest.approx(1 / 31)
    assert res.pvalue[2] > 0.05 and res.null.shape == (30, 3)


def test_regularisation_with_more_features_than_samples(rng):
    X, Y, _ = _shared(rng, n=60)
    X = np.c_[X, rng.standard_normal((60, 100))]
    res = cross_validated_cca(X, Y, n_components=1, reg_x=0.5, cv=4)
    assert res.correlations[0] > 0.5
    shuffled = cross_validated_cca(X, Y, n_components=1, reg_x=0.5, cv=4, n_permutations=10,
                                   null="shuffle")
    assert shuffled.null.mean() < res.correlations[0]


def test_bad_inputs(rng):
    X, Y = rng.standard_normal((10, 20)), rng.standard_normal((10, 15))
    with pytest.raises(ValueError, match=r"n_components=12 is more than CCA can estimate from 10 "
                                         r"samples.*at most .* = 9"):
        CCA(n_components=12).fit(X, Y)
    with pytest.raises(ValueError, match=r"n_components=9 is more than CCA can estimate from 8 "
                                         r"samples"):
        cross_validated_cca(X, Y, n_components=9, cv=5)
    with pytest.raises(ValueError, match="n_components must be a positive int; got 0"):
        CCA(n_components=0).fit(X, Y)
    with pytest.raises(ValueError, match="with the same n_samples; got"):
        CCA().fit(X, Y[:5])
    with pytest.raises(ValueError, match=r"reg must be in \[0, 1\]"):
        CCA(reg_x=2.0).fit(X, Y)
    with pytest.raises(ValueError, match="null='roll' is not valid"):
        cross_validated_cca(X, Y, cv=2, n_permutations=2, null="roll")
