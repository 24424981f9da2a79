"""make_segments: sample-exact alignment, resampling, baseline, features, errors."""

from __future__ import annotations

import mne
import numpy as np
import pandas as pd
import pytest
from scipy.signal import resample_poly

from neurodecode.align import make_segments
from neurodecode.align.resample import (
    n_resampled,
    resample_chunked,
    resample_full,
    resample_ratio,
)
from neurodecode.exceptions import AlignmentError
from neurodecode.io import Recording, read_meeg


def _sine_recording(sfreq=1000.0, duration=60.0, freq=2.0, n_channels=3, onsets=None,
                    durations=None, blocks=None):
    t = np.arange(int(duration * sfreq)) / sfreq
    data = np.stack([np.sin(2 * np.pi * freq * t + k) for k in range(n_channels)])
    onsets = [5.0, 12.3456, 30.0] if onsets is None else onsets
    events = pd.DataFrame({
        "onset": onsets, "duration": durations or [0.0] * len(onsets),
        "kind": "trial", "condition": "c", "stimulus": "", "text": "",
        "block": blocks or ["0"] * len(onsets), "value": 1})
    return Recording(data_loader=data, sfreq=sfreq, events=events, modality="meeg",
                     ch_names=[f"ch{k}" for k in range(n_channels)],
                     ch_types=["mag"] * n_channels)


def test_windows_are_aligned_to_onsets_after_resampling():
    rec = _sine_recording()
    segs = make_segments(rec, tmin=-0.5, tmax=1.0, sfreq=120.0, baseline=None)
    assert segs.brain.shape == (3, 3, 180) and segs.brain.dtype == np.float32
    for i, onset in enumerate(rec.events["onset"]):
        start = segs.meta["start"].iloc[i] / segs.sfreq  # sample-exact start time
        expected = np.sin(2 * np.pi * 2.0 * (start + np.arange(180) / segs.sfreq))
        np.testing.assert_allclose(segs.brain[i, 0], expected, atol=2e-3)
        assert abs(start - (onset - 0.5)) <= 0.5 / segs.sfreq


def test_no_resampling_keeps_exact_samples():
    rec = _sine_recording(sfreq=100.0)
    segs = make_segments(rec, tmin=0.0, tmax=0.5, sfreq=None, baseline=None)
    np.testing.assert_array_equal(segs.brain[0], rec.data[:, 500:550].astype(np.float32))
    assert segs.sfreq == 100.0 and segs.times[0] == 0.0


def test_baseline_removes_pre_onset_mean():
    rec = _sine_recording()
    rec.data[:] += 7.0
    segs = make_segments(rec, tmin=-0.2, tmax=0.3, baseline=(None, 0.0))
    pre = segs.brain[:, :, : int(0.2 * segs.sfreq)]
    np.testing.assert_allclose(pre.mean(axis=2), 0, atol=1e-5)


def test_sliding_windows_within_events():
    rec = _sine_recording(onsets=[1.0, 20.0], durations=[10.0, 5.0], blocks=["a", "b"])
    segs = make_segments(rec, tmin=0.0, tmax=3.0, stride=1.0, baseline=None)
    assert len(segs) == 8 + 3
    assert segs.meta["block"].tolist() == ["a"] * 8 + ["b"] * 3
    np.testing.assert_allclose(segs.meta["onset"][:3], [1.0, 2.0, 3.0])


def test_features_array_follow_the_brain():
    rec = _sine_recording()
    feats = rec.data[:2] * 2.0
    segs = make_segments(rec, tmin=-0.1, tmax=0.4, baseline=None, features=feats)
    np.testing.assert_allclose(segs.stimulus, 2 * segs.brain[:, :2], atol=1e-5)


def test_features_with_to_timeline():
    rec = _sine_recording()

    class Ramp:
        def to_timeline(self, events, n_times, sfreq):
            return np.arange(n_times, dtype=float)[None] / sfreq

    segs = make_segments(rec, tmin=0.0, tmax=0.5, baseline=None, features=Ramp())
    np.testing.assert_allclose(segs.stimulus[:, 0, 0], segs.meta["start"] / segs.sfreq)


def test_multiple_recordings_index_subjects():
    a, b = _sine_recording(), _sine_recording()
    b.subject = "02"
    segs = make_segments([a, b, a], tmin=0, tmax=0.5)
    assert segs.subjects == ["01", "02"]
    assert segs.subject.tolist() == [0] * 3 + [1] * 3 + [0] * 3
    assert segs.meta["recording"].tolist() == [0] * 3 + [1] * 3 + [0] * 3  # a is one timeline


