"""Figures of the seed analyses: similarity maps, models x layers, coherence, attention."""

from __future__ import annotations

import numpy as np
import pytest

from neurodecode.encoding import (
    AttentionResult,
    minimal_expected_switch_duration,
    stimulus_response_coherence,
)
from neurodecode.similarity import similarity_map
from neurodecode.viz import (
    plot_attention_accuracy,
    plot_coherence,
    plot_layer_maps,
    plot_models_by_layers,
    plot_similarity_map,
)


def test_similarity_map_figures(rng, tmp_path, check_file):
    layers = {f"l{i}": rng.standard_normal((12, 6)) for i in range(3)}
    brain = rng.standard_normal((2, 12, 5, 8)) + (layers["l1"] @ rng.standard_normal((6, 5)))[
        None, :, :, None]
    over_time = similarity_map(brain, layers, over="time", subjects=True, n_bootstrap=20,
                               times=np.arange(8) / 10)
    fig = plot_similarity_map(over_time, fname=tmp_path / "time.png")
    assert len(fig.axes) == 2
    check_file(tmp_path / "time.png")
    plot_similarity_map(over_time, normalized=False, fname=tmp_path / "time_raw.png")
    check_file(tmp_path / "time_raw.png")
    feats = {"m1": layers, "m2": {k: rng.standard_normal((12, 6)) for k in layers}}
    grid = similarity_map(brain[0, :, :, 3], feats, over="layers", n_bootstrap=20)
    fig = plot_models_by_layers(grid, fname=tmp_path / "grid.png")
    assert len(fig.axes[0].texts) == 6 and "[" in fig.axes[0].texts[0].get_text()
    check_file(tmp_path / "grid.png")
    plot_similarity_map(grid, fname=tmp_path / "grid2.svg")
    check_file(tmp_path / "grid2.svg")
    voxels = similarity_map(brain[0, :, :, 3], layers, over="voxels", method="encoding", cv=3,
                            n_bootstrap=10)
    plot_similarity_map(voxels, fname=tmp_path / "voxels.png")
    check_file(tmp_path / "voxels.png")


def test_coherence_and_attention_figures(rng, tmp_path, check_file):
    stim = rng.standard_normal(4000)
    eeg = rng.standard_normal((3, 4000)) + stim
    res = stimulus_response_coherence(stim, eeg, 100.0, fmax=30, n_surrogates=10)
    fig = plot_coherence(res, fname=tmp_path / "coh.png")
    assert len(fig.axes[0].lines) == 6
    check_file(tmp_path / "coh.png")
    windows, acc = np.array([1.0, 5, 10, 30]), np.array([0.6, 0.8, 0.9, 0.97])
    att = AttentionResult(windows, acc, np.array([600, 120, 60, 20]),
                          np.array([0.53, 0.58, 0.6, 0.7]), np.ones(3),
                          minimal_expected_switch_duration(windows, acc))
    fig = plot_attention_accuracy(att, fname=tmp_path / "aad.png")
    assert "MESD" in fig.axes[0].get_title()
    check_file(tmp_path / "aad.png")


def test_layer_maps_on_the_scalp_and_in_the_brain(rng, tmp_path, check_file, eeg_info,
                                                  blob_img):
    import nibabel as nib
    from nilearn.maskers import NiftiMasker

    layers = {f"l{i}": rng.standard_normal((80, 4)) for i in range(2)}
    brain = layers["l1"] @ rng.standard_normal((4, 64)) + rng.standard_normal((80, 64))
    sensors = similarity_map(brain, layers, method="encoding", over="sensors", n_bootstrap=5)
    fig = plot_layer_maps(sensors, info=eeg_info, fname=tmp_path / "scalp.png")
    assert [ax.get_title() for ax in fig.axes[:2]] == ["l0", "l1"]
    check_file(tmp_path / "scalp.png")
    mask = nib.Nifti1Image((blob_img.get_fdata() > 0).astype("uint8"), blob_img.affine)
    masker = NiftiMasker(mask).fit()
    n_vox = int(mask.get_fdata().sum())
    vox = similarity_map(rng.standard_normal((80, n_vox)) + layers["l0"][:, :1], layers,
                         method="encoding", over="voxels", n_bootstrap=5)
    figs = plot_layer_maps(vox, masker=masker, fname=tmp_path / "brain.png")
    assert list(figs) == ["l0", "l1"]
    check_file(tmp_path / "brain_0.png")
    with pytest.raises(ValueError, match="plot_layer_maps needs a map over sensors"):
        plot_layer_maps(vox, info=eeg_info, masker=masker)


def test_canonical_correlation_figure(rng, tmp_path, check_file):
    from neurodecode.encoding import cross_validated_cca
    from neurodecode.viz import plot_canonical_correlations

    z = rng.standard_normal((200, 1))
    X = np.c_[z, rng.standard_normal((200, 3))]
    Y = np.c_[z + rng.standard_normal((200, 1)), rng.standard_normal((200, 2))]
    res = cross_validated_cca(X, Y, 2, n_permutations=5)
    fig = plot_canonical_correlations(res, fname=tmp_path / "cca.png")
    assert len(fig.axes[0].texts) == 2
    check_file(tmp_path / "cca.png")
