"""EEG, fMRI and MNE-sample studies: loopback fetch, then read Recordings."""

from __future__ import annotations

import io

import mne
import numpy as np
import pandas as pd
import pytest
from scipy.io import savemat

from neurodecode.exceptions import DataFormatError, DataNotFoundError
from neurodecode.io.studies import fetch, get_study, main_fetch
from neurodecode.io.studies import mne_sample as mne_sample_module

from ._fake import md5, nifti_bytes, tar_gz, tree_bytes, write_nsd, zip_file


def _npy(obj) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.array(obj, dtype=object), allow_pickle=True)
    return buffer.getvalue()


# ------------------------------------------------------------------ THINGS-EEG2
def test_things_eeg2_fetch_and_read(server, tmp_path, rng):
    sfreq, n = 100.0, 1000
    stim = np.zeros(n)
    stim[[100, 300, 500]] = [2, 99999, 1]  # planted: image 2, a catch trial, image 1
    eeg = {"raw_eeg_data": np.vstack([rng.standard_normal((3, n)) * 1e-6, stim]),
           "ch_names": ["Fp1", "Cz", "Oz", "stim"], "ch_types": ["eeg"] * 3 + ["stim"],
           "sfreq": sfreq}
    raw_node = server.folder / "osf" / "crxs4"
    raw_node.mkdir(parents=True)
    for subject in ("01", "02"):
        zip_file(raw_node / f"sub-{subject}.zip",
                 {f"sub-{subject}/ses-01/raw_eeg_test.npy": _npy(eeg)})
    images = server.folder / "osf" / "y63gw"
    (images / "test_images" / "bee").mkdir(parents=True)
    (images / "test_images" / "ant").mkdir(parents=True)
    (images / "test_images" / "bee" / "bee_02.jpg").write_bytes(b"JPEG")
    (images / "image_metadata.npy").write_bytes(_npy({
        "test_img_files": ["ant_01.jpg", "bee_02.jpg"], "test_img_concepts": ["ant", "bee"],
        "train_img_files": [], "train_img_concepts": []}))
    folder = fetch("things_eeg2", tmp_path, url_override=server.url + "/v2", subjects=["01"],
                   progress=False)
    assert (folder / "raw_eeg" / "sub-01" / "ses-01" / "raw_eeg_test.npy").is_file()
    assert not (folder / "raw_eeg" / "sub-02").exists()
    assert not (folder / "raw_eeg" / "sub-01.zip").exists()  # extracted then removed
    (rec,) = get_study("things_eeg2").read(folder, "01")
    ev = rec.events
    assert rec.ch_names == ["Fp1", "Cz", "Oz"] and rec.session == "01"
    assert np.allclose(ev["onset"], [1.0, 3.0, 5.0])
    assert ev["text"].tolist() == ["bee", "", "ant"]
    assert ev["condition"].tolist() == ["test", "catch", "test"]
    assert ev.loc[0, "stimulus"] == str(folder / "image_set/test_images/bee/bee_02.jpg")
    assert (folder / "image_set/test_images/bee/bee_02.jpg").is_file()
    with pytest.raises(DataNotFoundError, match="no raw_eeg_\\*.npy for subject='03'"):
        get_study("things_eeg2").read(folder, "03")


def test_things_eeg2_bad_npy(tmp_path):
    from neurodecode.io.studies.things_eeg2 import _raw_from_npy

    (tmp_path / "x.npy").write_bytes(_npy({"ch_names": ["a"]}))
    with pytest.raises(DataFormatError, match="lacks 'sfreq'|lacks 'ch_types'|lacks 'raw"):
        _raw_from_npy(tmp_path / "x.npy")


