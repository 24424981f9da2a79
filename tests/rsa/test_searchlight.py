"""Sensor and volume searchlights: planted effects, exactness per centre, bounded memory."""

from __future__ import annotations

import warnings

import matplotlib
import mne
import nibabel as nib
import numpy as np
import pytest
from scipy.spatial.distance import pdist

from neurodecode.rsa import (
    compare_rdms,
    compute_rdm,
    searchlight,
    sensor_neighbors,
    sensor_searchlight,
    volume_searchlight,
)

matplotlib.use("Agg")
CATEGORY = np.array([0, 0, 1, 1, 2])
MODEL = pdist(CATEGORY[:, None], lambda u, v: float(u[0] != v[0]))


def _eeg_info():
    montage = mne.channels.make_standard_montage("colin27_1020")
    names = ["Fp1", "Fp2", "F7", "F3", "Fz", "F4", "F8", "T7", "C3", "Cz", "C4", "T8",
             "P7", "P3", "Pz", "P4", "P8", "O1", "Oz", "O2"]
    info = mne.create_info(names, 100.0, "eeg")
    info.set_montage(montage)
    return info


def _planted_sensor_data(rng, info, active=("O1", "Oz", "O2")):
    n_ch = len(info["ch_names"])
    x = 0.1 * rng.standard_normal((5, n_ch, 30))
    idx = [info["ch_names"].index(c) for c in active]
    centres = 2 * rng.standard_normal((3, len(idx)))
    x[:, idx, 10:20] += centres[CATEGORY][:, :, None]
    return x


def test_sensor_searchlight_planted_and_exact(rng):
    info = _eeg_info()
    x = _planted_sensor_data(rng, info)
    maps = sensor_searchlight(
        x, {"cat": MODEL}, info, metric="euclidean", method="pearson", tmin=-0.1
    )
    evoked = maps["cat"]
    assert isinstance(evoked, mne.EvokedArray) and evoked.data.shape == (20, 30)
    in_window = evoked.data[:, 10:20].mean(1)
    best = {evoked.ch_names[i] for i in np.argsort(in_window)[-3:]}
    assert best <= {"O1", "Oz", "O2", "P3", "Pz", "P4", "P7", "P8"}
    assert in_window.max() > 0.6 and np.abs(evoked.data[:, :10]).mean() < 0.4
    nbrs = sensor_neighbors(info)
    c, t = info["ch_names"].index("Oz"), 15
    expected = compare_rdms(compute_rdm(x[:, nbrs[c], t], "euclidean"), MODEL, "pearson")
    assert np.isclose(evoked.data[c, t], expected)


def test_sensor_radius_and_memory_budget(rng):
    info = _eeg_info()
    x = _planted_sensor_data(rng, info)
    nbrs = sensor_neighbors(info, radius=0.07)
    assert all(i in n for i, n in enumerate(nbrs))
    big = sensor_searchlight(x, MODEL, info, radius=0.07)
    small = sensor_searchlight(x, MODEL, info, radius=0.07, max_memory=1.0)  # one centre a chunk
    np.testing.assert_allclose(big["model0"].data, small["model0"].data)
    c, t = 5, 12
    expected = compare_rdms(compute_rdm(x[:, nbrs[c], t]), MODEL)
    assert np.isclose(big["model0"].data[c, t], expected)


@pytest.mark.parametrize("metric", ["euclidean", "sqeuclidean", "cosine"])
def test_sensor_metrics_exact(rng, metric):
    info = _eeg_info()
    x = _planted_sensor_data(rng, info)
    out = sensor_searchlight(x, MODEL, info, metric=metric, method="pearson")["model0"].data
    nbrs = sensor_neighbors(info)
    expected = compare_rdms(compute_rdm(x[:, nbrs[3], 7], metric), MODEL, "pearson")
    assert np.isclose(out[3, 7], expected)


def _volume(rng):
    affine = np.diag([2.0, 2.0, 2.0, 1.0])
    mask = np.zeros((8, 8, 8), dtype=np.uint8)
    mask[1:7, 1:7, 1:7] = 1
    n_vox = int(mask.sum())
    x = rng.standard_normal((5, n_vox))
    ijk = np.argwhere(mask)
    active = np.linalg.norm(ijk - [2, 2, 2], axis=1) <= 1.5
    x[:, active] += 3 * rng.standard_normal((3, active.sum()))[CATEGORY]
    return nib.Nifti1Image(mask, affine), x, ijk, active


