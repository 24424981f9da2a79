"""Topomaps: a planted focal pattern shows up where its sensor is."""

from __future__ import annotations

import mne
import numpy as np
import pytest

from neurodecode.viz import plot_spatial_attention, plot_topomap, plot_topomap_row
from neurodecode.viz.topomap import _scale_positions


def _peak_xy(ax) -> np.ndarray:
    """Axes coordinates of the hottest pixel of the interpolated map."""
    image = ax.images[0]
    data = np.ma.filled(image.get_array().astype(float), -np.inf)
    row, col = np.unravel_index(np.argmax(data), data.shape)
    x0, x1, y0, y1 = image.get_extent()
    return np.array([x0 + (col + 0.5) / data.shape[1] * (x1 - x0),
                     y0 + (row + 0.5) / data.shape[0] * (y1 - y0)])


def _focal(info: mne.Info, name: str) -> np.ndarray:
    values = np.zeros(info["nchan"])
    values[info.ch_names.index(name)] = 5.0
    return values


def test_topomap_png_peak_at_planted_sensor(eeg_info, tmp_path, check_file, n_colorbars):
    fname = tmp_path / "topo.png"
    fig = plot_topomap(_focal(eeg_info, "Oz"), eeg_info, title="Oz", cbar_label="r", fname=fname,
                       dpi=100)
    check_file(fname)
    assert len(fig.axes) == 2 and n_colorbars(fig) == 1
    ax = fig.axes[0]
    assert ax.get_title() == "Oz"
    peak = _peak_xy(ax)
    # Oz is at the back of the head: negative y (nose up), near the midline.
    assert peak[1] < -0.05 and abs(peak[0]) < 0.02
    assert fig.axes[1].get_ylabel() == "r"


def test_topomap_channel_subset_equals_full(eeg_info):
    values = np.random.default_rng(0).normal(size=64)
    full = plot_topomap(values, eeg_info).axes[0].images[0].get_array()
    sub = plot_topomap(values, eeg_info, ch_type="eeg").axes[0].images[0].get_array()
    np.testing.assert_allclose(np.ma.filled(full, 0), np.ma.filled(sub, 0))


def test_topomap_array_positions_svg(tmp_path, check_file, n_colorbars):
    rng = np.random.default_rng(1)
    pos = rng.uniform(size=(40, 2))
    values = -np.linalg.norm(pos - pos[0], axis=1)  # peak at sensor 0
    fig = plot_topomap(values, pos, fname=tmp_path / "topo.svg")
    check_file(tmp_path / "topo.svg")
    assert n_colorbars(fig) == 1
    scaled = _scale_positions(pos)
    assert np.linalg.norm(scaled, axis=1).max() == pytest.approx(0.085)
    np.testing.assert_allclose(_peak_xy(fig.axes[0]), scaled[0], atol=0.012)


def test_topomap_vlim_default_symmetric(eeg_info):
    values = np.linspace(-1, 3, 64)
    im = plot_topomap(values, eeg_info).axes[0].images[0]
    assert im.get_clim() == pytest.approx((-3, 3))
    im = plot_topomap(values, eeg_info, vlim=(0, 1)).axes[0].images[0]
    assert im.get_clim() == pytest.approx((0, 1))


def test_topomap_row_pdf_shared_colorbar(eeg_info, tmp_path, check_file, n_colorbars):
    times = np.linspace(-0.1, 0.5, 61)
    values = np.zeros((64, 61))
    oz, fz = eeg_info.ch_names.index("Oz"), eeg_info.ch_names.index("Fz")
    values[oz] = np.exp(-((times - 0.1) / 0.03) ** 2) * 4
    values[fz] = np.exp(-((times - 0.3) / 0.03) ** 2) * 2
    fname = tmp_path / "row.pdf"
    fig = plot_topomap_row(values, eeg_info, times, picks=[0.1, 0.3], fname=fname)
    check_file(fname)
    assert len(fig.axes) == 3 and n_colorbars(fig) == 1
    assert [ax.get_title() for ax in fig.axes[:2]] == ["100 ms", "300 ms"]
    assert _peak_xy(fig.axes[0])[1] < 0 < _peak_xy(fig.axes[1])[1]  # back then front
    assert fig.axes[0].images[0].get_clim() == fig.axes[1].images[0].get_clim()
    assert fig.axes[0].images[0].get_clim()[1] == pytest.approx(4.0)


def test_topomap_row_even_spacing(eeg_info, rng):
    times = np.arange(0, 1.001, 0.01)
    fig = plot_topomap_row(rng.normal(size=(64, 101)), eeg_info, times, tmin=0.2, tmax=0.8,
                           n_maps=4, time_unit="s")
    assert [ax.get_title() for ax in fig.axes[:-1]] == ["0.2 s", "0.4 s", "0.6 s", "0.8 s"]


def test_spatial_attention_picks_planted_maps(tmp_path, check_file, n_colorbars):
    rng = np.random.default_rng(2)
    pos = rng.uniform(size=(50, 2))
    logits = rng.normal(scale=0.1, size=(32, 50))
    focused = [3, 7, 20]
    for k, v in enumerate(focused):
        logits[v, k * 10] += 6.0
    weights = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    fname = tmp_path / "attention.png"
    fig = plot_spatial_attention(weights, pos, n_maps=3, fname=fname, dpi=100)
    check_file(fname)
    assert [ax.get_title() for ax in fig.axes[:3]] == [f"virtual {v}" for v in focused]
    assert n_colorbars(fig) == 1
    fig = plot_spatial_attention(weights, pos, picks=[0, 1, 2, 3, 4], n_cols=2)
    assert len(fig.axes) == 6  # 5 maps (3 rows x 2, one removed) + colour bar


