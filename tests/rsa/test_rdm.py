"""compute_rdm against scipy's pdist and rsatoolbox, on random data, in float64."""

from __future__ import annotations

import numpy as np
import pytest
import rsatoolbox
import torch
from rsatoolbox.data.noise import prec_from_residuals
from scipy.spatial.distance import pdist, squareform

from neurodecode.rsa import compute_rdm, noise_covariance, noise_precision, to_condensed, to_square


def _rsa_dataset(patterns, runs=None):
    n_runs = 1 if runs is None else patterns.shape[0]
    flat = patterns.reshape(-1, patterns.shape[-1])
    n_cond = flat.shape[0] // n_runs
    desc = {"conds": np.tile(np.arange(n_cond), n_runs)}
    if runs is not None:
        desc["runs"] = np.repeat(np.arange(n_runs), n_cond)
    return rsatoolbox.data.Dataset(flat, obs_descriptors=desc)


@pytest.mark.parametrize("metric", ["correlation", "euclidean", "sqeuclidean", "cosine"])
def test_equal_to_scipy_pdist(rng, metric):
    x = rng.standard_normal((12, 30))
    np.testing.assert_allclose(compute_rdm(x, metric), pdist(x, metric), atol=1e-10)


def test_equal_to_rsatoolbox_correlation_and_euclidean(rng):
    x = rng.standard_normal((10, 25))
    ds = _rsa_dataset(x)
    corr = rsatoolbox.rdm.calc_rdm(ds, method="correlation", descriptor="conds")
    eucl = rsatoolbox.rdm.calc_rdm(ds, method="euclidean", descriptor="conds")
    np.testing.assert_allclose(compute_rdm(x), corr.get_vectors()[0], atol=1e-10)
    # rsatoolbox's "euclidean" is the squared distance per feature
    np.testing.assert_allclose(compute_rdm(x, "sqeuclidean") / 25, eucl.get_vectors()[0], atol=1e-10)


def test_mahalanobis_equal_to_rsatoolbox_and_scipy(rng):
    x = rng.standard_normal((9, 15))
    prec = noise_precision(rng.standard_normal((60, 15)))
    ds = _rsa_dataset(x)
    ref = rsatoolbox.rdm.calc_rdm(ds, method="mahalanobis", descriptor="conds", noise=prec)
    ours = compute_rdm(x, "mahalanobis", noise=prec)
    np.testing.assert_allclose(ours, ref.get_vectors()[0], atol=1e-9)
    np.testing.assert_allclose(ours, pdist(x, "mahalanobis", VI=prec) ** 2 / 15, atol=1e-9)
    cov = np.linalg.inv(prec)
    np.testing.assert_allclose(
        compute_rdm(x, "mahalanobis", noise=cov, noise_type="covariance"), ours, atol=1e-8
    )


@pytest.mark.filterwarnings("ignore:invalid value encountered in cast:RuntimeWarning")
@pytest.mark.parametrize("whiten", [False, True])
def test_crossnobis_equal_to_rsatoolbox(rng, whiten):
    x = rng.standard_normal((5, 8, 20))  # runs, conditions, features
    prec = noise_precision(rng.standard_normal((50, 20)), "shrinkage_eye") if whiten else None
    ds = _rsa_dataset(x, runs=True)
    ref = rsatoolbox.rdm.calc_rdm(
        ds, method="crossnobis", descriptor="conds", cv_descriptor="runs", noise=prec
    )
    ours = compute_rdm(x, "crossnobis", noise=prec)
    np.testing.assert_allclose(ours, ref.get_vectors()[0], atol=1e-9)


