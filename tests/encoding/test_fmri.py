"""Voxelwise fMRI encoding: HRF/FIR designs, leave-one-run-out, NIfTI maps, Haxby."""

from __future__ import annotations

from types import SimpleNamespace

import nibabel as nib
import numpy as np
import pandas as pd
import pytest
from nilearn.maskers import NiftiMasker

from neurodecode.encoding import (
    events_from_labels,
    fit_recording,
    fit_voxelwise,
    make_fir_design,
    make_hrf_regressors,
    permutation_test,
    scores_to_nifti,
)

TR = 2.0


def _block_events(rng, n_runs=4, n_vols=60, conditions=("a", "b", "c")):
    rows = []
    for run in range(n_runs):
        for k, onset in enumerate(np.arange(6, n_vols * TR - 20, 16.0)):
            rows.append((run * n_vols * TR + onset, 8.0, conditions[(k + run) % 3]))
    return pd.DataFrame(rows, columns=["onset", "duration", "condition"])


def _masker(n_voxels):
    mask = np.zeros((4, 4, 4), dtype=np.int8)
    mask.flat[:n_voxels] = 1
    return NiftiMasker(nib.Nifti1Image(mask, np.eye(4)), standardize=None).fit()


def test_hrf_design_and_planted_voxels(rng):
    n_runs, n_vols = 4, 60
    events = _block_events(rng, n_runs, n_vols)
    runs = np.repeat(np.arange(n_runs), n_vols)
    design, conds = make_hrf_regressors(events, n_runs * n_vols, TR, runs)
    assert conds == ["a", "b", "c"] and design.shape == (240, 3)
    assert design[runs == 0].max() > 0.5 and np.abs(design[0]).max() < 1e-6
    W = np.zeros((3, 20))
    W[:, :10] = rng.standard_normal((3, 10)) * 2
    Y = design @ W + 0.3 * rng.standard_normal((240, 20))
    res = fit_voxelwise(design, Y, runs, alphas=np.logspace(-2, 3, 6))
    assert np.all(res.scores[:10] > 0.8) and np.all(np.abs(res.scores[10:]) < 0.3)
    assert res.alphas.shape == (4, 20) and res.scores_per_run.shape == (4, 20)
    perm = permutation_test(Y, res.predictions, n_permutations=100, groups=runs)
    assert perm["significant"][:10].all() and perm["significant"][10:].sum() <= 1
    rec = SimpleNamespace(data=Y.T, runs=runs, events=events, sfreq=1 / TR, masker=_masker(20))
    res2, img = fit_recording(rec, alphas=np.logspace(-2, 3, 6))
    np.testing.assert_allclose(res2.scores, res.scores)
    np.testing.assert_allclose(np.ravel(rec.masker.transform(img)), res.scores, atol=1e-6)


def test_fir_design_recovers_delays(rng):
    runs = np.repeat(np.arange(3), 80)
    X = rng.standard_normal((240, 2))
    design = make_fir_design(X, delays=(1, 2, 3), runs=runs)
    assert design.shape == (240, 6)
    np.testing.assert_array_equal(design[80, :], 0)  # no spill over a run start
    np.testing.assert_allclose(design[85, 1], X[83, 0])
    Y = design[:, [1]] * 2 + 0.1 * rng.standard_normal((240, 1))
    res = fit_voxelwise(design, Y, runs, alphas=[0.1, 1, 10])
    assert res.scores[0] > 0.95


def test_fmri_errors(rng):
    events = _block_events(rng)
    with pytest.raises(ValueError, match="hrf_model='fir' is not valid"):
        make_hrf_regressors(events, 240, TR, hrf_model="fir")
    with pytest.raises(ValueError, match="missing \\['duration'\\]"):
        make_hrf_regressors(events.drop(columns="duration"), 240, TR)
    with pytest.raises(ValueError, match="tr must be a finite number > 0"):
        make_hrf_regressors(events, 240, 0.0)
    with pytest.raises(ValueError, match=r"runs must have shape \(240,\)"):
        make_hrf_regressors(events, 240, TR, runs=np.zeros(10))
    with pytest.raises(ValueError, match="reach beyond run"):
        make_fir_design(rng.standard_normal((20, 2)), delays=(1, 12), runs=np.repeat([0, 1], 10))
    with pytest.raises(ValueError, match="at least 3 runs"):
        fit_voxelwise(rng.standard_normal((20, 2)), rng.standard_normal((20, 3)),
                      np.repeat([0, 1], 10))
    with pytest.raises(ValueError, match="metric='rho' is not valid"):
        fit_voxelwise(rng.standard_normal((30, 2)), rng.standard_normal((30, 3)),
                      np.repeat([0, 1, 2], 10), metric="rho")
    ev = events_from_labels(["rest", "a", "a", "b", "b", "rest"], TR, runs=[0, 0, 0, 0, 1, 1])
    assert ev[["onset", "duration", "condition"]].values.tolist() == [
        [2.0, 4.0, "a"], [6.0, 2.0, "b"], [8.0, 2.0, "b"]]
    with pytest.raises(TypeError, match="fitted nilearn masker"):
        scores_to_nifti(np.zeros(3), object())


@pytest.mark.realdata
def test_haxby_category_encoding_map(data_root, tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    from nilearn import plotting

    root = data_root / "fmri_haxby"
    attrs = pd.read_csv(root / "attributes_literal.txt", sep=" ", header=None,
                        names=["label", "run"])
    t_r = 2.5
    runs = attrs.run.to_numpy()
    masker = NiftiMasker(mask_img=str(root / "mask.nii.gz"), detrend=True, standardize="zscore_sample",
                         runs=runs, t_r=t_r).fit()
    data = masker.transform(str(root / "bold.nii.gz"))
    events = events_from_labels(attrs.label.to_numpy(), t_r, runs=runs)
    assert sorted(events.condition.unique()) == sorted(set(attrs.label) - {"rest"})
    design, conds = make_hrf_regressors(events, len(data), t_r, runs)
    assert len(conds) == 8
    res = fit_voxelwise(design, data, runs)
    perm = permutation_test(data, res.predictions, n_permutations=100, groups=runs)
    img = scores_to_nifti(res.scores, masker)
    img.to_filename(tmp_path / "haxby_r.nii.gz")
    plotting.plot_stat_map(img, bg_img=None, display_mode="z", cut_coords=1,
                           output_file=str(tmp_path / "haxby_r.png"))
    assert (tmp_path / "haxby_r.png").stat().st_size > 1000
    assert np.median(res.scores) > 0.0 and res.scores.max() > 0.4
    assert perm["significant"].mean() > 0.2
