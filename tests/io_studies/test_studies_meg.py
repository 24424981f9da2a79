"""MEG/EEG studies on BIDS hosts: fetch from a loopback mirror, then read Recordings."""

from __future__ import annotations

import hashlib
import shutil

import numpy as np
import pandas as pd
import pytest

from neurodecode.exceptions import DataFormatError, DataNotFoundError
from neurodecode.io.studies import fetch, get_study

from ._fake import events_tsv, meg_raw, write_bids


# ------------------------------------------------------------------ MEG-MASC
def _masc_events() -> pd.DataFrame:
    """MEG-MASC ``events.tsv`` rows (Gwilliams et al. 2023, OSF ag3kj): every sound has its
    ``kind: sound`` row and every word and phoneme row names the WAV it belongs to."""
    rows = [
        (1.0, 0.0, "{'story': 'lw1', 'sound_id': 0.0, 'kind': 'sound', "
                   "'sound': 'Stimuli/Audio/lw1_0.0.wav', 'condition': 'sentence'}"),
        (2.0, 0.3, "{'story': 'lw1', 'sound_id': 0.0, 'kind': 'word', 'word': 'tara', "
                   "'sound': 'Stimuli/Audio/lw1_0.0.wav', 'condition': 'sentence', "
                   "'pronounced': nan}"),
        (2.0, 0.1, "{'story': 'lw1', 'sound_id': 0.0, 'kind': 'phoneme', 'phoneme': 't_B', "
                   "'sound': 'Stimuli/Audio/lw1_0.0.wav', 'condition': 'sentence'}"),
        (2.1, 0.1, "{'story': 'lw1', 'sound_id': 0.0, 'kind': 'phoneme', 'phoneme': 'eh_I', "
                   "'sound': 'Stimuli/Audio/lw1_0.0.wav', 'condition': 'sentence'}"),
        (4.5, 3.0, "{'story': 'lw1', 'sound_id': 1.0, 'kind': 'sound', "
                   "'sound': 'Stimuli/Audio/lw1_1.0.wav', 'condition': 'word_list'}"),
        (5.0, 0.4, "{'story': 'lw1', 'sound_id': 1.0, 'kind': 'word', 'word': 'stone', "
                   "'sound': 'Stimuli/Audio/lw1_1.0.wav', 'condition': 'word_list'}"),
    ]
    return pd.DataFrame(rows, columns=["onset", "duration", "trial_type"]).assign(value=1)


def _serve_masc(server, rng):
    ag3kj = server.folder / "osf" / "ag3kj"
    for subject in ("01", "02"):
        folder = write_bids(meg_raw(rng), ag3kj, subject=subject, session="0", task="0")
        events_tsv(folder, f"sub-{subject}_ses-0_task-0", _masc_events())
    audio = server.folder / "osf" / "h2tzn" / "stimuli" / "audio"
    audio.mkdir(parents=True)
    for name in ("lw1_0.wav", "lw1_1.wav"):
        (audio / name).write_bytes(b"RIFF")
    (server.folder / "osf" / "u5327").mkdir()


def test_gwilliams2022_fetch_and_read(server, tmp_path, rng):
    _serve_masc(server, rng)
    folder = fetch("gwilliams2022", tmp_path / "data", url_override=server.url + "/v2",
                   subjects=["01"], progress=False)
    assert folder == tmp_path / "data" / "gwilliams2022"
    assert (folder / "sub-01").is_dir() and not (folder / "sub-02").exists()
    assert (folder / "stimuli" / "audio" / "lw1_1.wav").is_file()
    (rec,) = get_study("gwilliams2022").read(folder, "01")
    ev = rec.events
    assert rec.subject == "01" and rec.session == "0" and rec.n_channels == 4
    assert ev["kind"].tolist() == ["sound", "word", "phoneme", "phoneme", "sound", "word"]
    assert ev.loc[ev.kind == "word", "text"].tolist() == ["tara", "stone"]
    assert ev.loc[ev.kind == "phoneme", "text"].tolist() == ["t_B", "eh_I"]
    assert ev["block"].tolist() == ["lw1_0"] * 4 + ["lw1_1"] * 2
    assert ev.loc[5, "condition"] == "word_list"
    assert ev.loc[1, "stimulus"] == str(folder / "stimuli" / "audio" / "lw1_0.wav")
    assert np.allclose(ev["onset"], [1.0, 2.0, 2.0, 2.1, 4.5, 5.0])


