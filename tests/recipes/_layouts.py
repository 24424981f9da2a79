"""Tiny studies in each public dataset's layout, with real WAV and JPEG stimuli."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from scipy.io import savemat

from tests.io_studies._fake import events_tsv, meg_raw, write_bids, write_nsd
from tests.io_studies.test_studies_eeg_fmri import _npy


def wav(path: Path, rng, seconds: float = 4.0, sr: int = 16000) -> Path:
    import soundfile

    path.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(path, (0.1 * rng.standard_normal(int(seconds * sr))).astype(np.float32), sr)
    return path


def jpeg(path: Path, rng) -> Path:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(rng.integers(0, 255, (40, 40, 3), dtype=np.uint8)).save(path)
    return path


def _with_positions(raw):
    """``raw`` with its first channels placed over the head (real, non-degenerate positions)."""
    xyz = [[0.03, 0.0, 0.09], [-0.05, 0.04, 0.07], [0.0, -0.06, 0.07], [0.06, 0.05, 0.05]]
    picks = {}
    for ch in raw.info["chs"]:  # each channel type gets the four positions in turn
        k = picks.setdefault(ch["kind"], 0)
        picks[ch["kind"]] = k + 1
        loc = xyz[k % 4]
        ch["loc"][:3] = np.asarray(loc) * (1 + 0.1 * (k // 4))
    return raw


def gwilliams2022(root: Path, rng) -> Path:
    """MASC layout: 3 sounds (lw1_0..2) of 2 words each, events.tsv with dict trial_types."""
    folder = write_bids(_with_positions(meg_raw(rng, seconds=30.0)), root, subject="01",
                        session="0", task="0")
    rows = []
    for k, words in enumerate((("tara", "stone"), ("the", "cat"), ("sat", "down"))):
        sound = f"'story': 'lw1', 'sound_id': {k}.0, 'sound': 'Stimuli/Audio/lw1_{k}.0.wav'"
        rows.append((1.0 + 8 * k, 0.0, f"{{{sound}, 'kind': 'sound', 'condition': 'sentence'}}"))
        for j, word in enumerate(words):
            rows.append((2.0 + 8 * k + 2 * j, 0.3, f"{{{sound}, 'kind': 'word', 'word': "
                         f"'{word}', 'condition': 'sentence', 'pronounced': nan}}"))
    events_tsv(folder, "sub-01_ses-0_task-0",
               pd.DataFrame(rows, columns=["onset", "duration", "trial_type"]).assign(value=1))
    for k in range(3):
        wav(root / "stimuli" / "audio" / f"lw1_{k}.wav", rng, seconds=6.0)
    return root


def brennan2019(root: Path, rng) -> Path:
    """Brennan layout: FieldTrip S01.mat (20 s, 500 Hz), proc/S01.mat trl, the word table
    (3 segments of 2 words) and the 3 segment WAVs."""
    root.mkdir(parents=True, exist_ok=True)
    sfreq = 500.0
    labels = np.array(["1", "2", "3", "VEOG"], dtype=object)
    savemat(root / "S01.mat", {"raw": {"hdr": {"label": labels, "Fs": sfreq},
                                       "trial": rng.standard_normal((4, 20 * 500)),
                                       "fsample": sfreq}})
    onsets = np.array([1.0, 3.0, 7.0, 9.0, 13.0, 15.0])  # in the recording (s)
    trl = np.stack([onsets * sfreq - 150 + 1, onsets * sfreq + 250, np.full(6, -150.0),
                    np.ones(6), np.zeros(6), np.arange(1, 7)], axis=1)
    (root / "proc").mkdir()
    savemat(root / "proc" / "S01.mat", {"proc": {"trl": trl}})
    pd.DataFrame({"Word": ["Alice", "was,", "very", "tired", "of", "sitting"],
                  "Segment": [1, 1, 2, 2, 3, 3], "onset": [0.5, 2.5] * 3,
                  "offset": [0.9, 2.9] * 3, "Sentence": [1, 1, 2, 2, 3, 3]}
                 ).to_csv(root / "AliceChapterOne-EEG.csv", index=False)
    for segment in (1, 2, 3):
        wav(root / "audio" / f"DownTheRabbitHoleFinal_SoundFile{segment}.wav", rng)
    return root


def broderick2019(root: Path, rng) -> Path:
    """Broderick layout: 3 runs of 128-channel EEG (20 s, 128 Hz), word tables, WAVs."""
    base = root / "Natural Speech"
    (base / "EEG" / "Subject1").mkdir(parents=True)
    (base / "Stimuli" / "Text").mkdir(parents=True)
    for run in (1, 2, 3):
        savemat(base / "EEG" / "Subject1" / f"Subject1_Run{run}.mat",
                {"eegData": rng.standard_normal((128 * 20, 128)), "fs": 128})
        savemat(base / "Stimuli" / "Text" / f"Run{run}.mat",
                {"wordVec": np.array(["the", "old", "man"], dtype=object),
                 "onset_time": [1.0, 1.5, 2.0], "offset_time": [1.4, 1.9, 2.6]})
        wav(root / "audio" / f"audio{run}.wav", rng)
    return root


def schoffelen2019(root: Path, rng) -> Path:
    """MOUS layout: 3 sentence sounds ('Start File <n>.wav') of 2 words each."""
    folder = write_bids(_with_positions(meg_raw(rng, seconds=30.0)), root, subject="A2002",
                        task="auditory")
    rows = []
    for k, words in enumerate((("De", "man"), ("liep", "snel"), ("naar", "huis"))):
        rows += [(1.0 + 9 * k, "Sound", f"Start File {k + 1}.wav"),  # words 3.5 s apart:
                 (2.0 + 9 * k, "Word", words[0]), (5.5 + 9 * k, "Word", words[1])]  # no overlap
    events_tsv(folder, "sub-A2002_task-auditory", pd.DataFrame(
        rows + [(28.0, "Response", "1")], columns=["onset", "type", "value"]).assign(duration=0.0))
    for k in range(3):
        wav(root / "stimuli" / "audio_files" / f"EQ_Ramp_Int2_Int1LPF{k + 1:03d}.wav", rng,
            seconds=6.0)
    return root


def things_meg(root: Path, rng) -> Path:
    """THINGS-MEG layout: 5 ``exp`` images shown twice, 2 ``test`` images shown twice, a catch."""
    folder = write_bids(_with_positions(meg_raw(rng, seconds=30.0)), root, subject="BIGMEG1", session="01", task="main", run="01")
    exp = [f"images_meg/c{k}/c{k}_01b.jpg" for k in range(5)]
    test = ["images_test_meg/bee/bee_13s.jpg", "images_test_meg/ant/ant_02s.jpg"]
    shown = [(i, "exp") for i in exp * 2] + [(i, "test") for i in test * 2] + [("n/a", "catch")]
    events_tsv(folder, "sub-BIGMEG1_ses-01_task-main_run-01", pd.DataFrame({
        "onset": 1.0 + 1.6 * np.arange(len(shown)), "duration": 0.5,
        "trial_type": [t for _, t in shown], "value": np.arange(1, len(shown) + 1),
        "image_path": [i for i, _ in shown]}))
    for image in exp + test:
        jpeg(root / "stimuli" / image, rng)
    return root


def _eeg2_partition(rng, codes: list[int], sfreq: float = 100.0) -> bytes:
    n = int((len(codes) + 2) * sfreq)
    stim = np.zeros(n)
    stim[(np.arange(len(codes)) + 1) * int(sfreq)] = codes
    return _npy({"raw_eeg_data": np.vstack([rng.standard_normal((3, n)) * 1e-6, stim]),
                 "ch_names": ["Fp1", "Cz", "Oz", "stim"], "ch_types": ["eeg"] * 3 + ["stim"],
                 "sfreq": sfreq})


def things_eeg2(root: Path, rng) -> Path:
    """THINGS-EEG2 layout: 5 training images shown twice, 2 test images shown 3 times."""
    session = root / "raw_eeg" / "sub-01" / "ses-01"
    session.mkdir(parents=True)
    (session / "raw_eeg_training.npy").write_bytes(_eeg2_partition(rng, [1, 2, 3, 4, 5] * 2
                                                                    + [99999]))
    (session / "raw_eeg_test.npy").write_bytes(_eeg2_partition(rng, [2, 99999, 1, 1, 2, 2, 1]))
    train = [(f"c{k}", f"c{k}_01.jpg") for k in range(5)]
    test = [("ant", "ant_01.jpg"), ("bee", "bee_02.jpg")]
    (root / "image_set").mkdir()
    (root / "image_set" / "image_metadata.npy").write_bytes(_npy({
        "test_img_files": [f for _, f in test], "test_img_concepts": [c for c, _ in test],
        "train_img_files": [f for _, f in train], "train_img_concepts": [c for c, _ in train]}))
    for folder, images in (("training_images", train), ("test_images", test)):
        for concept, name in images:
            jpeg(root / "image_set" / folder / concept / name, rng)
    return root


def nsd(root: Path, rng) -> Path:
    """NSD layout of the reader tests plus ``nsd_expdesign.mat``: 73KIDs 1 and 2 shared."""
    write_nsd(root, rng)
    design = root / "nsddata" / "experiments" / "nsd" / "nsd_expdesign.mat"
    design.parent.mkdir(parents=True)
    savemat(design, {"sharedix": np.array([[1, 2]])})
    return root


HAXBY_CATEGORIES = ("face", "cat", "house", "bottle", "scissors", "shoe", "chair",
                    "scrambledpix")


def haxby2001(root: Path, rng, tmp: Path) -> Path:
    """Haxby 2001 layout (subj1/bold.nii.gz, labels.txt "labels chunks", mask4_vt.nii.gz):
    3 runs, each of the 8 categories in one 2-volume block after a rest volume, with a
    category pattern planted in the 3 x 3 x 2 voxels."""
    from tests.io_studies._fake import nifti_bytes

    patterns = {c: rng.standard_normal(18) for c in HAXBY_CATEGORIES}
    labels, runs, volumes = [], [], []
    for run in range(3):
        for category in HAXBY_CATEGORIES:
            for label in ("rest", category, category):
                labels.append(label)
                runs.append(run)
                signal = patterns[label] if label != "rest" else np.zeros(18)
                volumes.append(signal + 0.5 * rng.standard_normal(18))
    bold = np.stack(volumes, axis=-1).reshape(3, 3, 2, -1).astype(np.float32)
    subj = root / "subj1"
    subj.mkdir(parents=True, exist_ok=True)
    (subj / "bold.nii.gz").write_bytes(nifti_bytes(bold))
    (subj / "mask4_vt.nii.gz").write_bytes(nifti_bytes(np.ones((3, 3, 2), np.uint8)))
    (subj / "labels.txt").write_text("labels chunks\n" + "".join(
        f"{lab} {run}\n" for lab, run in zip(labels, runs)))
    return root


def mne_sample(root: Path, rng) -> Path:
    """MNE sample layout (MEG/sample/sample_audvis_raw.fif and -eve.fif): 60 events of the 4
    auditory/visual conditions and smiley (codes 1-5), one every 1.5 s, with an auditory
    vs visual evoked difference planted on the sensors."""
    import mne

    sfreq, n_events = 150.0, 60
    # not Neuromag names: MNE would pick its 102-magnetometer adjacency for "MEG 0111"
    names = [f"MAG 00{k}" for k in range(1, 5)] + [f"EEG 00{k}" for k in range(1, 5)]
    info = mne.create_info(names + ["STI 014"], sfreq, ["mag"] * 4 + ["eeg"] * 4 + ["stim"])
    n = int((n_events * 1.5 + 3) * sfreq)
    data = rng.standard_normal((9, n)) * np.array([[1e-12]] * 4 + [[1e-6]] * 4 + [[0]])
    codes = np.resize([1, 2, 3, 4, 5], n_events)
    samples = (1.5 + 1.5 * np.arange(n_events)) * sfreq
    events = np.stack([samples.astype(int), np.zeros(n_events, int), codes], axis=1)
    for sample, code in zip(events[:, 0], codes):
        sign = 1.0 if code in (1, 2) else -1.0
        data[:8, sample + 15: sample + 45] += sign * 2 * data[:8].std(axis=1, keepdims=True)
    data[8, events[:, 0]] = codes
    raw = _with_positions(mne.io.RawArray(data, info, verbose="error"))
    base = root / "MNE-sample-data" / "MEG" / "sample"
    base.mkdir(parents=True)
    raw.save(base / "sample_audvis_raw.fif", verbose="error")
    mne.write_events(base / "sample_audvis_raw-eve.fif", events, verbose="error")
    return root


__all__ = ["brennan2019", "broderick2019", "gwilliams2022", "haxby2001", "jpeg", "mne_sample",
           "nsd", "schoffelen2019", "things_eeg2", "things_meg", "wav"]