# ------------------------------------------------------------------ Brennan 2019
def _brennan_files(rng) -> dict[str, bytes]:
    sfreq, n = 500.0, 10_000
    labels = np.array([str(i) for i in range(1, 4)] + ["VEOG"], dtype=object)
    buf = io.BytesIO()
    savemat(buf, {"raw": {"hdr": {"label": labels, "Fs": sfreq},
                          "trial": rng.standard_normal((4, n)), "fsample": sfreq}})
    eeg = buf.getvalue()
    # three words: epochs begin 150 samples before the word (offset -150), 1-based samples
    trl = np.array([[1001, 1400, -150, 1, 0, 1], [1501, 1900, -150, 1, 0, 2],
                    [4001, 4400, -150, 2, 0, 3]], dtype=float)
    buf = io.BytesIO()
    savemat(buf, {"proc": {"trl": trl}})
    words = pd.DataFrame({"Word": ["Alice", "was,", "tired"], "Segment": [1, 1, 2],
                          "onset": [2.0, 3.0, 0.5], "offset": [2.4, 3.3, 0.9],
                          "Sentence": [1, 1, 2]})
    return {"S01.mat": eeg, "proc.zip": _zip_bytes({"proc/S01.mat": buf.getvalue()}),
            "audio.zip": _zip_bytes({"audio/DownTheRabbitHoleFinal_SoundFile1.wav": b"R",
                                     "audio/DownTheRabbitHoleFinal_SoundFile2.wav": b"R"}),
            "AliceChapterOne-EEG.csv": words.to_csv(index=False).encode()}


def _zip_bytes(files):
    buffer = io.BytesIO()
    import zipfile

    with zipfile.ZipFile(buffer, "w") as handle:
        for name, data in files.items():
            handle.writestr(name, data)
    return buffer.getvalue()


def test_brennan2019_fetch_and_read(server, tmp_path, rng, monkeypatch):
    from neurodecode.io.studies import brennan2019

    (server.folder / "deepblue").mkdir()
    ids = []
    for number, (name, data) in enumerate(_brennan_files(rng).items()):
        (server.folder / "deepblue" / name).write_bytes(data)
        server.named[f"id{number}"] = name
        ids.append(f"id{number}")
    monkeypatch.setattr(brennan2019, "FILE_IDS", tuple(ids))
    folder = fetch("brennan2019", tmp_path, url_override=server.url + "/deepblue",
                   progress=False)
    assert (folder / "S01.mat").is_file() and (folder / "proc" / "S01.mat").is_file()
    assert (folder / "audio" / "DownTheRabbitHoleFinal_SoundFile2.wav").is_file()
    assert get_study("brennan2019").subjects(folder) == ["S01"]
    (rec,) = get_study("brennan2019").read(folder, "1")
    ev = rec.events
    words = ev[ev.kind == "word"]
    # t=0 of each epoch is begsample - offset (1-based): 1151, 1651, 4151 -> seconds
    assert np.allclose(words["onset"], [2.3, 3.3, 8.3])
    assert words["text"].tolist() == ["Alice", "was", "tired"]
    sounds = ev[ev.kind == "sound"]
    assert np.allclose(sounds["onset"], [0.3, 7.8])  # first word onset minus its WAV onset
    assert sounds["stimulus"].str.endswith("SoundFile1.wav").iloc[0]
    assert rec.ch_types == ["eeg"] * 3


def test_brennan2019_mismatched_word_table(tmp_path, rng):
    from neurodecode.io.studies.brennan2019 import word_events

    files = _brennan_files(rng)
    (tmp_path / "proc.zip").write_bytes(files["proc.zip"])
    from neurodecode.io.studies.archive import extract

    extract(tmp_path / "proc.zip", tmp_path)
    short = pd.DataFrame({"Word": ["a"], "Segment": [1], "onset": [0.0], "offset": [0.1]})
    with pytest.raises(DataFormatError, match="proc.trl has 3 rows but .* has 1 words"):
        word_events(tmp_path / "proc" / "S01.mat", short, tmp_path, sfreq=500.0)
    with pytest.raises(DataNotFoundError, match="no S02.mat under"):
        get_study("brennan2019").read(tmp_path, "S02")


def test_brennan2019_bad_participant_is_a_warning_and_the_33_by_default(tmp_path, rng, caplog):
    """A participant whose proc.trl does not match the word table is left out with a
    warning naming it (the run goes on); brainmagick's 9 exclusions are not listed."""
    from neurodecode.io.studies.archive import extract
    from neurodecode.io.studies.brennan2019 import EXCLUDED, WORDS

    files = _brennan_files(rng)
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
        if name.endswith(".zip"):
            extract(tmp_path / name, tmp_path)
    study = get_study("brennan2019")
    for name in ("S02.mat", "S24.mat", "S03.mat"):  # two of brainmagick's exclusions
        (tmp_path / name).write_bytes((tmp_path / "S01.mat").read_bytes())
    assert study.subjects(tmp_path) == ["S01", "S03"] and len(EXCLUDED) == 9
    words = pd.read_csv(tmp_path / WORDS)
    words.iloc[:1].to_csv(tmp_path / WORDS, index=False)  # 1 word for 3 epochs
    with caplog.at_level("WARNING", logger="neurodecode"):
        assert study.read(tmp_path, "S01") == []
    assert "participant S01 is left out: S01.mat: proc.trl has 3 rows" in caplog.text


