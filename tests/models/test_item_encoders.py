"""Item encoders (time-aggregated ConvEncoder, NICE-style EEG encoder, FmriEncoder), the
BrainEncoder contract and its errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from neurodecode.exceptions import ConfigError
from neurodecode.models import (
    MODELS,
    BrainEncoder,
    ConvEncoder,
    ConvEncoderTimeAgg,
    FmriEncoder,
    NiceEncoder,
    check_batch_shapes,
    check_contract,
)

TINY = dict(n_virtual=8, hidden=8, depth=2, fourier_freqs=4)


def _batch(rng, n=3, c=6, t=20):
    return (torch.as_tensor(rng.standard_normal((n, c, t)), dtype=torch.float32),
            torch.tensor([0, 1, 0][:n]), torch.as_tensor(rng.uniform(0, 1, (c, 2)),
                                                        dtype=torch.float32))


def test_every_registered_model_is_a_brain_encoder_built_by_keyword():
    sizes = {"conv_encoder": TINY, "conv_time_agg": TINY, "nice_eeg": {"n_filters": 4},
             "fmri_encoder": {"hidden": 8, "depth": 1}}
    for name, cls in MODELS.items():
        assert issubclass(cls, BrainEncoder)
        model = cls.from_sizes(n_inputs=6, n_outputs=5, n_subjects=2, **sizes[name])
        assert model.n_outputs == 5 and model.n_subjects == 2
    assert ConvEncoder.declared_output({"pool_time": True}) == "item"
    assert ConvEncoder.declared_output({}) == "timeline"
    assert ConvEncoderTimeAgg.declared_output({}) == NiceEncoder.output_rank == "item"
    assert FmriEncoder.input_rank == "patterns" and ConvEncoder.input_rank == "windows"


def test_time_aggregated_encoder_outputs_one_vector_with_weights_summing_to_one(rng):
    torch.manual_seed(0)
    brain, subject, pos = _batch(rng)
    model = ConvEncoderTimeAgg(6, 5, 2, **TINY).eval()
    out = model(brain, subject, pos)
    assert out.shape == (3, 5)
    weights = model.time_weights(model.encode_time(brain, subject, pos))
    np.testing.assert_allclose(weights.sum(-1).detach().numpy(), 1.0, rtol=1e-5)
    # Same window length-agnostic: a longer window works with the same weights.
    assert model(torch.randn(3, 6, 33), subject, pos).shape == (3, 5)
    mean = ConvEncoderTimeAgg(6, 5, 2, aggregation="mean", **TINY)
    np.testing.assert_allclose(mean.time_weights(torch.zeros(2, 8, 4)).numpy(), 0.25)


def test_time_aggregation_is_learned_towards_the_informative_samples(rng):
    """Planted: only samples 15..19 carry the target; the weights move onto them."""
    torch.manual_seed(0)
    n, c, t = 64, 4, 20
    target = torch.randn(n, 3)
    brain = torch.randn(n, c, t) * 0.1
    brain[:, :3, 15:] += target[:, :, None]
    model = ConvEncoderTimeAgg(c, 3, 1, spatial_attention=False, n_virtual=8, hidden=8, depth=1)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    subject = torch.zeros(n, dtype=torch.long)
    for _ in range(150):
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(model(brain, subject), target)
        loss.backward()
        opt.step()
    weights = model.time_weights(model.encode_time(brain, subject)).mean(0)[0]
    assert weights[15:].sum() > 0.35 > 5 / 20  # uniform weights would give 0.25


def test_time_agg_rejects_pool_time_and_bad_aggregation():
    with pytest.raises(ValueError, match="always aggregates time; remove pool_time"):
        ConvEncoderTimeAgg(4, 3, 1, pool_time=True)
    with pytest.raises(ValueError, match="aggregation"):
        ConvEncoderTimeAgg(4, 3, 1, aggregation="max", **TINY)
    with pytest.raises(ValueError, match="head='transformer' is not valid"):
        ConvEncoderTimeAgg(4, 3, 1, head="transformer", **TINY)
    with pytest.raises(ValueError, match="n_queries must be"):
        ConvEncoderTimeAgg(4, 3, 1, n_queries=0, **TINY)
    with pytest.raises(ValueError, match=r"head_dropout must be in \[0, 1\); got 1.0"):
        ConvEncoderTimeAgg(4, 3, 1, head_dropout=1.0, **TINY)


def test_time_agg_queries_heads_and_dropout(rng):
    """n_queries weightings, each summing to one, concatenated for the head."""
    torch.manual_seed(0)
    brain, subject, pos = _batch(rng)
    model = ConvEncoderTimeAgg(6, 5, 2, n_queries=3, head_dropout=0.5, **TINY).eval()
    x = model.encode_time(brain, subject, pos)
    weights = model.time_weights(x)
    assert weights.shape == (3, 3, 20)
    np.testing.assert_allclose(weights.sum(-1).detach().numpy(), 1.0, rtol=1e-5)
    assert model.head[1].in_features == 8 * 3 and model(brain, subject, pos).shape == (3, 5)
    model.train()
    assert not torch.equal(model(brain, subject, pos), model(brain, subject, pos))  # dropout
    projection = ConvEncoderTimeAgg(6, 5, 2, n_queries=2, head="projection", **TINY).eval()
    out = projection(brain, subject, pos)  # NICE's head ends in a LayerNorm
    np.testing.assert_allclose(out.mean(-1).detach().numpy(), 0.0, atol=1e-5)
    mean = ConvEncoderTimeAgg(6, 5, 2, aggregation="mean", n_queries=2, **TINY)
    assert mean.time_weights(torch.zeros(2, 8, 4)).shape == (2, 2, 4)


def test_time_bins_average_consecutive_samples_whatever_the_window(rng):
    """Planted: a window whose value is its bin's index; the pooled vector reads them back."""
    model = ConvEncoderTimeAgg(6, 5, 2, aggregation="bins", n_queries=4, **TINY)
    x = torch.arange(4.0).repeat_interleave(5).expand(2, 8, 20)  # bins of 5 samples: 0 1 2 3
    pooled = torch.einsum("bht,bqt->bhq", x, model.time_weights(x))
    np.testing.assert_allclose(pooled.numpy(), np.broadcast_to(np.arange(4.0), (2, 8, 4)))
    brain, subject, pos = _batch(rng)
    for t in (20, 33):  # the weights do not depend on the window's content, any length
        weights = model.time_weights(torch.randn(3, 8, t))
        assert torch.equal(weights[0], weights[2]) and weights.shape == (3, 4, t)
        np.testing.assert_allclose(weights.sum(-1).numpy(), 1.0, rtol=1e-6)
    assert model.eval()(brain, subject, pos).shape == (3, 5)


