"""KernelRidgeCV: exact against himalaya's KernelRidgeCV on its own test inputs, against
our primal RidgeCV for the linear kernel, target batches under a memory limit, errors."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from neurodecode.encoding import KernelRidgeCV, RidgeCV

KERNELS = ["linear", "polynomial", "poly", "rbf", "sigmoid", "cosine", "precomputed"]


def _himalaya_dataset(rng, n_samples=30, n_targets=3):
    """himalaya/kernel_ridge/tests/test_sklearn_api_kernel.py::_create_dataset: X of
    30 x 100 standard normal, Y of 30 x 3 standard normal (float64)."""
    X = rng.standard_normal((n_samples, 100))
    return X, rng.standard_normal((n_samples, n_targets))


def _himalaya_fit(X, Y, alphas, kernel, fit_intercept):
    from himalaya.backend import set_backend
    from himalaya.kernel_ridge import KernelRidgeCV as HimalayaKernelRidgeCV
    from himalaya.scoring import r2_score

    set_backend("numpy")
    return HimalayaKernelRidgeCV(alphas=alphas, kernel=kernel, fit_intercept=fit_intercept,
                                 solver_params={"score_func": r2_score}, warn=False).fit(X, Y)


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("fit_intercept", [False, True])
def test_equals_himalaya_kernel_ridge_cv(rng, kernel, fit_intercept):
    """test_kernel_ridge_cv_vs_ridge_cv's inputs (Y + 10 and X + 1 with an intercept),
    alphas logspace(-2, 3, 21), every kernel of test_kernel_ridge_vs_scikit_learn."""
    X, Y = _himalaya_dataset(rng)
    if fit_intercept:
        X, Y = X + 1, Y + 10
    X_in = X @ X.T if kernel == "precomputed" else X
    alphas = np.logspace(-2, 3, 21)
    ref = _himalaya_fit(X_in, Y, alphas, kernel, fit_intercept)
    ours = KernelRidgeCV(alphas=alphas, kernel=kernel, fit_intercept=fit_intercept).fit(X_in, Y)
    np.testing.assert_allclose(ours.alpha_, ref.best_alphas_, rtol=1e-12)
    np.testing.assert_allclose(ours.dual_coef_, ref.dual_coef_, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(ours.best_score_, ref.cv_scores_, rtol=1e-8, atol=1e-10)
    X_new = rng.standard_normal((7, 100)) + (1 if fit_intercept else 0)
    new = X_new @ X.T if kernel == "precomputed" else X_new
    np.testing.assert_allclose(ours.predict(new), ref.predict(new), rtol=1e-8, atol=1e-8)


def test_linear_kernel_equals_primal_ridge(rng):
    """Dual and primal ridge are one model: same alphas, scores and predictions."""
    X = rng.standard_normal((60, 8))
    Y = X @ rng.standard_normal((8, 5)) + rng.standard_normal((60, 5)) + 3.0
    alphas = np.logspace(-2, 4, 13)
    primal = RidgeCV(alphas=alphas, cv=4).fit(X, Y)
    dual = KernelRidgeCV(alphas=alphas, cv=4).fit(X, Y)
    np.testing.assert_array_equal(dual.alpha_, primal.alpha_)
    np.testing.assert_allclose(dual.cv_scores_, primal.cv_scores_, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(dual.predict(X), primal.predict(X), rtol=1e-8, atol=1e-8)
    assert KernelRidgeCV(alphas=alphas).fit(X, Y[:, 0]).predict(X).shape == (60,)


def test_more_targets_than_memory_are_chunked(rng):
    """A limit smaller than one target's stacked predictions runs target by target (not
    refused) with the same result as one block; float32 input stays float32."""
    from neurodecode.encoding import kernel

    X, Y = _himalaya_dataset(rng, n_samples=40, n_targets=9)
    one_block = KernelRidgeCV(alphas=[0.1, 10.0, 1e3], kernel="rbf").fit(X, Y)
    assert kernel.targets_batch(3 * 8, 9, 8, 1.0) == 1
    tiny = KernelRidgeCV(alphas=[0.1, 10.0, 1e3], kernel="rbf", max_memory=1.0).fit(X, Y)
    np.testing.assert_array_equal(tiny.alpha_, one_block.alpha_)
    np.testing.assert_allclose(tiny.dual_coef_, one_block.dual_coef_, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(tiny.cv_scores_, one_block.cv_scores_, rtol=1e-12, atol=1e-14)
    alphas = [0.1, 10.0, 1e3]
    f32 = KernelRidgeCV(alphas=alphas, max_memory=200.0).fit(X.astype(np.float32),
                                                           Y.astype(np.float32))
    f64 = KernelRidgeCV(alphas=alphas).fit(X, Y)
    assert f32.dual_coef_.dtype == np.float32
    np.testing.assert_allclose(f32.predict(X.astype(np.float32)), f64.predict(X),
                               rtol=1e-3, atol=1e-3)


def test_bad_inputs(rng):
    X, Y = _himalaya_dataset(rng)
    with pytest.raises(ValueError, match="kernel='gauss' is not valid; expected one of"):
        KernelRidgeCV(kernel="gauss").fit(X, Y)
    with pytest.raises(ValueError, match=r"needs X of shape \(n_samples, n_samples\); got"):
        KernelRidgeCV(kernel="precomputed").fit(X, Y)
    with pytest.raises(ValueError, match="max_memory"):
        KernelRidgeCV(max_memory=0).fit(X, Y)
    with pytest.raises(ValueError, match="alphas must all be finite and > 0"):
        KernelRidgeCV(alphas=[0.0]).fit(X, Y)


@parametrize_with_checks([KernelRidgeCV(alphas=[0.1, 1.0, 10.0], cv=2),
                          KernelRidgeCV(alphas=[0.1, 1.0], kernel="rbf", cv=2)])
def test_sklearn_contract(estimator, check):
    check(estimator)


@pytest.mark.parametrize("kernel", ["rbf", "linear"])
def test_float32_refit_keeps_the_dual_coefficients_centred(rng, kernel):
    """With an intercept the dual coefficients sum to 0; in float32 the centred kernel's
    null vector (weight 1 / alpha) leaked in and moved predictions by 3e-3 at alpha=0.01
    (an intercept off by 0.025): now float32 stays within 1e-4 of float64."""
    X = rng.standard_normal((300, 1000)).astype(np.float32)
    Y = (X @ rng.standard_normal((1000, 5)) / 30 + rng.standard_normal((300, 5))).astype(
        np.float32)
    f32 = KernelRidgeCV(alphas=[0.01], kernel=kernel).fit(X[:250], Y[:250])
    f64 = KernelRidgeCV(alphas=[0.01], kernel=kernel).fit(X[:250].astype(float),
                                                          Y[:250].astype(float))
    np.testing.assert_allclose(f32.dual_coef_.sum(0), 0.0, atol=1e-6 * np.abs(f32.dual_coef_).sum())
    np.testing.assert_allclose(f32.predict(X[250:]), f64.predict(X[250:].astype(float)),
                               atol=1e-4)


def test_torch_backend_equals_numpy(rng):
    X, Y = _himalaya_dataset(rng, n_samples=50, n_targets=4)
    kwargs = dict(alphas=np.logspace(-2, 3, 6), kernel="rbf", max_memory=500.0)
    ours = KernelRidgeCV(backend="torch", **kwargs).fit(X, Y)
    ref = KernelRidgeCV(**kwargs).fit(X, Y)
    np.testing.assert_array_equal(ours.alpha_, ref.alpha_)
    np.testing.assert_allclose(ours.dual_coef_, ref.dual_coef_, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(ours.cv_scores_, ref.cv_scores_, rtol=1e-9, atol=1e-12)
