"""Recording invariants (issue 14): ``with_data`` makes a new recording without a source."""

import mne
import numpy as np
import pytest

from neurodecode.align import cached_make_segments, make_segments
from neurodecode.io import read_meeg
from neurodecode.jobs.classification import bandpass


def _fif(rng, tmp_path):
    info = mne.create_info(["a", "b", "STI"], 200.0, ["eeg", "eeg", "stim"])
    data = rng.standard_normal((3, 4000)) * 1e-6
    data[2] = 0
    data[2, [400, 1600, 2800]] = 1
    path = tmp_path / "rec_raw.fif"
    mne.io.RawArray(data, info, verbose="error").save(path, verbose="error")
    return read_meeg(path)


def test_with_data_drops_the_source_and_keeps_the_rest(rng, tmp_path):
    rec = _fif(rng, tmp_path)
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
    rec = _fif(rng, tmp_path)
    kwargs = dict(tmin=-0.2, tmax=0.5, sfreq=None, baseline=None)
    plain = cached_make_segments(rec, tmp_path / "cache", **kwargs)
    filtered = bandpass(rec, 1.0, 30.0)
    got = cached_make_segments(filtered, tmp_path / "cache", **kwargs)
    expected = make_segments(filtered, **kwargs)
    np.testing.assert_allclose(got.brain, expected.brain)
    assert not np.allclose(got.brain, plain.brain)