# ------------------------------------------------------------------ Broderick 2019
def test_broderick2019_fetch_and_read(server, tmp_path, rng):
    eeg, text = io.BytesIO(), io.BytesIO()
    savemat(eeg, {"eegData": rng.standard_normal((128 * 20, 128)), "fs": 128,
                  "mastoids": rng.standard_normal((128 * 20, 2))})
    savemat(text, {"wordVec": np.array(["the", "old", "man"], dtype=object),
                   "onset_time": [1.0, 1.5, 2.0], "offset_time": [1.4, 1.9, 2.6]})
    inner = _zip_bytes({"Natural Speech/EEG/Subject1/Subject1_Run1.mat": eeg.getvalue(),
                        "Natural Speech/Stimuli/Text/Run1.mat": text.getvalue()})
    zip_file(server.folder / "doi_10.5061_dryad.070jc__v3.zip",
             {"Natural Speech.zip": inner, "N400.zip": _zip_bytes({"N400/x": b"1"})})
    folder = fetch("broderick2019", tmp_path, url_override=server.url, progress=False)
    assert (folder / "N400.zip").is_file() and not (folder / "Natural Speech.zip").exists()
    assert get_study("broderick2019").subjects(folder) == ["1"]
    (rec,) = get_study("broderick2019").read(folder, "Subject1")
    ev = rec.events
    assert ev["kind"].tolist() == ["sound", "word", "word", "word"]
    assert ev["text"].tolist()[1:] == ["the", "old", "man"]
    assert rec.sfreq == 128 and rec.n_channels == 128 and rec.pos_2d is not None
    with pytest.raises(DataNotFoundError, match="no EEG runs for subject='7'"):
        get_study("broderick2019").read(folder, "7")
    # the recipe names the user's audio folder: missing, it is an error saying how to get it
    with pytest.raises(DataNotFoundError, match="audio folder .*audio' does not exist; the "
                                                "Dryad release has no audio"):
        get_study("broderick2019").read(folder, "1", audio="audio")
    (folder / "audio").mkdir()
    with pytest.raises(DataNotFoundError, match="audio1.wav' is missing; .*read_options.audio"):
        get_study("broderick2019").read(folder, "1", audio="audio")
    (folder / "audio" / "audio1.wav").write_bytes(b"RIFF")  # present (read later, by features)
    (rec,) = get_study("broderick2019").read(folder, "1", audio=folder / "audio")
    assert rec.events["stimulus"].iloc[0] == str(folder / "audio" / "audio1.wav")


# ------------------------------------------------------------------ Haxby 2001
def _haxby_archive(rng, tmp_path) -> tuple[bytes, list[str]]:
    labels = ["rest"] * 2 + ["face"] * 3 + ["rest"] * 2 + ["house"] * 3  # one run
    labels = labels * 2  # two runs of 10 volumes
    runs = [0] * 10 + [1] * 10
    bold = rng.standard_normal((3, 3, 2, 20)).astype(np.float32)
    mask = np.zeros((3, 3, 2), np.uint8)
    mask[1:, 1:, :] = 1
    text = "labels chunks\n" + "".join(f"{lab} {run}\n" for lab, run in zip(labels, runs))
    data = tar_gz(tmp_path / "s.tar.gz", {
        "subj1/bold.nii.gz": nifti_bytes(bold), "subj1/labels.txt": text.encode(),
        "subj1/mask4_vt.nii.gz": nifti_bytes(mask)}).read_bytes()
    return data, labels


