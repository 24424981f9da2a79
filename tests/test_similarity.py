"""neurodecode.similarity_map: planted layer and latency recovered, by RSA and by encoding."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import neurodecode
from neurodecode.similarity import similarity_map


def _layers(rng, n=20, width=10, n_layers=4):
    """Independent random layers (the planted one is recovered, not confused)."""
    return {f"layer{i}": rng.standard_normal((n, width)) for i in range(n_layers)}


def _evoked(rng, layer, n_subjects=3, n_channels=12, n_times=30, peak=18, noise=0.5):
    """Condition patterns following ``layer`` around time ``peak``, per subject."""
    mixing = rng.standard_normal((layer.shape[1], n_channels))
    gain = np.exp(-0.5 * ((np.arange(n_times) - peak) / 2.0) ** 2)
    clean = (layer @ mixing)[:, :, None] * gain
    return clean[None] + noise * rng.standard_normal((n_subjects,) + clean.shape)


def test_import_is_lazy():
    code = ("import sys, neurodecode; assert 'neurodecode.similarity' not in sys.modules; "
            "neurodecode.similarity_map; assert 'neurodecode.similarity' in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_rsa_over_time_recovers_planted_layer_and_latency(rng):
    layers = _layers(rng)
    brain = _evoked(rng, layers["layer2"])
    times = np.arange(30) / 100 - 0.05
    res = neurodecode.similarity_map(brain, layers, method="rsa", over="time", times=times,
                                     subjects=True, n_bootstrap=100)
    assert res.values.shape == (4, 30) and res.ceiling.shape == (30,)
    peak = res.peak()
    assert peak["layer"] == "layer2" and peak["coord"] == pytest.approx(times[18], abs=0.03)
    assert np.all(res.ci_low <= res.values + 1e-12) and np.all(res.values <= res.ci_high + 1e-12)
    assert res.normalized[2, 18] == pytest.approx(res.values[2, 18] / res.ceiling[18])
    assert res.best_layer()[18] == "layer2" and len(res.to_frame()) == 120


def test_rsa_over_layers_single_subject_bootstraps_conditions(rng):
    layers = _layers(rng)
    brain = layers["layer1"] @ rng.standard_normal((10, 40))
    res = similarity_map(brain, layers, method="rsa", over="layers", n_bootstrap=50)
    assert res.values.shape == (4, 1) and res.ceiling is None and res.normalized is None
    assert res.peak()["layer"] == "layer1" and res.ci_low[1, 0] > res.ci_high[0, 0]


def test_rsa_over_sensors_uses_searchlights(rng):
    layers = _layers(rng, n_layers=2)
    brain = rng.standard_normal((20, 6))
    brain[:, :3] = layers["layer1"] @ rng.standard_normal((10, 3))
    res = similarity_map(brain, layers, method="rsa", over="sensors", metric="euclidean",
                         neighbors=[[0, 1, 2], [3, 4, 5]], names=["left", "right"],
                         n_bootstrap=20)
    assert res.best_layer(normalized=False)[0] == "layer1"
    assert res.values[1, 0] > res.values[1, 1] + 0.2 and list(res.coords) == ["left", "right"]


def test_encoding_over_time_and_voxels_with_ceiling(rng):
    n = 300
    layers = {"a": rng.standard_normal((n, 5)), "b": rng.standard_normal((n, 5))}
    gain = np.exp(-0.5 * ((np.arange(10) - 6) / 1.5) ** 2)
    clean = (layers["b"] @ rng.standard_normal((5, 4)))[:, :, None] * gain  # (n, 4, 10)
    repeats = clean[None] + 0.5 * rng.standard_normal((4,) + clean.shape)
    brain = repeats.mean(0)
    res = similarity_map(brain, layers, method="encoding", over="time", repeats=repeats,
                         n_bootstrap=30)
    assert res.peak()["layer"] == "b" and res.peak()["coord"] in (5, 6, 7)
    assert res.values.shape == (2, 10) and res.ceiling.shape == (10,)
    assert res.normalized[1, 6] == pytest.approx(res.values[1, 6] / res.ceiling[6])
    voxels = similarity_map(brain[:, :, 6], layers, method="encoding", over="voxels",
                            n_bootstrap=30)
    assert voxels.values.shape == (2, 4) and np.all(voxels.values[1] > voxels.ci_high[0])


def test_encoding_models_by_layers_grid_with_delays(rng):
    n = 600
    feats = {"m1": {"l0": rng.standard_normal((n, 3)), "l1": rng.standard_normal((n, 3))},
             "m2": {"l0": rng.standard_normal((n, 3)), "l1": rng.standard_normal((n, 3))}}
    drive = np.roll(feats["m2"]["l1"] @ rng.standard_normal((3, 4)), 3, axis=0)  # 3-sample lag
    brain = drive + 0.5 * rng.standard_normal(drive.shape)
    groups = np.repeat(np.arange(6), 100)
    res = similarity_map(brain, feats, method="encoding", over="layers", delays=range(6),
                         groups=groups, n_bootstrap=30)
    models, layers, table = res.grid()
    assert models == ["m1", "m2"] and layers == ["l0", "l1"] and table.shape == (2, 2)
    assert np.unravel_index(np.argmax(table), table.shape) == (1, 1)
    assert res.labels == ["m1/l0", "m1/l1", "m2/l0", "m2/l1"]


def test_bad_inputs(rng):
    layers = _layers(rng, n_layers=2)
    with pytest.raises(ValueError, match="method='rca' is not valid"):
        similarity_map(np.ones((20, 3)), layers, method="rca")
    with pytest.raises(ValueError, match="over='space' is not valid"):
        similarity_map(np.ones((20, 3)), layers, over="space")
    with pytest.raises(TypeError, match="model_features must be a non-empty dict"):
        similarity_map(np.ones((20, 3)), {})
    with pytest.raises(ValueError, match="brain has 19 conditions but the model features have 20"):
        similarity_map(rng.standard_normal((19, 3)), layers, over="layers")
    with pytest.raises(ValueError, match=r"brain must have shape \(n_conditions, n_channels, "
                                         r"n_times\) for RSA over time"):
        similarity_map(rng.standard_normal((20, 3)), layers, over="time")
    with pytest.raises(ValueError, match="RSA over sensors needs neighbors="):
        similarity_map(rng.standard_normal((20, 3)), layers, over="sensors")
    with pytest.raises(ValueError, match=r"times must have shape \(4,\)"):
        similarity_map(rng.standard_normal((20, 3, 4)), layers, over="time", times=[0, 1])
    with pytest.raises(ValueError, match="every layer must have the same number of samples"):
        similarity_map(np.ones((20, 3)), {"a": np.ones((20, 2)), "b": np.ones((10, 2))})
    with pytest.raises(ValueError, match=r"brain must have shape \(n_samples, n_targets\) for "
                                         r"encoding over voxels"):
        similarity_map(np.ones((20, 3, 2)), layers, method="encoding", over="voxels")
    with pytest.raises(ValueError, match=r"repeats must have shape \(n_repeats,\) \+ \(20, 3\)"):
        similarity_map(rng.standard_normal((20, 3)), layers, method="encoding", over="voxels",
                       repeats=np.ones((2, 20, 4)))
    with pytest.raises(ValueError, match=r"ci must be in \(0, 1\)"):
        similarity_map(np.ones((20, 3)), layers, ci=2)


def test_bootstrap_units_keep_groups_or_blocks():
    from neurodecode.similarity import _bootstrap_units

    many = np.repeat(np.arange(12), 25)
    np.testing.assert_array_equal(_bootstrap_units(300, many), many)
    few = np.repeat([0, 1, 2], [100, 120, 80])
    units = _bootstrap_units(300, few)
    assert len(np.unique(units)) == 51  # 6-sample blocks that never straddle two groups
    assert all(len(np.unique(few[units == u])) == 1 for u in np.unique(units))
    np.testing.assert_array_equal(_bootstrap_units(5, None), np.arange(5))