def test_gwilliams2022_second_fetch_downloads_nothing(server, tmp_path, rng):
    _serve_masc(server, rng)
    fetch("gwilliams2022", tmp_path, url_override=server.url + "/v2", progress=False)
    downloads = [p for p, _ in server.log if p.startswith("/osf/")]
    server.log.clear()
    fetch("gwilliams2022", tmp_path, url_override=server.url + "/v2", progress=False)
    assert downloads and not [p for p, _ in server.log if p.startswith("/osf/")]


def test_gwilliams2022_errors(server, tmp_path, rng):
    _serve_masc(server, rng)
    with pytest.raises(DataNotFoundError, match="no file for subjects=\\['99'\\]; available: 01, 02"):
        fetch("gwilliams2022", tmp_path, url_override=server.url + "/v2",
              subjects=["99", "01"][:1], progress=False)
    study = get_study("gwilliams2022")
    with pytest.raises(DataNotFoundError, match="is not a folder; expected the gwilliams2022"):
        study.read(tmp_path / "absent", "01")
    with pytest.raises(DataNotFoundError, match="no events.tsv for subject='03'"):
        study.read(tmp_path, "03")


def test_gwilliams2022_bad_trial_type(tmp_path):
    from neurodecode.io.studies.gwilliams2022 import parse_events

    table = pd.DataFrame({"onset": [0.0], "duration": [0.0], "trial_type": ["{'kind': "]})
    with pytest.raises(DataFormatError, match="row 0: trial_type .* is not a dict literal"):
        parse_events(table, tmp_path)
    with pytest.raises(DataFormatError, match="expected MEG-MASC's onset, duration and"):
        parse_events(table.drop(columns="trial_type"), tmp_path)
    with pytest.raises(DataFormatError, match="row 0: trial_type is not a dict literal"):
        parse_events(table.assign(trial_type="[1, 2]"), tmp_path)


# ------------------------------------------------------------------ THINGS-MEG
def test_things_meg_fetch_and_read(server, tmp_path, rng, caplog):
    dataset = server.folder / "ds004212"
    for subject in ("BIGMEG1", "BIGMEG2"):
        folder = write_bids(meg_raw(rng), dataset, subject=subject, session="01",
                            task="main", run="01")
        events_tsv(folder, f"sub-{subject}_ses-01_task-main_run-01", pd.DataFrame({
            "onset": [1.0, 2.5, 4.0], "duration": [0.5] * 3,
            "trial_type": ["exp", "test", "catch"], "value": [10, 20, 999],
            "image_path": ["images_meg/aardvark/aardvark_01b.jpg",
                           "images_test_meg/bee/bee_13s.jpg", "n/a"],
        }))
    server.multipart.add("ds004212/dataset_description.json")
    with caplog.at_level("WARNING", logger="neurodecode"):
        folder = fetch("things_meg", tmp_path, url_override=server.url,
                       subjects=["BIGMEG1"], progress=False)
    assert "no checksum is published" in caplog.text  # the multi-part upload
    assert (folder / "dataset_description.json").is_file()
    assert not (folder / "sub-BIGMEG2").exists()
    (rec,) = get_study("things_meg").read(folder, "BIGMEG1")
    ev = rec.events
    assert ev["kind"].unique().tolist() == ["image"]
    assert ev["condition"].tolist() == ["exp", "test", "catch"]
    assert ev["text"].tolist() == ["aardvark", "bee", ""]
    assert ev.loc[0, "stimulus"] == str(folder / "stimuli/images_meg/aardvark/aardvark_01b.jpg")
    assert ev["value"].tolist() == [10, 20, 999] and rec.session == "01"