def test_subject_init_identity_starts_every_subject_in_one_space(rng):
    torch.manual_seed(0)
    brain, _, pos = _batch(rng)
    model = ConvEncoderTimeAgg(6, 5, 3, subject_init="identity", **TINY).eval()
    np.testing.assert_allclose(model.subject_layers.weights.detach().numpy(),
                               np.broadcast_to(np.eye(8) / 8**0.5, (3, 8, 8)))
    out = [model(brain, torch.full((3,), s), pos) for s in range(3)]
    assert torch.allclose(out[0], out[1]) and torch.allclose(out[0], out[2])
    torch.manual_seed(0)
    random = ConvEncoder(6, 5, 3, **TINY).subject_layers.weights
    assert not torch.allclose(random[0], random[1])  # the default: brainmagick's random maps
    with pytest.raises(ValueError, match="subject_init='eye' is not valid"):
        ConvEncoderTimeAgg(6, 5, 3, subject_init="eye", **TINY)


def test_nice_encoder_shapes_subjects_and_errors(rng):
    torch.manual_seed(0)
    brain, subject, _ = _batch(rng, c=6, t=30)
    model = NiceEncoder(6, 5, 2, n_filters=4, temporal_kernel=5, pool_kernel=7,
                        pool_stride=2, n_pooled=4).eval()
    out = model(brain, subject)
    assert out.shape == (3, 5)
    # Subject conditioning: the same data through another subject's layer differs.
    with torch.no_grad():
        model.subject_layers.weights[1] += 0.5
    assert not torch.allclose(model(brain, torch.tensor([1, 1, 1])), model(brain, torch.zeros(3, dtype=torch.long)))
    with pytest.raises(ValueError, match=r"brain must have shape \(batch, 6, n_times\)"):
        model(torch.zeros(2, 5, 30), torch.zeros(2, dtype=torch.long))
    with pytest.raises(ValueError, match="dropout must be in"):
        NiceEncoder(6, 5, 2, dropout=1.0)
    with pytest.raises(ValueError, match="subject index 2 was not seen"):
        model(brain, torch.tensor([2, 0, 0]))


