"""Verified cache entries: every array, the metadata and the key are checked; faults rebuild."""

from __future__ import annotations

import multiprocessing
import os
import time

import h5py
import numpy as np
import pandas as pd
import pytest

from neurodecode import _cachefile
from neurodecode._cachefile import (
    CorruptEntry,
    atomic_path,
    load_or_build,
    read_entry,
    write_entry,
)
from neurodecode.align import cached_make_segments, read_segments, write_segments
from neurodecode.exceptions import CacheError
from neurodecode.io import Recording

ARRAYS = {"a": np.arange(12.0).reshape(3, 4), "b": np.array([1, 2, 3])}
META = {"subjects": ["01", "02"], "sfreq": 120.0}


def _entry(tmp_path, key="k1"):
    return write_entry(tmp_path / "e.h5", key, ARRAYS, META)


def test_round_trip_and_no_leftover(tmp_path):
    path = _entry(tmp_path)
    arrays, meta = read_entry(path, "k1")
    np.testing.assert_array_equal(arrays["a"], ARRAYS["a"])
    assert meta == META and [p.name for p in tmp_path.iterdir()] == ["e.h5"]


def _flip_array(path, name):
    with h5py.File(path, "r+") as f:
        f[name][0] = f[name][0] + 1


def _set_attr(path, name, value):
    with h5py.File(path, "r+") as f:
        f.attrs[name] = value


@pytest.mark.parametrize("fault, reason", [
    (lambda p: _flip_array(p, "a"), "checksum mismatch"),
    (lambda p: _flip_array(p, "b"), "checksum mismatch"),
    (lambda p: _set_attr(p, "meta", '{"sfreq": 120.0, "subjects": ["01", "03"]}'),
     "checksum mismatch"),
    (lambda p: _set_attr(p, "meta", 7), "unreadable: TypeError"),  # corrupted header
    (lambda p: _set_attr(p, "key", "k2"), "written for key 'k2', not 'k1'"),
    (lambda p: p.write_bytes(p.read_bytes()[:300]), "unreadable"),  # truncated
    (lambda p: p.write_bytes(b""), "unreadable"),
])
def test_every_fault_is_a_corrupt_entry(tmp_path, fault, reason):
    path = _entry(tmp_path)
    fault(path)
    with pytest.raises(CorruptEntry, match=f"e.h5' is corrupted \\({reason}"):
        read_entry(path, "k1")


def test_deleted_array_is_detected(tmp_path):
    path = _entry(tmp_path)
    with h5py.File(path, "r+") as f:
        del f["b"]
    with pytest.raises(CorruptEntry, match="checksum mismatch"):
        read_entry(path, "k1")


def test_missing_entry_is_a_miss(tmp_path):
    with pytest.raises(FileNotFoundError, match="no cache entry"):
        read_entry(tmp_path / "none.h5", "k")