def test_things_meg_corrupt_file_refused(server, tmp_path, rng):
    dataset = server.folder / "ds004212"
    (dataset / "sub-BIGMEG1").mkdir(parents=True)
    (dataset / "sub-BIGMEG1" / "x.txt").write_bytes(b"abc")
    server.cut_always = True  # every transfer cut: the .part is resumed, then given up
    server.cut.add("*")
    with pytest.raises(DataNotFoundError, match="run the fetch again to resume"):
        fetch("things_meg", tmp_path, url_override=server.url, progress=False)


# ------------------------------------------------------------------ MOUS
def test_schoffelen2019_needs_registration(tmp_path):
    with pytest.raises(DataNotFoundError, match="(?s)needs a registration.*data.donders.ru.nl"):
        fetch("schoffelen2019", tmp_path, progress=False)


def test_schoffelen2019_read(tmp_path, rng):
    folder = write_bids(meg_raw(rng), tmp_path, subject="A2002", task="auditory")
    events_tsv(folder, "sub-A2002_task-auditory", pd.DataFrame({
        "onset": [1.0, 1.5, 2.0, 6.0], "duration": 0.0,
        "type": ["Sound", "Word", "Word", "Response"],
        "value": ["EQ_Ramp_Int2_Int1LPF001.wav", "De", "man", "1"],
    }))
    (rec,) = get_study("schoffelen2019").read(tmp_path, "sub-A2002")
    ev = rec.events
    assert ev["kind"].tolist() == ["sound", "word", "word", "trial"]
    assert ev.loc[ev.kind == "word", "text"].tolist() == ["De", "man"]
    aligned = pd.DataFrame({"onset": [3.0], "kind": ["word"], "text": ["huis"]})
    (rec,) = get_study("schoffelen2019").read(tmp_path, "A2002", events_table=aligned)
    assert rec.events["text"].tolist() == ["huis"]
    with pytest.raises(DataNotFoundError, match="no events.tsv for subject='V1001'"):
        get_study("schoffelen2019").read(tmp_path, "V1001", task="visual")
    with pytest.raises(ValueError, match="subject='V1001' did MOUS's visual .* need sub-A2xxx"):
        get_study("schoffelen2019").read(tmp_path, "V1001")  # an auditory recipe