def test_crossnobis_is_unbiased_and_runs_group(rng):
    # planted: 2 conditions identical, noise only -> crossnobis ~ 0, euclidean > 0
    signal = rng.standard_normal((3, 50))
    signal[1] = signal[0]
    x = signal[None] + rng.standard_normal((40, 3, 50))
    d = compute_rdm(x, "crossnobis")
    assert abs(d[0]) < 0.05 and d[1] > 1.5
    grouped = compute_rdm(x, "crossnobis", runs=np.repeat(np.arange(20), 2))
    averaged = compute_rdm(x.reshape(20, 2, 3, 50).mean(1), "crossnobis")
    np.testing.assert_allclose(grouped, averaged, atol=1e-12)


def test_leading_axes_in_one_pass(rng):
    x = rng.standard_normal((4, 7, 6, 11))
    out = compute_rdm(x)
    assert out.shape == (4, 7, 15)
    np.testing.assert_allclose(out[2, 5], pdist(x[2, 5], "correlation"), atol=1e-10)
    cn = compute_rdm(rng.standard_normal((3, 4, 6, 11)), "crossnobis")
    assert cn.shape == (3, 15)
    cov = np.cov(rng.standard_normal((11, 40)))
    ma = compute_rdm(x, "mahalanobis", noise=cov, noise_type="covariance")
    ref = pdist(x[1, 3], "mahalanobis", VI=np.linalg.inv(cov)) ** 2 / 11
    np.testing.assert_allclose(ma[1, 3], ref, atol=1e-9)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_torch_backend_matches_numpy(rng, dtype):
    x = rng.standard_normal((5, 10, 16))
    for metric in ["correlation", "euclidean", "cosine", "crossnobis"]:
        ours = compute_rdm(torch.from_numpy(x), metric, backend="torch", dtype=dtype)
        assert isinstance(ours, torch.Tensor) and str(ours.dtype) == f"torch.{dtype}"
        tol = 1e-4 if dtype == "float32" else 1e-10
        np.testing.assert_allclose(ours.numpy(), compute_rdm(x, metric), atol=tol)


def test_float32_input_stays_float32(rng):
    x = rng.standard_normal((6, 10)).astype(np.float32)
    assert compute_rdm(x).dtype == np.float32
    assert compute_rdm(x, dtype="float64").dtype == np.float64


@pytest.mark.parametrize("method", ["shrinkage_diag", "shrinkage_eye", "diag", "full"])
def test_noise_covariance_equal_to_rsatoolbox(rng, method):
    res = rng.standard_normal((40, 12)) @ rng.standard_normal((12, 12))
    ref = prec_from_residuals(res.copy(), method=method)
    np.testing.assert_allclose(noise_precision(res, method), ref, rtol=1e-8, atol=1e-10)


def test_square_condensed_roundtrip(rng):
    v = rng.random((3, 10))
    sq = to_square(v)
    assert sq.shape == (3, 5, 5)
    np.testing.assert_array_equal(to_condensed(sq), v)


def test_errors(rng):
    x = rng.standard_normal((5, 4))
    with pytest.raises(ValueError, match="metric='corr' is not valid; expected one of"):
        compute_rdm(x, "corr")
    with pytest.raises(ValueError, match="at least 3 conditions"):
        compute_rdm(x[:2])
    bad = x.copy()
    bad[1, 2] = np.nan
    with pytest.raises(ValueError, match="patterns contains 1 NaN"):
        compute_rdm(bad)
    with pytest.raises(ValueError, match="at least 2 runs"):
        compute_rdm(x[None], "crossnobis")
    with pytest.raises(ValueError, match="must have shape"):
        compute_rdm(np.ones(5))
    with pytest.raises(TypeError, match="numeric"):
        compute_rdm(np.array([["a", "b"]] * 3))
    with pytest.raises(ValueError, match="noise must have shape"):
        compute_rdm(x, "mahalanobis", noise=np.eye(3))
    with pytest.raises(ValueError, match="runs is used only by metric='crossnobis'; got "
                       "metric='correlation'"):
        compute_rdm(rng.random((4, 6)), runs=[0, 1])
    with pytest.raises(ValueError, match="metric='correlation' needs at least 2 features"):
        compute_rdm(rng.random((2, 4, 1)))
    with pytest.raises(ValueError, match="noise is used only"):
        compute_rdm(x, "euclidean", noise=np.eye(4))
    with pytest.raises(ValueError, match="runs must have one label per run"):
        compute_rdm(x[None].repeat(3, 0), "crossnobis", runs=[0, 1])
    with pytest.raises(ValueError, match="at least 2 distinct run labels"):
        compute_rdm(x[None].repeat(3, 0), "crossnobis", runs=[0, 0, 0])
    with pytest.raises(ValueError, match="backend='torch'"):
        compute_rdm(x, backend="numpy", device="cuda")
    with pytest.raises(ValueError, match="dtype='float16' is not valid"):
        compute_rdm(x, dtype="float16")
    with pytest.raises(ValueError, match="method='ledoit' is not valid"):
        noise_covariance(x, "ledoit")
    with pytest.raises(ValueError, match="residuals must have shape"):
        noise_covariance(np.ones(4))
    with pytest.raises(ValueError, match="condensed RDMs"):
        to_square(np.ones(4))


