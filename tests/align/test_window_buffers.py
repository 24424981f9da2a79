"""Windows cut into preallocated buffers equal the windows cut the former way, bit for bit.

The former implementation (``Placement.window`` and ``DiskArray.window`` up to issue 11,
streamed scoring (2)) allocated two temporaries per window; it is kept here as the
reference, on a planted placement of three stored stimuli with a gap, a seam between two
events and windows reaching past both ends of the recording.
"""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from neurodecode.align.store import DiskArray, RecordingStore
from neurodecode.features.alignment import Placement

N_FEATURES, N_TIMES, WIDTH = 64, 400, 50


class _Features:
    name, sfreq = "planted", 100.0

    def __init__(self, values):
        self.values = values


def _old_frames(block, start, stop):
    if isinstance(block, DiskArray):
        raw = np.fromfile(block.path, dtype=np.float32, offset=block._offset)
        return raw.reshape(block.shape[1], block.shape[0]).T[:, start:stop]
    return block[:, start:stop]


def _old_window(placement: Placement, start: int, width: int) -> np.ndarray:
    """``Placement.window`` as it was before the buffers (the reference)."""
    lo, hi = max(0, int(start)), min(placement.n_times, int(start) + int(width))
    inner = np.zeros((placement.n_features, max(hi - lo, 1)), dtype=np.float32)
    ends = placement.starts + placement.lengths
    for i in np.flatnonzero((placement.starts < hi) & (ends > lo)):
        a, b = max(lo, placement.starts[i]), min(hi, ends[i])
        block = placement.blocks[placement.stimuli[i]]
        offset = placement.starts[i]
        inner[:, a - lo:b - lo] = _old_frames(block, a - offset, b - offset)
    if hi - lo == width:
        return inner
    index = np.clip(np.arange(start, start + width), lo, max(hi - 1, lo)) - lo
    return inner[:, index]


@pytest.fixture
def placement(tmp_path, rng):
    store, blocks = RecordingStore(tmp_path), {}
    for stim, n in (("a", 120), ("b", 90), ("c", 150)):
        block = rng.standard_normal((N_FEATURES, n)).astype(np.float32)
        blocks[stim] = store.put_feature(_Features({stim: block}), stim, 100.0, block)
    # a at 10-130, b right after it (a seam at 130), a gap, c at 250 running past the end
    return Placement(starts=np.array([10, 130, 250]), lengths=np.array([120, 90, 150]),
                     stimuli=["a", "b", "c"], onsets=np.array([0.1, 1.3, 2.5]), blocks=blocks,
                     n_features=N_FEATURES, n_times=N_TIMES, sfreq=100.0)


STARTS = [-80, -20, 0, 5, 100, 120, 200, 230, 360, 399, 420]


@pytest.mark.parametrize("start", STARTS)
def test_placement_window_into_a_buffer_equals_the_former_window(placement, start):
    reference = _old_window(placement, start, WIDTH)
    out = np.full((N_FEATURES, WIDTH), np.nan, np.float32)  # stale values are overwritten
    scratch = np.full(N_FEATURES * WIDTH, np.nan, np.float32)
    assert placement.window(start, WIDTH, out, scratch) is out
    assert out.tobytes() == reference.tobytes()
    assert placement.window(start, WIDTH).tobytes() == reference.tobytes()


def test_window_outside_the_recording_is_zeros(placement):
    assert not placement.window(N_TIMES + 30, WIDTH).any()


@pytest.mark.parametrize("start", [-7, 0, 33, 120 - WIDTH, 100])
def test_disk_array_window_into_a_buffer_equals_edge_padded_samples(placement, start):
    data = placement.blocks["a"]
    index = np.clip(np.arange(start, start + WIDTH), 0, data.shape[1] - 1)
    reference = np.asarray(data)[:, index]
    out = np.full((N_FEATURES, WIDTH), np.nan, np.float32)
    data.window(start, WIDTH, out, np.empty(N_FEATURES * WIDTH, np.float32))
    assert out.tobytes() == reference.tobytes()
    assert data.window(start, WIDTH).tobytes() == reference.tobytes()


def test_cutting_into_buffers_allocates_no_window(placement):
    out = np.empty((len(STARTS), N_FEATURES, WIDTH), np.float32)
    scratch = np.empty(N_FEATURES * WIDTH, np.float32)
    placement.window(0, WIDTH, out[0], scratch)  # opens the files
    tracemalloc.start()
    for i, start in enumerate(STARTS):
        placement.window(start, WIDTH, out[i], scratch)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < N_FEATURES * WIDTH * 4 // 2  # less than half of one window
