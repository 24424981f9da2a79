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


def test_word_onsets_jittered_across_recordings_are_one_candidate(tmp_path, rng):
    """Onsets a few ms apart (rounded to other samples, written with 4 decimals) that
    straddle a 10 ms rounding boundary are still one word position."""
    recs = [_recording(rng, f"s{s}", {"a": 1.0}) for s in range(4)]
    for s, rec in enumerate(recs):
        words = rec.events["kind"] == "word"
        rec.events.loc[words, "onset"] += 0.005 + 0.002 * s  # 5, 7, 9, 11 ms later
    windows = make_streamed(recs, _features(rng), RecordingStore(tmp_path), on="word", **KW)
    assert len(np.unique(candidate_ids(windows, windows.meta))) == 8


def test_recording_whose_channels_have_no_positions(tmp_path, rng):
    rec = _recording(rng, "s1", {"a": 1.0})
    rec.pos_2d = None
    with pytest.raises(AlignmentError, match="channels with no positions"):
        make_streamed([rec], _features(rng), RecordingStore(tmp_path), on="word", **KW)
    other = _recording(rng, "s2", {"a": 1.0}, n_channels=4)
    other.ch_types = ["grad"] * 4
    with pytest.raises(AlignmentError, match="channel 'MEG0' is of type 'grad'"):
        make_streamed([_recording(rng, "s1", {"a": 1.0}), other], _features(rng),
                      RecordingStore(tmp_path), on="word", **KW)
    with pytest.raises(ValueError, match="offset .* shorter than the window"):
        make_streamed([rec], None, RecordingStore(tmp_path), on="word", offset=1.0, **KW)
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


def test_channel_sets_are_padded_to_their_union(tmp_path, rng):
    """A recording missing channels (bads dropped) is padded, its positions NaN there."""
    full, short = _recording(rng, "s1", {"a": 1.0}), _recording(rng, "s2", {"a": 1.0})
    keep = [0, 2, 4]
    short = Recording(short.data[keep], SFREQ, short.events, "meeg", subject="s2",
                      ch_names=[short.ch_names[k] for k in keep], ch_types=["mag"] * 3,
                      pos_2d=short.pos_2d[keep])
    windows = make_streamed([full, short], _features(rng), RecordingStore(tmp_path),
                            on="word", **KW)
    assert windows.ch_names == full.ch_names
    rows = windows.meta.index[windows.meta["recording"] == 1][:3].to_numpy()
    batch = windows.dataset(windows.meta).get_batch(rows)
    assert batch["positions"].shape == (3, 5, 2)
    np.testing.assert_array_equal(torch.isnan(batch["positions"][0, :, 0]).numpy(),
                                  [False, True, False, True, False])
    assert float(batch["brain"][:, [1, 3]].abs().max()) == 0.0
    segs = make_segments(short, on="word", features=_features(rng), **KW)
    np.testing.assert_allclose(batch["brain"][:, keep].numpy(), segs.brain[:3], atol=1e-6)
    from neurodecode.models import ConvEncoder

    model = ConvEncoder(5, 3, 2, n_virtual=4, hidden=4, depth=1)
    out = model(batch["brain"], batch["subject"], batch["positions"])
    assert torch.isfinite(out).all()


def test_offset_shifts_the_brain_after_its_target(tmp_path, rng):
    rec = _recording(rng, "s1", {"a": 1.0, "b": 12.0})
    features = _features(rng)
    plain = make_streamed([rec], features, RecordingStore(tmp_path), on="word",
                          **dict(KW, baseline=None))
    lagged = make_streamed([rec], features, RecordingStore(tmp_path), on="word", offset=0.15,
                           **dict(KW, baseline=None))
    lag = int(round(0.15 * 120))
    assert lagged.lag == lag and lagged.width == plain.width - lag
    idx = np.arange(len(plain.meta))
    a, b = plain.dataset(plain.meta).get_batch(idx), lagged.dataset(lagged.meta).get_batch(idx)
    np.testing.assert_array_equal(b["brain"].numpy(), a["brain"][:, :, lag:].numpy())
    np.testing.assert_array_equal(b["stimulus"].numpy(), a["stimulus"][:, :, :-lag].numpy())


