"""Cluster permutation test: equal to MNE's permutation_cluster_1samp_test (exact sign
flips), planted effects found, errors."""

from __future__ import annotations

import numpy as np
import pytest

from neurodecode.encoding import cluster_permutation_test


def _time_courses(rng, n=9, n_times=60):
    """Subjects' time courses with a positive effect at 15-25 and a negative one at 40-48."""
    X = rng.standard_normal((n, n_times))
    X[:, 15:25] += 1.5
    X[:, 40:48] -= 1.2
    return X


def _mne(X, tail, threshold=None, n_permutations=100_000):
    from mne.stats import permutation_cluster_1samp_test

    return permutation_cluster_1samp_test(X, threshold=threshold, tail=tail,
                                          n_permutations=n_permutations, out_type="indices",
                                          verbose=False)


@pytest.mark.parametrize("threshold", [None, 2.5])
def test_two_sided_equals_mne_exact(rng, threshold):
    X = _time_courses(rng)
    t_obs, masks, pv, H0 = _mne(X, 0, threshold)
    ours = cluster_permutation_test(X, tail=0, threshold=threshold, n_permutations=100_000)
    np.testing.assert_allclose(ours.t_obs, t_obs, rtol=1e-12)
    assert len(ours.clusters) == len(masks) >= 2
    theirs = {(int(c[0][0]), int(c[0][-1]) + 1): p for c, p in zip(masks, pv)}  # MNE: indices
    for c, p in zip(ours.clusters, ours.pvalues):
        assert p == pytest.approx(theirs[(c.start, c.stop)], abs=1e-12)
    np.testing.assert_allclose(np.sort(np.abs(ours.null)), np.sort(np.abs(H0[1:])), rtol=1e-10)


@pytest.mark.parametrize("tail", [1, -1])
def test_one_sided_equals_mne_up_to_its_enumeration(rng, tail):
    """MNE's exact one-sided flips hold the unflipped data twice and never the fully
    flipped data: with that one flip replaced, its null is ours and gives our p-values;
    its own p-values differ from ours by at most 1 / 2**n."""
    X = _time_courses(rng, n=8)
    t_obs, masks, pv, H0 = _mne(X, tail)
    ours = cluster_permutation_test(X, tail=tail, n_permutations=100_000)
    np.testing.assert_allclose(ours.t_obs, t_obs, rtol=1e-12)
    negated = cluster_permutation_test(-X, tail=tail, n_permutations=100_000)
    observed_max = ours.cluster_stats[np.argmax(np.abs(ours.cluster_stats))]
    full_flip = negated.cluster_stats[np.argmax(np.abs(negated.cluster_stats))] if len(
        negated.cluster_stats) else 0.0
    # MNE's flips without its second copy of the unflipped data, plus the fully flipped
    theirs_null = np.delete(H0[1:], np.argmin(np.abs(H0[1:] - observed_max)))
    theirs_null = np.r_[theirs_null, full_flip]
    np.testing.assert_allclose(np.sort(ours.null), np.sort(theirs_null), rtol=1e-10)
    assert len(ours.clusters) == len(masks) >= 1
    theirs = {(int(c[0][0]), int(c[0][-1]) + 1): p for c, p in zip(masks, pv)}
    sign = float(tail)
    for c, stat, p in zip(ours.clusters, ours.cluster_stats, ours.pvalues):
        expected = (1 + np.sum(sign * theirs_null >= sign * stat)) / (len(theirs_null) + 1)
        assert p == pytest.approx(expected, abs=1e-12)
        assert abs(p - theirs[(c.start, c.stop)]) <= 1 / 2 ** X.shape[0] + 1e-12


def test_random_flips_find_planted_clusters(rng):
    X = _time_courses(rng, n=30, n_times=80)
    res = cluster_permutation_test(X, n_permutations=500, seed=1)
    assert len(res.null) == 499 and res.pvalues.min() >= 1 / 500
    significant = [c for c, p in zip(res.clusters, res.pvalues) if p < 0.05]
    assert any(c.start <= 17 and c.stop >= 23 for c in significant)
    assert any(c.start <= 42 and c.stop >= 46 for c in significant)
    assert all(c.start >= 10 and c.stop <= 52 for c in significant)
    again = cluster_permutation_test(X, n_permutations=500, seed=1)
    np.testing.assert_array_equal(again.pvalues, res.pvalues)


def test_errors(rng):
    X = _time_courses(rng)
    with pytest.raises(ValueError, match=r"X must have shape \(n_observations >= 2, n_times\)"):
        cluster_permutation_test(X[:1])
    with pytest.raises(ValueError, match="tail=2 is not valid; expected one of -1, 0, 1"):
        cluster_permutation_test(X, tail=2)
    with pytest.raises(ValueError, match="n_permutations must be >= 2 or 'all'; got 1"):
        cluster_permutation_test(X, n_permutations=1)
    bad = X.copy()
    bad[0, 3] = np.nan
    with pytest.raises(ValueError, match="X"):
        cluster_permutation_test(bad)
