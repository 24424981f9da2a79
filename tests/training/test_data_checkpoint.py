"""SegmentDataset (numpy and h5py), atomic checkpoints and single-process distributed helpers."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
import torch

from neurodecode.exceptions import DataNotFoundError, TrainingError
from neurodecode.training import SegmentDataset, load_checkpoint, save_checkpoint
from neurodecode.training.checkpoint import rng_state, set_rng_state
from neurodecode.training.distributed import (
    all_gather_with_grad,
    all_reduce_mean,
    get_info,
    setup_distributed,
)


def _arrays(rng, n=10):
    brain = rng.standard_normal((n, 4, 6)).astype(np.float32)
    stim = rng.standard_normal((n, 3, 6))
    return brain, stim, np.arange(n) % 3


def test_get_batch_keeps_order_and_duplicates(rng):
    brain, stim, subject = _arrays(rng)
    data = SegmentDataset(brain, stim, subject)
    index = np.array([7, 2, 7, 0, 9])
    batch = data.get_batch(index)
    assert torch.equal(batch["brain"], torch.from_numpy(brain[index]))
    assert batch["stimulus"].dtype == torch.float32
    assert torch.allclose(batch["stimulus"], torch.from_numpy(stim[index]).float())
    assert batch["subject"].tolist() == (index % 3).tolist()
    item = data[4]
    assert item["brain"].shape == (4, 6) and int(item["subject"]) == 1
    assert data.n_features == 3 and len(data) == 10


def test_h5py_and_per_segment_positions(rng, tmp_path):
    brain, stim, subject = _arrays(rng)
    positions = rng.uniform(0, 1, (10, 4, 2))
    with h5py.File(tmp_path / "segments.h5", "w") as handle:
        handle["brain"], handle["stimulus"] = brain, stim
    with h5py.File(tmp_path / "segments.h5", "r") as handle:
        data = SegmentDataset(handle["brain"], handle["stimulus"], subject, positions=positions)
        batch = data.get_batch([5, 1, 5])
    assert torch.equal(batch["brain"], torch.from_numpy(brain[[5, 1, 5]]))
    assert torch.allclose(batch["positions"], torch.from_numpy(positions[[5, 1, 5]]).float())


def test_segment_dataset_errors(rng):
    brain, stim, subject = _arrays(rng)
    with pytest.raises(ValueError, match=r"brain must have shape \(n_segments, n_channels"):
        SegmentDataset(brain[0, 0], stim, subject)
    with pytest.raises(TypeError, match="subject must be a 1-D integer array"):
        SegmentDataset(brain, stim, subject.astype(float))
    with pytest.raises(ValueError, match="same number of segments; got 10, 9, 10"):
        SegmentDataset(brain, stim[:9], subject)
    with pytest.raises(ValueError, match="brain has 6 time samples per segment but stimulus has 5"):
        SegmentDataset(brain, stim[..., :5], subject)


def test_checkpoint_roundtrip_is_atomic(tmp_path):
    path = tmp_path / "ckpt.pt"
    state = {"model": {"w": torch.arange(3.0)}, "epoch": 2, "rng": rng_state(), "h": [1.5]}
    save_checkpoint(state, path)
    loaded = load_checkpoint(path)
    assert torch.equal(loaded["model"]["w"], state["model"]["w"]) and loaded["epoch"] == 2

    class Unpicklable:
        def __reduce__(self):
            raise RuntimeError("cannot pickle")

    with pytest.raises(RuntimeError, match="cannot pickle"):
        save_checkpoint({"bad": Unpicklable()}, path)
    assert load_checkpoint(path)["epoch"] == 2  # the previous checkpoint is intact
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt.pt"]  # no temporary left


def test_rng_state_restores_draws():
    state = rng_state()
    first = torch.rand(3)
    set_rng_state(state)
    assert torch.equal(torch.rand(3), first)


class _Custom:
    pass


def test_load_checkpoint_errors(tmp_path):
    with pytest.raises(DataNotFoundError, match="does not exist"):
        load_checkpoint(tmp_path / "missing.pt")
    (tmp_path / "corrupt.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(TrainingError, match="cannot be loaded with weights_only=True"):
        load_checkpoint(tmp_path / "corrupt.pt")
    torch.save({"obj": _Custom()}, tmp_path / "code.pt")  # arbitrary objects are refused
    with pytest.raises(TrainingError, match="weights_only=True"):
        load_checkpoint(tmp_path / "code.pt")


def test_single_process_distributed_helpers(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert setup_distributed().world_size == 1 and get_info().is_main
    x = torch.ones(3, requires_grad=True)
    gathered, offset = all_gather_with_grad(x)
    assert gathered is x and offset == 0
    assert all_reduce_mean(2.5, 4) == 2.5
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.delenv("MASTER_ADDR", raising=False)
    with pytest.raises(RuntimeError, match="MASTER_ADDR.*unset; launch with torchrun"):
        setup_distributed()


def test_validation_batches_have_equal_sizes(rng):
    """65 validation segments in batches of 64: two batches of 33 and 32, not 64 and a
    lone segment whose CLIP loss (no negative) would be 0; training keeps full batches."""
    from neurodecode.training.loop import make_loader

    data = SegmentDataset(*_arrays(rng, n=65))
    sizes = [len(b["subject"]) for b in make_loader(data, 64, train=False, seed=0, epoch=0)]
    assert sorted(sizes) == [32, 33]
    train = [len(b["subject"]) for b in make_loader(data, 64, train=True, seed=0, epoch=0)]
    assert train == [64]
