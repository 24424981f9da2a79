"""Item segments, zero-shot splits, fMRI reductions, repetition averaging, item training and
retrieval, with planted ground truth; every bad input pinned."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest
import torch

from neurodecode.align.items import (
    ItemSegments,
    average_repetitions,
    check_test_subjects,
    hrf_weights,
    make_item_segments,
    reduce_fmri_windows,
    split_items,
)
from neurodecode.align.segments import Segments
from neurodecode.decoding.items import ItemDataset, fit_ridge, score_items
from neurodecode.exceptions import AlignmentError, ConfigError
from neurodecode.features import StimulusFeatures


def _segments(rng, ids, conditions=None, subject=None, shape=(4, 5), modality="meeg"):
    n = len(ids)
    meta = pd.DataFrame({"stimulus": ids, "condition": conditions or ["training"] * n,
                         "kind": "image"})
    return Segments(brain=rng.standard_normal((n, *shape)).astype(np.float32), meta=meta,
                    sfreq=1.0 if modality == "fmri" else 100.0, tmin=0.0,
                    subject=np.zeros(n, int) if subject is None else np.asarray(subject),
                    subjects=["a", "b"], modality=modality)


def _features(ids, dim=3, seed=0):
    rng = np.random.default_rng(seed)
    return StimulusFeatures({i: rng.standard_normal(dim) for i in sorted(set(ids))}, None, "img")


def test_item_targets_are_stored_once_per_image(rng):
    ids = ["a.jpg", "b.jpg", "a.jpg", "c.jpg", "a.jpg"]
    feats = _features(ids)
    items = make_item_segments(_segments(rng, ids), feats)
    assert items.targets.shape == (3, 3) and list(items.item_ids) == ["a.jpg", "b.jpg", "c.jpg"]
    np.testing.assert_array_equal(items.item, [0, 1, 0, 2, 0])
    np.testing.assert_allclose(items.window_targets()[2], feats.values["a.jpg"])
    batch = ItemDataset(items).get_batch([4, 1])
    np.testing.assert_allclose(batch["stimulus"][0].numpy(), feats.values["a.jpg"])
    assert batch["brain"].shape == (2, 4, 5) and items.select([0, 2]).targets is items.targets


def test_item_segments_errors(rng):
    with pytest.raises(AlignmentError, match="window item 'z.jpg' .* has no 'img' feature"):
        make_item_segments(_segments(rng, ["a.jpg", "z.jpg"]), _features(["a.jpg"]))
    timeline = StimulusFeatures({"a.jpg": np.zeros((3, 4))}, 10.0, "mel")
    with pytest.raises(ConfigError, match="feature 'mel' is time-resolved"):
        make_item_segments(_segments(rng, ["a.jpg"]), timeline)


def test_fmri_window_reductions(rng):
    brain = rng.standard_normal((2, 6, 4))
    np.testing.assert_allclose(reduce_fmri_windows(brain, "mean", sfreq=1, tmin=0),
                               brain.mean(2))
    np.testing.assert_allclose(reduce_fmri_windows(brain, "tr:2", sfreq=1, tmin=0), brain[:, :, 2])
    w = hrf_weights(np.arange(4) + 3.0)
    np.testing.assert_allclose(reduce_fmri_windows(brain, "hrf", sfreq=1, tmin=3.0),
                               brain @ w)
    assert w.sum() == pytest.approx(1) and np.argmax(hrf_weights(np.arange(12.0))) == 5
    one = brain[:, :, :1]
    np.testing.assert_allclose(reduce_fmri_windows(one, None, sfreq=1, tmin=0), brain[:, :, 0])


def test_fmri_window_without_reduction_is_an_error(rng):
    with pytest.raises(ConfigError, match=r"fMRI windows span 4 TRs and segments.reduction is "
                       r"not set; set it to one of \['mean', 'tr:<k>', 'hrf'\]"):
        make_item_segments(_segments(rng, ["a", "b"], modality="fmri", shape=(6, 4)),
                           _features(["a", "b"]))
    brain = rng.standard_normal((2, 6, 4))
    with pytest.raises(ConfigError, match="picks TR 4 but the windows have 4 TRs"):
        reduce_fmri_windows(brain, "tr:4", sfreq=1, tmin=0)
    with pytest.raises(ConfigError, match="segments.reduction='max' is not valid"):
        reduce_fmri_windows(brain, "max", sfreq=1, tmin=0)
    with pytest.raises(ConfigError, match="reduction 'hrf' has no positive weight"):
        hrf_weights(np.array([-2.0, -1.0]))


def _items(rng, n_items=10, reps=3, test=()):
    ids = [f"im{k}" for k in range(n_items) for _ in range(reps)]
    cond = ["test" if i in test else "training" for i in ids]
    return make_item_segments(_segments(rng, ids, cond), _features(ids))


def test_zero_shot_splits_never_share_an_item(rng):
    items = _items(rng, n_items=20)
    splits = split_items(items, test_size=0.2, valid_size=0.1, seed=0)
    sets = {k: set(v.item) for k, v in splits.items()}
    assert not (sets["train"] & sets["test"]) and not (sets["train"] & sets["valid"])
    assert len(sets["test"]) == 4 and sum(len(v) for v in splits.values()) == len(items)
    by_condition = split_items(_items(rng, test=("im3", "im7")), test_conditions=("test",))
    assert set(by_condition["test"].item_ids[by_condition["test"].item]) == {"im3", "im7"}


def test_a_test_image_in_training_is_a_leak(rng, caplog):
    items = _items(rng, test=("im3",))
    items.meta.loc[0, "condition"] = "test"  # one presentation of im0 in the test partition
    with pytest.raises(ConfigError, match=r"1 test image\(s\) also appear in training \('im0'\): "
                       r"a leak.*split.allow_shared_stimuli=true"):
        split_items(items, test_conditions=("test",))
    with caplog.at_level(logging.WARNING, logger="neurodecode"):
        splits = split_items(items, test_conditions=("test",), allow_shared_stimuli=True)
    assert "1 test image(s) also appear in training ('im0')" in caplog.text
    assert 0 not in set(splits["train"].item) and 0 not in set(splits["valid"].item)
    with pytest.raises(ConfigError, match=r"split.test_conditions=\['nope'\] selects no window"):
        split_items(items, test_conditions=("nope",))


def test_unseen_test_subject_needs_average_subject(rng):
    items = _items(rng, n_items=6)
    train, test = items.select(np.arange(6)), items.select(np.arange(6, 12))
    test.subject = np.ones(len(test), int)
    with pytest.raises(ConfigError, match=r"test subject\(s\) \['b'\] are not in the training "
                       r"split.*model.params.unseen_subject=average"):
        check_test_subjects(train, test, average_subject=False)
    check_test_subjects(train, test, average_subject=True)


def test_repetition_averaging_per_subject_and_item(rng):
    items = _items(rng, n_items=2, reps=4)
    items.subject = np.array([0, 0, 1, 1] * 2)
    mean = average_repetitions(items)
    assert len(mean) == 4 and list(mean.meta["n_repetitions"]) == [2, 2, 2, 2]
    np.testing.assert_allclose(mean.brain[0], items.brain[:2].mean(0), rtol=1e-6)


def _planted(rng, n_items=30, reps=4, noise=0.3):
    """Brain = targets @ W (+ noise) at 5 samples: ridge and a CLIP encoder can decode it."""
    targets = rng.standard_normal((n_items, 8)).astype(np.float32)
    mixing = rng.standard_normal((8, 6 * 5))
    item = np.repeat(np.arange(n_items), reps)
    brain = (targets[item] @ mixing + noise * rng.standard_normal((len(item), 30)))
    return ItemSegments(brain=brain.reshape(-1, 6, 5).astype(np.float32), item=item,
                        item_ids=np.array([f"im{k:02d}" for k in range(n_items)]),
                        targets=targets, subject=np.zeros(len(item), int), subjects=["s"],
                        meta=pd.DataFrame({"condition": ["training"] * len(item)}))


def test_ridge_and_scoring_recover_planted_items_both_directions(rng):
    items = _planted(rng)
    splits = split_items(items, test_size=0.3, valid_size=0.1, seed=0)
    test = average_repetitions(splits["test"])
    pred = fit_ridge(splits["train"], test)
    scores = score_items(pred, test, ks=(1, 5), pool_size=None, n_bootstraps=50, seed=0,
                         directions=("brain_to_image", "image_to_brain"))
    b2i = scores["brain_to_image"]
    assert b2i.n_candidates == 9 and b2i.topk[1] > 0.7 > b2i.chance[1]
    assert scores["image_to_brain"]["s"].topk[1] > 0.7
    chance = score_items(rng.standard_normal(pred.shape), test, ks=(1,), pool_size=None,
                         n_bootstraps=10, seed=0)["brain_to_image"]
    assert chance.topk[1] < 0.5


def test_image_to_brain_needs_averaged_repetitions(rng):
    items = _planted(rng, n_items=5, reps=2)
    with pytest.raises(ValueError, match="one response per subject and item; set "
                       "evaluation.average_repetitions=true"):
        score_items(np.zeros((10, 8)), items, ks=(1,), pool_size=None, n_bootstraps=10, seed=0,
                    directions=("image_to_brain",))


def test_clip_trained_time_agg_encoder_beats_chance_on_planted_items(rng, tmp_path):
    from neurodecode.decoding.items import predict_items, train_items
    from neurodecode.losses import ClipLoss
    from neurodecode.models import ConvEncoderTimeAgg

    items = _planted(rng, n_items=40, reps=4, noise=0.5)
    splits = split_items(items, test_size=0.25, valid_size=0.1, seed=0)
    splits["test"] = average_repetitions(splits["test"])
    def make():
        return ConvEncoderTimeAgg(6, 8, 1, spatial_attention=False, n_virtual=16, hidden=16,
                                  depth=1)
    model, fitted, _ = train_items(make, ClipLoss("infonce"), splits, run_dir=tmp_path, seed=0,
                                   progress=False, epochs=25, batch_size=32, lr=3e-3, patience=25)
    result = score_items(predict_items(model, splits["test"]), splits["test"], ks=(1,),
                         pool_size=None, n_bootstraps=10, seed=0)["brain_to_image"]
    assert result.topk[1] > 3 * result.chance[1] and len(fitted.history) >= 1


def test_too_few_training_items_is_an_error(rng):
    items = _items(rng, n_items=3, test=("im0", "im1"))
    with pytest.raises(ConfigError, match=r"only 1 item\(s\) left for training"):
        split_items(items, test_conditions=("test",))


def test_nsd_shared_images_need_sharedix(tmp_path):
    from scipy.io import savemat

    from neurodecode.exceptions import DataFormatError
    from neurodecode.io.studies.nsd import EXPDESIGN, shared_images

    assert shared_images(tmp_path) is None
    (tmp_path / EXPDESIGN).parent.mkdir(parents=True)
    savemat(tmp_path / EXPDESIGN, {"other": np.zeros(2)})
    with pytest.raises(DataFormatError, match="has no readable 'sharedix'"):
        shared_images(tmp_path)


class _Fixed(torch.nn.Module):
    """A 'model' predicting ``sign * brain``: the brain holds the targets (planted)."""

    def __init__(self, sign: float) -> None:
        super().__init__()
        self.sign = sign

    def forward(self, brain, subject):
        return self.sign * brain


def test_retrieval_rank_is_one_for_the_truth_half_at_chance_zero_reversed(rng):
    from neurodecode.decoding.items import retrieval_rank

    targets = rng.standard_normal((6, 8)).astype(np.float32)
    item = np.repeat(np.arange(6), 3)
    items = ItemSegments(brain=targets[item], item=item, targets=targets,
                         item_ids=np.array([f"im{k}" for k in range(6)]),
                         subject=np.zeros(18, int), subjects=["s"],
                         meta=pd.DataFrame({"condition": ["training"] * 18}))
    assert retrieval_rank(_Fixed(1.0), items) == 1.0
    assert retrieval_rank(_Fixed(-1.0), items) == 0.0
    noise = items.select(np.arange(18))
    noise.brain = rng.standard_normal((18, 8)).astype(np.float32)
    subset = items.select(item < 3)  # only the items present are candidates: 2 others each
    assert retrieval_rank(_Fixed(1.0), subset) == 1.0
    assert 0.2 < retrieval_rank(_Fixed(1.0), noise) < 0.8
    with pytest.raises(ValueError, match=r"windows of >= 2 distinct items; got 1 \(for the "
                       r"validation split: enlarge split.valid_size\)"):
        retrieval_rank(_Fixed(1.0), items.select(item == 0))


def test_train_items_chooses_the_epoch_on_validation_retrieval(rng, tmp_path, caplog):
    from neurodecode.decoding.items import train_items
    from neurodecode.losses import ClipLoss
    from neurodecode.models import ConvEncoderTimeAgg

    items = _planted(rng, n_items=12, reps=2)
    splits = split_items(items, test_size=0.25, valid_size=0.25, seed=0)
    def make():
        return ConvEncoderTimeAgg(6, 8, 1, spatial_attention=False, n_virtual=8, hidden=8,
                                  depth=1)
    kw = dict(seed=0, progress=False, epochs=2, batch_size=8)
    _, fitted, _ = train_items(make, ClipLoss("infonce"), splits, run_dir=tmp_path / "a", **kw)
    assert [0 <= h["valid_score"] <= 1 for h in fitted.history] == [True, True]
    assert fitted.best_valid_loss == -max(h["valid_score"] for h in fitted.history)
    one = dict(splits, valid=splits["valid"].select(splits["valid"].item == splits["valid"].item[0]))
    with caplog.at_level(logging.WARNING, logger="neurodecode"):
        _, fitted, _ = train_items(make, ClipLoss("infonce"), one, run_dir=tmp_path / "b", **kw)
    assert "validation split holds 1 image(s): the epoch is chosen on the validation loss" in caplog.text
    assert "valid_score" not in fitted.history[0]
    _, fitted, _ = train_items(make, ClipLoss("infonce"), splits, run_dir=tmp_path / "c",
                               select="loss", **kw)
    assert fitted.best_valid_loss == min(h["valid_loss"] for h in fitted.history)
    with pytest.raises(ValueError, match="select='rank' is not valid"):
        train_items(make, ClipLoss("infonce"), splits, run_dir=tmp_path / "d", select="rank", **kw)
