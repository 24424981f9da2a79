"""Issue 15, item 2 (finding 4): recipes read data where it already is: a study's fetched
layout, a BIDS root, or files given by a glob with one events file per file."""

from __future__ import annotations

import mne
import numpy as np
import pytest

from neurodecode.build.data import _read_recordings
from neurodecode.config import DataConfig
from neurodecode.exceptions import ConfigError, DataNotFoundError


def test_mne_sample_at_a_wrong_folder_names_what_was_expected_and_found(tmp_path):
    """It was a bare IndexError."""
    (tmp_path / "MEG").mkdir()
    (tmp_path / "notes.txt").write_text("x")
    data = DataConfig(source="study", study="mne_sample", root=str(tmp_path))
    with pytest.raises(DataNotFoundError, match=r"holds no mne_sample recording. Expected the "
                                                r"layout\nMNE-sample-data/MEG/sample/"
                                                r"sample_audvis_raw.fif(.|\n)*Found: MEG/, "
                                                r"notes.txt"):
        _read_recordings(data)


def _raw(rng, sfreq=200.0, seconds=20.0):
    info = mne.create_info(["EEG 1", "EEG 2", "STI"], sfreq, ["eeg", "eeg", "stim"])
    data = rng.standard_normal((3, int(seconds * sfreq))) * 1e-6
    data[2] = 0
    return mne.io.RawArray(data, info, verbose="error")


def test_files_by_glob_with_one_fif_events_file_each(rng, tmp_path):
    """FIF events files are read with mne.read_events (a UnicodeDecodeError before)."""
    for run, code in [(1, 3), (2, 4)]:
        _raw(rng).save(tmp_path / f"run{run}_raw.fif", verbose="error")
        mne.write_events(tmp_path / f"run{run}-eve.fif", np.array([[400, 0, code],
                                                                    [800, 0, code]]),
                         verbose="error")
    data = DataConfig(source="files", files=(str(tmp_path / "run*_raw.fif"),),
                      events=(str(tmp_path / "run*-eve.fif"),))
    recs = _read_recordings(data)
    assert [r.events["value"].tolist() for r in recs] == [[3, 3], [4, 4]]
    np.testing.assert_allclose(recs[1].events["onset"], [2.0, 4.0])
    short = DataConfig(source="files", files=(str(tmp_path / "run*_raw.fif"),),
                       events=(str(tmp_path / "run1-eve.fif"),))
    with pytest.raises(ConfigError, match=r"data.events gives 1 events file\(s\) for 2 "
                                          r"recording\(s\) \(\['run1_raw.fif', 'run2_raw.fif'\]\)"):
        _read_recordings(short)
    none = DataConfig(source="files", files=(str(tmp_path / "sub*_meg.fif"),))
    with pytest.raises(DataNotFoundError, match=r"data.files pattern '.*sub\*_meg.fif' matches "
                                                r"no file; the folder holds: run1-eve.fif"):
        _read_recordings(none)


@pytest.fixture
def bids_root(rng, tmp_path):
    mne_bids = pytest.importorskip("mne_bids")
    raw_path = tmp_path / "src_raw.fif"
    raw = _raw(rng)
    raw.set_annotations(mne.Annotations([2.0, 5.0], [0.0, 0.0], ["face", "house"]))
    raw.save(raw_path, verbose="error")
    root = tmp_path / "bids"
    for subject in ("01", "02"):
        path = mne_bids.BIDSPath(subject=subject, task="view", root=root, datatype="eeg")
        mne_bids.write_raw_bids(mne.io.read_raw_fif(raw_path, verbose="error"), path,
                                allow_preload=False, overwrite=True, verbose="error")
    return root


def test_a_bids_root(bids_root):
    recs = _read_recordings(DataConfig(source="bids", root=str(bids_root),
                                       read_options={"task": "view"}))
    assert [r.subject for r in recs] == ["01", "02"]
    assert recs[0].events["condition"].tolist() == ["face", "house"]
    one = _read_recordings(DataConfig(source="bids", root=str(bids_root), subjects=("02",)))
    assert [r.subject for r in one] == ["02"]
    with pytest.raises(ConfigError, match=r"data.subjects \['03'\] are not in the BIDS root "
                                          r".*; the subjects there are \['01', '02'\]"):
        _read_recordings(DataConfig(source="bids", root=str(bids_root), subjects=("03",)))
    with pytest.raises(DataNotFoundError, match="is not a BIDS root: expected "
                                                "dataset_description.json and sub-\\*/ folders; "
                                                "found: eeg/, sub-01_scans.tsv"):
        _read_recordings(DataConfig(source="bids", root=str(bids_root / "sub-01")))
