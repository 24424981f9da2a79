"""MultipleKernelRidgeCV (random search): exact against himalaya's MultipleKernelRidgeCV
on its own test inputs, per-band split scores, planted bands recovered, errors."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from neurodecode.encoding import MultipleKernelRidgeCV, r2_score_split


def _himalaya_dataset(rng, n_targets=4):
    """himalaya/kernel_ridge/tests/test_random_search_kernel.py::_create_dataset: 80
    samples, feature spaces of 100 and 200 columns, Ks = X X^T, Y = sum of X_i w_i, and 3
    random kernel weightings on the simplex."""
    Xs = [rng.standard_normal((80, p)) for p in (100, 200)]
    Y = sum(X @ rng.standard_normal((X.shape[1], n_targets)) for X in Xs)
    gammas = rng.random((3, 2))
    return Xs, np.stack([X @ X.T for X in Xs]), Y, gammas / gammas.sum(1)[:, None]


def _himalaya(Ks, Y, gammas, alphas, fit_intercept):
    from himalaya.backend import set_backend
    from himalaya.kernel_ridge import MultipleKernelRidgeCV as Himalaya
    from himalaya.scoring import r2_score

    set_backend("numpy")
    params = dict(n_iter=gammas, alphas=alphas, score_func=r2_score, progress_bar=False)
    return Himalaya(kernels="precomputed", solver="random_search", solver_params=params,
                    fit_intercept=fit_intercept).fit(Ks, Y)


@pytest.mark.parametrize("fit_intercept", [False, True])
def test_equals_himalaya_random_search(rng, fit_intercept):
    Xs, Ks, Y, gammas = _himalaya_dataset(rng)
    if fit_intercept:
        Y = Y + 10
    alphas = np.logspace(-3, 5, 9)
    ref = _himalaya(Ks, Y, gammas, alphas, fit_intercept)
    ours = MultipleKernelRidgeCV(kernel="precomputed", alphas=alphas, n_iter=gammas,
                                 fit_intercept=fit_intercept).fit(Ks, Y)
    np.testing.assert_allclose(ours.deltas_, ref.deltas_, rtol=1e-10)
    np.testing.assert_allclose(ours.cv_scores_, ref.cv_scores_, rtol=1e-7, atol=1e-8)
    np.testing.assert_allclose(ours.dual_coef_ * ours.alpha_, ref.dual_coef_, rtol=1e-7,
                               atol=1e-10)
    new = [rng.standard_normal((10, X.shape[1])) for X in Xs]
    Ks_new = np.stack([x @ X.T for x, X in zip(new, Xs)])
    np.testing.assert_allclose(ours.predict(Ks_new), ref.predict(Ks_new), rtol=1e-7, atol=1e-7)
    Y_new = sum(x @ rng.standard_normal((x.shape[1], 4)) for x in new)
    if not fit_intercept:
        np.testing.assert_allclose(ours.predict(Ks_new, split=True),
                                   ref.predict(Ks_new, split=True), rtol=1e-7, atol=1e-7)
    np.testing.assert_allclose(ours.score_split(Ks_new, Y_new),
                               ref.score(Ks_new, Y_new, split=True), rtol=1e-7, atol=1e-8)


def test_split_scores_find_the_band_that_drives_each_target(rng):
    """Targets driven by band 0 or band 1 only: the split R^2 gives the driving band
    (nearly) all the joint R^2, and the parts add up to the joint R^2."""
    X = rng.standard_normal((300, 30))
    W = np.zeros((30, 4))
    W[:10, :2] = rng.standard_normal((10, 2))
    W[10:, 2:] = rng.standard_normal((20, 2)) * 0.5
    Y = X @ W + 0.5 * rng.standard_normal((300, 4))
    model = MultipleKernelRidgeCV(bands=[10, 20], n_iter=30, alphas=np.logspace(-2, 4, 7))
    model.fit(X[:200], Y[:200])
    split = model.score_split(X[200:], Y[200:])
    assert np.all(split[0, :2] > 0.7) and np.all(np.abs(split[1, :2]) < 0.05)
    assert np.all(split[1, 2:] > 0.7) and np.all(np.abs(split[0, 2:]) < 0.05)
    joint = r2_score_split(Y[200:] - model.intercept_, model.predict(X[200:], split=True))
    pred = model.predict(X[200:])
    resid = ((Y[200:] - pred) ** 2).sum(0)
    np.testing.assert_allclose(joint.sum(0), 1 - resid / ((Y[200:] - model.intercept_) ** 2).sum(0),
                               rtol=1e-8)
    assert model.kernel_weights_[0, :2].min() > 0.5 and model.kernel_weights_[1, 2:].min() > 0.5


def test_errors(rng):
    X = rng.standard_normal((40, 6))
    Y = rng.standard_normal((40, 2))
    with pytest.raises(ValueError, match=r"bands must be positive sizes summing to n_features=6"):
        MultipleKernelRidgeCV(bands=[2, 3]).fit(X, Y)
    with pytest.raises(ValueError, match=r"needs X of shape \(n_kernels, n_samples, n_samples\)"):
        MultipleKernelRidgeCV(kernel="precomputed").fit(X, Y)
    with pytest.raises(ValueError, match=r"n_iter must be an int or an array \(n_iter, 2\)"):
        MultipleKernelRidgeCV(bands=[3, 3], n_iter=np.ones((2, 3))).fit(X, Y)
    with pytest.raises(ValueError, match="n_iter must be >= 1; got 0"):
        MultipleKernelRidgeCV(bands=[3, 3], n_iter=0).fit(X, Y)
    fitted = MultipleKernelRidgeCV(kernel="precomputed", n_iter=1).fit(np.stack([X @ X.T] * 2), Y)
    with pytest.raises(ValueError, match=r"X must have shape \(2, n_new, 40\)"):
        fitted.predict(np.stack([X[:5] @ X[:30].T] * 2))
    with pytest.raises(ValueError, match=r"y_pred must have shape \(n_parts, 40, 2\)"):
        r2_score_split(Y, Y)


def _hyper_dataset(rng):
    """himalaya/kernel_ridge/tests/test_hyper_gradient.py::_create_dataset: 3 feature
    spaces (100, 200, 150 columns), 80 samples, Y = sum of X_i w_i sqrt(gamma_i)."""
    Xs = [rng.standard_normal((80, p)) for p in (100, 200, 150)]
    gammas = rng.random((3, 4))
    Y = sum(X @ rng.standard_normal((X.shape[1], 4)) * np.sqrt(g) for X, g in zip(Xs, gammas))
    return np.stack([X @ X.T for X in Xs]), Y


@pytest.mark.parametrize("fit_intercept", [False, True])
def test_hyper_gradient_is_the_gradient_of_the_cv_loss(rng, fit_intercept):
    """Finite differences along a random direction, as himalaya's test_delta_gradient_*."""
    from neurodecode.encoding.hypergradient import _fold_data, _loss_grad

    Ks, Y = _hyper_dataset(rng)
    splits = [(np.r_[20:80], np.r_[0:20]), (np.r_[0:60], np.r_[60:80])]
    folds = [_fold_data(Ks, Y + 5.0, tr, va, fit_intercept) for tr, va in splits]
    deltas = np.log(rng.random((3, 4)) / np.logspace(-1, 1, 4))
    direction = rng.standard_normal(deltas.shape)
    direction /= np.linalg.norm(direction, axis=0)
    loss, grad, _ = _loss_grad(folds, deltas, 80)
    h = 1e-6
    plus, _, _ = _loss_grad(folds, deltas + h * direction, 80, gradient=False)
    minus, _, _ = _loss_grad(folds, deltas - h * direction, 80, gradient=False)
    np.testing.assert_allclose((grad * direction).sum(0), (plus - minus) / (2 * h), rtol=1e-5)


