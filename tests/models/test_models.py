"""ConvEncoder, SpatialAttention, SubjectLayers and FmriEncoder: shapes, invariances, errors."""

from __future__ import annotations

import mne
import numpy as np
import pytest
import torch

from neurodecode.models import (
    MODELS,
    ConvEncoder,
    FmriEncoder,
    SpatialAttention,
    SubjectLayers,
    count_parameters,
    get_model,
    positions_from_info,
)

SMALL = {"n_virtual": 12, "hidden": 16, "depth": 3, "fourier_freqs": 4}


def _batch(rng, batch=4, channels=10, times=30, subjects=3):
    brain = torch.tensor(rng.standard_normal((batch, channels, times)), dtype=torch.float32)
    subject = torch.tensor(rng.integers(0, subjects, batch))
    positions = torch.tensor(rng.uniform(0, 1, (channels, 2)), dtype=torch.float32)
    return brain, subject, positions


@pytest.mark.parametrize("pool_time", [False, True])
def test_conv_encoder_shapes(rng, pool_time):
    brain, subject, positions = _batch(rng)
    model = ConvEncoder(10, 7, 3, pool_time=pool_time, **SMALL).eval()
    out = model(brain, subject, positions)
    assert out.shape == ((4, 7) if pool_time else (4, 7, 30))
    per_example = positions.expand(4, -1, -1)
    assert torch.allclose(model(brain, subject, per_example), out, atol=1e-6)


def test_default_size_parameter_count():
    # The docstring's figures: 7,596,754 + 72,900 per subject (n_outputs=1024).
    assert count_parameters(ConvEncoder(208, 1024, 1)) == 7_596_754 + 72_900
    assert count_parameters(ConvEncoder(208, 120, 2)) == 7_017_290 + 2 * 72_900


def test_subject_layers_apply_each_subjects_own_weights(rng):
    layer = SubjectLayers(5, 3, n_subjects=4)
    x = torch.tensor(rng.standard_normal((6, 5, 8)), dtype=torch.float32)
    subject = torch.tensor([0, 3, 1, 3, 2, 0])
    out = layer(x, subject)
    for b, s in enumerate(subject):
        expected = layer.weights[s].T @ x[b]
        assert torch.allclose(out[b], expected, atol=1e-6)
    # Changing subject 3's map changes only the examples of subject 3.
    with torch.no_grad():
        layer.weights[3] += 1.0
    changed = ~torch.isclose(layer(x, subject), out).flatten(1).all(1)
    assert changed.tolist() == (subject == 3).tolist()


def test_subject_layers_identity_init(rng):
    layer = SubjectLayers(4, 4, 2, init_identity=True)
    x = torch.tensor(rng.standard_normal((2, 4, 5)), dtype=torch.float32)
    assert torch.allclose(layer(x, torch.tensor([0, 1])), x / 2, atol=1e-6)


def test_spatial_attention_permutation_invariant(rng):
    brain, subject, positions = _batch(rng, channels=12)
    model = ConvEncoder(12, 5, 3, **SMALL).eval()
    perm = torch.tensor(rng.permutation(12))
    out = model(brain, subject, positions)
    out_perm = model(brain[:, perm], subject, positions[perm])
    assert torch.allclose(out, out_perm, atol=1e-5)
    # Moving sensors without moving their data does change the output.
    assert not torch.allclose(out, model(brain, subject, positions[perm]), atol=1e-3)


def test_absent_sensors_are_ignored(rng):
    brain, subject, positions = _batch(rng, channels=8)
    model = ConvEncoder(8, 5, 3, **SMALL).eval()
    ref = model(brain, subject, positions)
    padded = torch.cat([brain, torch.full((4, 3, 30), float("nan"))], dim=1)
    absent = torch.tensor([[float("nan"), float("nan")], [-1.0, -1.0], [0.5, 0.5]])
    mask = torch.tensor([True] * 8 + [True, True, False])
    out = model(padded, subject, torch.cat([positions, absent]), mask=mask)
    assert torch.allclose(out, ref, atol=1e-5)


def test_spatial_dropout_drops_a_disc_in_training_only(rng):
    layer = SpatialAttention(n_virtual=6, fourier_freqs=4, dropout_radius=0.3)
    positions = torch.tensor(rng.uniform(0, 1, (40, 2)), dtype=torch.float32)
    present = torch.ones(16, 40, dtype=torch.bool)
    with torch.random.fork_rng():
        torch.manual_seed(0)
        weights = layer.train().attention(positions, present)
    dropped = (weights == 0).all(dim=1)  # (batch, channels)
    assert dropped.any(dim=1).float().mean() > 0.5
    assert not dropped.all(dim=1).any()
    for row in dropped:  # the dropped sensors lie within one disc of radius 0.3
        if row.sum() > 1:
            assert torch.cdist(positions[row], positions[row]).max() <= 0.6 + 1e-6
    assert (layer.eval().attention(positions, present) > 0).all()


def test_unseen_subject_errors_or_averages(rng):
    brain, _, positions = _batch(rng)
    model = ConvEncoder(10, 5, 3, **SMALL).eval()
    with pytest.raises(ValueError, match="subject index 3 was not seen in training"):
        model(brain, torch.tensor([0, 1, 2, 3]), positions)
    with pytest.raises(ValueError, match="unseen_subject='average'"):
        model(brain, torch.tensor([-1, 0, 0, 0]), positions)
    avg = ConvEncoder(10, 5, 3, unseen_subject="average", **SMALL).eval()
    avg.load_state_dict(model.state_dict())
    out = avg(brain, torch.tensor([7, 7, 7, 7]), positions)
    with torch.no_grad():
        mean = avg.subject_layers.weights.mean(0, keepdim=True).expand(3, -1, -1).clone()
        avg.subject_layers.weights.copy_(mean)
    assert torch.allclose(avg(brain, torch.tensor([0, 1, 2, 0]), positions), out, atol=1e-5)


