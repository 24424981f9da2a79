"""Brain maps of a synthetic volume with a blob planted in the right lateral cortex."""

from __future__ import annotations

import re

import nibabel as nib
import numpy as np
import pytest

import neurodecode.viz.brainmap as brainmap
from neurodecode.exceptions import DataNotFoundError
from neurodecode.viz import plot_brain_map


def _cut_coords(fig) -> dict[str, float]:
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    return {m[1]: float(m[2]) for t in texts if (m := re.fullmatch(r"([xyz])=(-?\d+)", t))}


def test_stat_map_cuts_through_blob(blob_img, blob_mni, tmp_path, check_file, n_colorbars):
    fname = tmp_path / "stat.png"
    fig = plot_brain_map(blob_img, kind="stat", threshold=1.0, title="blob", fname=fname, dpi=100)
    check_file(fname)
    assert n_colorbars(fig) == 1 and len(fig.axes) >= 4
    cuts = _cut_coords(fig)
    np.testing.assert_allclose([cuts["x"], cuts["y"], cuts["z"]], blob_mni, atol=6)


def test_glass_brain_from_path_svg(blob_img, tmp_path, check_file, n_colorbars):
    path = tmp_path / "map.nii.gz"
    nib.save(blob_img, path)
    fig = plot_brain_map(str(path), kind="glass", fname=tmp_path / "glass.svg")
    check_file(tmp_path / "glass.svg")
    assert n_colorbars(fig) == 1


def test_no_threshold_draws_every_nonzero_voxel(blob_img, monkeypatch):
    """threshold=None hides only zeros for every kind (nilearn's glass brain alone would
    apply its 'auto' threshold and hide 80 % of the voxels)."""
    from nilearn import plotting

    seen = {}
    for name in ("plot_glass_brain", "plot_stat_map"):
        monkeypatch.setattr(plotting, name, lambda *a, _n=name, **k: seen.__setitem__(_n, k))
    plot_brain_map(blob_img, kind="glass")
    plot_brain_map(blob_img, kind="stat")
    assert seen["plot_glass_brain"]["threshold"] == seen["plot_stat_map"]["threshold"] == 1e-12


def test_surface_shows_blob_on_right_lateral(blob_img, tmp_path, check_file, n_colorbars):
    fname = tmp_path / "surface.png"
    fig = plot_brain_map(blob_img, kind="surface", threshold=1.0, fname=fname, dpi=80)
    img = check_file(fname)
    assert n_colorbars(fig) == 1
    assert [ax.get_title() for ax in fig.axes[:4]] == [
        "left lateral", "left medial", "right lateral", "right medial"]
    # Count saturated red pixels in each view (the colour bar lies right of x = 0.72).
    rgb = img[..., :3]
    red = (rgb[..., 0] > 0.6) & (rgb[..., 1] < 0.45) & (rgb[..., 2] < 0.45)
    h, w = red.shape
    counts = {
        "left lateral": red[: h // 2, : int(0.36 * w)].sum(),
        "right lateral": red[h // 2:, : int(0.36 * w)].sum(),
        "medial": red[:, int(0.36 * w): int(0.7 * w)].sum(),
    }
    assert counts["right lateral"] > 50, counts
    assert counts["left lateral"] < counts["right lateral"] / 10, counts
    assert counts["medial"] < counts["right lateral"] / 10, counts


def test_single_volume_4d_is_accepted(blob_img):
    img4d = nib.Nifti1Image(np.asarray(blob_img.dataobj)[..., None], blob_img.affine)
    fig = plot_brain_map(img4d, kind="glass")
    assert len(fig.axes) >= 4


def test_surface_unavailable_offline_raises(blob_img, monkeypatch):
    from nilearn import datasets

    def offline(*args, **kwargs):
        raise OSError("no network")

    monkeypatch.setattr(datasets, "load_fsaverage", offline)
    with pytest.raises(DataNotFoundError, match="kind='surface' needs the fsaverage5 mesh"):
        plot_brain_map(blob_img, kind="surface")
    with pytest.raises(DataNotFoundError, match="cannot load offline"):
        brainmap.load_fsaverage5()


def test_brain_map_errors(blob_img, tmp_path):
    with pytest.raises(ValueError, match="kind='volume' is not valid"):
        plot_brain_map(blob_img, kind="volume")
    with pytest.raises(DataNotFoundError, match="does not exist"):
        plot_brain_map(tmp_path / "missing.nii.gz")
    with pytest.raises(TypeError, match="img must be SpatialImage"):
        plot_brain_map(np.zeros((4, 4, 4)))
    img4d = nib.Nifti1Image(np.zeros((4, 4, 4, 3)), np.eye(4))
    with pytest.raises(ValueError, match="img must be a 3-D volume"):
        plot_brain_map(img4d)
    bad = nib.Nifti1Image(np.full((4, 4, 4), np.nan), np.eye(4))
    with pytest.raises(ValueError, match="img contains NaN or Inf"):
        plot_brain_map(bad)
    with pytest.raises(ValueError, match="threshold must be a finite number >= 0"):
        plot_brain_map(blob_img, threshold=-1.0)
    with pytest.raises(ValueError, match="vmax must be a finite number > 0"):
        plot_brain_map(blob_img, vmax=0.0)
    with pytest.raises(ValueError, match="bg_img is only used by kind='stat'"):
        plot_brain_map(blob_img, kind="glass", bg_img=blob_img)


def test_display_mode_and_cut_coords_pass_through(blob_img, blob_mni, tmp_path, check_file):
    fname = tmp_path / "axial.png"
    fig = plot_brain_map(blob_img, kind="stat", display_mode="z", cut_coords=[blob_mni[2]],
                         threshold=1.0, fname=fname, dpi=100)
    check_file(fname)
    assert set(_cut_coords(fig)) == {"z"}
