"""Epochs of a fixed number of batches (brainmagick: 1,200 per epoch): one stream of random
passes that carries on across epochs, the same after a kill and resume; validation stays a
full pass."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from neurodecode.losses import ClipLoss
from neurodecode.training import SegmentDataset, fit
from neurodecode.training.distributed import DistributedInfo
from neurodecode.training.loop import make_loader

from .test_fit import _model, _split, _strip_time, planted


def _data(n: int) -> SegmentDataset:
    """Segments whose stimulus holds their own index (planted), to read batches back."""
    return SegmentDataset(np.zeros((n, 2, 4), np.float32),
                          np.arange(n, dtype=np.float32)[:, None, None] * np.ones((1, 1, 4)),
                          np.zeros(n, int))


def _ids(loader) -> list[list[int]]:
    return [batch["stimulus"][:, 0, 0].long().tolist() for batch in loader]


def _epochs(data, batch_size, batches, n_epochs, **kw):
    return [_ids(make_loader(data, batch_size, train=True, seed=5, epoch=e,
                             batches_per_epoch=batches, **kw)) for e in range(n_epochs)]


def test_the_stream_covers_every_window_before_repeating_one():
    data = _data(10)
    epochs = _epochs(data, 4, 3, 5)  # 12 windows an epoch: more than one pass of 10
    assert all(len(e) == 3 and all(len(b) == 4 for b in e) for e in epochs)
    flat = [i for e in epochs for b in e for i in b]
    for k in range(len(flat) // 10):  # each run of 10 consecutive draws is one pass
        assert sorted(flat[10 * k:10 * k + 10]) == list(range(10))
    assert flat[:10] != flat[10:20]  # a new permutation for each pass


def test_a_pass_of_whole_batches_is_the_full_pass_epoch():
    """With batches_per_epoch * batch_size = n, epoch e is the full-pass epoch e."""
    data = _data(12)
    full = [_ids(make_loader(data, 4, train=True, seed=5, epoch=e)) for e in range(3)]
    assert _epochs(data, 4, 3, 3) == full


def test_an_epoch_depends_on_seed_and_epoch_alone():
    data = _data(37)
    late = _ids(make_loader(data, 8, train=True, seed=5, epoch=6, batches_per_epoch=2))
    assert late == _epochs(data, 8, 2, 7)[6]  # the same without computing epochs 0-5
    other = _ids(make_loader(data, 8, train=True, seed=6, epoch=6, batches_per_epoch=2))
    assert other != late


def test_processes_shard_each_global_batch():
    data, world = _data(37), 2
    single = _epochs(data, 8, 3, 2)
    ranks = [_epochs(data, 4, 3, 2, info=DistributedInfo(r, world, r)) for r in range(world)]
    for e in range(2):
        for k in range(3):
            assert sorted(ranks[0][e][k] + ranks[1][e][k]) == sorted(single[e][k])
            assert not set(ranks[0][e][k]) & set(ranks[1][e][k])


def test_validation_stays_a_full_pass():
    data = _data(10)
    loader = make_loader(data, 4, train=False, seed=5, epoch=0, batches_per_epoch=1)
    assert sorted(i for b in _ids(loader) for i in b) == list(range(10))


def test_kill_and_resume_with_batches_per_epoch_is_exact(rng, tmp_path):
    brain, stim, subject, pos = planted(rng, n=96)
    train, valid = _split(brain, stim, subject, 0, 64), _split(brain, stim, subject, 64, 96)
    kw = {"positions": pos, "batch_size": 16, "lr": 3e-3, "progress": False, "seed": 3,
          "batches_per_epoch": 3}  # 48 windows an epoch of 64: epochs straddle passes
    with torch.random.fork_rng():
        straight = _model(dropout=0.2)
        full = fit(straight, ClipLoss("infonce"), train, valid, run_dir=tmp_path / "a",
                   epochs=4, **kw)
        fit(_model(dropout=0.2), ClipLoss("infonce"), train, valid, run_dir=tmp_path / "b",
            epochs=2, **kw)  # "killed" after epoch 2
        resumed_model = _model(seed=99, dropout=0.2)
        resumed = fit(resumed_model, ClipLoss("infonce"), train, valid, run_dir=tmp_path / "b",
                      epochs=4, **kw)
        whole = fit(_model(dropout=0.2), ClipLoss("infonce"), train, valid,
                    run_dir=tmp_path / "c", epochs=4, **{**kw, "batches_per_epoch": None})
    assert _strip_time(resumed.history) == _strip_time(full.history)
    for name, value in straight.state_dict().items():
        assert torch.equal(value, resumed_model.state_dict()[name]), name
    assert _strip_time(whole.history) != _strip_time(full.history)  # 3 batches, not 4


def test_batches_per_epoch_must_be_a_positive_int(rng, tmp_path):
    brain, stim, subject, pos = planted(rng, n=32)
    train = _split(brain, stim, subject, 0, 24)
    for bad in (0, 2.5, True):
        with pytest.raises(ValueError, match=r"batches_per_epoch must be an int >= 1, or None "
                                             rf"for a full pass per epoch; got {bad!r}"):
            fit(_model(), ClipLoss(), train, train, positions=pos, run_dir=tmp_path,
                progress=False, batches_per_epoch=bad)


def test_the_recipe_key_is_checked_at_load():
    from pathlib import Path

    from neurodecode.config import load_recipe
    from neurodecode.exceptions import ConfigError

    demo = Path(__file__).resolve().parents[2] / "recipes" / "demo.yaml"
    assert load_recipe(demo).training.batches_per_epoch is None  # full passes by default
    assert load_recipe(demo, ["training.batches_per_epoch=7"]).training.batches_per_epoch == 7
    with pytest.raises(ConfigError, match=r"demo.yaml: training.batches_per_epoch=0 is out of "
                                          r"range; expected >= 1 \(or null"):
        load_recipe(demo, ["training.batches_per_epoch=0"])