@pytest.mark.gpu
def test_cuda_backend_matches_numpy(rng):
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    x = rng.standard_normal((50, 20, 64))
    ours = compute_rdm(torch.from_numpy(x), backend="torch", device="cuda")
    assert ours.device.type == "cuda"
    np.testing.assert_allclose(ours.cpu().numpy(), compute_rdm(x), atol=1e-10)


@pytest.mark.parametrize("metric", ["correlation", "euclidean", "sqeuclidean", "cosine"])
def test_strided_views_and_merged_leading_axes_equal_pdist(rng, metric):
    """Time-last recordings viewed time-first, float32 input, and leading axes that
    cannot be merged without a copy: each RDM still equals pdist."""
    data = rng.standard_normal((9, 40, 23)) + 3.0  # (conditions, channels, times)
    out = compute_rdm(data.transpose(2, 0, 1), metric)
    assert out.shape == (23, 36) and out.dtype == np.float64
    for t in (0, 11, 22):
        np.testing.assert_allclose(out[t], pdist(data[:, :, t], metric), atol=1e-10)
    sub = compute_rdm(data[:, :30].transpose(2, 0, 1), metric)  # channels not mergeable
    np.testing.assert_allclose(sub[7], pdist(data[:, :30, 7], metric), atol=1e-10)
    four = rng.standard_normal((5, 9, 12, 3)).transpose(3, 0, 1, 2)  # (3, 5, 9, 12)
    out4 = compute_rdm(four, metric, n_jobs=2)
    np.testing.assert_allclose(out4[2, 4], pdist(four[2, 4], metric), atol=1e-10)
    f32 = compute_rdm(data.astype(np.float32).transpose(2, 0, 1), metric)
    assert f32.dtype == np.float32
    np.testing.assert_allclose(f32[5], out[5], rtol=1e-3, atol=1e-3)


def test_constant_patterns_give_nan_with_a_warning(rng):
    """A flat condition pattern (e.g. zeroed by a hard baseline) has no correlation: its
    pairs are NaN with a warning naming it, on the 2-D and the batched paths alike."""
    x = rng.standard_normal((3, 5, 40))
    x[1, 2] = 0.1  # constant, with a mean that is not exact in binary
    with pytest.warns(UserWarning, match=r"1 condition pattern\(s\) are constant .* "
                      r"condition 2 at leading index \(1,\)"):
        batched = compute_rdm(x, "correlation")
    with pytest.warns(UserWarning, match="condition 2 at leading index"):
        single = compute_rdm(x[1], "correlation")
    nan = np.isnan(squareform(single, checks=False))
    assert nan[2].sum() == 4 and nan.sum() == 8  # row and column of condition 2
    np.testing.assert_array_equal(np.isnan(batched[1]), np.isnan(single))
    np.testing.assert_allclose(batched[1], single, atol=1e-12)
    assert np.isfinite(batched[[0, 2]]).all()
    x[0, 1] = 0.0
    with pytest.warns(UserWarning, match="constant"):
        assert np.isnan(compute_rdm(x, "cosine")[0]).sum() == 4


