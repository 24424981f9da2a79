"""read_meeg: events from every source, positions, lazy data, and its errors."""

from __future__ import annotations

import collections

import mne
import numpy as np
import pandas as pd
import pytest

from neurodecode.exceptions import AlignmentError, DataFormatError, DataNotFoundError
from neurodecode.io import read_meeg


def _raw_with_stim(rng, sfreq=250.0, n_times=5000, first_samp=100):
    info = mne.create_info(["EEG 1", "EEG 2", "EEG 3", "STI"], sfreq, ["eeg"] * 3 + ["stim"])
    data = rng.standard_normal((4, n_times)) * 1e-6
    data[3] = 0
    for sample, code in [(500, 1), (1500, 2), (3000, 1)]:
        data[3, sample:sample + 5] = code
    raw = mne.io.RawArray(data, info, first_samp=first_samp, verbose="error")
    raw.set_montage(mne.channels.make_standard_montage("colin27_1005").rename_channels(
        {"Fz": "EEG 1", "Cz": "EEG 2", "Pz": "EEG 3"}), on_missing="ignore")
    return raw


def test_stim_channel_events_are_relative_to_first_sample(rng):
    raw = _raw_with_stim(rng)
    rec = read_meeg(raw, event_id={"a": 1, "b": 2})
    np.testing.assert_allclose(rec.events["onset"], [2.0, 6.0, 12.0])
    assert rec.events["condition"].tolist() == ["a", "b", "a"]
    assert rec.ch_names == ["EEG 1", "EEG 2", "EEG 3"]
    assert rec.data.shape == (3, 5000)


def test_events_array_with_first_samp(rng):
    raw = _raw_with_stim(rng)
    events = np.array([[raw.first_samp + 250, 0, 7]])
    rec = read_meeg(raw, events=events, event_id={"go": 7})
    assert rec.events["onset"].tolist() == [1.0]
    assert rec.events["condition"].tolist() == ["go"]


def test_annotations_events(rng):
    raw = _raw_with_stim(rng).pick(["EEG 1", "EEG 2", "EEG 3"])
    raw.set_annotations(mne.Annotations([1.0, 3.5], [0.5, 0.0], ["word", "pause"]))
    rec = read_meeg(raw)
    np.testing.assert_allclose(rec.events["onset"], [1.0, 3.5])
    assert rec.events["duration"].tolist() == [0.5, 0.0]
    assert rec.events["condition"].tolist() == ["word", "pause"]


def test_annotations_skip_bad_spans_filter_by_event_id_and_back_an_empty_stim(rng):
    raw = _raw_with_stim(rng)
    raw._data[3] = 0  # a stim channel without any event (common in EDF/BDF files)
    raw.set_annotations(mne.Annotations([1.0, 2.0, 3.5, 5.0], [0.5, 1.0, 0.0, 0.0],
                                        ["word", "BAD_blink", "pause", "EDGE boundary"]))
    rec = read_meeg(raw)
    assert rec.events["condition"].tolist() == ["word", "pause"]
    only = read_meeg(raw, event_id={"pause": 4})
    assert only.events["condition"].tolist() == ["pause"]
    assert only.events["value"].tolist() == [4]


def test_bad_channels_left_out_with_stable_positions_and_projectors_applied(rng):
    raw = _raw_with_stim(rng)
    full = read_meeg(raw)
    raw.info["bads"] = ["EEG 2"]
    rec = read_meeg(raw)
    assert rec.ch_names == ["EEG 1", "EEG 3"] and rec.data.shape == (2, 5000)
    np.testing.assert_allclose(rec.pos_2d, full.pos_2d[[0, 2]])  # same place for a sensor
    assert read_meeg(raw, exclude_bads=False).ch_names == full.ch_names
    raw.info["bads"] = []
    raw.set_eeg_reference("average", projection=True, verbose="error")
    projected = read_meeg(raw)
    np.testing.assert_allclose(projected.data.mean(0), 0.0, atol=1e-20)  # average reference
    assert not np.allclose(read_meeg(raw, proj=False).data.mean(0), 0.0, atol=1e-20)


def test_events_tsv_with_bids_columns(rng, tmp_path):
    raw = _raw_with_stim(rng)
    tsv = tmp_path / "events.tsv"
    tsv.write_text("onset\tduration\ttrial_type\tword\tsequence\n"
                   "1.0\t0.3\tword\thello\t1\n2.0\tn/a\tword\tworld\t1\n")
    rec = read_meeg(raw, events=tsv, kind="word")
    assert rec.events["text"].tolist() == ["hello", "world"]
    assert rec.events["block"].tolist() == ["1", "1"]
    assert rec.events["kind"].tolist() == ["word", "word"]
    assert rec.events["duration"].tolist() == [0.3, 0.0]


