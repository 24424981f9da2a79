"""Per-target scores, noise ceilings, permutation tests with FDR."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import pearsonr
from sklearn.metrics import r2_score

from neurodecode.encoding import (
    fdr_correction,
    noise_ceiling,
    normalise_by_ceiling,
    permutation_test,
    score_targets,
)


def test_scores_match_scipy_and_sklearn(rng):
    a, b = rng.standard_normal((50, 4)), rng.standard_normal((50, 4))
    b += a
    r = score_targets(a, b, "r")
    np.testing.assert_allclose(r, [pearsonr(a[:, i], b[:, i])[0] for i in range(4)])
    np.testing.assert_allclose(score_targets(a, b, "r2"), r2_score(a, b, multioutput="raw_values"))


@pytest.mark.parametrize("value", [2.0, 0.1])  # 0.1: centring leaves rounding errors
def test_zero_variance_gives_zero_and_warns(rng, value):
    a = rng.standard_normal((30, 3))
    a[:, 1] = value
    assert value == 2.0 or np.any(a[:, 1] - a[:, 1].mean() != 0)
    with pytest.warns(UserWarning, match="zero variance"):
        r = score_targets(a, a + 0.1, "r")
    with pytest.warns(UserWarning, match="zero variance"):
        r2 = score_targets(a, a + 0.1, "r2")
    assert r[1] == 0 and r2[1] == 0 and np.all(np.isfinite(r)) and np.all(np.isfinite(r2))


def test_score_errors(rng):
    a = rng.standard_normal((10, 2))
    with pytest.raises(ValueError, match="metric='corr' is not valid"):
        score_targets(a, a, "corr")
    with pytest.raises(ValueError, match="same shape"):
        score_targets(a, a[:, :1])
    with pytest.raises(ValueError, match=r"must have shape \(n_samples, n_targets\)"):
        score_targets(np.zeros((2, 2, 2)), np.zeros((2, 2, 2)))
    bad = a.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="y_pred contains 1 NaN"):
        score_targets(a, bad)


def test_fdr_matches_statsmodels_formula():
    p = np.array([0.01, 0.04, 0.03, 0.2, 0.001])
    reject, corrected = fdr_correction(p, 0.05)
    np.testing.assert_allclose(corrected, [0.025, 0.05, 0.05, 0.2, 0.005])
    np.testing.assert_array_equal(reject, [True, True, True, False, True])
    with pytest.raises(ValueError, match=r"got nan at flat index 1 and 1 more"):
        fdr_correction([0.001, np.nan, 0.02, -0.1])


@pytest.mark.parametrize("method", ["shift", "groups", "shuffle"])
def test_permutation_finds_planted_targets(rng, method):
    n = 200
    signal = np.convolve(rng.standard_normal(n), np.ones(5), mode="same")
    y_pred = np.tile(signal[:, None], (1, 10))
    y_true = rng.standard_normal((n, 10)) * 5
    y_true[:, :4] += y_pred[:, :4] * 3  # 4 planted targets
    groups = np.repeat(np.arange(8), 25)
    res = permutation_test(y_true, y_pred, n_permutations=200, groups=groups, method=method)
    assert res["significant"][:4].all()
    assert res["significant"][4:].sum() <= 2
    assert res["null"].shape == (200, 10) and res["pvalue"].min() >= 1 / 201


def test_permutation_errors(rng):
    a = rng.standard_normal((20, 2))
    with pytest.raises(ValueError, match="method='flip' is not valid"):
        permutation_test(a, a, method="flip")
    with pytest.raises(ValueError, match="n_permutations must be >= 1"):
        permutation_test(a, a, n_permutations=0)
    with pytest.raises(ValueError, match="groups of equal length"):
        permutation_test(a, a, method="groups", groups=np.r_[np.zeros(5), np.ones(15)])
    with pytest.raises(ValueError, match=r"groups must have shape \(20,\)"):
        permutation_test(a, a, groups=np.zeros(3))


def test_noise_ceiling_recovers_reliability(rng):
    n_rep, n, t = 6, 400, 3
    signal = rng.standard_normal((n, t))
    noise_sd = np.array([0.5, 1.0, 2.0])
    reps = signal[None] + noise_sd * rng.standard_normal((n_rep, n, t))
    expected = np.sqrt(1 / (1 + noise_sd**2 / n_rep))  # corr(true signal, mean of repeats)
    model = signal + 0.0
    r = score_targets(reps.mean(0), model)
    for method in ("split_half", "loo"):  # both estimate corr(true signal, mean of repeats)
        np.testing.assert_allclose(noise_ceiling(reps, method), expected, atol=0.05)
        np.testing.assert_allclose(normalise_by_ceiling(r, noise_ceiling(reps, method)), 1.0,
                                   atol=0.06)
    two = reps[:2]  # two repeats: loo and split-half are one and the same formula
    np.testing.assert_allclose(noise_ceiling(two, "loo"), noise_ceiling(two), rtol=1e-12)
    with pytest.raises(ValueError, match="n_repeats >= 2"):
        noise_ceiling(reps[:1])
    with pytest.raises(ValueError, match="method='odd' is not valid"):
        noise_ceiling(reps, "odd")
    with pytest.raises(ValueError, match="same shape"):
        normalise_by_ceiling(r, r[:2])
    assert normalise_by_ceiling([0.3], [0.0])[0] == 0


def test_permutation_plus_one_correction(rng):
    """A target no null draw reaches gets p = 1 / (n + 1) by default (never 0), and
    exactly 0 with plus_one=False; the counts agree otherwise."""
    signal = rng.standard_normal((300, 1))
    y_true = np.hstack([signal, rng.standard_normal((300, 1))])
    y_pred = np.hstack([signal + 0.1 * rng.standard_normal((300, 1)),
                        rng.standard_normal((300, 1))])
    kwargs = dict(n_permutations=50, method="shuffle", seed=3)
    corrected = permutation_test(y_true, y_pred, **kwargs)
    plain = permutation_test(y_true, y_pred, plus_one=False, **kwargs)
    assert corrected["pvalue"][0] == pytest.approx(1 / 51)
    assert plain["pvalue"][0] == 0.0
    count = (plain["null"][:, 1] >= plain["score"][1]).sum()
    assert plain["pvalue"][1] == pytest.approx(count / 50)
    assert corrected["pvalue"][1] == pytest.approx((count + 1) / 51)
