"""Broderick et al. 2018 ("Natural Speech"): 128-channel EEG of 19 listeners, 20 runs.

Dryad (``doi:10.5061/dryad.070jc``, CC0): one zip holding five experiments as nested zips;
only ``Natural Speech.zip`` is unpacked. The Dryad release holds the EEG resampled to
128 Hz, the word onsets per run and the speech envelopes, but not the audio itself.
Data card: ``datasets/broderick2019.md``.
"""

from __future__ import annotations

from pathlib import Path

import mne
import numpy as np
import pandas as pd
from scipy.io import loadmat

from ...exceptions import DataFormatError, DataNotFoundError
from ..recording import Recording
from .archive import extract
from .base import Study
from .download import RemoteFile, read_text
from .hosts import Reader

URL = "https://datadryad.org/api/v2/datasets/doi%253A10.5061%252Fdryad.070jc/download"
ARCHIVE = "doi_10.5061_dryad.070jc__v3.zip"
EXPERIMENT = "Natural Speech"
RUNS = tuple(range(1, 21))
#: How to obtain the audio, which the public release lacks.
AUDIO_STEPS = ("the Dryad release has no audio: the 20 runs are the first chapters of Ernest "
               "Hemingway's 'The Old Man and the Sea' read by one speaker. Ask the dataset's "
               "authors (Lalor lab, Trinity College Dublin / University of Rochester) for the "
               "run WAVs (brainmagick downloads them in its private.zip, "
               "bm/studies/broderick2019.py:66-78), put them in one folder as "
               "audio<1..20>.wav and set data.read_options.audio to that folder")


class Broderick2019(Study):
    """Broderick 2018/2019: BioSemi 128 EEG (128 Hz in the release) + 2 mastoids, words."""

    name = "broderick2019"
    modality = "meeg"

    def remote(self, base: str | None = None, *, read: Reader = read_text) -> list[RemoteFile]:
        return [RemoteFile(ARCHIVE, self.mirror_url(base, URL, ARCHIVE), None, None,
                           extract=True)]

    def post_fetch(self, folder: Path) -> None:
        """Unpack ``Natural Speech.zip`` (the other experiments are left zipped)."""
        nested = folder / f"{EXPERIMENT}.zip"
        if nested.is_file() and not (folder / EXPERIMENT).is_dir():
            extract(nested, folder, self.archive_limits)
            nested.unlink()

    def subject_of(self, path: str) -> str | None:
        return None  # one archive for everyone

    def subjects(self, root: str | Path) -> list[str]:
        root = self._root(root)
        folders = (root / EXPERIMENT / "EEG").glob("Subject*")
        return sorted((p.name.removeprefix("Subject") for p in folders), key=int)

    def layout(self) -> str:
        return "\n".join([
            f"{EXPERIMENT}/EEG/Subject<N>/Subject<N>_Run<1..20>.mat "
            "(eegData n_times x 128, mastoids, fs)",
            f"{EXPERIMENT}/Stimuli/Text/Run<1..20>.mat (wordVec, onset_time, offset_time)",
            f"{EXPERIMENT}/Stimuli/Envelopes/audio<1..20>_128Hz.mat",
            "audio/audio<1..20>.wav (optional: the audio is not in the public release)",
        ])

    def read(self, root: str | Path, subject: str, session: str | None = None,
             task: str | None = None, *, runs=None, audio: str | Path | None = None,
             **kwargs) -> list[Recording]:
        """One Recording per run (``runs``: iterable of 1..20, all by default).

        Parameters
        ----------
        audio : str or Path, optional
            The user's folder of run WAVs ``audio<k>.wav`` (relative to ``root``); when
            given, a missing folder or WAV is an error saying how to obtain them. None:
            ``root/audio`` if present (sounds without a WAV otherwise).

        Raises
        ------
        DataNotFoundError
            If ``audio`` is given and lacks the WAV of a run read.
        """
        from ..meeg import read_meeg

        root = self._root(root)
        folder = None if audio is None else _audio_folder(root, audio)
        subject = str(subject).removeprefix("Subject")
        recordings = []
        for run in RUNS if runs is None else runs:
            eeg = root / EXPERIMENT / "EEG" / f"Subject{subject}" / f"Subject{subject}_Run{run}.mat"
            text = root / EXPERIMENT / "Stimuli" / "Text" / f"Run{run}.mat"
            if not eeg.is_file():
                continue
            if folder is not None and not (folder / f"audio{run}.wav").is_file():
                raise DataNotFoundError(f"broderick2019: {str(folder / f'audio{run}.wav')!r} "
                                        f"is missing; {AUDIO_STEPS}.")
            raw = read_run(eeg)
            events = (word_events(text, root, run, audio=folder) if text.is_file() else None)
            recordings.append(read_meeg(raw, events=events, subject=subject,
                                        session=f"run{run}", **kwargs))
        if not recordings:
            raise self._missing(root, f"EEG runs for subject={subject!r}")
        return recordings


def read_run(path: Path) -> mne.io.RawArray:
    """``eegData`` (n_times, 128) in microvolts at ``fs`` Hz as a BioSemi-128 Raw."""
    mat = loadmat(path)
    try:
        data = np.asarray(mat["eegData"], dtype=float).T * 1e-6
        sfreq = float(np.squeeze(mat["fs"]))
    except KeyError as err:
        raise DataFormatError(f"{path} lacks {err}; expected eegData and fs.") from err
    montage = mne.channels.make_standard_montage("biosemi128")
    names = montage.ch_names[: data.shape[0]]
    raw = mne.io.RawArray(data[: len(names)], mne.create_info(names, sfreq, "eeg"),
                          verbose="error")
    raw.set_montage(montage)
    return raw


def _audio_folder(root: Path, audio: str | Path) -> Path:
    folder = Path(audio).expanduser()
    folder = folder if folder.is_absolute() else root / folder
    if not folder.is_dir():
        raise DataNotFoundError(f"broderick2019: the audio folder {str(folder)!r} does not "
                                f"exist; {AUDIO_STEPS}.")
    return folder


def word_events(path: Path, root: Path, run: int, audio: Path | None = None) -> pd.DataFrame:
    """Words of one run from ``Stimuli/Text/Run<k>.mat`` plus the sound at time 0 (its WAV
    from ``audio``, default ``root/audio``)."""
    mat = loadmat(path, squeeze_me=True)
    words = [str(w) for w in np.atleast_1d(mat["wordVec"])]
    onsets = np.atleast_1d(mat["onset_time"]).astype(float)
    offsets = np.atleast_1d(mat["offset_time"]).astype(float)
    wav = (root / "audio" if audio is None else audio) / f"audio{run}.wav"
    table = pd.DataFrame({"onset": onsets, "duration": offsets - onsets, "kind": "word",
                          "text": words, "block": str(run), "condition": "story"})
    sound = pd.DataFrame([{"onset": 0.0, "duration": 0.0, "kind": "sound", "text": "",
                           "block": str(run), "condition": "story",
                           "stimulus": str(wav) if wav.is_file() else ""}])
    table = pd.concat([sound, table], ignore_index=True)
    return table.sort_values("onset", kind="stable").reset_index(drop=True)


#: Module-level entry points: ``read(root, subject, session=None, task=None, **kwargs)``
#: returns a list of Recordings, ``layout()`` describes the expected files.
read = Broderick2019().read
layout = Broderick2019().layout


__all__ = ["layout", "read", "AUDIO_STEPS", "Broderick2019", "read_run", "word_events"]