def test_positions_2d_and_3d(rng):
    rec = read_meeg(_raw_with_stim(rng))
    assert rec.pos_2d.shape == (3, 2) and rec.pos_3d.shape == (3, 3)
    assert rec.pos_2d.min() >= 0 and rec.pos_2d.max() <= 1


def test_bids_path(rng, tmp_path):
    mne_bids = pytest.importorskip("mne_bids")
    raw = _raw_with_stim(rng, first_samp=0)
    fname = tmp_path / "raw.fif"
    raw.save(fname, verbose="error")
    raw = mne.io.read_raw_fif(fname, verbose="error")
    events = mne.find_events(raw, verbose="error")
    path = mne_bids.BIDSPath(subject="07", session="a", task="listen", root=tmp_path / "bids",
                             datatype="eeg")
    mne_bids.write_raw_bids(raw, path, events=events, event_id={"x": 1, "y": 2},
                            overwrite=True, verbose="error", allow_preload=False)
    rec = read_meeg(path)
    assert rec.subject == "07" and rec.session == "a"
    assert rec.events["condition"].tolist() == ["x", "y", "x"]
    np.testing.assert_allclose(rec.events["onset"], [2.0, 6.0, 12.0], atol=1e-3)


def test_unreadable_file(tmp_path):
    bad = tmp_path / "broken_raw.fif"
    bad.write_bytes(b"not a fif file at all")
    with pytest.raises(DataFormatError, match="could not be read by MNE"):
        read_meeg(bad)
    with pytest.raises(DataNotFoundError, match="does not exist"):
        read_meeg(tmp_path / "missing_raw.fif")
    with pytest.raises(TypeError, match="source must be a path"):
        read_meeg(42)


def test_events_outside_recording(rng):
    raw = _raw_with_stim(rng)
    table = pd.DataFrame({"onset": [1.0, 50.0]})
    with pytest.raises(AlignmentError, match="outside the recording"):
        read_meeg(raw, events=table)


def test_events_table_missing_column(rng):
    with pytest.raises(DataFormatError, match="missing the required column 'onset'"):
        read_meeg(_raw_with_stim(rng), events=pd.DataFrame({"time": [1.0]}))


def test_unsorted_onsets(rng):
    with pytest.raises(AlignmentError, match="not sorted"):
        read_meeg(_raw_with_stim(rng), events=pd.DataFrame({"onset": [3.0, 1.0]}))


def test_bad_events_array_and_kind(rng):
    raw = _raw_with_stim(rng)
    with pytest.raises(ValueError, match=r"shape \(n_events, 3\)"):
        read_meeg(raw, events=np.zeros((2, 2)))
    with pytest.raises(DataFormatError, match="kind values"):
        read_meeg(raw, events=pd.DataFrame({"onset": [1.0], "kind": ["banana"]}))


@pytest.mark.realdata
def test_sample_meg(data_root):
    rec = read_meeg(data_root / "meg_sample_crop" / "test_raw.fif")
    counts = collections.Counter(rec.ch_types)
    assert (counts["grad"], counts["mag"], counts["eeg"]) == (204, 102, 60)
    cond = rec.events["condition"].value_counts()
    assert [cond[c] for c in "1234"] == [7, 8, 8, 6]
    assert rec.pos_2d.shape == (366, 2) and np.isfinite(rec.pos_2d).all()
    assert rec._data is None  # lazy until used


def test_windows_touching_bad_spans_are_dropped(rng):
    """As MNE's Epochs (reject_by_annotation): a window overlapping a BAD_ span or the
    BAD boundary of concatenated recordings is dropped with a warning."""
    from neurodecode.align import make_segments

    raw = _raw_with_stim(rng)  # events at 2, 6 and 12 s
    raw.set_annotations(mne.Annotations([5.8, 12.1], [0.5, 0.0], ["BAD_muscle", "BAD boundary"]))
    rec = read_meeg(raw)
    np.testing.assert_allclose(rec.bad_spans, [[5.8, 6.3], [12.1, 12.1]])
    with pytest.warns(UserWarning, match="2 of 3 windows touch a span marked bad"):
        segs = make_segments(rec, tmin=-0.2, tmax=0.5, sfreq=None)
    np.testing.assert_allclose(segs.meta["onset"], [2.0])
    assert len(make_segments(rec, tmin=-1.0, tmax=-0.3, sfreq=None, baseline=None)) == 3


