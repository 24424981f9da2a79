"""Streamed windows: the same windows as make_segments, cut on demand from the store."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from neurodecode.align import make_segments
from neurodecode.align.dataset import candidate_ids, make_streamed
from neurodecode.align.store import RecordingStore
from neurodecode.evaluation import compute_topk_accuracy
from neurodecode.exceptions import AlignmentError
from neurodecode.features import StimulusFeatures
from neurodecode.io.recording import Recording
from neurodecode.training.loop import make_loader

SFREQ = 200.0  # brain rate; windows at 120 Hz (resampled by 3/5)


def _recording(rng, subject: str, sound_onsets: dict[str, float], seconds: float = 30.0,
               n_channels: int = 5, session: str | None = None) -> Recording:
    rows = []
    for stim, onset in sound_onsets.items():
        rows.append({"onset": onset, "duration": 8.0, "kind": "sound", "stimulus": stim,
                     "text": "", "block": stim, "condition": "sound"})
        for k in range(8):
            rows.append({"onset": onset + 0.25 + 0.9 * k, "duration": 0.3, "kind": "word",
                         "stimulus": stim, "text": f"{stim}-w{k % 5}", "block": stim,
                         "condition": "word"})
    events = pd.DataFrame(rows).sort_values("onset", kind="stable").reset_index(drop=True)
    data = rng.standard_normal((n_channels, int(seconds * SFREQ))).astype(np.float32)
    data *= rng.uniform(0.5, 4.0, (n_channels, 1))
    return Recording(data, SFREQ, events, "meeg", subject=subject, session=session,
                     ch_names=[f"MEG{i}" for i in range(n_channels)],
                     ch_types=["mag"] * n_channels, pos_2d=rng.uniform(0, 1, (n_channels, 2)))


def _features(rng) -> StimulusFeatures:
    values = {s: rng.standard_normal((3, 80)).cumsum(1).astype(np.float32) for s in "ab"}
    return StimulusFeatures(values, 10.0, "planted")


KW = dict(tmin=-0.2, tmax=0.8, sfreq=120.0, baseline=(None, 0.0), delay=0.0, max_pad=0.1)


@pytest.mark.parametrize("on, stride", [("word", None), ("sound", 0.5)])
def test_streamed_equals_make_segments(tmp_path, rng, on, stride):
    recs = [_recording(rng, "s1", {"a": 1.0, "b": 12.0}), _recording(rng, "s2", {"a": 3.3})]
    features = _features(rng)
    windows = make_streamed(recs, features, RecordingStore(tmp_path), on=on, stride=stride, **KW)
    for r, rec in enumerate(recs):
        segs = make_segments(rec, on=on, stride=stride, features=features, **KW)
        meta = windows.meta[windows.meta["recording"] == r]
        dataset = windows.dataset(meta)
        batch = dataset.get_batch(np.arange(len(dataset)))
        np.testing.assert_array_equal(meta["start"].to_numpy(), segs.meta["start"].to_numpy())
        np.testing.assert_allclose(batch["brain"].numpy(), segs.brain, rtol=1e-6, atol=1e-6)
        np.testing.assert_array_equal(batch["stimulus"].numpy(), segs.stimulus)
    assert windows.subjects == ["s1", "s2"] and windows.width == 120


def test_scaling_is_per_recording_and_clamped(tmp_path, rng):
    recs = [_recording(rng, "s1", {"a": 1.0}), _recording(rng, "s2", {"a": 2.0})]
    recs[1].data[:] *= 100.0  # another gain: per-recording scaling removes it
    windows = make_streamed(recs, _features(rng), RecordingStore(tmp_path), on="sound",
                            stride=0.25, **KW)
    scalers = windows.fit_scalers(windows.meta, "robust", 3.0)
    brain = windows.dataset(windows.meta, scalers).get_batch(np.arange(len(windows.meta)))["brain"]
    recs_of = windows.meta["recording"].to_numpy()
    iqr = [np.subtract(*np.percentile(brain[recs_of == r].numpy(), [75, 25])) for r in (0, 1)]
    np.testing.assert_allclose(iqr, 1.0, atol=0.1)
    assert float(brain.abs().max()) <= 3.0


def test_loader_with_workers_reads_the_same_batches(tmp_path, rng):
    recs = [_recording(rng, "s1", {"a": 1.0, "b": 12.0})]
    windows = make_streamed(recs, _features(rng), RecordingStore(tmp_path), on="word", **KW)
    dataset = windows.dataset(windows.meta)
    loaders = [make_loader(dataset, 4, train=False, seed=0, epoch=0, num_workers=n)
               for n in (0, 2)]
    for a, b in zip(*loaders):
        assert torch.equal(a["brain"], b["brain"]) and torch.equal(a["stimulus"], b["stimulus"])


def test_one_candidate_per_word_position_across_subjects_and_sessions(tmp_path, rng):
    # 3 subjects x 2 sessions hear story "a" at different onsets (not on the 120 Hz grid)
    recs = [_recording(rng, f"s{s}", {"a": 1.0 + 0.37 * s + 1.13 * k}, session=str(k))
            for s in range(3) for k in range(2)]
    features = _features(rng)
    windows = make_streamed(recs, features, RecordingStore(tmp_path), on="word", **KW)
    ids = candidate_ids(windows, windows.meta)
    assert len(windows.meta) == 6 * 8 and len(np.unique(ids)) == 8  # 8 word positions
    assert all(i.startswith("a@") for i in ids)
    target = windows.dataset(windows.meta).stimulus(np.arange(len(ids)))
    result = compute_topk_accuracy(target, target, ks=(1, 5), segment_ids=ids,
                                   groups=windows.meta["text"].to_numpy(), n_bootstraps=10)
    assert result.n_candidates == 8 and result.chance[1] == pytest.approx(1 / 8)
    assert result.n_words == 5 and result.word_chance[1] == pytest.approx(1 / 5)


def test_recording_whose_channels_have_no_positions(tmp_path, rng):
    rec = _recording(rng, "s1", {"a": 1.0})
    rec.pos_2d = None
    with pytest.raises(AlignmentError, match="channels with no positions"):
        make_streamed([rec], _features(rng), RecordingStore(tmp_path), on="word", **KW)
    other = _recording(rng, "s2", {"a": 1.0}, n_channels=4)
    with pytest.raises(AlignmentError, match="channels that differ from the first"):
        make_streamed([_recording(rng, "s1", {"a": 1.0}), other], _features(rng),
                      RecordingStore(tmp_path), on="word", **KW)
    with pytest.raises(ValueError, match="recordings must be a non-empty list"):
        make_streamed([], None, RecordingStore(tmp_path), on="word", **KW)
    with pytest.raises(ValueError, match="tmin must be smaller than tmax"):
        make_streamed([rec], None, RecordingStore(tmp_path), on="word",
                      **dict(KW, tmin=1.0, tmax=0.5))


def test_image_windows_are_one_candidate_per_image(tmp_path, rng):
    rows = [{"onset": 1.0 + 2.0 * k, "duration": 0.5, "kind": "image", "stimulus": img,
             "text": "", "block": str(k), "condition": "image"}
            for k, img in enumerate(["cat.jpg", "dog.jpg", "cat.jpg"])]
    rec = _recording(rng, "s1", {"a": 1.0})
    rec.events = pd.DataFrame(rows)  # an image study (THINGS-like rows)
    features = StimulusFeatures({"cat.jpg": np.ones(4), "dog.jpg": np.zeros(4)}, None, "clip")
    windows = make_streamed([rec], features, RecordingStore(tmp_path), on="image", **KW)
    assert candidate_ids(windows, windows.meta).tolist() == ["cat.jpg", "dog.jpg", "cat.jpg"]
    segs = make_segments(rec, on="image", features=features, **KW)
    stim = windows.dataset(windows.meta).stimulus(np.arange(3))
    np.testing.assert_array_equal(stim, segs.stimulus)
