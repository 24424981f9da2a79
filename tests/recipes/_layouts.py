"""Tiny studies in each public dataset's layout, with real WAV and JPEG stimuli."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.io import savemat

from tests.io_studies._fake import events_tsv, meg_raw, write_bids, write_nsd
from tests.io_studies.test_studies_eeg_fmri import _brennan_files, _npy
from tests.io_studies.test_studies_meg import _masc_events


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


def gwilliams2022(root: Path, rng) -> Path:
    folder = write_bids(meg_raw(rng), root, subject="01", session="0", task="0")
    events_tsv(folder, "sub-01_ses-0_task-0", _masc_events())
    for name in ("lw1_0.wav", "lw1_1.wav"):
        wav(root / "stimuli" / "audio" / name, rng)
    return root


def brennan2019(root: Path, rng) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    files = _brennan_files(rng)
    (root / "S01.mat").write_bytes(files["S01.mat"])
    (root / "AliceChapterOne-EEG.csv").write_bytes(files["AliceChapterOne-EEG.csv"])
    zipfile.ZipFile(io.BytesIO(files["proc.zip"])).extractall(root)
    for segment in (1, 2):
        wav(root / "audio" / f"DownTheRabbitHoleFinal_SoundFile{segment}.wav", rng)
    return root


def broderick2019(root: Path, rng) -> Path:
    base = root / "Natural Speech"
    (base / "EEG" / "Subject1").mkdir(parents=True)
    (base / "Stimuli" / "Text").mkdir(parents=True)
    savemat(base / "EEG" / "Subject1" / "Subject1_Run1.mat",
            {"eegData": rng.standard_normal((128 * 20, 128)), "fs": 128})
    savemat(base / "Stimuli" / "Text" / "Run1.mat",
            {"wordVec": np.array(["the", "old", "man"], dtype=object),
             "onset_time": [1.0, 1.5, 2.0], "offset_time": [1.4, 1.9, 2.6]})
    wav(root / "audio" / "audio1.wav", rng)
    return root


def schoffelen2019(root: Path, rng) -> Path:
    folder = write_bids(meg_raw(rng), root, subject="A2002", task="auditory")
    events_tsv(folder, "sub-A2002_task-auditory", pd.DataFrame({
        "onset": [1.0, 1.5, 2.0, 6.0], "duration": 0.0,
        "type": ["Sound", "Word", "Word", "Response"],
        "value": ["Start File 1.wav", "De", "man", "1"],  # the reader names the WAV
    }))
    wav(root / "stimuli" / "audio_files" / "EQ_Ramp_Int2_Int1LPF001.wav", rng)
    return root


def things_meg(root: Path, rng) -> Path:
    """THINGS-MEG layout: 5 ``exp`` images shown twice, 2 ``test`` images shown twice, a catch."""
    raw = meg_raw(rng, seconds=30.0)
    xyz = [[0.03, 0.0, 0.09], [-0.05, 0.04, 0.07], [0.0, -0.06, 0.07], [0.06, 0.05, 0.05]]
    for ch, loc in zip(raw.info["chs"], xyz):  # sensors over the head: real positions
        ch["loc"][:3] = loc
    folder = write_bids(raw, root, subject="BIGMEG1", session="01", task="main", run="01")
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
    names = ["MEG 0111", "MEG 0121", "MEG 0131", "EEG 001", "EEG 002", "STI 014"]
    info = mne.create_info(names, sfreq, ["mag"] * 3 + ["eeg"] * 2 + ["stim"])
    n = int((n_events * 1.5 + 3) * sfreq)
    data = rng.standard_normal((6, n)) * np.array([[1e-12]] * 3 + [[1e-6]] * 2 + [[0]])
    codes = np.resize([1, 2, 3, 4, 5], n_events)
    samples = (1.5 + 1.5 * np.arange(n_events)) * sfreq
    events = np.stack([samples.astype(int), np.zeros(n_events, int), codes], axis=1)
    for sample, code in zip(events[:, 0], codes):
        sign = 1.0 if code in (1, 2) else -1.0
        data[:5, sample + 15: sample + 45] += sign * 2 * data[:5].std(axis=1, keepdims=True)
    data[5, events[:, 0]] = codes
    raw = mne.io.RawArray(data, info, verbose="error")
    xyz = [[0.03, 0.0, 0.09], [-0.05, 0.04, 0.07], [0.0, -0.06, 0.07], [0.06, 0.05, 0.05],
           [-0.04, -0.05, 0.06]]
    for ch, loc in zip(raw.info["chs"], xyz):  # sensors over the head: real positions
        ch["loc"][:3] = loc
    base = root / "MNE-sample-data" / "MEG" / "sample"
    base.mkdir(parents=True)
    raw.save(base / "sample_audvis_raw.fif", verbose="error")
    mne.write_events(base / "sample_audvis_raw-eve.fif", events, verbose="error")
    return root


__all__ = ["brennan2019", "broderick2019", "gwilliams2022", "haxby2001", "jpeg", "mne_sample",
           "nsd", "schoffelen2019", "things_eeg2", "things_meg", "wav"]