# ---------------------------------------------------------------- issue 15: MNE objects in
def _epochs(rng, n_epochs=6):
    info = mne.create_info(["EEG 1", "EEG 2", "EEG 3"], 200.0, "eeg")
    data = rng.standard_normal((n_epochs, 3, 40)) * 1e-6
    events = np.column_stack([np.arange(n_epochs) * 100 + 50, np.zeros(n_epochs, int),
                              np.tile([1, 2], n_epochs // 2)])
    meta = pd.DataFrame({"run": np.repeat(["r1", "r2"], n_epochs // 2),
                         "rt": np.arange(n_epochs, dtype=float)})
    return mne.EpochsArray(data, info, events=events, tmin=-0.05,
                           event_id={"face": 1, "house": 2}, metadata=meta, verbose="error")


def test_epochs_become_one_event_per_epoch_with_metadata_and_one_run_each(rng):
    """Finding 3 of issue 15: read_meeg(epochs) raised TypeError."""
    epochs = _epochs(rng)
    rec = read_meeg(epochs)
    assert rec.events["condition"].tolist() == ["face", "house"] * 3
    assert rec.events["value"].tolist() == [1, 2] * 3
    np.testing.assert_allclose(rec.events["onset"], np.arange(6) * 0.2 + 0.05)
    assert rec.events["block"].tolist() == ["r1"] * 3 + ["r2"] * 3  # metadata 'run'
    assert rec.events["rt"].tolist() == list(range(6))
    assert rec.runs.tolist() == np.repeat(np.arange(6), 40).tolist()
    np.testing.assert_allclose(rec.data[:, 40:80], epochs.get_data()[1])


def test_evoked_is_one_condition(rng):
    evoked = _epochs(rng)["face"].average()
    rec = read_meeg(evoked)
    assert rec.events["condition"].tolist() == ["face"]
    np.testing.assert_allclose(rec.events["onset"], [0.05])
    np.testing.assert_allclose(rec.data, evoked.data)


def test_empty_epochs_is_an_error(rng):
    epochs = _epochs(rng)
    epochs.drop(np.arange(6), verbose="error")
    with pytest.raises(DataFormatError, match=r"empty EpochsArray \(0 epochs\)"):
        read_meeg(epochs)


def test_event_id_matching_no_event_lists_the_codes_present(rng):
    """Finding 5 of issue 15: event_id={'x': 99} gave zero events silently."""
    raw = _raw_with_stim(rng)
    with pytest.raises(AlignmentError, match=r"event_id entries \{'x': 99\} match no event in "
                                             r"the stim channel; the codes present are \[1, 2\]"):
        read_meeg(raw, event_id={"x": 99})
    with pytest.raises(AlignmentError, match=r"\{'x': 99\} match no event in events; the codes"):
        read_meeg(raw, events=np.array([[raw.first_samp + 250, 0, 7]]), event_id={"x": 99})
    raw.set_annotations(mne.Annotations([1.0], [0.0], ["word"]))
    with pytest.raises(AlignmentError, match=r"event_id names \['pause'\] that no annotation "
                                             r"carries; the annotations have descriptions "
                                             r"\['word'\]"):
        read_meeg(raw.copy().pick(["EEG 1"]), event_id={"pause": 4})


def test_fif_events_file_is_read_with_mne(rng, tmp_path):
    """Finding 5 of issue 15: events='...-eve.fif' failed with UnicodeDecodeError."""
    raw = _raw_with_stim(rng)
    path = tmp_path / "run-eve.fif"
    mne.write_events(path, np.array([[raw.first_samp + 500, 0, 3]]), verbose="error")
    rec = read_meeg(raw, events=path, event_id={"go": 3})
    assert rec.events["onset"].tolist() == [2.0] and rec.events["condition"].tolist() == ["go"]
    with pytest.raises(DataNotFoundError, match="events file .*absent-eve.fif' does not exist"):
        read_meeg(raw, events=tmp_path / "absent-eve.fif")
    (tmp_path / "junk-eve.fif").write_bytes(b"\xff\xfe not fif")
    with pytest.raises(DataFormatError, match="could not be read by mne.read_events"):
        read_meeg(raw, events=tmp_path / "junk-eve.fif")


@pytest.mark.realdata
def test_sample_meg_events_fif_file(data_root):
    """The shipped test-eve.fif (MNE sample crop, eeglabio 0.1.4 sdist) as events."""
    folder = data_root / "meg_sample_crop"
    rec = read_meeg(folder / "test_raw.fif", events=folder / "test-eve.fif",
                    event_id={"auditory/left": 1, "visual/right": 4})
    assert rec.events["condition"].value_counts().to_dict() == {"auditory/left": 7,
                                                                "visual/right": 6}


def test_picks_matching_nothing_list_the_channels(rng):
    """Issue 15, item 3: a channel name that matches nothing is an error, not a subset."""
    raw = _raw_with_stim(rng)
    assert read_meeg(raw, picks=["EEG 1", "EEG 3"]).ch_names == ["EEG 1", "EEG 3"]
    assert read_meeg(raw, picks="eeg").n_channels == 3
    with pytest.raises(ValueError, match=r"picks \[.EEG 9.\] match no channel name or "
                                         r"type of this recording; its channel types are "
                                         r"\['eeg', 'stim'\]"):
        read_meeg(raw, picks=["EEG 1", "EEG 9", "mag"])
    with pytest.raises(ValueError, match=r"picks \['mag'\] match no channel"):
        read_meeg(raw, picks="mag")