def test_edge_windows_padded_or_dropped():
    rec = _sine_recording(onsets=[5.0, 59.55])
    segs = make_segments(rec, tmin=0.0, tmax=0.5)
    assert len(segs) == 2 and segs.meta["n_padded"].tolist() == [0, 6]
    assert len(make_segments(rec, tmin=0.0, tmax=0.5, max_pad=0.0)) == 1


def test_chunked_resampling_equals_full_signal(rng):
    x = rng.standard_normal((4, 123_457))
    for sfreq in (1000.0, 600.615, 250.0):
        up, down = resample_ratio(sfreq, 120.0)
        out = np.empty((4, n_resampled(x.shape[1], up, down)))
        resample_chunked(lambda a, b: x[:, a:b], x.shape[1], up, down, out=out, chunk_out=977)
        np.testing.assert_allclose(out, resample_full(x, up, down), atol=1e-10)
        interior = slice(200, -200)  # away from the ends, plain resample_poly
        np.testing.assert_allclose(out[:, interior], resample_poly(x, up, down, axis=1)[:, interior],
                                   atol=1e-10)


def test_errors():
    rec = _sine_recording(onsets=[1.0, 20.0], durations=[10.0, 2.0])
    with pytest.raises(ValueError, match="tmin must be smaller than tmax"):
        make_segments(rec, tmin=0.5, tmax=0.5)
    with pytest.raises(AlignmentError, match="longer than 1 selected event"):
        make_segments(rec, tmin=0.0, tmax=3.0, stride=1.0)
    with pytest.raises(AlignmentError, match="selects no event; this recording has kinds"):
        make_segments(rec, tmin=0.0, tmax=1.0, on="word")
    with pytest.raises(ValueError, match="stride must be a positive"):
        make_segments(rec, tmin=0.0, tmax=1.0, stride=0)
    with pytest.raises(ValueError, match="baseline=.* lies outside the window"):
        make_segments(rec, tmin=0.0, tmax=1.0, baseline=(-1.0, 0.0))
    with pytest.raises(ValueError, match=r"features must have shape \(n_features, 60000\)"):
        make_segments(rec, tmin=0.0, tmax=1.0, features=np.zeros((2, 5)))
    with pytest.raises(ValueError, match="non-empty list"):
        make_segments([], tmin=0.0, tmax=1.0)
    late = _sine_recording(onsets=[59.9])
    with pytest.raises(AlignmentError, match="every window reaches beyond"):
        make_segments(late, tmin=0.0, tmax=2.0)


def test_nan_names_channel_and_time():
    rec = _sine_recording()
    rec.data[1, 25_000] = np.nan
    with pytest.raises(ValueError, match=r"channel 'ch1' at 25.000 s"):
        make_segments(rec, tmin=0.0, tmax=0.5)


def test_an_offset_survives_resampling_at_the_recording_ends():
    """20 mV of offset at 1 kHz resampled to 120 Hz: constant up to the first and last
    sample (zero padding bent the first ~80 ms towards 0)."""
    x = np.full((1, 5000), 0.02)
    up, down = resample_ratio(1000.0, 120.0)
    out = np.empty((1, n_resampled(5000, up, down)))
    resample_chunked(lambda a, b: x[:, a:b], 5000, up, down, out=out, chunk_out=97)
    np.testing.assert_allclose(out, 0.02, rtol=1e-5)  # the filter's own passband ripple


def test_lazy_raw_reads_chunks(rng, tmp_path):
    info = mne.create_info(["a", "b"], 500.0, "eeg")
    raw = mne.io.RawArray(rng.standard_normal((2, 50_000)), info, verbose="error")
    raw.set_annotations(mne.Annotations([10.0, 40.0], [0, 0], ["x", "y"]))
    raw.save(tmp_path / "x_raw.fif", verbose="error")
    rec = read_meeg(tmp_path / "x_raw.fif")
    segs = make_segments(rec, tmin=0.0, tmax=1.0, chunk_duration=7.0, baseline=None)
    assert rec._data is None  # never loaded whole
    full = resample_poly(raw.get_data(), 6, 25, axis=1)
    np.testing.assert_allclose(segs.brain[0], full[:, 1200:1320], rtol=1e-5, atol=1e-6)


@pytest.mark.realdata
def test_sample_meg_segments_separate_auditory_from_visual(data_root):
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    rec = read_meeg(data_root / "meg_sample_crop" / "test_raw.fif")
    segs = make_segments(rec, tmin=-0.2, tmax=0.5, on=["1", "2", "3", "4"])
    assert segs.meta["condition"].value_counts()[list("1234")].tolist() == [7, 8, 8, 6]
    meg = [i for i, t in enumerate(segs.ch_types) if t in ("mag", "grad")]
    X = segs.brain[:, meg].reshape(len(segs), -1)
    y = segs.meta["condition"].isin(["3", "4"]).to_numpy()
    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    acc = cross_val_score(clf, X, y, cv=StratifiedKFold(5, shuffle=True, random_state=0))
    assert acc.mean() >= 0.95, acc