def test_haxby2001_fetch_and_read(server, tmp_path, rng):
    archive, labels = _haxby_archive(rng, tmp_path)
    stimuli = tar_gz(tmp_path / "st.tar.gz", {"stimuli/face/f1.jpg": b"J"}).read_bytes()
    (server.folder / "subj1-2010.01.14.tar.gz").write_bytes(archive)
    (server.folder / "stimuli-2010.01.14.tar.gz").write_bytes(stimuli)
    (server.folder / "MD5SUMS").write_text(
        f"{md5(archive)}  subj1-2010.01.14.tar.gz\n{md5(stimuli)}  stimuli-2010.01.14.tar.gz\n")
    folder = fetch("haxby2001", tmp_path / "d", url_override=server.url, subjects=["1"],
                   progress=False)
    assert (folder / "subj1" / "bold.nii.gz").is_file()
    assert not (folder / "subj1-2010.01.14.tar.gz").exists()
    assert get_study("haxby2001").subjects(folder) == ["1"]
    (rec,) = get_study("haxby2001").read(folder, "1")
    ev = rec.events
    assert rec.data.shape == (8, 20) and rec.modality == "fmri"  # 2 x 2 x 2 mask voxels
    assert ev["condition"].tolist() == ["face", "house", "face", "house"]
    assert np.allclose(ev["onset"], [5.0, 17.5, 30.0, 42.5]) and np.allclose(ev["duration"], 7.5)
    assert ev.loc[0, "stimulus"] == str(folder / "stimuli" / "face")
    assert rec.runs.tolist() == [0] * 10 + [1] * 10
    with pytest.raises(ValueError, match="mask='vt' is not valid"):
        get_study("haxby2001").read(folder, "1", mask="vt")


def test_haxby2001_corrupt_archive_refused(server, tmp_path, rng):
    archive, _ = _haxby_archive(rng, tmp_path)
    (server.folder / "subj1-2010.01.14.tar.gz").write_bytes(archive)
    (server.folder / "MD5SUMS").write_text(f"{'0' * 32}  subj1-2010.01.14.tar.gz\n")
    with pytest.raises(DataFormatError, match="checksum mismatch .* expected md5 0{32}"):
        fetch("haxby2001", tmp_path / "d", url_override=server.url, subjects=["1"],
              progress=False)
    assert not list((tmp_path / "d" / "haxby2001").glob("subj1*"))


# ------------------------------------------------------------------ MNE sample
def _sample_archive(rng, tmp_path) -> bytes:
    info = mne.create_info(["MEG 0111", "MEG 0121", "EEG 001", "STI 014"], 150.0,
                           ["mag", "mag", "eeg", "stim"])
    data = rng.standard_normal((4, 1500)) * 1e-12
    data[3] = 0
    events = np.array([[150, 0, 1], [450, 0, 3], [750, 0, 5], [1050, 0, 2]])
    data[3, events[:, 0]] = events[:, 2]
    raw = mne.io.RawArray(data, info, verbose="error")
    base = tmp_path / "MNE-sample-data" / "MEG" / "sample"
    base.mkdir(parents=True)
    raw.save(base / "sample_audvis_raw.fif", verbose="error")
    mne.write_events(base / "sample_audvis_raw-eve.fif", events, verbose="error")
    return tar_gz(tmp_path / "a.tar.gz", {f"MNE-sample-data/MEG/sample/{k}": v for k, v in
                                          tree_bytes(base).items()}).read_bytes()


def test_mne_sample_fetch_verifies_and_reads(server, tmp_path, rng, monkeypatch):
    archive = _sample_archive(rng, tmp_path / "build")
    (server.folder / "MNE-sample-data-processed.tar.gz").write_bytes(archive)
    # the real archive's MD5 does not match the tiny mirror copy: refused and removed
    with pytest.raises(DataFormatError, match="checksum mismatch.*e8f30c4516abdc12a0c08e6"):
        fetch("mne_sample", tmp_path, url_override=server.url, progress=False)
    assert not list((tmp_path / "mne_sample").glob("*.tar.gz*"))
    monkeypatch.setattr(mne_sample_module, "MD5", f"md5:{md5(archive)}")
    folder = fetch("mne_sample", tmp_path, url_override=server.url, progress=False)
    (rec,) = get_study("mne_sample").read(folder)
    ev = rec.events
    assert ev["condition"].tolist() == ["auditory/left", "visual/left", "smiley",
                                        "auditory/right"]
    assert np.allclose(ev["onset"], [1.0, 3.0, 5.0, 7.0])
    assert set(rec.ch_types) == {"mag", "eeg"}
    with pytest.raises(DataNotFoundError, match="no MNE-sample-data/MEG/sample/sample_"):
        get_study("mne_sample").read(tmp_path)