def test_volume_searchlight_planted_and_exact(rng):
    mask_img, x, ijk, active = _volume(rng)
    maps = volume_searchlight(x, {"cat": MODEL}, mask_img, radius=3.0, method="pearson")
    img = maps["cat"]
    assert isinstance(img, nib.Nifti1Image) and img.shape == (8, 8, 8)
    vol = img.get_fdata()
    assert vol[0].max() == 0  # outside the mask
    peak = np.unravel_index(np.argmax(vol), vol.shape)
    assert np.linalg.norm(np.array(peak) - [2, 2, 2]) <= 1.5
    # exact at one voxel: the sphere of radius 3 mm = the centre and its 6 face neighbours
    centre = int(np.flatnonzero((ijk == [3, 3, 3]).all(1))[0])
    sphere = np.flatnonzero(np.linalg.norm((ijk - ijk[centre]) * 2.0, axis=1) <= 3.0)
    expected = compare_rdms(compute_rdm(x[:, sphere]), MODEL, "pearson")
    assert np.isclose(vol[3, 3, 3], expected, atol=1e-6)


def test_volume_from_4d_image_and_dispatcher(rng):
    mask_img, x, ijk, _ = _volume(rng)
    data4d = np.zeros((8, 8, 8, 5))
    data4d[tuple(ijk.T)] = x.T
    img4d = nib.Nifti1Image(data4d, mask_img.affine)
    a = searchlight(img4d, MODEL, mask_img=mask_img, radius=4.0)["model0"].get_fdata()
    b = volume_searchlight(x, MODEL, mask_img, 4.0, max_memory=1.0)["model0"].get_fdata()
    np.testing.assert_allclose(a, b, atol=1e-6)


def test_errors(rng):
    info = _eeg_info()
    x = _planted_sensor_data(rng, info)
    mask_img, xv, _, _ = _volume(rng)
    with pytest.raises(ValueError, match=r"radius=0.001 m selects no neighbour"):
        sensor_neighbors(info, radius=0.001)
    with pytest.raises(ValueError, match=r"radius=1.0 mm \(the closest voxels are 2 mm apart\) selects no"):
        volume_searchlight(xv, MODEL, mask_img, radius=1.0)
    with pytest.raises(ValueError, match="metric='crossnobis' is not valid"):
        sensor_searchlight(x, MODEL, info, metric="crossnobis")
    with pytest.raises(ValueError, match="data has 19 channels but info has 20"):
        sensor_searchlight(x[:, :19], MODEL, info)
    with pytest.raises(ValueError, match="data has 10 voxels but the mask holds 216"):
        volume_searchlight(xv[:, :10], MODEL, mask_img, radius=3.0)
    with pytest.raises(ValueError, match="exactly one of info"):
        searchlight(x, MODEL)
    with pytest.raises(ValueError, match="radius \\(in mm\\) is required"):
        searchlight(xv, MODEL, mask_img=mask_img)
    with pytest.raises(ValueError, match="at least 3 conditions"):
        sensor_searchlight(x[:2], pdist(np.ones((2, 1))), info)
    with_eog = mne.create_info(info["ch_names"] + ["EOG1"], 100.0, ["eeg"] * 20 + ["eog"])
    with pytest.raises(ValueError, match=r"channels of type \['eog'\], which have no sensor "
                       r"neighbourhood; keep only MEG/EEG channels"):
        sensor_neighbors(with_eog)
    with pytest.raises(ValueError, match=r"info has no sensor position for 20 channel\(s\) "
                       r"\(e.g. \['Fp1', 'Fp2', 'F7'\]\); set a montage"):
        sensor_neighbors(mne.create_info(info["ch_names"], 100.0, "eeg"), radius=0.05)


def test_volume_mask_from_a_path(rng, tmp_path):
    mask_img, xv, _, _ = _volume(rng)
    mask_img.to_filename(tmp_path / "mask.nii.gz")
    from_path = volume_searchlight(xv, MODEL, tmp_path / "mask.nii.gz", radius=3.0)
    from_image = volume_searchlight(xv, MODEL, mask_img, radius=3.0)
    np.testing.assert_allclose(from_path["model0"].get_fdata(), from_image["model0"].get_fdata())


@pytest.mark.realdata
def test_meg_sample_searchlight_topomap(data_root, tmp_path):
    from .test_timecourse import AUDITORY_VS_VISUAL, read_sample_epochs

    epochs = read_sample_epochs(data_root).crop(0.13, 0.2)
    maps = sensor_searchlight(
        epochs.get_data(), {"av": AUDITORY_VS_VISUAL}, epochs.info,
        conditions=epochs.events[:, 2], method="pearson", tmin=epochs.tmin,
    )
    evoked = maps["av"]
    ch, latency = evoked.get_peak(ch_type="mag")
    t = evoked.time_as_index(latency)[0]
    mags = mne.pick_types(evoked.info, meg="mag")
    assert evoked.data[mags, t].max() > 0.9
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    mne.viz.plot_topomap(evoked.data[mags, t], mne.pick_info(evoked.info, mags), axes=ax, show=False)
    path = tmp_path / "searchlight_topomap.png"
    fig.savefig(path)
    plt.close(fig)
    assert path.stat().st_size > 1000


