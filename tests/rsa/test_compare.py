"""compare_rdms against rsatoolbox and scipy, NaN handling, shapes, backends, errors."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats
import torch
from rsatoolbox.rdm import RDMs, compare

from neurodecode.rsa import compare_rdms, compare_rdms_paired

RSATOOLBOX = {
    "pearson": "corr",
    "spearman": "spearman",
    "kendall_tau_a": "tau-a",
    "cosine": "cosine",
    "whitened_pearson": "corr_cov",
    "whitened_cosine": "cosine_cov",
    "rho_a": "rho-a",
    "kendall_tau_b": "tau-b",
}


@pytest.mark.parametrize("method", list(RSATOOLBOX))
def test_equal_to_rsatoolbox(rng, method):
    a, b = rng.random((4, 66)), rng.random((3, 66))
    ref = compare(RDMs(a), RDMs(b), RSATOOLBOX[method])
    np.testing.assert_allclose(compare_rdms(a, b, method), ref, atol=1e-10)


def test_kendall_tau_a_with_ties_equal_to_rsatoolbox(rng):
    a = rng.integers(0, 4, (3, 105)).astype(float)  # many ties in both
    b = rng.integers(0, 3, (5, 105)).astype(float)
    ref = compare(RDMs(a), RDMs(b), "tau-a")
    np.testing.assert_allclose(compare_rdms(a, b, "kendall_tau_a"), ref, atol=1e-12)


def test_equal_to_scipy(rng):
    a, b = rng.random(45), rng.random(45)
    assert np.isclose(compare_rdms(a, b, "pearson"), scipy.stats.pearsonr(a, b)[0], atol=1e-12)
    assert np.isclose(compare_rdms(a, b, "spearman"), scipy.stats.spearmanr(a, b)[0], atol=1e-12)
    # untied data: tau-a equals scipy's tau-b
    assert np.isclose(
        compare_rdms(a, b, "kendall_tau_a"), scipy.stats.kendalltau(a, b)[0], atol=1e-12
    )


def _tau_a_by_definition(x: np.ndarray, y: np.ndarray) -> float:
    """(concordant - discordant) / all pairs, from the n^2 sign products."""
    sx, sy = np.sign(x[:, None] - x[None, :]), np.sign(y[:, None] - y[None, :])
    return float(np.triu(sx * sy, 1).sum() / (x.size * (x.size - 1) / 2))


@pytest.mark.parametrize("n_values", [3, 40, None])
def test_kendall_tau_a_equals_its_definition(rng, n_values):
    """Runs of ties in either or both RDMs (few values), some (40 values) or none; one
    row of ``a`` against many models (model chunks per thread) and many against one."""
    size = 190
    draw = (lambda s: rng.random(s)) if n_values is None else (
        lambda s: rng.integers(0, n_values, s).astype(float))
    a, b = draw((3, size)), draw((5, size))
    b[4] = rng.standard_t(1, size)  # heavy tails: dense ranks by argsort
    out = compare_rdms(a, b, "kendall_tau_a", n_jobs=2)
    ref = np.array([[_tau_a_by_definition(x, y) for y in b] for x in a])
    np.testing.assert_allclose(out, ref, atol=1e-12)
    np.testing.assert_allclose(compare_rdms(a[0], b, "kendall_tau_a", n_jobs=4), ref[0],
                               atol=1e-12)
    np.testing.assert_allclose(compare_rdms(a, b[2], "kendall_tau_a"), ref[:, 2], atol=1e-12)


def test_all_nan_data_rdms_give_nan_of_the_right_shape(rng):
    models = rng.random((2, 6))
    for method in ("kendall_tau_a", "spearman"):
        out = compare_rdms(np.full((3, 6), np.nan), models, method)
        assert out.shape == (3, 2) and np.isnan(out).all()
        assert compare_rdms(np.full((3, 6), np.nan), models[0], method).shape == (3,)


def test_shapes_and_leading_axes(rng):
    a, b = rng.random((2, 5, 28)), rng.random((3, 28))
    out = compare_rdms(a, b)
    assert out.shape == (2, 5, 3)
    assert compare_rdms(a, b[0]).shape == (2, 5)
    np.testing.assert_allclose(out[1, 4, 2], scipy.stats.spearmanr(a[1, 4], b[2])[0], atol=1e-12)


@pytest.mark.parametrize("method", list(RSATOOLBOX))
def test_nan_pairs_excluded_per_pair_of_rdms(rng, method):
    """A NaN pair leaves out that pair from the comparisons of its own RDM only: every
    (data, model) value equals rsatoolbox on those two RDMs alone, NaN at the union of
    their NaN pairs (rsatoolbox asks both to share them). The old rule, dropping a pair
    NaN anywhere from every comparison of the call, made a value depend on the other
    RDMs of the call (the searchlight and time-course bug of issue 16)."""
    a, b = rng.random((3, 45)), rng.random((2, 45))
    a[1, 7] = np.nan
    b[0, 30] = np.nan
    out = compare_rdms(a, b, method)
    assert np.isfinite(out).all()
    for i in range(3):
        for j in range(2):
            nan = np.isnan(a[i]) | np.isnan(b[j])
            x, y = a[i].copy(), b[j].copy()
            x[nan], y[nan] = np.nan, np.nan
            if not method.startswith("whitened"):
                x, y = x[~nan], y[~nan]
            ref = compare(RDMs(x[None]), RDMs(y[None]), RSATOOLBOX[method])[0, 0]
            assert out[i, j] == pytest.approx(ref, abs=1e-10)
            assert compare_rdms(a[i], b[j], method) == pytest.approx(ref, abs=1e-10)
    np.testing.assert_allclose(compare_rdms(a[[0, 2]], b[1], method), out[[0, 2], 1],
                               atol=1e-12)


def test_paired_comparison(rng):
    a, b = rng.random((4, 36)), rng.random((4, 36))
    for method in RSATOOLBOX:
        full = compare_rdms(a, b, method)
        np.testing.assert_allclose(compare_rdms_paired(a, b, method), np.diag(full), atol=1e-12)


def test_torch_backend(rng):
    a, b = rng.random((6, 66)), rng.random((2, 66))
    for method in ["pearson", "spearman", "cosine", "whitened_cosine"]:
        ours = compare_rdms(torch.from_numpy(a), b, method, backend="torch")
        np.testing.assert_allclose(ours, compare_rdms(a, b, method), atol=1e-10)


def test_planted_model_ranks_first(rng):
    truth = rng.random(190)
    data = truth + 0.3 * rng.standard_normal((10, 190))
    models = np.stack([rng.random(190), truth, rng.random(190)])
    for method in RSATOOLBOX:
        assert (compare_rdms(data, models, method).argmax(-1) == 1).all()


def test_errors(rng):
    with pytest.raises(ValueError, match="method='spearmann' is not valid.*Did you mean 'spearman'"):
        compare_rdms(rng.random(6), rng.random(6), "spearmann")
    with pytest.raises(ValueError, match=r"same number of pairs .*got 10 pairs \(5 conditions\) "
                       r"and 6 \(4 conditions\): the model RDM has fewer conditions"):
        compare_rdms(rng.random(10), rng.random(6))
    with pytest.raises(ValueError, match="same number of pairs"):
        compare_rdms(rng.random(6), rng.random(10))
    with pytest.raises(ValueError, match="rdm_a must be condensed RDMs"):
        compare_rdms(rng.random(7), rng.random(7))
    with pytest.raises(ValueError, match="rdm_b must be condensed RDMs"):
        compare_rdms(rng.random(6), rng.random((4, 4)))
    with pytest.raises(ValueError, match=r"rdm_b \(n_models, n_pairs\)"):
        compare_rdms(rng.random(6), rng.random((2, 2, 6)))
    with pytest.raises(ValueError, match="fewer than 2 pairs that are not NaN"):
        compare_rdms(np.full(6, np.nan), rng.random(6))


def test_all_nan_rdm_gives_nan_without_affecting_others(rng):
    a, b = rng.random((3, 4, 15)), rng.random((2, 15))
    ref = compare_rdms(a, b)
    a[1, 2] = np.nan
    out = compare_rdms(a, b)
    assert np.isnan(out[1, 2]).all()
    mask = np.ones((3, 4), bool)
    mask[1, 2] = False
    np.testing.assert_allclose(out[mask], ref[mask])


def test_spearman_with_ties_equal_to_scipy(rng):
    a = rng.integers(0, 5, (3, 28)).astype(float)
    b = rng.random((2, 28))
    out = compare_rdms(a, b, "spearman")
    for i in range(3):
        for j in range(2):
            assert np.isclose(out[i, j], scipy.stats.spearmanr(a[i], b[j])[0], atol=1e-12)


def test_backend_errors(rng):
    with pytest.raises(ValueError, match="backend='jax' is not valid"):
        compare_rdms(rng.random(6), rng.random(6), backend="jax")
    with pytest.raises(ValueError, match="device='cuda' needs backend='torch'"):
        compare_rdms(rng.random(6), rng.random(6), backend="numpy", device="cuda")


def test_ranks_resolve_nearly_equal_and_signed_values_exactly(rng):
    """Values sharing a bucket (runs of several), -0.0 vs 0.0 (a tie), infinities,
    constant rows and rows too long for 32-bit keys: ranks equal rankdata exactly."""
    from neurodecode.rsa.compare import _ranks

    base = rng.standard_t(1, (70, 45))  # heavy tails: most values share a few buckets
    base[:, 1] = np.nextafter(base[:, 0], np.inf)  # differ in the last bit only
    base[:, 2] = np.nextafter(base[:, 0], -np.inf)
    base[::3, 3], base[::3, 4] = -0.0, 0.0
    base[5, 9], base[6, 9] = np.inf, -np.inf
    base[7] = 2.5
    ref = scipy.stats.rankdata(base, axis=-1) - 23.0
    np.testing.assert_array_equal(_ranks(base), ref)
    long_rows = rng.standard_normal((2, 70_000)) ** 5
    long_rows[1, 5] = np.nextafter(long_rows[1, 4], np.inf)
    np.testing.assert_array_equal(
        _ranks(long_rows), scipy.stats.rankdata(long_rows, axis=-1) - 35_000.5
    )
    models = rng.random((3, 45))
    out = compare_rdms(base[:5], models, "spearman")
    for i in (0, 3, 4):
        assert np.isclose(out[i, 1], scipy.stats.spearmanr(base[i], models[1])[0], atol=1e-12)


def test_counting_sort_kernel_ranks_ties_and_neighbours_exactly(rng):
    """The compiled counting sort itself (not its rankdata fallback) on rows with exact
    ties (pairs and runs), values a bit apart, -0.0 vs 0.0 and several values per bucket:
    it ranks every such row, exactly as rankdata."""
    from neurodecode.rsa._kernels import centred_ranks

    x = rng.standard_normal((40, 501))
    x[:, 1] = x[:, 0]  # a tied pair
    x[:, 10:14] = x[:, 9:10]  # a run of five equal values
    x[:, 20] = np.nextafter(x[:, 21], np.inf)  # neighbours in the last bit
    x[::2, 30], x[::2, 31] = -0.0, 0.0
    x[3] = np.round(x[3], 1)  # many ties, several values in one bucket
    out, done = np.empty_like(x), np.empty(len(x), bool)
    centred_ranks(x, out, done)
    assert done.all()
    np.testing.assert_array_equal(out, scipy.stats.rankdata(x, axis=-1) - 251.0)
    heavy = rng.standard_t(1, (3, 501))  # crowded buckets: left to the caller
    heavy[2, 0] = np.inf
    heavy[1] = np.arange(501) * 1e-311  # subnormal range: the bucket scale overflows
    centred_ranks(heavy, np.empty_like(heavy), done[:3])
    assert not done[:3].any()
    tiny = np.arange(496) * 1e-311  # 32 conditions
    assert compare_rdms(tiny, tiny[::-1], "spearman") == pytest.approx(-1.0)


def test_constant_rdms_give_nan_correlations_with_a_warning(rng):
    """A constant RDM (0.1 everywhere: its mean is not exact) has no correlation: NaN and
    a warning, not rounding noise; cosine stays defined and Kendall's tau-a is 0."""
    data, flat = rng.random((3, 45)), np.full(45, 0.1)
    for method in ("pearson", "spearman", "whitened_pearson"):
        with pytest.warns(UserWarning, match=r"0 data RDM\(s\) and 1 model RDM\(s\) are constant"):
            assert np.isnan(compare_rdms(data, flat, method)).all()
    assert np.isfinite(compare_rdms(data, flat, "cosine")).all()
    np.testing.assert_array_equal(compare_rdms(data, flat, "kendall_tau_a"), 0.0)


