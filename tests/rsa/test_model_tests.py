"""Schütt et al. (2023) model-comparison t-tests against rsatoolbox's inference_util."""

from __future__ import annotations

import numpy as np
import pytest
from rsatoolbox.util.inference_util import extract_variances, t_test_0, t_tests

from neurodecode.rsa import evaluation_variances, t_test_pairs, t_test_zero


@pytest.mark.parametrize("dual", [False, True])
@pytest.mark.parametrize("ns", [(None, None), (12, None), (12, 20)])
def test_equal_to_rsatoolbox(rng, dual, ns):
    """Bootstrap evaluations of 4 models (a planted best one) over 3 folds."""
    evals = rng.normal([0.3, 0.5, 0.45, 0.1], 0.1, (200, 4))[:, :, None] + rng.normal(
        0, 0.02, (200, 4, 3))
    mean = evals.mean(-1)
    cov = np.stack([np.cov(mean.T), 0.6 * np.cov(mean.T), 0.5 * np.cov(mean.T)]) if dual \
        else np.cov(mean.T)
    n_subjects, n_conditions = ns
    ref_model, ref_diff, _ = extract_variances(cov, nc_included=False, n_rdm=n_subjects,
                                               n_pattern=n_conditions)
    model_var, diff_var = evaluation_variances(cov, n_subjects=n_subjects,
                                               n_conditions=n_conditions)
    np.testing.assert_allclose(model_var, ref_model, rtol=1e-12)
    np.testing.assert_allclose(diff_var, ref_diff, rtol=1e-12)
    np.testing.assert_allclose(t_test_pairs(evals, diff_var, dof=11),
                               t_tests(evals, ref_diff, dof=11), atol=1e-12)
    np.testing.assert_allclose(t_test_zero(evals, model_var, dof=11),
                               t_test_0(evals, ref_model, dof=11), atol=1e-12)
    assert t_test_pairs(evals, diff_var)[1, 3] < t_test_pairs(evals, diff_var)[1, 2]


def test_errors(rng):
    with pytest.raises(ValueError, match=r"covariance must have shape \(n_models, n_models\)"):
        evaluation_variances(rng.random((2, 3, 3)))
    with pytest.raises(ValueError, match=r"evaluations must have shape \(n_samples, n_models"):
        t_test_zero(rng.random(3), np.ones(3))
