"""``make_loader`` under torch.distributed: the processes' k-th batches together are the
k-th batch of one process with the global batch size (train and validation), so one
process and several see the same negatives."""

from __future__ import annotations

import numpy as np
import pytest

from neurodecode.training import SegmentDataset
from neurodecode.training.distributed import DistributedInfo
from neurodecode.training.loaders import _even_batches
from neurodecode.training.loop import make_loader


def _data(n: int) -> SegmentDataset:
    rng = np.random.default_rng(0)
    return SegmentDataset(rng.standard_normal((n, 2, 4), dtype=np.float32),
                          np.arange(n, dtype=np.float32)[:, None, None] * np.ones((1, 1, 4)),
                          np.zeros(n, int))


def _ids(loader) -> list[set[int]]:  # the planted stimulus holds each segment's index
    return [set(batch["stimulus"][:, 0, 0].long().tolist()) for batch in loader]


@pytest.mark.parametrize("train", [True, False])
@pytest.mark.parametrize("n", [37, 40])
def test_shards_of_each_batch_make_the_single_process_batch(train, n):
    data, world, per_rank = _data(n), 2, 4
    single = _ids(make_loader(data, world * per_rank, train=train, seed=3, epoch=1))
    ranks = [_ids(make_loader(data, per_rank, train=train, seed=3, epoch=1,
                              info=DistributedInfo(r, world, r))) for r in range(world)]
    assert [a | b for a, b in zip(*ranks)] == single
    assert all(not (a & b) for a, b in zip(*ranks))


def test_too_few_validation_segments_for_the_processes_are_refused():
    with pytest.raises(ValueError, match="fewer than one per process"):
        _even_batches(3, 1, DistributedInfo(0, 2, 0))