@pytest.mark.realdata
def test_haxby_leave_one_run_out_decoding(data_root):
    from sklearn.model_selection import LeaveOneGroupOut, cross_val_score
    from sklearn.svm import LinearSVC

    from neurodecode.io import read_fmri

    root = data_root / "fmri_haxby"
    rec = read_fmri(root / "bold.nii.gz", events=root / "attributes_literal.txt",
                    mask=root / "mask.nii.gz")
    tr = 1 / rec.sfreq
    segs = make_segments(rec, tmin=0.0, tmax=tr, stride=tr, max_pad=0.0)
    assert segs.brain.shape[1:] == (530, 1)
    X, y = segs.brain[:, :, 0], segs.meta["condition"].to_numpy()
    acc = cross_val_score(LinearSVC(C=0.01, dual="auto"), X, y, groups=segs.meta["block"],
                          cv=LeaveOneGroupOut())
    assert acc.mean() >= 0.5, acc.mean()


def test_memory_stays_bounded(rng):
    import tracemalloc

    sfreq, n_times = 1000.0, 600_000  # 10 minutes, 32 channels
    data = rng.standard_normal((32, n_times)).astype(np.float32)
    events = pd.DataFrame({"onset": np.arange(10) * 60.0, "duration": 60.0, "kind": "sound",
                           "condition": "s", "stimulus": "", "text": "",
                           "block": [str(b) for b in range(10)], "value": 1})
    rec = Recording(data_loader=data, sfreq=sfreq, events=events, modality="meeg",
                    ch_names=[f"c{i}" for i in range(32)], ch_types=["mag"] * 32)
    tracemalloc.start()
    segs = make_segments(rec, tmin=0.0, tmax=3.0, stride=1.0, baseline=None, chunk_duration=20)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 3 * segs.brain.nbytes, (peak, segs.brain.nbytes)


def test_fmri_windows_spanning_two_runs_are_dropped(rng):
    """Runs of 20 volumes (TR 2 s), cleaned separately: a window reaching into the next
    run is dropped with a warning, the others are kept."""
    runs = np.repeat([0, 1], 20)
    events = pd.DataFrame({"onset": [4.0, 30.0, 44.0], "duration": 0.0, "kind": "block",
                           "condition": "face", "stimulus": "", "text": "",
                           "block": ["0", "0", "1"], "value": 1})
    rec = Recording(data_loader=rng.standard_normal((5, 40)), sfreq=0.5, events=events,
                    modality="fmri", ch_names=[f"v{i}" for i in range(5)],
                    ch_types=["voxel"] * 5, runs=runs)
    with pytest.warns(UserWarning, match=r"1 of 3 windows span two runs .* at 36.00 s"):
        segs = make_segments(rec, tmin=0.0, tmax=10.0, delay=6.0)
    assert segs.meta["onset"].tolist() == [10.0, 50.0]
    for start, stop in zip(segs.meta["start"], segs.meta["stop"]):
        assert len(set(runs[start:stop])) == 1


# ---------------------------------------------------------------- issue 15: MNE in and out
@pytest.mark.realdata
def test_info_follows_the_resampling_and_to_epochs_round_trips(data_root):
    """Finding 2 of issue 15: Segments.info kept 600.615 Hz after resampling to 100 Hz,
    so mne.EpochsArray(segs.brain, segs.info, tmin=segs.tmin) got a wrong time axis.
    Data: the MNE sample crop (eeglabio 0.1.4 sdist) with its test-eve.fif."""
    folder = data_root / "meg_sample_crop"
    event_id = {"auditory/left": 1, "auditory/right": 2, "visual/left": 3, "visual/right": 4}
    rec = read_meeg(folder / "test_raw.fif", events=folder / "test-eve.fif", event_id=event_id)
    segs = make_segments(rec, tmin=-0.2, tmax=0.5, sfreq=100.0)
    assert segs.info["sfreq"] == pytest.approx(segs.sfreq) and segs.sfreq == pytest.approx(100, 1e-4)
    assert segs.info["lowpass"] <= segs.sfreq / 2
    epochs = segs.to_epochs()
    assert epochs.info["sfreq"] == pytest.approx(segs.sfreq)
    np.testing.assert_allclose(epochs.times[[0, -1]], [-0.2, 0.49], atol=1e-4)
    assert epochs.event_id == event_id  # the file's own codes
    assert epochs.events[:, 2].tolist() == segs.meta["value"].tolist()
    assert epochs.ch_names == segs.ch_names and not epochs.info["bads"]
    assert all(p["active"] for p in epochs.info["projs"])  # projectors applied
    assert epochs.metadata["condition"].tolist() == segs.meta["condition"].tolist()
    np.testing.assert_allclose(epochs.get_data(), segs.brain, atol=1e-4 * np.abs(segs.brain).max())