def test_topomap_errors(eeg_info):
    with pytest.raises(ValueError, match="values has 10 channels; expected 64"):
        plot_topomap(np.zeros(10), eeg_info)
    with pytest.raises(ValueError, match="values must have 1 dimensions"):
        plot_topomap(np.zeros((64, 2)), eeg_info)
    with pytest.raises(ValueError, match="values contains 1 NaN"):
        plot_topomap(np.r_[np.nan, np.zeros(63)], eeg_info)
    with pytest.raises(ValueError, match="ch_type='mag' is not valid for this info"):
        plot_topomap(np.zeros(64), eeg_info, ch_type="mag")
    with pytest.raises(TypeError, match="info must be an mne.Info or an array of positions"):
        plot_topomap(np.zeros(3), np.zeros((3, 3)))
    with pytest.raises(TypeError, match="got dict"):
        plot_topomap(np.zeros(3), {"Cz": (0, 0)})
    with pytest.raises(ValueError, match="positions has 4 rows"):
        plot_topomap(np.zeros(3), np.zeros((4, 2)))
    with pytest.raises(ValueError, match=r"vlim=\(1, 0\) must be two finite numbers"):
        plot_topomap(np.zeros(64), eeg_info, vlim=(1, 0))
    bare = mne.create_info(["a", "b", "c"], 100.0, "eeg")
    with pytest.raises(ValueError, match="info has no sensor positions"):
        plot_topomap(np.zeros(3), bare)
    mixed = mne.create_info(["a", "b"], 100.0, ["eeg", "mag"])
    with pytest.raises(ValueError, match="ch_type=None is ambiguous"):
        plot_topomap(np.zeros(2), mixed)
    with pytest.raises(ValueError, match=r"fname='x.jpg' has suffix '.jpg'; expected one of .png"):
        plot_topomap(np.zeros(64), eeg_info, fname="x.jpg")
    with pytest.raises(ValueError, match="dpi must be a finite number > 0"):
        plot_topomap(np.zeros(64), eeg_info, fname="x.png", dpi=0)


def test_topomap_row_errors(eeg_info):
    values, times = np.zeros((64, 5)), np.linspace(0, 0.4, 5)
    with pytest.raises(ValueError, match="pass either picks"):
        plot_topomap_row(values, eeg_info, times, picks=[0.1], tmin=0.0)
    with pytest.raises(ValueError, match=r"picks \[0.9\] lie outside times"):
        plot_topomap_row(values, eeg_info, times, picks=[0.9])
    with pytest.raises(ValueError, match="tmin=0.3, tmax=0.1 must satisfy"):
        plot_topomap_row(values, eeg_info, times, tmin=0.3, tmax=0.1)
    with pytest.raises(ValueError, match="times must be strictly increasing"):
        plot_topomap_row(values, eeg_info, times[::-1])
    with pytest.raises(ValueError, match="times must have shape"):
        plot_topomap_row(values, eeg_info, times[:3])
    with pytest.raises(ValueError, match="n_maps must be >= 1"):
        plot_topomap_row(values, eeg_info, times, n_maps=0)
    with pytest.raises(TypeError, match="n_maps must be int"):
        plot_topomap_row(values, eeg_info, times, n_maps=2.0)
    with pytest.raises(ValueError, match="time_unit='us' is not valid"):
        plot_topomap_row(values, eeg_info, times, time_unit="us")


def test_spatial_attention_errors():
    pos = np.random.default_rng(0).uniform(size=(5, 2))
    with pytest.raises(ValueError, match=r"n_maps must be in \[1, 4\]"):
        plot_spatial_attention(np.ones((4, 5)), pos, n_maps=9)
    with pytest.raises(ValueError, match="picks must index virtual channels 0..3"):
        plot_spatial_attention(np.ones((4, 5)), pos, picks=[4])
    with pytest.raises(ValueError, match="n_cols must be >= 1"):
        plot_spatial_attention(np.ones((4, 5)), pos, n_maps=2, n_cols=0)
    with pytest.raises(ValueError, match="weights must have 2 dimensions"):
        plot_spatial_attention(np.ones(5), pos)


@pytest.mark.realdata
def test_topomap_meg_sample_info(data_root, tmp_path, check_file, n_colorbars):
    info = mne.io.read_info(data_root / "meg_sample_crop" / "test_raw.fif", verbose="error")
    mags = [n for n, t in zip(info.ch_names, info.get_channel_types()) if t == "mag"]
    values = np.zeros(len(mags))
    values[mags.index("MEG 2111")] = 1.0  # an occipital magnetometer
    fig = plot_topomap(values, info, ch_type="mag", fname=tmp_path / "mag.png", dpi=100)
    check_file(tmp_path / "mag.png")
    assert n_colorbars(fig) == 1 and _peak_xy(fig.axes[0])[1] < 0
    grads = np.random.default_rng(0).normal(size=info["nchan"])
    fig = plot_topomap(grads, info, ch_type="grad")
    assert fig.axes[0].images[0].get_clim()[0] == 0.0  # RMS-merged pairs are >= 0
    with pytest.raises(ValueError, match="ch_type=None is ambiguous"):
        plot_topomap(values, info)