def test_euclidean_keeps_its_digits_with_a_large_offset(rng):
    """Raw BOLD in float32 (mean 1000): the distances are shift-invariant and computed
    after centring across conditions, so float32 stays within 1e-6 of scipy."""
    x = (1000 + rng.standard_normal((2, 6, 200))).astype(np.float32)
    for metric in ("euclidean", "sqeuclidean"):
        ref = pdist(x[0].astype(np.float64), metric)
        for out in (compute_rdm(x, metric)[0], compute_rdm(x[0], metric)):
            assert np.abs(out - ref).max() / ref.max() < 1e-6


@pytest.mark.filterwarnings("ignore:invalid value encountered in cast:RuntimeWarning")
def test_crossnobis_with_unequal_trials_per_run_equal_to_rsatoolbox(rng):
    """rsatoolbox's crossnobis from single trials averages the training runs trial by
    trial; with n_trials the per-run means give the same RDM (up to 0.1 apart without)."""
    from rsatoolbox.data import Dataset
    from rsatoolbox.rdm import calc_rdm

    n_runs, n_cond, n_feat = 4, 5, 12
    counts = rng.integers(1, 6, (n_runs, n_cond))
    trials, conds, runs = [], [], []
    for r in range(n_runs):
        for c in range(n_cond):
            trials.append(rng.standard_normal((counts[r, c], n_feat)) + c)
            conds += [c] * counts[r, c]
            runs += [r] * counts[r, c]
    data = np.concatenate(trials)
    conds, runs = np.array(conds), np.array(runs)
    means = np.stack([[data[(runs == r) & (conds == c)].mean(0) for c in range(n_cond)]
                      for r in range(n_runs)])
    prec = np.linalg.inv(np.cov(rng.standard_normal((200, n_feat)).T))
    ds = Dataset(data, obs_descriptors={"conds": conds, "runs": runs})
    for noise in (None, prec):
        ref = calc_rdm(ds, method="crossnobis", descriptor="conds", cv_descriptor="runs",
                       noise=noise).get_vectors()[0]
        ours = compute_rdm(means, "crossnobis", n_trials=counts, noise=noise)
        np.testing.assert_allclose(ours, ref, atol=1e-10)
    assert np.abs(compute_rdm(means, "crossnobis") - ref).max() > 1e-3  # unweighted differs
    equal = compute_rdm(means, "crossnobis", n_trials=np.full(n_runs, 3))
    np.testing.assert_allclose(equal, compute_rdm(means, "crossnobis"), atol=1e-12)
    grouped = compute_rdm(means, "crossnobis", n_trials=counts, runs=[0, 0, 1, 1])
    ds2 = Dataset(data, obs_descriptors={"conds": conds, "runs": runs // 2})
    ref2 = calc_rdm(ds2, method="crossnobis", descriptor="conds", cv_descriptor="runs")
    np.testing.assert_allclose(grouped, ref2.get_vectors()[0], atol=1e-10)
    with pytest.raises(ValueError, match=r"n_trials must hold a count > 0 per run and "
                       r"condition, shape \(4, 5\) or \(4,\); got shape \(3,\)"):
        compute_rdm(means, "crossnobis", n_trials=[1, 2, 3])
    with pytest.raises(ValueError, match="n_trials is used only by metric='crossnobis'"):
        compute_rdm(means[0], "euclidean", n_trials=[1, 2, 3])


def test_euclidean_gram_precision_is_as_documented(rng):
    """Patterns far from the origin keep their distances (the Gram matrix is of the
    centred patterns); a pair closer than sqrt(eps) * norm(pattern - mean) is only
    resolved to about that bound, as the docstring says."""
    from scipy.spatial.distance import pdist

    x = rng.standard_normal((6, 40)) + 1e6  # far off: centring keeps every digit
    for batched in (False, True):
        ours = compute_rdm(x[None] if batched else x, "euclidean").reshape(-1)
        np.testing.assert_allclose(ours, pdist(x), rtol=1e-8)
    near = x.copy()
    near[1] = near[0] + 1e-12 * rng.standard_normal(40)  # 1e-11 apart, norms about 6
    scale = np.linalg.norm(near - near.mean(0), axis=1).max()
    err = np.abs(compute_rdm(near, "euclidean") - pdist(near))
    assert err.max() <= 4 * np.sqrt(np.finfo(float).eps) * scale


def test_poisson_rdm_equal_to_rsatoolbox(rng):
    """Spike counts (zeros included), as in rsatoolbox's poisson tests."""
    from rsatoolbox.data import Dataset
    from rsatoolbox.rdm import calc_rdm

    from neurodecode.rsa import compute_poisson_rdm

    counts = rng.poisson(2.0, (6, 30)).astype(float)
    ref = calc_rdm(Dataset(counts), method="poisson").get_vectors()[0]
    np.testing.assert_allclose(compute_poisson_rdm(counts), ref, atol=1e-12)
    stacked = compute_poisson_rdm(np.stack([counts, counts[::-1]]))
    np.testing.assert_allclose(stacked[0], ref, atol=1e-12)
    with pytest.raises(ValueError, match="patterns must be counts or rates >= 0"):
        compute_poisson_rdm(-counts)
    with pytest.raises(ValueError, match="prior_lambda must be > 0 and prior_weight >= 0"):
        compute_poisson_rdm(counts, prior_lambda=0.0)
    with pytest.raises(ValueError, match="zero rates have no logarithm"):
        compute_poisson_rdm(counts, prior_weight=0.0)
    with pytest.raises(ValueError, match=r"n_conditions >= 3"):
        compute_poisson_rdm(counts[:2])


def test_unbalanced_rdm_equal_to_rsatoolbox(rng):
    """Unequal trials per condition and per run: rsatoolbox's calc_rdm_unbalanced
    (euclidean without runs, cross-validated over runs, crossnobis with a precision)."""
    from rsatoolbox.data import Dataset
    from rsatoolbox.rdm import calc_rdm_unbalanced

    from neurodecode.rsa import compute_unbalanced_rdm

    conds = np.repeat(np.arange(5), rng.integers(2, 6, 5))
    runs = rng.integers(0, 3, len(conds))
    x = rng.standard_normal((len(conds), 7)) + conds[:, None]
    prec = np.linalg.inv(np.cov(rng.standard_normal((50, 7)).T))
    ds = Dataset(x, obs_descriptors={"conds": conds, "runs": runs})
    for kwargs, ref_kw in [({}, {"method": "euclidean"}),
                           ({"runs": runs}, {"method": "euclidean", "cv_descriptor": "runs"}),
                           ({"runs": runs, "noise": prec},
                            {"method": "crossnobis", "cv_descriptor": "runs", "noise": prec})]:
        ref = calc_rdm_unbalanced(ds, descriptor="conds", **ref_kw).get_vectors()[0]
        ours, order = compute_unbalanced_rdm(x, conds, **kwargs)
        np.testing.assert_allclose(ours, ref, atol=1e-10)
    assert order == [0, 1, 2, 3, 4]
    with pytest.raises(ValueError, match="have no pair of trials from different runs"):
        compute_unbalanced_rdm(x, conds, runs=np.zeros(len(conds)))
    with pytest.raises(ValueError, match=r"condition\(s\) \[9\] have no trials"):
        compute_unbalanced_rdm(x, conds, condition_order=[0, 1, 9])
    with pytest.raises(ValueError, match="at least 3 conditions"):
        compute_unbalanced_rdm(x[:4], conds[:4])
