"""Permutation tests, bootstrap, model comparison, FDR and cluster tests with planted effects."""

from __future__ import annotations

import mne
import numpy as np
import pytest
from scipy.spatial.distance import squareform

from neurodecode.rsa import (
    bootstrap_ci,
    cluster_test,
    compare_models,
    compare_rdms,
    fdr_correction,
    permutation_test,
)
from neurodecode.rsa.inference import _permuted_pairs, _resample_conditions


def _planted(rng, n=12, n_subjects=5, noise=0.5):
    truth = rng.random(n * (n - 1) // 2)
    subjects = truth + noise * rng.standard_normal((n_subjects, truth.size))
    return truth, subjects


def test_permuted_pairs_match_square_permutation(rng):
    rdm = rng.random(28)
    perm = rng.permutation(8)
    expected = squareform(squareform(rdm)[np.ix_(perm, perm)])
    np.testing.assert_array_equal(rdm[_permuted_pairs(8, perm)], expected)


def test_resampled_conditions_match_square_indexing(rng):
    rdm = rng.random(21)
    gen = np.random.default_rng(3)
    out = _resample_conditions(rdm[None], 7, gen)[0]
    pick = np.sort(np.random.default_rng(3).integers(0, 7, 7))
    sq = squareform(rdm)[np.ix_(pick, pick)]
    iu = np.triu_indices(7, 1)
    same = pick[iu[0]] == pick[iu[1]]
    np.testing.assert_array_equal(np.isnan(out), same)
    np.testing.assert_array_equal(out[~same], sq[iu][~same])


def test_permutation_test_planted(rng):
    truth, subjects = _planted(rng)
    models = np.stack([truth, rng.random(truth.size)])
    res = permutation_test(subjects.mean(0), models, n_permutations=200)
    assert res.null.shape == (200, 2)
    assert res.p_value[0] < 0.01 and res.p_value[1] > 0.05
    assert res.similarity[0] > np.quantile(res.null[:, 0], 0.99)


@pytest.mark.parametrize("method", ["pearson", "spearman", "kendall_tau_a", "whitened_pearson"])
@pytest.mark.parametrize("n_data, n_models, nan", [(1, 3, False), (4, 2, False), (1, 3, True)])
def test_permutation_null_equals_relabelled_models(rng, method, n_data, n_models, nan):
    """Whichever side is relabelled (the data when they hold fewer RDMs and no NaN), the
    null is the similarity of the data with the models whose conditions are permuted."""
    data, models = rng.random((n_data, 36)), rng.random((n_models, 36))
    if nan:
        data[0, 4] = np.nan
    res = permutation_test(data, models, method, n_permutations=20, seed=5)
    gen = np.random.default_rng(5)
    for k in range(20):
        idx = _permuted_pairs(9, gen.permutation(9))
        np.testing.assert_allclose(res.null[k], compare_rdms(data, models[:, idx], method),
                                   atol=1e-12)


@pytest.mark.parametrize("over", ["conditions", "subjects", "both"])
def test_bootstrap_ci_covers_estimate(rng, over):
    truth, subjects = _planted(rng, n=20, noise=0.3)
    models = np.stack([truth, rng.random(truth.size)])
    res = bootstrap_ci(subjects, models, "pearson", over=over, n_bootstraps=200)
    assert res.samples.shape == (200, 2)
    assert (res.ci_low <= res.estimate).all() and (res.estimate <= res.ci_high).all()
    assert res.ci_low[0] > res.ci_high[1]  # planted model clearly better


def test_bootstrap_narrower_with_less_noise(rng):
    truth, noisy = _planted(rng, noise=2.0)
    clean = truth + 0.1 * rng.standard_normal(noisy.shape)
    model = truth + 0.5 * rng.standard_normal(truth.size)
    r_noisy = bootstrap_ci(noisy, model, over="subjects", n_bootstraps=200)
    r_clean = bootstrap_ci(clean, model, over="subjects", n_bootstraps=200)
    assert (r_clean.ci_high - r_clean.ci_low) < (r_noisy.ci_high - r_noisy.ci_low)


def test_compare_models_planted(rng):
    truth, subjects = _planted(rng, n=15)
    models = np.stack([truth, truth + 3 * rng.standard_normal(truth.size), rng.random(truth.size)])
    diff, p = compare_models(subjects, models, "spearman", n_bootstraps=200)
    assert diff.shape == p.shape == (3, 3)
    assert diff[0, 1] > 0 and diff[0, 2] > 0 and p[0, 1] < 0.05 and p[0, 2] < 0.05
    np.testing.assert_allclose(diff, -diff.T)
    assert (np.diag(p) == 1).all()


def test_fdr_equal_to_mne(rng):
    p = rng.random((4, 25)) ** 3
    reject, adj = fdr_correction(p, 0.05)
    ref_reject, ref_adj = mne.stats.fdr_correction(p, 0.05)
    np.testing.assert_allclose(adj, ref_adj, atol=1e-12)
    np.testing.assert_array_equal(reject, ref_reject)


def test_cluster_test_finds_planted_window(rng):
    x = 0.3 * rng.standard_normal((12, 60))
    x[:, 20:35] += 0.5
    res = cluster_test(x, n_permutations=300)
    best = int(np.argmin(res.p_values))
    assert res.p_values[best] < 0.01
    c = res.clusters[best]
    assert 17 <= c.start <= 23 and 32 <= c.stop <= 38
    assert all(p > 0.05 for i, p in enumerate(res.p_values) if i != best)


def test_errors(rng):
    rdm = rng.random(10)
    with pytest.raises(ValueError, match="model_rdms must have shape"):
        permutation_test(rdm, rng.random(6))
    with pytest.raises(ValueError, match="n_permutations must be a finite number > 0"):
        permutation_test(rdm, rdm, n_permutations=0)
    with pytest.raises(ValueError, match="over='runs' is not valid"):
        bootstrap_ci(rdm, rdm, over="runs")
    with pytest.raises(ValueError, match="needs at least 2 subject RDMs"):
        bootstrap_ci(rdm, rdm, over="subjects")
    with pytest.raises(ValueError, match=r"ci must be in \(0, 1\)"):
        bootstrap_ci(rdm, rdm, ci=95)
    with pytest.raises(ValueError, match=r"p_values must lie in \[0, 1\] with no NaN; got 1.5 "
                       r"at flat index 1\."):
        fdr_correction([0.1, 1.5])
    with pytest.raises(ValueError, match="n_subjects >= 2"):
        cluster_test(rng.random(10))


def test_bootstrap_with_few_conditions_leaves_degenerate_resamples_out(rng):
    """4 conditions: some resamples draw fewer than 3 distinct conditions (no pairs left);
    they are NaN with a warning instead of an error, and the interval is still finite."""
    subjects, models = rng.random((10, 6)), rng.random((2, 6))
    with pytest.warns(UserWarning, match=r"of 500 bootstrap resamples were left out .*: \d+ "
                      r"drew fewer than 3 distinct conditions \(of 4\)"):
        res = bootstrap_ci(subjects, models, "pearson", n_bootstraps=500, seed=1)
    assert np.isnan(res.samples).any() and np.isfinite([res.ci_low, res.ci_high]).all()
    with pytest.warns(UserWarning, match="bootstrap resamples were left out"):
        _, p = compare_models(subjects, models, "pearson", n_bootstraps=500, seed=1)
    assert np.isfinite(p).all() and (p <= 1).all()


def test_bootstrap_drops_resamples_of_fewer_than_3_conditions_as_rsatoolbox(rng):
    """The peer's case (issue 16): 11 RDMs of 5 conditions (rsatoolbox's test shape
    ``np.random.rand(11, 10)``), cosine. About 10 % of the resamples draw 2 distinct
    conditions, whose RDMs hold one repeated value: cosine exactly 1. rsatoolbox's
    ``eval_bootstrap_pattern`` leaves them out; so do we, and every kept sample equals
    rsatoolbox's evaluation of the same resample (the draws replayed from the seed)."""
    from rsatoolbox.rdm import RDMs, compare

    from neurodecode.rsa.inference import _draw_conditions

    data, model = rng.random((11, 10)), rng.random(10)
    with pytest.warns(UserWarning, match="drew fewer than 3 distinct conditions"):
        res = bootstrap_ci(data, model, "cosine", n_bootstraps=400, seed=2)
    gen = np.random.default_rng(2)
    picks = [_draw_conditions(5, gen) for _ in range(400)]
    few = np.array([len(np.unique(p)) < 3 for p in picks])
    np.testing.assert_array_equal(np.isnan(res.samples[:, 0]), few)
    assert 0.05 < few.mean() < 0.15
    data_rdms, model_rdm = RDMs(data), RDMs(model[None])
    for k in np.flatnonzero(~few)[:40]:
        sub = data_rdms.subsample_pattern("index", picks[k])
        ref = compare(model_rdm.subsample_pattern("index", picks[k]), sub, "cosine").mean()
        assert res.samples[k, 0] == pytest.approx(ref, abs=1e-12)
    assert res.ci_high[0] < 0.99  # 1.000 when the 2-condition draws were kept
    with pytest.warns(UserWarning, match="left out"):
        boot = bootstrap_ci(data, model, "cosine", over="both", n_bootstraps=200, seed=2)
    assert boot.ci_high[0] < 0.99


def test_compare_models_leaves_degenerate_resamples_out(rng):
    """Two models on 5 conditions: a 2-condition resample would count as a tie of both
    (cosine 1 and 1); left out, the p-value uses only the resamples that compare."""
    data, models = rng.random((11, 10)), rng.random((2, 10))
    with pytest.warns(UserWarning, match="left out"):
        res = bootstrap_ci(data, models, "cosine", n_bootstraps=300, seed=4)
    with pytest.warns(UserWarning, match="left out"):
        _, p = compare_models(data, models, "cosine", n_bootstraps=300, seed=4)
    boot = res.samples[:, 0] - res.samples[:, 1]
    boot = boot[~np.isnan(boot)]
    expected = min(1.0, 2 * min((1 + (boot <= 0).sum()) / (1 + boot.size),
                                (1 + (boot >= 0).sum()) / (1 + boot.size)))
    assert p[0, 1] == pytest.approx(expected)


def test_p_values_plus_one_correction(rng):
    """+1 on by default: a planted effect beyond every permutation gets 1 / (1 + n),
    not 0; plus_one=False gives the plain fraction (0)."""
    truth, subjects = _planted(rng, noise=0.1)
    res = permutation_test(subjects.mean(0), truth, n_permutations=50)
    assert res.p_value == pytest.approx(1 / 51)
    plain = permutation_test(subjects.mean(0), truth, n_permutations=50, plus_one=False)
    assert plain.p_value == 0.0
    np.testing.assert_array_equal(plain.null, res.null)
    models = np.stack([truth, rng.random(truth.size)])
    _, p = compare_models(subjects, models, "pearson", over="subjects", n_bootstraps=99)
    _, p0 = compare_models(subjects, models, "pearson", over="subjects", n_bootstraps=99,
                           plus_one=False)
    assert p[0, 1] == pytest.approx(2 / 100) and p0[0, 1] == 0.0
    x = 0.3 * rng.standard_normal((12, 40))
    x[:, 10:20] += 2.0
    c1 = cluster_test(x, n_permutations=99)
    c0 = cluster_test(x, n_permutations=99, plus_one=False)
    assert c1.p_values.min() == pytest.approx(1 / 100) and c0.p_values.min() == 0.0
