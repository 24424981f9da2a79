"""Noise ceiling against rsatoolbox and planted noise levels."""

from __future__ import annotations

import numpy as np
import pytest
from rsatoolbox.inference import boot_noise_ceiling
from rsatoolbox.rdm import RDMs
from rsatoolbox.util.matrix import get_v

from neurodecode.rsa import noise_ceiling, pool_rdms
from neurodecode.rsa.compare import _whiten

pytestmark = pytest.mark.filterwarnings("ignore:Noise ceiling for tau")


@pytest.mark.parametrize(
    ("method", "ref"),
    [("pearson", "corr"), ("spearman", "spearman"), ("cosine", "cosine"), ("kendall_tau_a", "tau-a")],
)
def test_equal_to_rsatoolbox(rng, method, ref):
    x = rng.random(66) + 0.7 * rng.random((5, 66))
    lower, upper = noise_ceiling(x, method)
    ref_low, ref_up = boot_noise_ceiling(RDMs(x), method=ref)
    np.testing.assert_allclose([lower, upper], [ref_low, ref_up], atol=1e-10)


@pytest.mark.parametrize(("method", "ref"), [("whitened_cosine", "cosine_cov"), ("whitened_pearson", "corr_cov")])
def test_whitened_pooling_uses_the_exact_whitened_norm(rng, method, ref):
    x = rng.random(45) + 0.7 * rng.random((4, 45))
    # our whitened norm is rsatoolbox's x' V^-1 x solved exactly (it uses conjugate gradients)
    v = get_v(10, None).toarray()
    exact = np.einsum("ij,ij->i", x, np.linalg.solve(v, x.T).T)
    np.testing.assert_allclose((_whiten(x) ** 2).sum(-1), exact, rtol=1e-10)
    ours = noise_ceiling(x, method)
    np.testing.assert_allclose(ours, boot_noise_ceiling(RDMs(x), method=ref), atol=1e-3)


def test_planted_noise_lowers_the_ceiling(rng):
    truth = rng.random(120)
    clean = truth + 0.2 * rng.standard_normal((6, 120))
    noisy = truth + 2.0 * rng.standard_normal((6, 120))
    lo_c, up_c = noise_ceiling(clean)
    lo_n, up_n = noise_ceiling(noisy)
    assert lo_c < up_c and lo_n < up_n
    assert lo_c > 0.8 and up_n < lo_c


def test_leading_axes(rng):
    x = rng.random((4, 7, 28))
    lower, upper = noise_ceiling(x, "pearson")
    assert lower.shape == upper.shape == (7,)
    assert np.isclose(lower[3], noise_ceiling(x[:, 3], "pearson")[0])
    assert pool_rdms(x, "spearman").shape == (7, 28)


def test_errors(rng):
    with pytest.raises(ValueError, match="n_subjects >= 2"):
        noise_ceiling(rng.random((1, 10)))
    with pytest.raises(ValueError, match="method='tau' is not valid"):
        noise_ceiling(rng.random((3, 10)), "tau")
    with pytest.raises(ValueError, match="method='x' is not valid"):
        pool_rdms(rng.random((3, 10)), "x")


@pytest.mark.parametrize(("method", "ref"), [("whitened_cosine", "cosine_cov"), ("whitened_pearson", "corr_cov")])
def test_whitened_ceiling_is_boot_noise_ceiling_with_the_whitened_pooling(rng, method, ref,
                                                                          monkeypatch):
    """As documented (issue 16): boot_noise_ceiling pools with inference_util.pool_rdm,
    which still normalises cosine_cov/corr_cov RDMs like cosine/corr; ours pool with the
    whitened norms of rsatoolbox.util.pooling.pool_rdm. With that pooling (and an exact
    solve for its conjugate gradients) the two are equal to 1e-10."""
    import rsatoolbox.inference.noise_ceiling as nc
    import rsatoolbox.util.pooling as pooling
    import scipy.sparse.linalg

    def exact_cg(v, r, atol=None):
        return scipy.sparse.linalg.spsolve(scipy.sparse.csc_matrix(v), r), 0

    x = rng.random(45) + 0.7 * rng.random((4, 45))
    old = boot_noise_ceiling(RDMs(x), method=ref)
    monkeypatch.setattr(nc, "pool_rdm", pooling.pool_rdm)
    monkeypatch.setattr(pooling.scipy.sparse.linalg, "cg", exact_cg)
    ours = noise_ceiling(x, method)
    np.testing.assert_allclose(ours, boot_noise_ceiling(RDMs(x), method=ref), atol=1e-10)
    assert np.abs(np.subtract(ours, old)).max() > 1e-6  # the two poolings differ


def test_a_method_without_pooling_rule_has_no_ceiling(rng):
    with pytest.raises(ValueError, match="method='bures' has no pooling rule"):
        pool_rdms(rng.random((3, 10)), "bures")
    with pytest.raises(ValueError, match="method='bures' defines no noise ceiling"):
        noise_ceiling(rng.random((3, 10)), "bures")