@pytest.mark.realdata
def test_make_segments_takes_raw_epochs_and_evoked(data_root):
    """Finding 3 of issue 15: make_segments(raw) and make_segments(epochs) raised
    unrelated AttributeErrors. Data: the MNE sample crop (eeglabio 0.1.4 sdist)."""
    raw = mne.io.read_raw_fif(data_root / "meg_sample_crop" / "test_raw.fif", verbose="error")
    events = mne.read_events(data_root / "meg_sample_crop" / "test-eve.fif")
    epochs = mne.Epochs(raw, events, {"aud": 1, "vis": 3}, -0.2, 0.5, preload=True,
                        verbose="error")
    from_raw = make_segments(raw, tmin=-0.2, tmax=0.5, sfreq=100.0, on=["1", "3"])
    from_epochs = make_segments(epochs, tmin=-0.2, tmax=0.5, sfreq=100.0)
    assert len(from_raw) == 15 and len(epochs) == 14  # MNE drops one at the end of the crop
    assert len(from_epochs) == 14  # every epoch kept, no window across two
    assert from_epochs.meta["condition"].tolist() == [
        {1: "aud", 3: "vis"}[c] for c in epochs.events[:, 2]]
    assert from_epochs.brain.shape[1:] == from_raw.brain.shape[1:] == (366, 70)
    evokeds = make_segments([epochs["aud"].average(), epochs["vis"].average()], tmin=-0.2,
                            tmax=0.5, sfreq=100.0)
    assert evokeds.meta["condition"].tolist() == ["aud", "vis"]
    np.testing.assert_allclose(evokeds.brain[0], from_epochs.brain[
        (from_epochs.meta["condition"] == "aud").to_numpy()].mean(0), rtol=1e-4, atol=1e-15)


def test_to_epochs_numbers_conditions_without_codes_and_needs_meeg():
    rec = _sine_recording(onsets=[5.0, 12.0, 30.0])
    rec.events["condition"] = ["b", "a", "b"]
    rec.events["value"] = -1
    rec.info = mne.create_info(rec.ch_names, rec.sfreq, "mag")
    segs = make_segments([rec, rec], tmin=-0.1, tmax=0.2, sfreq=100.0)
    epochs = segs.to_epochs()
    assert epochs.event_id == {"a": 1, "b": 2}
    assert epochs.events[:, 2].tolist() == [2, 1, 2, 2, 1, 2]
    assert len(np.unique(epochs.events[:, 0])) == 6  # second recording laid after the first
    segs.info = None
    with pytest.raises(ValueError, match="to_epochs needs M/EEG segments with an MNE info; "
                                         "these have modality='meeg' and info=None"):
        segs.to_epochs()
    with pytest.raises(TypeError, match="recording must be a Recording, an mne.io.Raw, "
                                        "mne.Epochs or mne.Evoked .*; got str"):
        make_segments("raw.fif", tmin=0, tmax=1)


def _two_condition_recording(conditions, subject="01"):
    rec = _sine_recording(onsets=[5.0 + 5 * k for k in range(len(conditions))])
    rec.events["condition"] = conditions
    rec.subject = subject
    return rec


def test_on_naming_an_absent_condition_is_an_error():
    """Issue 15: a name in ``on`` matching no event, while another matches, was dropped
    silently; it is an error listing the conditions present, unless allow_missing."""
    rec = _two_condition_recording(["face", "house", "face"])
    with pytest.raises(AlignmentError, match=r"\['cats'\] match no event of this recording; "
                       r"it has conditions \['face', 'house'\].*allow_missing_conditions"):
        make_segments(rec, tmin=0.0, tmax=1.0, on=["face", "cats"])
    assert len(make_segments(rec, tmin=0.0, tmax=1.0, on=["face", "house"])) == 3
    # a recording lacking one condition, allowed: the other recording has it
    other = _two_condition_recording(["face", "cat", "cat"], subject="02")
    segs = make_segments([rec, other], tmin=0.0, tmax=1.0, on=["face", "house", "cat"],
                         allow_missing=True)
    assert segs.meta["condition"].tolist() == ["face", "house", "face", "face", "cat", "cat"]
    with pytest.raises(AlignmentError, match=r"\['cats'\] match no event of any of the 2 "
                       r"recording\(s\); they have conditions \['cat', 'face', 'house'\]"):
        make_segments([rec, other], tmin=0.0, tmax=1.0, on=["face", "cats"], allow_missing=True)