@pytest.mark.realdata
def test_haxby_volume_searchlight_animacy(data_root, tmp_path):
    import scipy.signal

    root = data_root / "fmri_haxby"
    mask = nib.load(root / "mask.nii.gz")
    inside = np.asarray(mask.dataobj).astype(bool)
    x = np.asarray(nib.load(root / "bold.nii.gz").dataobj)[inside].T.astype(np.float64)
    attributes = np.loadtxt(root / "attributes_literal.txt", dtype=str)
    labels, runs = attributes[:, 0], attributes[:, 1].astype(int)
    for run in np.unique(runs):  # per-run detrending and z-scoring
        sel = runs == run
        x[sel] = scipy.signal.detrend(x[sel], axis=0)
        x[sel] = (x[sel] - x[sel].mean(0)) / x[sel].std(0)
    conds = ["face", "cat", "house", "bottle", "scissors", "shoe", "chair"]
    animate = np.array([c in ("face", "cat") for c in conds], float)
    model = pdist(animate[:, None], "cityblock")
    keep = np.isin(labels, conds)
    maps = volume_searchlight(
        x[keep], {"animacy": model}, mask, radius=6.0, conditions=labels[keep], condition_order=conds
    )
    img = maps["animacy"]
    img.to_filename(tmp_path / "animacy.nii.gz")
    values = nib.load(tmp_path / "animacy.nii.gz").get_fdata()
    assert values.shape == inside.shape and (values[~inside] == 0).all()
    whole = compare_rdms(compute_rdm(np.stack([x[labels == c].mean(0) for c in conds])), model)
    print(f"Haxby animacy searchlight: peak rho={values[inside].max():.3f}, whole mask {whole:.3f}")
    # local animacy information is stronger than in the whole slice
    assert values[inside].max() > 0.6 > whole


def test_a_flat_neighbourhood_affects_only_its_own_rdm(rng):
    """Issue 16: one condition constant over a neighbourhood makes NaN pairs in that
    centre's RDM only; the other centres' values do not depend on it, nor on how the
    centres are chunked (max_memory)."""
    info = _eeg_info()
    x = _planted_sensor_data(rng, info)
    nbrs = sensor_neighbors(info, radius=0.07)
    flat = nbrs[info["ch_names"].index("Cz")]
    x[2][np.ix_(flat, [7])] = 0.5  # condition 2 constant over Cz's neighbourhood at t=7
    with pytest.warns(UserWarning, match="constant"):
        big = sensor_searchlight(x, MODEL, info, radius=0.07, method="spearman")["model0"].data
    with pytest.warns(UserWarning, match="constant"):
        small = sensor_searchlight(x, MODEL, info, radius=0.07, max_memory=1.0)["model0"].data
    np.testing.assert_allclose(big, small, atol=1e-12)
    for c in range(len(nbrs)):  # every centre equals its RDM compared alone
        if len(nbrs[c]) < 2:  # a lone sensor: no correlation distance
            assert np.isnan(big[c, 7])
            continue
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            rdm = compute_rdm(x[:, nbrs[c], 7], "correlation")
        assert np.isclose(big[c, 7], compare_rdms(rdm, MODEL), equal_nan=True)


def test_volume_searchlight_independent_of_max_memory_with_a_flat_sphere(rng):
    """Condition 1 constant over the first two planes: the spheres inside them have NaN
    pairs, left out of their own RDMs only; every voxel equals its sphere alone."""
    from scipy.spatial import cKDTree

    mask = np.ones((4, 4, 3), bool)
    x = rng.standard_normal((5, mask.sum()))
    x[1, :24] = 0.2
    mask_img = nib.Nifti1Image(mask.astype(np.uint8), np.eye(4))
    a = volume_searchlight(x, MODEL, mask_img, 1.5)["model0"].get_fdata()
    b = volume_searchlight(x, MODEL, mask_img, 1.5, max_memory=1.0)["model0"].get_fdata()
    np.testing.assert_allclose(a, b, atol=1e-6)
    ijk = np.argwhere(mask)
    tree = cKDTree(ijk)
    for v in (0, 30, 47):
        sphere = tree.query_ball_point(ijk[v], 1.5)
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            rdm = compute_rdm(x[:, sphere], "correlation")
        assert np.isclose(a[tuple(ijk[v])], compare_rdms(rdm, MODEL), atol=1e-6)