def test_figures_hook_gives_attention_maps_without_reaching_into_attributes(rng):
    model = ConvEncoder(6, 5, 2, **TINY)
    pos = rng.uniform(0, 1, (6, 2))
    figures = model.figures(pos)
    assert figures["spatial_attention"].shape == (8, 6)
    np.testing.assert_allclose(figures["spatial_attention"].sum(1), 1.0, rtol=1e-5)
    assert model.figures(None) == {} and FmriEncoder(6, 5, 1, hidden=4).figures(pos) == {}


@pytest.mark.parametrize(("feature", "kind", "encoder", "match"), [
    ("clip_vision", "item", "conv_encoder",  # an item feature with a time-resolved encoder
     r"feature 'clip_vision' is an item feature with targets of shape \(n_features,\).*encoder "
     r"'conv_encoder' outputs \(n_features, n_times\); set model.name to an item encoder"),
    ("mel", "timeline", "conv_time_agg",  # the reverse
     r"feature 'mel' is a timeline feature with targets of shape \(n_features, n_times\).*"
     r"'conv_time_agg' outputs \(n_features,\); set model.name to a time-resolved encoder"),
])
def test_contract_feature_kind_against_encoder_output(feature, kind, encoder, match):
    with pytest.raises(ConfigError, match=match):
        check_contract(feature=feature, feature_kind=kind, encoder=encoder,
                       encoder_cls=MODELS[encoder], params={})


def test_contract_accepts_a_pooled_conv_encoder_for_items():
    check_contract(feature="clip_vision", feature_kind="item", encoder="conv_encoder",
                   encoder_cls=ConvEncoder, params={"pool_time": True})


def test_contract_data_rank_names_the_reduction_key():
    with pytest.raises(ConfigError, match=r"segments are patterns of shape \(n_voxels,\) but "
                       r"encoder 'conv_time_agg' takes \(n_channels, n_times\).*set "
                       r"segments.reduction"):
        check_contract(feature="clip_vision", feature_kind="item", encoder="conv_time_agg",
                       encoder_cls=ConvEncoderTimeAgg, params={}, data_rank="patterns")
    with pytest.raises(ConfigError, match="segments are windows.*set model.name to an M/EEG"):
        check_contract(feature="clip_vision", feature_kind="item", encoder="fmri_encoder",
                       encoder_cls=FmriEncoder, params={}, data_rank="windows")


def test_batch_shape_check_names_both_shapes():
    with pytest.raises(ConfigError, match=r"encoder 'fmri_encoder' predicts a batch of shape "
                       r"\(2, 8\) but feature 'clip_vision' gives targets of shape \(2, 16\)"):
        check_batch_shapes(feature="clip_vision", encoder="fmri_encoder", pred_shape=(2, 8),
                           target_shape=(2, 16))