def test_failed_write_leaves_nothing_and_names_the_entry(tmp_path, monkeypatch):
    def refuse(src, dst):
        raise PermissionError(13, "Permission denied", str(dst))

    monkeypatch.setattr(_cachefile.os, "replace", refuse)
    with pytest.raises(CacheError, match="cannot write the cache entry .*e.h5.*Permission denied"):
        _entry(tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_error_inside_the_block_removes_the_temporary_file(tmp_path):
    with pytest.raises(RuntimeError, match="boom"), atomic_path(tmp_path / "x") as tmp:
        tmp.write_bytes(b"half")
        raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_folder_that_is_a_file_is_a_cache_error(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(CacheError, match="cannot write the cache entry"):
        write_entry(tmp_path / "f" / "e.h5", "k", ARRAYS, META)
    with pytest.raises(CacheError, match="cannot write the cache entry"):
        load_or_build(tmp_path / "f" / "e.h5", "k", lambda: 1, encode=_encode, decode=_decode)


def _encode(value):
    return {"v": np.array([value])}, {}


def _decode(arrays, meta):
    return int(arrays["v"][0])


def _read_or_rebuild(args):
    """In a child process: read the entry, building it (slowly, counted) when needed."""
    path, counter = args

    def build():
        with open(counter, "a") as handle:
            handle.write("built\n")
        time.sleep(0.3)
        return 42

    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_or_build(path, "k", build, encode=_encode, decode=_decode)


def test_concurrent_readers_of_a_corrupt_entry_share_one_rebuild(tmp_path):
    path = tmp_path / "e.h5"
    write_entry(path, "k", *_encode(41))
    path.write_bytes(path.read_bytes()[:200])  # corrupt
    counter = tmp_path / "builds.txt"
    with multiprocessing.get_context("fork").Pool(4) as pool:
        got = pool.map(_read_or_rebuild, [(path, counter)] * 4)
    assert got == [42] * 4
    assert counter.read_text().count("built") == 1
    assert read_entry(path, "k")[0]["v"][0] == 42


def _recording(rng):
    n = 2000
    events = pd.DataFrame({"onset": [1.0, 5.0, 9.0, 13.0], "duration": 1.0, "kind": "sound",
                           "condition": ["a", "b", "a", "b"], "stimulus": list("wxyz"),
                           "text": "", "block": ["b0", "b0", "b1", "b1"], "value": 1})
    return Recording(data_loader=rng.standard_normal((3, n)), sfreq=100.0, events=events,
                     modality="meeg", ch_names=list("abc"), ch_types=["mag"] * 3,
                     pos_2d=rng.standard_normal((3, 2)))


@pytest.mark.parametrize("fault", [
    lambda p: _flip_array(p, "subject"),
    lambda p: _flip_array(p, "pos_2d"),
    lambda p: _set_attr(p, "meta", _read_attr(p, "meta").replace("b1", "b9")),
    lambda p: _set_attr(p, "meta", _read_attr(p, "meta").replace('["01"]', '["02"]')),
    lambda p: _set_attr(p, "checksum", 3),
])
def test_segment_cache_checks_labels_subjects_positions_and_header(rng, tmp_path, fault):
    rec = _recording(rng)
    first = cached_make_segments(rec, tmp_path, tmin=0.0, tmax=0.5, sfreq=None)
    (path,) = tmp_path.glob("segments-*.h5")
    fault(path)
    with pytest.warns(RuntimeWarning, match="segment cache .* is corrupted .*; it is rebuilt"):
        again = cached_make_segments(rec, tmp_path, tmin=0.0, tmax=0.5, sfreq=None)
    np.testing.assert_array_equal(again.subject, first.subject)
    np.testing.assert_array_equal(again.pos_2d, first.pos_2d)
    assert list(again.meta["block"]) == ["b0", "b0", "b1", "b1"] and again.subjects == ["01"]


def _read_attr(path, name):
    with h5py.File(path, "r") as f:
        return f.attrs[name]


def test_segment_cache_entry_copied_under_another_key_is_rebuilt(rng, tmp_path):
    rec = _recording(rng)
    cached_make_segments(rec, tmp_path, tmin=0.0, tmax=0.5, sfreq=None)
    cached_make_segments(rec, tmp_path, tmin=0.0, tmax=0.8, sfreq=None)
    short, long_ = sorted(tmp_path.glob("segments-*.h5"), key=lambda p: p.stat().st_size)
    short.write_bytes(long_.read_bytes())
    with pytest.warns(RuntimeWarning, match="written for key"):
        again = cached_make_segments(rec, tmp_path, tmin=0.0, tmax=0.5, sfreq=None)
    assert again.brain.shape[2] == 50


def test_read_segments_with_the_wrong_key_is_a_cache_error(rng, tmp_path):
    from neurodecode.align import make_segments

    segs = make_segments(_recording(rng), tmin=0.0, tmax=0.5, sfreq=None)
    write_segments(segs, tmp_path / "s.h5", key="mine")
    pd.testing.assert_frame_equal(read_segments(tmp_path / "s.h5", key="mine").meta,
                                  segs.meta, check_dtype=False)
    with pytest.raises(CacheError, match="written for key 'mine', not 'other'"):
        read_segments(tmp_path / "s.h5", key="other")


def _cached_brain(args):
    path, seed = args
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        segs = cached_make_segments(_recording(np.random.default_rng(seed)), path,
                                    tmin=0.0, tmax=0.5, sfreq=None)
    return segs.brain.sum()


def test_concurrent_readers_of_a_corrupt_segment_entry_all_succeed(tmp_path):
    expected = _cached_brain((tmp_path, 0))
    (path,) = tmp_path.glob("segments-*.h5")
    path.write_bytes(path.read_bytes()[:1000])
    with multiprocessing.get_context("fork").Pool(4) as pool:
        got = pool.map(_cached_brain, [(tmp_path, 0)] * 6)
    assert got == [expected] * 6


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores folder permissions")
def test_read_only_cache_folder_serves_hits_and_refuses_writes(rng, tmp_path):
    rec = _recording(rng)
    cached_make_segments(rec, tmp_path, tmin=0.0, tmax=0.5, sfreq=None)
    tmp_path.chmod(0o555)
    try:
        hit = cached_make_segments(rec, tmp_path, tmin=0.0, tmax=0.5, sfreq=None)
        assert hit.brain.shape == (4, 3, 50)
        with pytest.raises(CacheError, match="cannot write the cache entry .*Permission denied"):
            cached_make_segments(rec, tmp_path, tmin=0.0, tmax=0.8, sfreq=None)
    finally:
        tmp_path.chmod(0o755)


def test_lock_file_that_cannot_be_created_is_a_cache_error(rng, tmp_path, monkeypatch):
    """What a read-only folder does to a rebuild, simulated (root ignores permissions)."""
    real_open = open

    def refusing_open(file, mode="r", *args, **kwargs):
        if str(file).endswith(".lock"):
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, mode, *args, **kwargs)

    monkeypatch.setattr("builtins.open", refusing_open)
    with pytest.raises(CacheError, match="cannot write the cache entry .*e.h5.*Permission denied"):
        load_or_build(tmp_path / "e.h5", "k", lambda: 1, encode=_encode, decode=_decode)