def test_fit_windows_on_a_stride_and_test_windows_at_onsets(tmp_path, rng):
    rec = _recording(rng, "s1", {"a": 1.0, "b": 12.0})
    windows = make_streamed([rec], _features(rng), RecordingStore(tmp_path), on="word",
                            train_on="sound", train_stride=0.5, **KW)
    test, fit = (windows.meta[windows.meta["use"] == u] for u in ("test", "fit"))
    assert (test["kind"] == "word").all() and len(test) == 16
    assert (fit["kind"] == "sound").all()
    np.testing.assert_allclose(np.diff(fit["onset"].to_numpy()[:3]), 0.5)


def test_sentence_blocks_are_merged_hashed_and_hold_whole_windows():
    from neurodecode.align.splits import block_of_windows, hash_assign, sentence_blocks

    # MEG-MASC-style words: sound "a", sentences (sequence_id) of 3 words 1 s apart
    words = pd.DataFrame({"onset": np.arange(12.0), "duration": 0.3, "kind": "word",
                          "text": [f"w{k}" for k in range(12)], "block": "a",
                          "sequence_id": np.repeat([0, 1, 2, 3], 3)})
    blocks = sentence_blocks(words, min_duration=6.0)
    # sentences last 2.3 s: 0+1+2 reach 8.3 s; sentence 3 (9-11.3 s) is a short tail: merged
    assert len(blocks) == 1 and blocks["uid"][0].startswith("w0 w1")
    blocks = sentence_blocks(words, min_duration=2.0)
    assert len(blocks) == 4 and blocks["stop"][0] == 3.0  # reaches the next sentence
    uid = block_of_windows(blocks, np.array([0.0, 1.0, 2.5]), tmax=1.5)
    assert list(uid) == ["w0 w1 w2", "w0 w1 w2", ""]  # the last runs into the next block
    a = hash_assign(np.array([f"s{k}" for k in range(2000)]), 0.2, 0.1, seed=12)
    assert a == hash_assign(np.array([f"s{k}" for k in range(2000)][::-1]), 0.2, 0.1, seed=12)
    share = pd.Series(a).value_counts(normalize=True)
    assert abs(share["test"] - 0.2) < 0.03 and abs(share["valid"] - 0.1) < 0.03


def test_split_by_sentence_needs_sentence_blocks(rng):
    from neurodecode.align import split_segments

    segs = make_segments(_recording(rng, "s1", {"a": 1.0}), on="word", **KW)
    with pytest.raises(AlignmentError, match="needs the column 'sentence'"):
        split_segments(segs, by="sentence")


def test_fit_windows_every_half_second_of_each_sentence_block(tmp_path, rng):
    rec = _recording(rng, "s1", {"a": 1.0, "b": 12.0})  # 8 words 0.9 s apart per sound
    events = rec.events.assign(sequence_id=0)
    words = events["kind"] == "word"
    events.loc[words, "sequence_id"] = np.arange(words.sum()) // 2  # sentences of 2 words
    rec = Recording(rec.data, SFREQ, events, "meeg", subject="s1", ch_names=rec.ch_names,
                    ch_types=rec.ch_types, pos_2d=rec.pos_2d)
    windows = make_streamed([rec], _features(rng), RecordingStore(tmp_path), on="word",
                            train_on="sentence", train_stride=0.5, block_duration=1.5, **KW)
    fit = windows.meta[windows.meta["use"] == "fit"]
    assert len(fit) > 0 and (fit["sentence"] != "").all()  # each inside one block
    assert set(fit["stimulus"]) == {"a", "b"}
    from neurodecode.align import split_segments

    splits = split_segments(windows.as_segments(), by="sentence", test_size=0.34,
                            valid_size=0.2, seed=5)  # 4 blocks: a seed that fills all 3
    assert (splits["test"].meta["use"] == "test").all()
    assert (splits["train"].meta["use"] == "fit").all()
    with pytest.raises(AlignmentError, match="no sentence block .* lasts the window"):
        make_streamed([rec], None, RecordingStore(tmp_path), on="word", train_on="sentence",
                      train_stride=0.5, block_duration=0.0, **dict(KW, tmax=3.0))
