"""Regression and partial-correlation RSA against mne-rsa (its ``rsa`` metrics)."""

from __future__ import annotations

import mne_rsa
import numpy as np
import pytest

from neurodecode.rsa import compare_rdms_jointly

PEER = {"regression": "regression", "partial": "partial", "partial_spearman": "partial-spearman"}


@pytest.mark.parametrize("method", list(PEER))
def test_equal_to_mne_rsa(rng, method):
    """mne-rsa's test shape: data RDMs and three (correlated) model RDMs."""
    models = rng.random((3, 45))
    models[2] = 0.5 * models[0] + 0.5 * rng.random(45)
    data = 0.7 * models[0] - 0.3 * models[1] + 0.2 * rng.standard_normal((4, 45))
    ours = compare_rdms_jointly(data, models, method)
    ref = np.array([mne_rsa.rsa(d, list(models), metric=PEER[method]) for d in data])
    np.testing.assert_allclose(ours, ref, atol=1e-10)
    assert ours.shape == (4, 3)
    np.testing.assert_allclose(compare_rdms_jointly(data[None, 1], models, method)[0], ours[1],
                               atol=1e-12)


def test_regression_recovers_planted_weights_and_nan_rows(rng):
    models = rng.random((2, 66))
    data = np.stack([2.0 * models[0] - models[1] + 5, 0.5 * models[1]])
    data[1, 3] = np.nan
    out = compare_rdms_jointly(data, models)
    np.testing.assert_allclose(out, [[2.0, -1.0], [0.0, 0.5]], atol=1e-10)


def test_errors(rng):
    with pytest.raises(ValueError, match="method='partial' needs at least 2 model RDMs"):
        compare_rdms_jointly(rng.random(10), rng.random((1, 10)), "partial")
    with pytest.raises(ValueError, match="method='ridge' is not valid"):
        compare_rdms_jointly(rng.random(10), rng.random((2, 10)), "ridge")