def test_hyper_gradient_reaches_the_random_search_score(rng):
    """himalaya's _test_solve_multiple_kernel_ridge_hyper_gradient criterion: CV R^2 of the
    hyper-gradient solver equal, to 1 decimal, to a 50-draw random search (cv=3, alphas
    1e-5..1e5); and no worse than himalaya's own hyper-gradient solver after 10 steps."""
    from himalaya.backend import set_backend
    from himalaya.kernel_ridge import solve_multiple_kernel_ridge_hyper_gradient
    from himalaya.scoring import r2_score

    Ks, Y = _hyper_dataset(rng)
    alphas = np.logspace(-5, 5, 11)
    search = MultipleKernelRidgeCV(kernel="precomputed", alphas=alphas, n_iter=50,
                                   concentration=0.1, cv=3, fit_intercept=False).fit(Ks, Y)
    hyper = MultipleKernelRidgeCV(kernel="precomputed", alphas=alphas, n_iter=1, cv=3,
                                  solver="hyper_gradient", max_iter=30,
                                  fit_intercept=False).fit(Ks, Y)
    np.testing.assert_allclose(hyper.cv_scores_[-1], search.cv_scores_.max(0), atol=0.05)
    assert np.all(hyper.cv_scores_[-1] >= hyper.cv_scores_[0] - 1e-9)
    set_backend("numpy")
    _, _, theirs = solve_multiple_kernel_ridge_hyper_gradient(
        Ks, Y, max_iter=10, tol=None, score_func=r2_score, cv=3, progress_bar=False)
    theirs = np.asarray(theirs)
    assert np.all(hyper.cv_scores_[-1] >= theirs[theirs.sum(1) != 0][-1] - 0.02)
    # refit: the dual weights solve (K(delta) + I) c = y for each target, as himalaya tests
    for t in range(4):
        K = np.tensordot(np.exp(hyper.deltas_[:, t]), Ks, axes=1)
        c = np.linalg.solve(K + np.eye(80), Y[:, t])
        np.testing.assert_allclose(hyper.dual_coef_[:, t] * hyper.alpha_[t], c, rtol=1e-8,
                                   atol=1e-10)