@pytest.mark.parametrize("method", ["rho_a", "kendall_tau_b", "bures"])
def test_new_methods_equal_to_rsatoolbox_with_ties(rng, method):
    """rho-a, tau-b and Bures on rsatoolbox's own test inputs (random RDMs of 5 and 12
    conditions; ties in tau-b and rho-a)."""
    peer = {"rho_a": "rho-a", "kendall_tau_b": "tau-b", "bures": "bures"}[method]
    for a, b in [(rng.random((3, 10)), rng.random((2, 10))),
                 (rng.integers(0, 4, (3, 66)).astype(float), rng.random((4, 66)))]:
        ref = compare(RDMs(a), RDMs(b), peer)
        np.testing.assert_allclose(compare_rdms(a, b, method), ref, atol=1e-10)
        np.testing.assert_allclose(compare_rdms_paired(a[:2], b[:2], method), np.diag(ref[:2, :2]),
                                   atol=1e-10)


def test_bures_needs_complete_rdms(rng):
    a = rng.random((2, 10))
    a[0, 3] = np.nan
    with pytest.raises(ValueError, match="method='bures' needs complete RDMs; got 1 NaN"):
        compare_rdms(a, rng.random(10), "bures")


def test_a_new_method_is_one_record(rng, monkeypatch):
    """Registering a Method is all it takes: compare_rdms, compare_rdms_paired, pool_rdms
    and noise_ceiling read it; a record without a pooling rule has no ceiling."""
    from neurodecode.rsa import methods, noise_ceiling, pool_rdms

    record = methods.Method("dot", lambda x, keep: x / x.shape[-1], methods.pool_unit_rms)
    monkeypatch.setitem(methods.METHODS, "mean_product", record)
    a, b = rng.random((3, 15)), rng.random((2, 15))
    np.testing.assert_allclose(compare_rdms(a, b, "mean_product"), a @ b.T / 225)
    np.testing.assert_allclose(compare_rdms_paired(a[:2], b, "mean_product"),
                               (a[:2] * b).sum(-1) / 225)
    assert np.isfinite(noise_ceiling(a, "mean_product")).all()
    monkeypatch.setitem(methods.METHODS, "unpooled", methods.Method(
        "cosine", methods.identity, ceiling=False))
    assert compare_rdms(a[0], a[0], "unpooled") == pytest.approx(1.0)
    with pytest.raises(ValueError, match="method='unpooled' has no pooling rule"):
        pool_rdms(a, "unpooled")
    with pytest.raises(ValueError, match="a Method with ceiling=True needs a pool rule"):
        methods.Method("cosine", methods.identity)
    with pytest.raises(ValueError, match="kernel='sum' is not valid"):
        methods.Method("sum", methods.identity, ceiling=False)
    with pytest.raises(ValueError, match="kernel='cosine' needs a transform"):
        methods.Method("cosine", ceiling=False)