def test_missing_positions_say_how_to_set_a_montage(rng):
    brain, subject, _ = _batch(rng)
    model = ConvEncoder(10, 5, 3, **SMALL)
    with pytest.raises(ValueError, match="positions is None.*set_montage"):
        model(brain, subject)
    info = mne.create_info(["Fz", "Cz", "Pz", "Oz"], 100.0, "eeg")
    with pytest.raises(ValueError, match="no sensor positions.*set_montage"):
        positions_from_info(info)


def test_positions_from_info_unit_square():
    info = mne.create_info(["Fz", "Cz", "Pz", "Oz", "C3", "C4"], 100.0, "eeg")
    info.set_montage(mne.channels.make_standard_montage("easycap-M1"))
    pos = positions_from_info(info)
    assert pos.shape == (6, 2) and pos.min() == 0 and pos.max() == 1
    # Fz is in front of Oz, C3 left of C4.
    assert pos[0, 1] > pos[3, 1] and pos[4, 0] < pos[5, 0]
    # a subset keeps the positions its sensors have in the full layout
    np.testing.assert_array_equal(positions_from_info(info, picks=[1, 4]), pos[[1, 4]])


@pytest.mark.parametrize(
    ("positions", "match"),
    [
        (np.zeros((9, 2)), r"positions must have shape \(10, 2\)"),
        (np.zeros((10, 3)), r"positions must have shape"),
        (np.full((10, 2), 2.0), r"positions must lie in \[0, 1\]"),
        (np.full((10, 2), np.nan), "no present sensor"),
    ],
)
def test_bad_positions(rng, positions, match):
    brain, subject, _ = _batch(rng)
    model = ConvEncoder(10, 5, 3, **SMALL)
    with pytest.raises(ValueError, match=match):
        model(brain, subject, positions)


def test_bad_brain_and_subject(rng):
    brain, subject, positions = _batch(rng)
    model = ConvEncoder(10, 5, 3, **SMALL)
    with pytest.raises(ValueError, match=r"brain must have shape \(batch, n_channels, n_times\)"):
        model(brain[0], subject, positions)
    with pytest.raises(ValueError, match=r"subject must have shape \(4,\)"):
        model(brain, subject[:2], positions)
    with pytest.raises(TypeError, match="subject must be a 1-D integer tensor"):
        model(brain, subject.float(), positions)
    plain = ConvEncoder(10, 5, 3, spatial_attention=False, **SMALL)
    assert plain(brain, subject).shape == (4, 5, 30)
    with pytest.raises(ValueError, match="expects n_channels_in=10"):
        plain(brain[:, :8], subject)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"kernel": 4}, ValueError, "kernel must be odd"),
        ({"dropout": 1.5}, ValueError, r"dropout must be in \[0, 1\)"),
        ({"hidden": 0}, ValueError, "hidden must be a finite number > 0"),
        ({"unseen_subject": "mean"}, ValueError, "unseen_subject='mean' is not valid"),
    ],
)
def test_bad_conv_encoder_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        ConvEncoder(10, 5, 3, **{**SMALL, **kwargs})


def test_bad_subject_layers_arguments():
    with pytest.raises(ValueError, match="n_subjects must be >= 1"):
        SubjectLayers(4, 4, 0)
    with pytest.raises(ValueError, match="init_identity needs in_channels == out_channels"):
        SubjectLayers(4, 3, 2, init_identity=True)


def test_fmri_encoder(rng):
    model = FmriEncoder(50, 6, 3, hidden=16, depth=2).eval()
    brain = torch.tensor(rng.standard_normal((5, 50)), dtype=torch.float32)
    subject = torch.tensor([0, 1, 2, 1, 0])
    out = model(brain, subject)
    assert out.shape == (5, 6)
    # Example 0 depends only on its own subject's map.
    with torch.no_grad():
        model.weights[1] += torch.randn(50, 16)
    new = model(brain, subject)
    assert torch.allclose(new[[0, 2, 4]], out[[0, 2, 4]]) and not torch.allclose(new[1], out[1])
    with pytest.raises(ValueError, match=r"brain must have shape \(batch, 50\)"):
        model(brain[:, :40], subject)
    with pytest.raises(ValueError, match="FmriEncoder takes no sensor positions"):
        model(brain, subject, np.zeros((50, 2)))
    with pytest.raises(ValueError, match="subject index 5 was not seen"):
        model(brain, torch.tensor([0, 1, 2, 1, 5]))
    avg = FmriEncoder(50, 6, 3, hidden=16, depth=2, unseen_subject="average").eval()
    assert avg(brain, torch.tensor([9] * 5)).shape == (5, 6)


def test_registry():
    assert get_model("conv_encoder") is ConvEncoder
    assert set(MODELS) == {"conv_encoder", "conv_time_agg", "nice_eeg", "fmri_encoder"}
    with pytest.raises(ValueError, match="Did you mean 'conv_encoder'"):
        get_model("conv_encodr")


@pytest.mark.slow
def test_default_size_forward_and_backward(rng):
    model = ConvEncoder(208, 1024, 2)
    brain, subject, positions = _batch(rng, batch=2, channels=208, times=360, subjects=2)
    out = model(brain, subject, positions)
    assert out.shape == (2, 1024, 360)
    out.square().mean().backward()
    assert all(p.grad is not None for p in model.parameters())