def test_hyper_gradient_errors(rng):
    Ks, Y = _hyper_dataset(rng)
    with pytest.raises(ValueError, match="solver='newton' is not valid; expected one of"):
        MultipleKernelRidgeCV(kernel="precomputed", solver="newton").fit(Ks, Y)
    with pytest.raises(ValueError, match="max_iter must be >= 1; got 0"):
        MultipleKernelRidgeCV(kernel="precomputed", solver="hyper_gradient", n_iter=1,
                              max_iter=0).fit(Ks, Y)


@parametrize_with_checks([MultipleKernelRidgeCV(n_iter=2, alphas=[0.1, 1.0, 10.0], cv=2)])
def test_sklearn_contract(estimator, check):
    check(estimator)


@pytest.mark.parametrize("indefinite", [False, True])
def test_hyper_gradient_solves_match_a_direct_solve(rng, indefinite):
    """The per-target Cholesky solves (and their LU fallback for a precomputed kernel that
    is not positive semi-definite) equal numpy's solve of each target's system."""
    from neurodecode.encoding.hypergradient import _factorised

    Ks, _ = _hyper_dataset(rng)
    if indefinite:
        Ks[1] -= 3 * np.linalg.eigvalsh(Ks[1]).max() * np.eye(80)
    weights = rng.random((3, 5))
    B, C = rng.standard_normal((80, 5)), rng.standard_normal((80, 5))
    M = np.einsum("kt,kij->tij", weights, Ks) + np.eye(80)
    X, solve = _factorised(Ks, weights, B, np.empty(5 * 80 * 80))
    np.testing.assert_allclose(X, np.linalg.solve(M, B.T[:, :, None])[..., 0].T, rtol=1e-9,
                               atol=1e-12)
    np.testing.assert_allclose(solve(C), np.linalg.solve(M, C.T[:, :, None])[..., 0].T,
                               rtol=1e-9, atol=1e-12)
