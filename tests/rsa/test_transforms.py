"""RDM transforms against rsatoolbox's rank/sqrt transforms, reorder and pattern subsets."""

from __future__ import annotations

import numpy as np
import pytest
from rsatoolbox.rdm import RDMs
from rsatoolbox.rdm.transform import rank_transform, sqrt_transform

from neurodecode.rsa import rank_rdms, reorder_rdms, sqrt_rdms, subsample_rdms, subset_rdms


def test_rank_and_sqrt_equal_to_rsatoolbox(rng):
    x = rng.integers(0, 5, (3, 10)).astype(float)  # ties
    x[1, 4] = np.nan
    np.testing.assert_allclose(rank_rdms(x), rank_transform(RDMs(x)).get_vectors(),
                               equal_nan=True)
    np.testing.assert_allclose(rank_rdms(x[None])[0], rank_rdms(x), equal_nan=True)
    y = rng.random((2, 15))
    np.testing.assert_allclose(sqrt_rdms(y), sqrt_transform(RDMs(y)).get_vectors())


def test_reorder_subset_subsample_equal_to_rsatoolbox(rng):
    x = rng.random((2, 21))  # 7 conditions
    order = rng.permutation(7)
    ref = RDMs(x)
    ref.reorder(order)
    np.testing.assert_allclose(reorder_rdms(x, order), ref.get_vectors())
    keep = [5, 1, 3]
    np.testing.assert_allclose(subset_rdms(x, keep),
                               RDMs(x).subset_pattern("index", keep).get_vectors())
    mask = np.zeros(7, bool)
    mask[keep] = True
    np.testing.assert_allclose(subset_rdms(x, mask), subset_rdms(x, keep))
    pick = np.array([4, 0, 4, 2, 6, 6, 1])
    np.testing.assert_allclose(subsample_rdms(x, pick),
                               RDMs(x).subsample_pattern("index", pick).get_vectors(),
                               equal_nan=True)


def test_errors(rng):
    x = rng.random(10)
    with pytest.raises(ValueError, match="ties='mean' is not valid"):
        rank_rdms(x, "mean")
    with pytest.raises(ValueError, match="sqrt_rdms needs non-negative dissimilarities; got 1"):
        sqrt_rdms(np.r_[x[:-1], -0.1])
    with pytest.raises(ValueError, match=r"order must be a permutation of the 5 conditions"):
        reorder_rdms(x, [0, 1, 2, 3, 3])
    with pytest.raises(ValueError, match="at least 2 distinct conditions"):
        subset_rdms(x, [1, 1])
    with pytest.raises(ValueError, match=r"conditions must lie in \[0, 5\)"):
        subsample_rdms(x, [0, 7])
    with pytest.raises(ValueError, match="rdms must be condensed RDMs"):
        rank_rdms(rng.random(7))
    with pytest.raises(ValueError, match=r"a condition mask must have shape \(5,\)"):
        subset_rdms(x, np.ones(4, bool))
    with pytest.raises(ValueError, match="conditions must be a 1-D array of indices"):
        subset_rdms(x, [0.5, 1.5])
    with pytest.raises(ValueError, match="at least 2 entries"):
        subsample_rdms(x, [3])