def test_spatio_temporal_searchlight_equal_to_mne_rsa(rng):
    """Neighbourhoods of channels x 3 samples: mne-rsa's spatio-temporal searchlight
    (temporal_radius=1) on the same neighbours, and the times of the window centres."""
    import mne_rsa

    info = _eeg_info()
    x = _planted_sensor_data(rng, info)
    nbrs = sensor_neighbors(info, radius=0.07)
    maps = sensor_searchlight(x, MODEL, info, radius=0.07, window=3, tmin=-0.1)["model0"]
    patches = mne_rsa.searchlight(x.shape, spatial_radius=[list(n) for n in nbrs],
                                  temporal_radius=1)
    ref = np.asarray(mne_rsa.rsa_array(x, MODEL, patches, data_rdm_metric="correlation"))
    np.testing.assert_allclose(maps.data, ref.reshape(maps.data.shape), atol=1e-10)
    assert maps.data.shape == (20, 28) and maps.times[0] == pytest.approx(-0.09)
    with pytest.raises(ValueError, match="window must be an odd whole number of samples <= "
                       "n_times=30; got 4"):
        sensor_searchlight(x, MODEL, info, window=4)


def _general_path(patterns, neighbors, models, metric, method):
    """The searchlight's general path (RDMs by padded Gram matrices, then
    compare_rdms), which the compiled kernel must equal."""
    from neurodecode.rsa.searchlight import _chunk_rdms, _padded

    idx, valid = _padded(neighbors)
    with warnings.catch_warnings(), np.errstate(invalid="ignore"):
        warnings.simplefilter("ignore", UserWarning)
        return compare_rdms(_chunk_rdms(patterns, idx, valid, metric), models, method)


@pytest.mark.parametrize("method", ["spearman", "pearson", "cosine"])
@pytest.mark.parametrize("metric", ["correlation", "euclidean", "sqeuclidean", "cosine"])
def test_compiled_searchlight_equals_the_general_path(rng, metric, method):
    """Random patterns, neighbourhoods of 1 to 11 features (the rank-4 updates and their
    remainders), two models, tied distances and one flat pattern: equal to the RDMs of
    padded Gram matrices compared by compare_rdms, centre by centre. (Ties come from
    whole numbers, whose Gram matrices are exact in both paths; centred for the
    correlation they are not, and the rounding of either path decides such ties.)"""
    from neurodecode.rsa.searchlight import _run

    n_cond, n_feat, n_times = 9, 14, 6
    x = rng.standard_normal((n_cond, n_feat, n_times))
    if metric != "correlation":
        x[:, :, 2] = np.round(2 * x[:, :, 2])  # tied distances
    x[4, 3:9, 1] = 0.7  # condition 4 constant over the neighbourhood of centre 0 at t=1
    neighbors = [np.arange(3, 9)] + [rng.choice(n_feat, k, replace=False) for k in range(1, 12)]
    models = rng.random((2, n_cond * (n_cond - 1) // 2))
    with warnings.catch_warnings(), np.errstate(invalid="ignore"):
        warnings.simplefilter("ignore", UserWarning)
        fast = _run(x, iter([neighbors]), len(neighbors), models, (metric, method, 256e6),
                    False)
    expected = _general_path(x, neighbors, models, metric, method)
    np.testing.assert_allclose(fast, expected, rtol=1e-12, atol=1e-12, equal_nan=True)
    if metric == "correlation":
        assert np.isnan(fast[1]).all()  # a single feature: no correlation


def test_compiled_searchlight_time_blocks_and_constant_models(rng):
    """Blocks of times (a small max_memory) and the general path taken for a constant
    model give the same maps as one block."""
    info = _eeg_info()
    x = rng.standard_normal((6, 20, 13))
    models = {"a": rng.random(15), "b": rng.random(15)}
    big = sensor_searchlight(x, models, info, radius=0.07)
    small = sensor_searchlight(x, models, info, radius=0.07, max_memory=1.0)
    for name in models:
        np.testing.assert_allclose(big[name].data, small[name].data, rtol=1e-12)
    nbrs = sensor_neighbors(info, radius=0.07)
    expected = _general_path(x, nbrs, np.stack(list(models.values())), "correlation",
                             "spearman")
    np.testing.assert_allclose(big["b"].data, expected[..., 1], rtol=1e-12, equal_nan=True)
    with pytest.warns(UserWarning, match="constant"):
        flat = sensor_searchlight(x, {"flat": np.ones(15)}, info, radius=0.07)["flat"].data
    assert np.isnan(flat).all()


def test_compiled_spatio_temporal_searchlight_equals_the_general_path(rng):
    from neurodecode.rsa.searchlight import _time_windows

    info = _eeg_info()
    x = rng.standard_normal((7, 20, 12))
    out = sensor_searchlight(x, MODEL_7, info, radius=0.07, window=3)["model0"].data
    patterns, nbrs = _time_windows(x, sensor_neighbors(info, radius=0.07), 3)
    np.testing.assert_allclose(out, _general_path(patterns, nbrs, MODEL_7[None],
                                                  "correlation", "spearman")[..., 0],
                               rtol=1e-12, equal_nan=True)


MODEL_7 = pdist(np.arange(7)[:, None])