@pytest.mark.realdata
def test_mne_sample_reader_on_real_crop(data_root, tmp_path):
    base = tmp_path / "MNE-sample-data" / "MEG" / "sample"
    base.mkdir(parents=True)
    (base / "sample_audvis_raw.fif").symlink_to(data_root / "meg_sample_crop" / "test_raw.fif")
    (base / "sample_audvis_raw-eve.fif").symlink_to(
        data_root / "meg_sample_crop" / "test-eve.fif")
    (rec,) = get_study("mne_sample").read(tmp_path)
    counts = rec.events["condition"].value_counts()
    assert counts["auditory/left"] == 7 and counts["auditory/right"] == 8
    assert counts["visual/left"] == 8 and counts["visual/right"] == 6
    assert rec.n_channels == 366  # 306 MEG + 60 EEG


# ------------------------------------------------------------------ NSD
def test_nsd_needs_registration_and_reads(tmp_path, rng):
    with pytest.raises(DataNotFoundError, match="(?s)needs a registration.*naturalscenes"):
        fetch("nsd", tmp_path, progress=False)
    root = write_nsd(tmp_path / "nsd", rng)
    roi = root / "nsddata/ppdata/subj01/func1pt8mm/roi"
    roi.mkdir(parents=True)
    mask = np.zeros((3, 3, 2), np.int16)
    mask[0, :, :] = 1
    (roi / "nsdgeneral.nii.gz").write_bytes(nifti_bytes(mask))
    (rec,) = get_study("nsd").read(root, "1", sessions=[1])
    assert rec.data.shape == (6, 4)
    assert rec.events["value"].tolist() == [5, 9, 5, 70000]
    assert rec.events["stimulus"].iloc[3].endswith("nsd_stimuli.hdf5#69999")
    (rec,) = get_study("nsd").read(root, "subj01")
    assert rec.data.shape == (6, 8) and rec.runs.tolist() == [0] * 4 + [1] * 4
    with pytest.raises(DataNotFoundError, match="no betas and responses.tsv for subj02"):
        get_study("nsd").read(root, "2")


# ------------------------------------------------------------------ CLI and registry
def test_main_fetch(server, tmp_path, rng, capsys):
    archive, _ = _haxby_archive(rng, tmp_path)
    (server.folder / "subj1-2010.01.14.tar.gz").write_bytes(archive)
    stimuli = tar_gz(tmp_path / "st.tar.gz", {"stimuli/README": b"r"}).read_bytes()
    (server.folder / "stimuli-2010.01.14.tar.gz").write_bytes(stimuli)
    (server.folder / "MD5SUMS").write_text(f"{md5(archive)}  subj1-2010.01.14.tar.gz\n")
    code = main_fetch(["haxby2001", "--root", str(tmp_path / "r"), "--mirror", server.url,
                       "--subject", "1", "--no-progress"])
    assert code == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "r" / "haxby2001")
    assert main_fetch(["nsd", "--root", str(tmp_path)]) == 1
    assert "needs a registration" in capsys.readouterr().err
    assert main_fetch(["haxby", "--root", str(tmp_path)]) == 2
    assert "Did you mean 'haxby2001'" in capsys.readouterr().err


def test_unknown_study_lists_valid_names():
    with pytest.raises(ValueError, match="name='mous' is not valid; expected one of .*"
                                         "'schoffelen2019'"):
        get_study("mous")


@pytest.mark.realdata
def test_haxby2001_reader_on_real_slice(data_root, tmp_path):
    """Subject 1 (one slice, PyMVPA tutorial form) placed in the PyMVPA release layout."""
    source, subj = data_root / "fmri_haxby", tmp_path / "subj1"
    subj.mkdir()
    (subj / "bold.nii.gz").symlink_to(source / "bold.nii.gz")
    (subj / "labels.txt").symlink_to(source / "attributes_literal.txt")
    (subj / "mask4_vt.nii.gz").symlink_to(source / "mask.nii.gz")
    (rec,) = get_study("haxby2001").read(tmp_path, "1")
    ev = rec.events
    assert rec.data.shape == (530, 1452) and len(np.unique(rec.runs)) == 12
    assert len(ev) == 96 and sorted(ev["condition"].unique()) == sorted(
        ["face", "house", "cat", "bottle", "scissors", "shoe", "chair", "scrambledpix"])
    assert np.allclose(ev["duration"], ev["duration"].iloc[0])
