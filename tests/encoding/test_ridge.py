"""RidgeCV: exactness against scikit-learn Ridge and a brute-force K-fold alpha search."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import Ridge
from sklearn.model_selection import KFold, LeaveOneGroupOut
from sklearn.utils.estimator_checks import parametrize_with_checks

from neurodecode.encoding import BandedRidgeCV, RidgeCV

ALPHAS = np.logspace(-2, 4, 7)


def _planted(rng, n=120, p=15, t=6, noise=2.0):
    X = rng.standard_normal((n, p))
    W = rng.standard_normal((p, t))
    Y = X @ W + noise * rng.standard_normal((n, t)) + 3.0
    return X, Y, W


def _brute_force(X, Y, alphas, splits):
    scores = np.zeros((len(alphas), Y.shape[1]))
    for train, val in splits:
        for i, a in enumerate(alphas):
            pred = Ridge(alpha=a).fit(X[train], Y[train]).predict(X[val])
            yv = Y[val]
            scores[i] += 1 - ((yv - pred) ** 2).sum(0) / ((yv - yv.mean(0)) ** 2).sum(0)
    return scores / len(splits)


@pytest.mark.parametrize("backend", ["numpy", "torch"])
@pytest.mark.parametrize("shape", [(120, 15), (40, 90)])  # primal and dual
def test_fixed_alpha_equals_sklearn(rng, backend, shape):
    X, Y, _ = _planted(rng, *shape)
    model = RidgeCV(alphas=[7.0], backend=backend).fit(X, Y)
    ref = Ridge(alpha=7.0).fit(X, Y)
    rel = np.abs(model.predict(X) - ref.predict(X)).max() / np.abs(ref.predict(X)).max()
    assert rel < 1e-6
    np.testing.assert_allclose(model.coef_, ref.coef_, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(model.intercept_, ref.intercept_, rtol=1e-6)


@pytest.mark.parametrize("backend", ["numpy", "torch"])
@pytest.mark.parametrize("shape", [(120, 15), (40, 90)])
def test_alpha_search_equals_brute_force(rng, backend, shape):
    X, Y, _ = _planted(rng, *shape, noise=4.0)
    model = RidgeCV(alphas=ALPHAS, cv=5, backend=backend).fit(X, Y)
    ref = _brute_force(X, Y, ALPHAS, list(KFold(5).split(X)))
    np.testing.assert_allclose(model.cv_scores_, ref, atol=1e-9)
    np.testing.assert_array_equal(model.alpha_, ALPHAS[ref.argmax(0)])
    final = Ridge(alpha=model.alpha_).fit(X, Y)
    np.testing.assert_allclose(model.predict(X), final.predict(X), rtol=1e-6, atol=1e-9)


def test_groups_leave_one_group_out_and_shared_alpha(rng):
    X, Y, _ = _planted(rng, noise=4.0)
    groups = np.repeat(np.arange(4), 30)
    model = RidgeCV(alphas=ALPHAS, cv="logo", alpha_per_target=False).fit(X, Y, groups=groups)
    ref = _brute_force(X, Y, ALPHAS, list(LeaveOneGroupOut().split(X, Y, groups)))
    assert np.all(model.alpha_ == ALPHAS[ref.mean(1).argmax()])
    grouped = RidgeCV(alphas=ALPHAS, cv=2).fit(X, Y, groups=groups)
    assert grouped.cv_scores_.shape == (len(ALPHAS), Y.shape[1])


def test_float32_batches_and_scores(rng):
    X, Y, W = _planted(rng, n=300, p=10, t=25, noise=0.5)
    m64 = RidgeCV(alphas=ALPHAS).fit(X, Y)
    m32 = RidgeCV(alphas=ALPHAS, dtype="float32", n_targets_batch=7).fit(X, Y)
    np.testing.assert_allclose(m32.coef_, m64.coef_, rtol=1e-3, atol=1e-3)
    r = m64.score_targets(X, Y, metric="r")
    assert r.shape == (25,) and np.all(r > 0.95)
    assert m64.score(X, Y) == pytest.approx(np.mean(m64.score_targets(X, Y, metric="r2")))
    assert RidgeCV(alphas=[1.0]).fit(X, Y[:, 0]).predict(X).shape == (300,)


def test_zero_variance_target_scores_zero_with_warning(rng):
    X, Y, _ = _planted(rng)
    Y[:, 2] = 5.0
    with pytest.warns(UserWarning, match="zero variance"):
        model = RidgeCV(alphas=ALPHAS).fit(X, Y)
    assert np.all(np.isfinite(model.cv_scores_))
    assert np.all(model.coef_[2] == 0)
    with pytest.warns(UserWarning, match="zero variance"):
        scores = model.score_targets(X, Y, metric="r")
    assert scores[2] == 0 and np.all(np.isfinite(scores))


def test_target_constant_in_one_fold_does_not_decide_its_alpha(rng):
    """A channel flat in one validation fold only (a disconnected electrode): that fold
    scores 0 with a warning instead of R^2 near -1e29 from a rounding-error variance."""
    from sklearn.model_selection import KFold

    X, Y, _ = _planted(rng)
    Y[:24, 1] = 3.0  # the first of 5 contiguous folds
    with pytest.warns(UserWarning, match="1 target.* zero variance in a validation fold"):
        model = RidgeCV(alphas=ALPHAS, cv=5).fit(X, Y)
    others = list(KFold(5).split(X))[1:]
    expected = _brute_force(X, Y, ALPHAS, others)[:, 1] * 4 / 5  # the flat fold adds 0
    np.testing.assert_allclose(model.cv_scores_[:, 1], expected, rtol=1e-8)
    assert model.alpha_[1] == ALPHAS[np.argmax(expected)]


def test_bad_inputs(rng):
    X, Y, _ = _planted(rng, n=20)
    with pytest.raises(ValueError, match=r"cv=20 gives a validation fold of 1 sample: R\^2 .* "
                       r"needs at least 2 samples per fold"):
        RidgeCV(cv=20).fit(X, Y)
    with pytest.raises(ValueError, match="same number of samples"):
        RidgeCV().fit(X, Y[:-1])
    Xn = X.copy()
    Xn[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN or Inf"):
        RidgeCV().fit(Xn, Y)
    Yi = Y.copy()
    Yi[0, 0] = np.inf
    with pytest.raises(ValueError, match="NaN or Inf"):
        RidgeCV().fit(X, Yi)
    with pytest.raises(ValueError, match="finite and > 0"):
        RidgeCV(alphas=[1.0, 0.0]).fit(X, Y)
    with pytest.raises(ValueError, match="non-empty"):
        RidgeCV(alphas=[]).fit(X, Y)
    with pytest.raises(ValueError, match="more than the number of samples"):
        RidgeCV(cv=25).fit(X, Y)
    with pytest.raises(ValueError, match="more than the number of groups"):
        RidgeCV(cv=3).fit(X, Y, groups=np.repeat([0, 1], 10))
    with pytest.raises(ValueError, match="cv must be >= 2"):
        RidgeCV(cv=1).fit(X, Y)
    with pytest.raises(ValueError, match="needs groups"):
        RidgeCV(cv="logo").fit(X, Y)
    with pytest.raises(ValueError, match="at least 2 distinct groups"):
        RidgeCV(cv="logo").fit(X, Y, groups=np.zeros(20))
    with pytest.raises(ValueError, match="groups must have shape"):
        RidgeCV().fit(X, Y, groups=np.zeros(3))
    with pytest.raises(ValueError, match="cv='lobo' is not valid"):
        RidgeCV(cv="lobo").fit(X, Y)
    with pytest.raises(TypeError, match="cv must be an int"):
        RidgeCV(cv=2.5).fit(X, Y)
    with pytest.raises(ValueError, match="dtype='float16' is not valid"):
        RidgeCV(dtype="float16").fit(X, Y)
    with pytest.raises(ValueError, match="backend='jax' is not valid"):
        RidgeCV(backend="jax").fit(X, Y)
    with pytest.raises(ValueError, match="needs backend='torch'"):
        RidgeCV(backend="numpy", device="cuda").fit(X, Y)
    with pytest.raises(ValueError, match="Expected 2D array"):
        RidgeCV().fit(X[:, 0], Y)
    with pytest.raises(ValueError, match="X has 3 features, but RidgeCV is expecting 15"):
        RidgeCV(alphas=[1.0]).fit(X, Y).predict(X[:, :3])


def test_empty_fold_from_splitter(rng):
    X, Y, _ = _planted(rng, n=20)

    class Empty:
        def split(self, X, y=None, groups=None):
            yield np.arange(20), np.array([], dtype=int)

    with pytest.raises(ValueError, match="empty train or validation"):
        RidgeCV(cv=Empty()).fit(X, Y)


def test_banded_ridge_finds_the_informative_band(rng):
    n = 300
    Xa, Xb = rng.standard_normal((n, 8)), rng.standard_normal((n, 40))
    Y = Xa @ rng.standard_normal((8, 5)) + 0.5 * rng.standard_normal((n, 5))
    X = np.hstack([Xa, Xb])
    banded = BandedRidgeCV(bands=[8, 40], alphas=np.logspace(-1, 5, 7), n_iter=15).fit(X, Y)
    plain = RidgeCV(alphas=np.logspace(-1, 5, 7)).fit(X, Y)
    assert np.all(banded.band_alphas_[1] > 10 * banded.band_alphas_[0])
    assert banded.best_score_.mean() >= plain.best_score_.mean() - 1e-9
    assert banded.score_targets(X, Y).shape == (5,)
    from sklearn.metrics import r2_score  # sample weights go to scikit-learn's R^2

    weights = rng.uniform(0.5, 2.0, n)
    assert banded.score(X, Y, sample_weight=weights) == pytest.approx(
        r2_score(Y, banded.predict(X), sample_weight=weights))
    assert banded.score(X, Y) == pytest.approx(r2_score(Y, banded.predict(X)))
    with pytest.raises(ValueError, match="bands must be positive sizes"):
        BandedRidgeCV(bands=[8, 10]).fit(X, Y)
    with pytest.raises(ValueError, match="n_iter must be >= 1"):
        BandedRidgeCV(bands=[8, 40], n_iter=0).fit(X, Y)


@parametrize_with_checks([RidgeCV(alphas=[0.1, 1.0, 10.0], cv=2)])
def test_sklearn_contract(estimator, check):
    check(estimator)


def test_default_dtype_follows_the_input(rng):
    """dtype=None (default) fits float32 X in float32 (the fast path) and float64 X in
    float64, as scikit-learn does; an explicit dtype still wins."""
    from neurodecode.encoding import BandedRidgeCV, TemporalReceptiveField

    X, Y, _ = _planted(rng, n=200, p=10, t=6, noise=0.5)
    X32, Y32 = X.astype(np.float32), Y.astype(np.float32)
    auto32 = RidgeCV(alphas=ALPHAS).fit(X32, Y32)
    forced = RidgeCV(alphas=ALPHAS, dtype="float32").fit(X32, Y32)
    assert auto32.coef_.dtype == np.float32 and auto32.predict(X32).dtype == np.float32
    np.testing.assert_array_equal(auto32.coef_, forced.coef_)
    assert RidgeCV(alphas=ALPHAS).fit(X, Y).coef_.dtype == np.float64
    assert RidgeCV(alphas=ALPHAS, dtype="float64").fit(X32, Y32).coef_.dtype == np.float64
    assert BandedRidgeCV([4, 6], alphas=ALPHAS, n_iter=2).fit(X32, Y32).coef_.dtype == np.float32
    trf = TemporalReceptiveField(0.0, 0.02, 100.0, alphas=[1.0]).fit([X32[:100], X32[100:]],
                                                                     [Y32[:100], Y32[100:]])
    assert trf.coef_.dtype == np.float32
