"""The on-disk store: built once, reused, and rebuilt when stale, truncated or corrupted."""

from __future__ import annotations

import json
import logging
import shutil

import numpy as np
import pandas as pd
import pytest

from neurodecode.align.segments import resampled_data
from neurodecode.align.store import DiskArray, RecordingStore, recording_fingerprint
from neurodecode.io.recording import Recording


def _rec(rng, seconds: float = 10.0) -> Recording:
    events = pd.DataFrame({"onset": [1.0], "duration": [1.0], "kind": ["sound"],
                           "stimulus": ["a"], "text": [""], "block": ["a"],
                           "condition": ["sound"]})
    return Recording(rng.standard_normal((3, int(seconds * 200))).astype(np.float32), 200.0,
                     events, "meeg", ch_names=["a", "b", "c"], ch_types=["mag"] * 3)


def _entries(root):
    return [p for p in root.iterdir() if not p.name.startswith(".")]


def test_recording_is_stored_once_and_equals_the_resampled_data(tmp_path, rng):
    rec, store = _rec(rng), RecordingStore(tmp_path)
    data = store.recording(rec, sfreq=120.0)
    assert isinstance(data, DiskArray) and data.shape == (3, 1200)
    np.testing.assert_array_equal(data.window(-2, 5)[:, :3], np.asarray(data)[:, [0, 0, 0]])
    np.testing.assert_array_equal(data, resampled_data(rec, 3, 5, 100.0))
    (entry,) = _entries(tmp_path)
    mtime = (entry / "data.npy").stat().st_mtime_ns
    store.recording(rec, sfreq=120.0)
    assert (entry / "data.npy").stat().st_mtime_ns == mtime  # reused, not rebuilt
    store.recording(rec, sfreq=100.0)
    assert len(_entries(tmp_path)) == 2  # another preprocessing, another entry


def test_fingerprint_follows_the_content(rng):
    rec = _rec(rng)
    same = Recording(rec.data.copy(), 200.0, rec.events, "meeg", ch_names=rec.ch_names,
                     ch_types=rec.ch_types)
    assert recording_fingerprint(rec) == recording_fingerprint(same)  # uid differs
    same.data[0, 5] += 1.0
    assert recording_fingerprint(rec) != recording_fingerprint(same)


def test_entry_from_another_preprocessing_is_rebuilt(tmp_path, rng, caplog):
    rec, store = _rec(rng), RecordingStore(tmp_path)
    store.recording(rec, sfreq=100.0)
    (other,) = _entries(tmp_path)
    store.recording(rec, sfreq=120.0)
    (entry,) = [p for p in _entries(tmp_path) if p != other]
    shutil.rmtree(entry)
    shutil.copytree(other, entry)  # an entry of the 100 Hz preprocessing under the 120 Hz key
    with caplog.at_level(logging.WARNING, logger="neurodecode"):
        data = store.recording(rec, sfreq=120.0)
    assert "from another preprocessing" in caplog.text
    assert data.shape == (3, 1200)
    np.testing.assert_array_equal(data, resampled_data(rec, 3, 5, 100.0))


@pytest.mark.parametrize("damage, message", [
    ("truncate", "truncated"), ("flip", "corrupted"), ("meta", "corrupted"),
    ("no_meta", "incomplete")])
def test_damaged_entry_is_detected_and_rebuilt(tmp_path, rng, caplog, damage, message):
    rec, store = _rec(rng), RecordingStore(tmp_path)
    expected = np.array(store.recording(rec, sfreq=120.0))
    (entry,) = _entries(tmp_path)
    path = entry / "data.npy"
    if damage == "truncate":  # a crash while writing
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    elif damage == "flip":
        raw = bytearray(path.read_bytes())
        raw[-7] ^= 0xFF
        path.write_bytes(bytes(raw))
    elif damage == "meta":
        info = json.loads((entry / "entry.json").read_text())
        info["subject"] = "someone else"
        (entry / "entry.json").write_text(json.dumps(info))
    else:
        (entry / "entry.json").unlink()
    with caplog.at_level(logging.WARNING, logger="neurodecode"):
        data = store.recording(rec, sfreq=120.0)
    assert "rebuilding" in caplog.text
    assert any(word in caplog.text for word in message.split("|"))
    np.testing.assert_array_equal(data, expected)


def test_recording_with_nan_is_an_error(tmp_path, rng):
    rec = _rec(rng)
    rec.data[1, 50] = np.nan
    with pytest.raises(ValueError, match="NaN or Inf value"):
        RecordingStore(tmp_path).recording(rec, sfreq=120.0)
    assert not list(tmp_path.iterdir())  # nothing half-written is left
