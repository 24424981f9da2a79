"""Leak-free splits, the HDF5 cache and training-split scaling."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from neurodecode.align import (
    SegmentScaler,
    cached_make_segments,
    make_segments,
    split_segments,
)
from neurodecode.exceptions import AlignmentError
from neurodecode.io import Recording


def _recording(rng, n_blocks=10, block_len=20.0, sfreq=100.0, stimuli=None):
    n_times = int(n_blocks * block_len * sfreq)
    events = pd.DataFrame({
        "onset": np.arange(n_blocks) * block_len, "duration": block_len, "kind": "sound",
        "condition": "speech", "stimulus": stimuli or [f"s{k}" for k in range(n_blocks)],
        "text": "", "block": [f"b{k}" for k in range(n_blocks)], "value": 1})
    return Recording(data_loader=rng.standard_normal((4, n_times)), sfreq=sfreq, events=events,
                     modality="meeg", ch_names=list("abcd"), ch_types=["mag"] * 4)


def test_overlapping_windows_never_share_samples_or_stimuli(rng):
    # Windows straddle block boundaries on purpose: tmin < 0 and a stride shorter than the window.
    stimuli = [f"s{k % 6}" for k in range(12)]  # stimuli repeat across blocks
    rec = _recording(rng, n_blocks=12, stimuli=stimuli)
    segs = make_segments(rec, tmin=-1.0, tmax=2.0, stride=0.5, sfreq=None, baseline=None)
    splits = split_segments(segs, by="block", test_size=0.25, valid_size=0.17, seed=3)
    covered = {}
    for name, part in splits.items():
        mask = np.zeros(rec.n_times, bool)
        for a, b in zip(part.meta["start"], part.meta["stop"]):
            mask[a:b] = True
        covered[name] = mask
        assert len(part) > 0
    assert not (covered["train"] & covered["test"]).any()
    assert not (covered["train"] & covered["valid"]).any()
    assert not (covered["valid"] & covered["test"]).any()
    test_stim = set(splits["test"].meta["stimulus"])
    assert not test_stim & set(splits["train"].meta["stimulus"])
    assert not test_stim & set(splits["valid"].meta["stimulus"])
    # Straddling windows were dropped: fewer segments than before.
    assert sum(len(p) for p in splits.values()) < len(segs)


def test_shared_stimuli_allowed_and_explicit_assignment(rng):
    rec = _recording(rng, stimuli=["same"] * 10)
    segs = make_segments(rec, tmin=0.0, tmax=2.0, stride=2.0, sfreq=None)
    assignment = {"b0": "test", "b1": "valid"}
    splits = split_segments(segs, assignment=assignment, allow_shared_stimuli=True)
    assert set(splits["test"].meta["block"]) == {"b0"}
    assert len(splits["train"]) == 8 * 10
    with pytest.raises(AlignmentError, match="split 'train' would be empty .*: the assignment "
                       "gives it only windows dropped to avoid leakage"):
        split_segments(segs, assignment=assignment)  # all train shares the test stimulus
    with pytest.raises(ValueError, match=r"assignment names group\(s\) \['b-1'\] that no "
                       r"segment has"):
        split_segments(segs, assignment={"b0": "test", "b-1": "valid"})


def test_concatenated_recordings_keep_their_own_timelines(rng):
    """Segments made per recording and stacked: windows of different recordings never
    overlap, whatever their sample indices, so nothing is dropped."""
    from neurodecode.align import concatenate_segments

    parts = [make_segments(_recording(rng), tmin=0.0, tmax=2.0, stride=2.0, sfreq=None)
             for _ in range(2)]
    stacked = concatenate_segments(parts)
    assert stacked.meta["recording"].tolist() == [0] * len(parts[0]) + [1] * len(parts[1])
    assignment = {"b0": "test", "b1": "valid"}
    whole = split_segments(stacked, assignment=assignment, allow_shared_stimuli=True)
    assert len(whole["train"]) == 2 * len(split_segments(parts[0], assignment=assignment,
                                                         allow_shared_stimuli=True)["train"])


def test_split_errors(rng):
    segs = make_segments(_recording(rng, n_blocks=2), tmin=0, tmax=1, stride=1, sfreq=None)
    with pytest.raises(ValueError, match="by='chapter' is not valid"):
        split_segments(segs, by="chapter")
    with pytest.raises(ValueError, match="test_size must be in"):
        split_segments(segs, test_size=1.5)
    with pytest.raises(AlignmentError, match="finds 2 group.*3 or more are needed"):
        split_segments(segs, test_size=0.5, valid_size=0.5)
    with pytest.raises(ValueError, match="assignment value for a group='holdout'"):
        split_segments(segs, assignment={"b0": "holdout"})


def test_scaler_fitted_on_train_only(rng):
    train = rng.standard_normal((50, 3, 20)).astype(np.float32) * [[[1.0], [10.0], [100.0]]]
    scaler = SegmentScaler().fit(train)
    scaled = scaler.transform(train)
    q1, q3 = np.percentile(np.moveaxis(scaled, 1, 0).reshape(3, -1), [25, 75], axis=1)
    np.testing.assert_allclose(q3 - q1, 1.0, atol=1e-5)
    outlier = np.full((1, 3, 20), 1e6, np.float32)
    assert scaler.transform(outlier).max() == 20.0
    std = SegmentScaler("standard", clamp=None).fit_transform(train)
    np.testing.assert_allclose(std.std(axis=(0, 2)), 1.0, atol=1e-4)
    with pytest.raises(ValueError, match="method='mad' is not valid"):
        SegmentScaler("mad").fit(train)
    with pytest.raises(ValueError, match="non-empty array of shape"):
        SegmentScaler().fit(np.zeros((0, 3, 2)))
    bad = train.copy()
    bad[4, 1, 7] = np.nan
    with pytest.raises(ValueError, match="brain contains 1 NaN.*segment 4, channel 1, time 7"):
        SegmentScaler().fit(bad)
    with pytest.raises(ValueError, match=r"brain must have shape \(n_segments, 3 channels"):
        scaler.transform(train[:, :2])
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError, match="call fit"):
        SegmentScaler().transform(train)
    sparse = np.zeros((50, 1, 20))  # an EEG channel flat but for rare spikes, in volts
    sparse[::10, 0, 5] = 1e-5
    scaled = SegmentScaler(clamp=None).fit(sparse).transform(sparse)
    assert np.abs(scaled).max() > 1.0  # scaled by its standard deviation, not by 1


def test_cache_hit_miss_and_corruption(rng, tmp_path):
    rec = _recording(rng, n_blocks=3)
    params = dict(tmin=0.0, tmax=1.0, stride=1.0, sfreq=50.0)
    first = cached_make_segments(rec, tmp_path, **params)
    files = list(tmp_path.glob("segments-*.h5"))
    assert len(files) == 1
    again = cached_make_segments(rec, tmp_path, **params)
    np.testing.assert_array_equal(first.brain, again.brain)
    pd.testing.assert_frame_equal(first.meta, again.meta, check_dtype=False)
    assert files[0].stat().st_mtime_ns == list(tmp_path.glob("*.h5"))[0].stat().st_mtime_ns
    other = cached_make_segments(rec, tmp_path, **dict(params, tmax=1.5))
    assert other.brain.shape[2] == 75 and len(list(tmp_path.glob("*.h5"))) == 2
    data = files[0].read_bytes()
    files[0].write_bytes(data[: len(data) // 2])  # truncated
    with pytest.warns(RuntimeWarning, match="corrupted"):
        rebuilt = cached_make_segments(rec, tmp_path, **params)
    np.testing.assert_array_equal(rebuilt.brain, first.brain)
    rec.events.loc[0, "condition"] = "changed"  # a changed event never reads a stale cache
    changed = cached_make_segments(rec, tmp_path, **params)
    assert changed.meta["condition"].iloc[0] == "changed"


def test_cache_detects_flipped_bytes(rng, tmp_path):
    import h5py

    rec = _recording(rng, n_blocks=2)
    first = cached_make_segments(rec, tmp_path, tmin=0.0, tmax=1.0)
    path = next(tmp_path.glob("*.h5"))
    with h5py.File(path, "r+") as f:
        f["brain"][0, 0, 0] += 1.0
    with pytest.warns(RuntimeWarning, match="corrupted"):
        again = cached_make_segments(rec, tmp_path, tmin=0.0, tmax=1.0)
    np.testing.assert_array_equal(first.brain, again.brain)


def _write_fif(rng, tmp_path):
    """A FIF file of 2 EEG channels and a stim channel with 3 events (MNE's format)."""
    import mne

    info = mne.create_info(["a", "b", "STI"], 200.0, ["eeg", "eeg", "stim"])
    data = rng.standard_normal((3, 4000)) * 1e-6
    data[2] = 0
    data[2, [400, 1600, 2800]] = 1
    path = tmp_path / "rec_raw.fif"
    mne.io.RawArray(data, info, verbose="error").save(path, verbose="error")
    return path


def test_cache_misses_when_the_data_changed_in_memory_or_were_read_otherwise(rng, tmp_path):
    """A FIF read, then filtered in memory, or read with other options, never hits the
    cache entry of the unfiltered file (the key then hashes the data or the options)."""
    import mne

    from neurodecode.io import read_meeg

    path = _write_fif(rng, tmp_path)
    raw = mne.io.read_raw_fif(path, preload=True, verbose="error")
    kwargs = dict(tmin=-0.2, tmax=0.5, sfreq=None, baseline=None)
    plain = cached_make_segments(read_meeg(path), tmp_path / "cache", **kwargs)
    assert np.array_equal(cached_make_segments(read_meeg(path), tmp_path / "cache",
                                               **kwargs).brain, plain.brain)  # a hit
    filtered = raw.copy().filter(1.0, 30.0, verbose="error")
    got = cached_make_segments(read_meeg(filtered), tmp_path / "cache", **kwargs)
    assert not np.allclose(got.brain, plain.brain)
    raw.set_eeg_reference("average", projection=True, verbose="error")
    raw.save(tmp_path / "proj_raw.fif", verbose="error")
    with_proj = read_meeg(tmp_path / "proj_raw.fif")
    without = read_meeg(tmp_path / "proj_raw.fif", proj=False)
    a = cached_make_segments(with_proj, tmp_path / "cache", **kwargs)
    b = cached_make_segments(without, tmp_path / "cache", **kwargs)
    assert not np.allclose(a.brain, b.brain)


def test_stacked_parts_of_one_recording_share_its_timeline(rng, tmp_path):
    """Coarse windows of one recording and finer ones of the same recording (cut apart, one
    through the cache) are one timeline when stacked: overlaps across splits are dropped."""
    from neurodecode.align import cached_make_segments, concatenate_segments

    rec = _recording(rng, n_blocks=6)
    coarse = cached_make_segments(rec, tmp_path, tmin=0.0, tmax=2.0, stride=2.0, sfreq=None)
    coarse = cached_make_segments(rec, tmp_path, tmin=0.0, tmax=2.0, stride=2.0, sfreq=None)
    fine = make_segments(rec, tmin=-1.0, tmax=1.0, stride=0.5, sfreq=None, baseline=None)
    both = concatenate_segments([coarse, fine])
    assert set(both.meta["recording"]) == {0}
    splits = split_segments(both, assignment={"b0": "test", "b1": "valid"},
                            allow_shared_stimuli=True)
    test = splits["test"].meta
    for name in ("train", "valid"):
        for a, b in zip(splits[name].meta["start"], splits[name].meta["stop"]):
            assert ((test["stop"] <= a) | (test["start"] >= b)).all()  # no shared sample


def test_scaler_is_a_scikit_learn_transformer(rng):
    """Issue 14: params stored in __init__, learned attributes end in _, clone and
    pipelines work (the checks of parametrize_with_checks that need no 2-D data)."""
    from sklearn.base import TransformerMixin, clone
    from sklearn.pipeline import make_pipeline
    from sklearn.utils.estimator_checks import (
        check_get_params_invariance,
        check_no_attributes_set_in_init,
        check_parameters_default_constructible,
        check_set_params,
    )

    scaler = SegmentScaler("standard", clamp=5.0)
    for check in (check_no_attributes_set_in_init, check_parameters_default_constructible,
                  check_get_params_invariance, check_set_params):
        check("SegmentScaler", scaler)
    assert isinstance(scaler, TransformerMixin)
    assert clone(scaler).get_params() == {"method": "standard", "clamp": 5.0}
    train = rng.standard_normal((20, 3, 10))
    fitted = make_pipeline(clone(scaler)).fit(train)
    np.testing.assert_array_equal(fitted.transform(train), scaler.fit_transform(train))
    assert scaler.n_channels_ == 3 and not hasattr(SegmentScaler(), "scale_")


def test_with_data_drops_the_source_and_keeps_the_rest(rng, tmp_path):
    """Recording invariants (issue 14): with_data makes a new recording without a source."""
    from neurodecode.io import read_meeg

    rec = read_meeg(_write_fif(rng, tmp_path))
    assert rec.source is not None
    new = rec.with_data(rec.data * 2)
    assert new.source is None and new.source_params == {}
    assert new.uid == rec.uid and new.ch_names == rec.ch_names and new.events is rec.events
    np.testing.assert_array_equal(new.data, rec.data * 2)
    assert rec.source is not None  # the original is unchanged
    with pytest.raises(ValueError, match=r"data must have the shape .* \(2, 4000\); got \(2, 10\)"):
        rec.with_data(np.zeros((2, 10)))


def test_bandpass_then_the_segment_cache_returns_filtered_windows(rng, tmp_path):
    """The stale cache of the review (section 1.6): a band-passed recording used to keep
    ``source``, so the cache keyed on the unfiltered file."""
    from neurodecode.io import read_meeg
    from neurodecode.io.filtering import bandpass

    rec = read_meeg(_write_fif(rng, tmp_path))
    kwargs = dict(tmin=-0.2, tmax=0.5, sfreq=None, baseline=None)
    plain = cached_make_segments(rec, tmp_path / "cache", **kwargs)
    filtered = bandpass(rec, 1.0, 30.0)
    got = cached_make_segments(filtered, tmp_path / "cache", **kwargs)
    expected = make_segments(filtered, **kwargs)
    np.testing.assert_allclose(got.brain, expected.brain)
    assert not np.allclose(got.brain, plain.brain)
