"""RDM heatmaps, layer x time heatmaps and layer profiles."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.distance import pdist, squareform

from neurodecode.viz import plot_layer_profile, plot_layer_time, plot_rdm, plot_rdms
from neurodecode.viz.rdm import as_square_rdm, rank_transform_rdm


@pytest.fixture
def categorical():
    """30 conditions in 3 sorted categories; 'face' patterns are far from the rest."""
    rng = np.random.default_rng(3)
    cats = np.repeat(["animal", "object", "face"], [10, 12, 8])
    patterns = rng.normal(size=(30, 20)) + 4.0 * (cats == "face")[:, None]
    return pdist(patterns), cats


def test_rdm_png_with_category_boundaries(categorical, tmp_path, check_file, n_colorbars):
    rdm, cats = categorical
    fname = tmp_path / "rdm.png"
    fig = plot_rdm(rdm, categories=cats, title="planted", fname=fname, dpi=100)
    check_file(fname)
    ax = fig.axes[0]
    assert n_colorbars(fig) == 1 and ax.get_title() == "planted"
    np.testing.assert_allclose(ax.images[0].get_array(), squareform(rdm))
    # two boundaries (10 | 12 | 8): an axhline then an axvline at each
    assert len(ax.lines) == 4
    assert [float(ln.get_ydata()[0]) for ln in ax.lines[::2]] == [9.5, 21.5]
    assert [float(ln.get_xdata()[0]) for ln in ax.lines[1::2]] == [9.5, 21.5]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["animal", "object", "face"]
    np.testing.assert_allclose(ax.get_xticks(), [4.5, 15.5, 25.5])


def test_rdm_square_equals_condensed_and_labels(categorical):
    rdm, _ = categorical
    labels = [f"c{i}" for i in range(30)]
    a = plot_rdm(rdm, labels=labels).axes[0]
    b = plot_rdm(squareform(rdm), labels=labels).axes[0]
    np.testing.assert_array_equal(a.images[0].get_array(), b.images[0].get_array())
    assert [t.get_text() for t in a.get_yticklabels()] == labels


def test_rank_transform(categorical):
    rdm, _ = categorical
    ranked = rank_transform_rdm(squareform(rdm))
    iu = np.triu_indices(30, 1)
    assert ranked[iu].min() == 0 and ranked[iu].max() == 1
    assert np.array_equal(np.argsort(ranked[iu]), np.argsort(rdm))
    im = plot_rdm(rdm, rank_transform=True).axes[0].images[0]
    assert im.get_clim() == (0.0, 1.0)


def test_rdm_diagonal_nan_is_zeroed():
    square = squareform(np.arange(1.0, 7.0))
    square[np.diag_indices(4)] = np.nan
    np.testing.assert_array_equal(np.diag(as_square_rdm(square)), 0)


def test_rdms_grid_svg(categorical, tmp_path, check_file, n_colorbars):
    rdm, cats = categorical
    rdms = {"IT": rdm, "model": rdm[::-1].copy(), "noise": np.random.default_rng(0).random(435)}
    fname = tmp_path / "rdms.svg"
    fig = plot_rdms(rdms, categories=cats, n_cols=2, fname=fname)
    check_file(fname)
    assert n_colorbars(fig) == 3
    titles = [ax.get_title() for ax in fig.axes if ax.get_label() != "<colorbar>"]
    assert titles == ["IT", "model", "noise"]


def test_layer_time_pdf_with_ceiling(tmp_path, check_file, n_colorbars):
    times = np.linspace(-0.1, 0.5, 61)
    peak = np.array([0.1, 0.15, 0.2, 0.25])  # deeper layers peak later (planted)
    sim = 0.4 * np.exp(-(((times[None] - peak[:, None]) / 0.04) ** 2))
    fname = tmp_path / "layer_time.pdf"
    fig = plot_layer_time(sim, ["c1", "c2", "c3", "fc"], times, ceiling=(0.35, 0.5), fname=fname)
    check_file(fname)
    assert n_colorbars(fig) == 1 and len(fig.axes) == 3
    top, heat = fig.axes[0], fig.axes[1]
    np.testing.assert_allclose(heat.images[0].get_array(), sim)
    assert [t.get_text() for t in heat.get_yticklabels()] == ["c1", "c2", "c3", "fc"]
    np.testing.assert_allclose(top.lines[0].get_ydata(), sim.max(axis=0))
    fig = plot_layer_time(sim, None, times)
    assert len(fig.axes) == 2 and fig.axes[0].get_yticklabels()[0].get_text() == "layer 0"


def test_layer_profile_png(tmp_path, check_file, n_colorbars):
    values = np.array([0.05, 0.12, 0.2, 0.31, 0.28])
    ci = np.stack([values - 0.03, values + 0.04])
    fname = tmp_path / "profile.png"
    fig = plot_layer_profile(values, ci, list("abcde"), ceiling=(0.3, 0.4), fname=fname, dpi=100)
    check_file(fname)
    ax = fig.axes[0]
    assert len(fig.axes) == 1 and n_colorbars(fig) == 0
    np.testing.assert_allclose([p.get_height() for p in ax.patches if p.get_width() < 1], values)
    assert [t.get_text() for t in ax.get_xticklabels()] == list("abcde")


def test_rdm_errors(categorical):
    rdm, cats = categorical
    with pytest.raises(ValueError, match="is not a condensed RDM"):
        plot_rdm(np.ones(5))
    with pytest.raises(ValueError, match=r"rdm must have shape \(n_pairs,\) or"):
        plot_rdm(np.ones((3, 4)))
    with pytest.raises(ValueError, match="rdm must be symmetric"):
        plot_rdm(np.arange(9.0).reshape(3, 3))
    with pytest.raises(ValueError, match=r"rdm \(off-diagonal\) contains 2 NaN"):
        plot_rdm(np.array([[0, np.nan], [np.nan, 0]]))
    with pytest.raises(ValueError, match="rdm contains 1 NaN"):
        plot_rdm(np.array([np.nan, 1.0, 2.0]))
    with pytest.raises(ValueError, match="categories has 3 labels; expected one per condition"):
        plot_rdm(rdm, categories=["a", "b", "c"])
    with pytest.raises(ValueError, match="labels has 2 entries; expected 30"):
        plot_rdm(rdm, labels=["a", "b"])
    with pytest.raises(ValueError, match="rdms is empty"):
        plot_rdms({})
    with pytest.raises(TypeError, match="rdms must be Mapping"):
        plot_rdms([rdm])
    with pytest.raises(ValueError, match="n_cols must be >= 1"):
        plot_rdms({"a": rdm}, n_cols=0)
    with pytest.raises(ValueError, match=r"rdms\['bad'\] of shape \(4,\) is not a condensed RDM"):
        plot_rdms({"bad": np.ones(4)})


def test_layer_errors():
    times = np.linspace(0, 1, 5)
    sim = np.zeros((3, 5))
    with pytest.raises(ValueError, match=r"layer_names has 2 names; expected 3"):
        plot_layer_time(sim, ["a", "b"], times)
    with pytest.raises(ValueError, match="times must be strictly increasing"):
        plot_layer_time(sim, None, times[::-1])
    with pytest.raises(ValueError, match="similarity contains 1 NaN"):
        plot_layer_time(np.where(np.eye(3, 5) > 0, np.nan, 0)[:1], None, times)
    with pytest.raises(ValueError, match=r"ceiling must be a number, \(lower, upper\)"):
        plot_layer_time(sim, None, times, ceiling=np.ones(4))
    values = np.ones(3)
    with pytest.raises(ValueError, match="ci must hold"):
        plot_layer_profile(values, np.stack([values + 1, values + 2]), None)
    with pytest.raises(ValueError, match=r"ci must have shape \(2, 3\)"):
        plot_layer_profile(values, np.ones((2, 4)), None)
    with pytest.raises(ValueError, match=r"ceiling=\(0.5, 0.2\) must be \(lower, upper\)"):
        plot_layer_profile(values, None, None, ceiling=(0.5, 0.2))