def test_schoffelen2019_sound_events_name_their_sentence_wav(tmp_path, rng, caplog):
    import soundfile

    from neurodecode.features import compute_stimulus_features

    folder = write_bids(meg_raw(rng), tmp_path, subject="A2002", task="auditory")
    events_tsv(folder, "sub-A2002_task-auditory", pd.DataFrame({
        "onset": [1.0, 1.2, 1.6, 3.5, 5.0, 7.0, 7.5], "duration": 0.0,
        "type": ["Sound", "Word", "Word", "Nothing", "Sound", "Sound", "Response"],
        "value": ["Start File 186.wav", "De", "man", "End of file 186.wav", "Start File 7.wav",
                  "beep", "1"],
    }))
    audio = tmp_path / "stimuli" / "audio_files"
    audio.mkdir(parents=True)
    # 186 has 2.5 s of planted tone; 7 (trimmed at the recording's end) is silence.
    t = np.arange(int(2.5 * 16000)) / 16000
    soundfile.write(audio / "EQ_Ramp_Int2_Int1LPF186.wav", 0.5 * np.sin(2 * np.pi * 200 * t), 16000)
    soundfile.write(audio / "EQ_Ramp_Int2_Int1LPF007.wav", np.zeros(16000), 16000)
    (rec,) = get_study("schoffelen2019").read(tmp_path, "A2002")
    ev = rec.events
    sounds = ev[ev.kind == "sound"]
    assert sounds["stimulus"].tolist() == [str(audio / "EQ_Ramp_Int2_Int1LPF186.wav"),
                                           str(audio / "EQ_Ramp_Int2_Int1LPF007.wav"), ""]
    assert sounds["duration"].tolist() == [2.5, 0.0, 0.0]  # up to "End of file"
    # words are heard inside the sentence WAV before them (they are not placed themselves)
    assert (ev.loc[ev.kind == "word", "stimulus"] == str(audio / "EQ_Ramp_Int2_Int1LPF186.wav")).all()
    assert (ev.loc[ev.kind == "word", "sentence"] == 1).all()
    feats = compute_stimulus_features("envelope", ev, tmp_path, sfreq=100.0)
    assert sorted(feats.values) == sorted(sounds["stimulus"][:2])
    timeline = feats.to_timeline(ev, rec.n_times, rec.sfreq)
    onset = int(rec.sfreq)
    assert timeline[0, onset: onset + int(2 * rec.sfreq)].min() > 0.1  # the tone, from 1 s
    assert np.abs(timeline[0, int(5 * rec.sfreq):]).max() < 1e-3  # silence from 5 s
    (audio / "EQ_Ramp_Int2_Int1LPF007.wav").unlink()
    with pytest.raises(DataNotFoundError, match="EQ_Ramp_Int2_Int1LPF007.wav' .* absent"):
        compute_stimulus_features("envelope", ev, tmp_path, sfreq=100.0)
    # Sounds with no file named in their value: a warning that names the events_table to pass.
    events_tsv(folder, "sub-A2002_task-auditory", pd.DataFrame({
        "onset": [1.0], "duration": 0.0, "type": ["Sound"], "value": ["beep"]}))
    with caplog.at_level("WARNING", logger="neurodecode"):
        with pytest.raises(DataNotFoundError, match="(?s)has no word timings.*read_options.alignments"):
            get_study("schoffelen2019").read(tmp_path, "A2002")  # and no word: an error
    assert "pass events_table= with onset, duration, kind and stimulus" in caplog.text


def test_schoffelen2019_word_alignments_per_subject(tmp_path, rng):
    """The auditory BIDS triggers ('Start File N.wav', no words) + a per-subject word table
    in the format of datasets/schoffelen2019.md."""
    folder = write_bids(meg_raw(rng), tmp_path, subject="A2002", task="auditory")
    events_tsv(folder, "sub-A2002_task-auditory", pd.DataFrame({
        "onset": [1.0, 4.0], "duration": 0.0, "type": ["Sound", "Sound"],
        "value": ["Start File 12.wav", "Start File 3.wav"]}))
    study = get_study("schoffelen2019")
    with pytest.raises(DataNotFoundError, match="(?s)sub-A2002_words.tsv. is missing.*MAUS"):
        study.read(tmp_path, "A2002", alignments="derivatives/words")
    words = tmp_path / "derivatives" / "words"
    words.mkdir(parents=True)
    pd.DataFrame({"onset": [1.2, 1.6, 4.3], "duration": 0.3, "word": ["De", "man", "liep"],
                  "sentence": [12, 12, 3]}).to_csv(words / "sub-A2002_words.tsv", sep="\t",
                                                   index=False)
    (rec,) = study.read(tmp_path, "A2002", alignments="derivatives/words")
    w = rec.events[rec.events["kind"] == "word"]
    assert w["text"].tolist() == ["De", "man", "liep"] and w["sentence"].tolist() == [12, 12, 3]
    assert w["stimulus"].iloc[2].endswith("EQ_Ramp_Int2_Int1LPF003.wav")
    assert (rec.events["kind"] == "sound").sum() == 2
    assert study.subjects(tmp_path) == ["A2002"]


def test_copy_of_fetched_tree_is_readable_elsewhere(server, tmp_path, rng):
    """Reading depends only on the layout, not on the state file of the fetcher."""
    _serve_masc(server, rng)
    folder = fetch("gwilliams2022", tmp_path / "a", url_override=server.url + "/v2",
                   subjects=["02"], progress=False)
    copy = shutil.copytree(folder, tmp_path / "b")
    assert len(get_study("gwilliams2022").read(copy, "02", session="0", task="0")) == 1
    assert hashlib.sha256((copy / ".neurodecode-fetch.json").read_bytes()).hexdigest()
