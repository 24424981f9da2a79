"""simulate_fmri: HRF-convolved planted voxel weights in a NIfTI volume, AR(1) noise."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from nilearn.maskers import NiftiMasker
from scipy.ndimage import gaussian_filter1d

from neurodecode.io.recording import EVENT_COLUMNS
from neurodecode.simulate.fmri import make_block_design, simulate_fmri, spm_hrf

TR = 2.0


@pytest.fixture(scope="module")
def block():
    designs, events = make_block_design(5, TR, n_repeats=3, n_runs=3, seed=0)
    return designs, events, simulate_fmri(designs, TR, n_voxels=300, snr=2.0, rho=0.4,
                                          events=events, seed=1)


def test_block_design(block):
    designs, events, _ = block
    assert len(designs) == 3 and designs[0].shape == (5, int(np.ceil((8 + 15 * 20) / TR)))
    assert list(events.columns) == list(EVENT_COLUMNS) and len(events) == 45
    assert events.groupby("block")["condition"].value_counts().eq(3).all()
    for run, design in enumerate(designs):  # 12 s blocks = 6 volumes per block
        np.testing.assert_allclose(design.sum(axis=1), 3 * 12.0 / TR)
        assert design.sum(axis=0).max() == 1.0
        first = events[events["block"] == f"run-{run + 1:02d}"].iloc[0]
        cond = int(first["value"]) - 1
        assert design[cond, int(first["onset"] / TR)] == 1.0


def test_images_mask_and_masker_roundtrip(block):
    *_, sim = block
    assert len(sim.images) == 3 and sim.images[0].ndim == 4
    assert int(sim.mask.get_fdata().sum()) == 300
    assert sim.images[0].header.get_zooms() == (3.0, 3.0, 3.0, TR)
    masker = NiftiMasker(sim.mask, standardize=None).fit()
    data = np.concatenate([masker.transform(img) for img in sim.images])
    truth = sim.ground_truth
    np.testing.assert_allclose(data, truth.baseline + truth.signal + truth.noise, atol=1e-3)
    np.testing.assert_allclose(data, sim.masked_data())
    assert np.array_equal(sim.runs, np.repeat([0, 1, 2], sim.images[0].shape[3]))


def test_signal_is_hrf_convolved_design_times_weights(block):
    designs, _, sim = block
    truth = sim.ground_truth
    joined = np.concatenate(designs, axis=1)
    mean = joined.mean(1, keepdims=True)
    scale = np.sqrt(np.mean((joined - mean) ** 2))
    expected = np.concatenate([
        np.stack([np.convolve((d - mean)[f] / scale, truth.hrf)[: d.shape[1]]
                  for f in range(5)], axis=1) for d in designs])
    np.testing.assert_allclose(truth.design, expected, atol=1e-12)
    np.testing.assert_allclose(truth.signal, truth.design @ truth.weights, atol=1e-12)
    assert np.all(truth.weights[:, ~truth.responsive] == 0)
    assert truth.responsive.mean() == pytest.approx(0.5, abs=0.01)
    resp = truth.responsive
    ratio = np.sum(np.var(truth.signal[:, resp], 0)) / np.sum(np.var(truth.noise[:, resp], 0))
    assert ratio == pytest.approx(2.0)


def test_noise_is_ar1(block):
    *_, sim = block
    noise = sim.ground_truth.noise
    assert noise.var() == pytest.approx(1.0, abs=0.05)
    lag1 = np.mean(noise[1:] * noise[:-1]) / np.mean(noise**2)
    assert lag1 == pytest.approx(0.4, abs=0.05)


def test_glm_recovers_planted_condition_patterns(block):
    *_, sim = block
    truth = sim.ground_truth
    data = sim.masked_data()
    runs = np.eye(3)[sim.runs]  # run intercepts
    x = np.concatenate([truth.design, runs], axis=1)
    beta = np.linalg.lstsq(x, data, rcond=None)[0][:5]
    resp = truth.responsive
    assert np.corrcoef(beta[:, resp].ravel(), truth.weights[:, resp].ravel())[0, 1] > 0.9
    # the RDM of the estimated patterns matches the planted one
    planted = 1 - np.corrcoef(truth.weights[:, resp])
    estimated = 1 - np.corrcoef(beta[:, resp])
    upper = np.triu_indices(5, 1)
    assert np.corrcoef(planted[upper], estimated[upper])[0, 1] > 0.9


def test_continuous_features_default_events_and_seed():
    rng = np.random.default_rng(3)
    feats = gaussian_filter1d(rng.standard_normal((4, 150)), 2, axis=1)
    a = simulate_fmri(feats, 1.5, n_voxels=50, snr_db=0.0, seed=4)
    b = simulate_fmri(feats, 1.5, n_voxels=50, snr_db=0.0, seed=4)
    c = simulate_fmri(feats, 1.5, n_voxels=50, snr_db=0.0, seed=5)
    assert a.events["block"].tolist() == ["run-01"] and a.events["duration"][0] == 225.0
    np.testing.assert_array_equal(a.masked_data(), b.masked_data())
    assert not np.array_equal(a.masked_data(), c.masked_data())
    assert a.ground_truth.snr == pytest.approx(1.0)


def test_spm_hrf_shape():
    hrf = spm_hrf(0.5)
    assert hrf.sum() == pytest.approx(1.0)
    assert np.argmax(hrf) * 0.5 == pytest.approx(5.0, abs=0.5)  # peak near 5 s
    assert hrf.min() < 0 and np.argmin(hrf) * 0.5 > 10  # undershoot


FEATS = np.random.default_rng(0).standard_normal((2, 40))


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"n_voxels": 1}, ValueError, r"n_voxels must be an int >= 2; got 1"),
    ({"n_voxels": 10.0}, TypeError, r"n_voxels must be int; got float"),
    ({"responsive_fraction": 0.0}, ValueError, r"responsive_fraction must be in \(0, 1\]"),
    ({"rho": 1.0}, ValueError, r"rho must be in \[0, 1\) \(AR\(1\) coefficient\); got 1.0"),
    ({"snr": -2.0}, ValueError, r"snr must be a finite number > 0; got -2.0"),
    ({"snr": 1.0, "snr_db": 3.0}, ValueError, r"give snr \(power ratio\) or snr_db"),
    ({"voxel_size": 0.0}, ValueError, r"voxel_size must be a finite number > 0"),
    ({"events": "events.tsv"}, TypeError, r"events must be DataFrame; got str"),
    ({"seed": "0"}, TypeError, r"seed must be int; got str"),
    ({"tr": -2.0}, ValueError, r"tr must be a finite number > 0; got -2.0"),
])
def test_simulate_fmri_bad_input(kwargs, error, match):
    args = {"features": FEATS, "tr": TR} | kwargs
    with pytest.raises(error, match=match):
        simulate_fmri(**args)


@pytest.mark.parametrize(("features", "match"), [
    (np.ones((2, 40)), r"features are constant over time"),
    (np.full((2, 40), np.nan), r"features contains 80 NaN"),
    (FEATS[0], r"features must have 2 dimensions"),
])
def test_simulate_fmri_bad_features(features, match):
    with pytest.raises(ValueError, match=match):
        simulate_fmri(features, TR)


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"n_conditions": 0}, ValueError, r"n_conditions must be a finite number > 0; got 0"),
    ({"n_conditions": 2.0}, TypeError, r"n_conditions must be int; got float"),
    ({"n_conditions": 2, "block_duration": -1.0}, ValueError, r"block_duration must be"),
    ({"n_conditions": 2, "n_runs": 0}, ValueError, r"n_runs must be a finite number > 0"),
])
def test_make_block_design_bad_input(kwargs, error, match):
    with pytest.raises(error, match=match):
        make_block_design(tr=TR, **kwargs)


def test_events_are_passed_through(block):
    designs, events, sim = block
    pd.testing.assert_frame_equal(sim.events, events)
