"""Brennan & Hale 2019: EEG of 33+ listeners of *Alice in Wonderland*, chapter 1.

Deep Blue Data (University of Michigan, ``doi:10.7302/Z29C6VNH``): one FieldTrip ``.mat``
per participant (``S01.mat`` ...), ``proc.zip`` (per-participant word epochs ``proc/S01.mat``),
``audio.zip`` (12 WAV segments) and ``AliceChapterOne-EEG.csv`` (word onsets in the audio).
Deep Blue names files only in its download headers, and publishes no checksums we can
fetch: the files are kept unverified (warning logged). Data card: ``datasets/brennan2019.md``.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import mne
import numpy as np
import pandas as pd
from scipy.io import loadmat

from ...exceptions import DataFormatError
from ..recording import Recording
from .base import Study
from .download import RemoteFile, read_text
from .hosts import Reader

logger = logging.getLogger("neurodecode")

BASE_URL = "https://deepblue.lib.umich.edu/data/downloads"
#: Deep Blue file ids of the data set ``bg257f92t`` (as listed by brainmagick).
FILE_IDS = (
    "vm40xs661 t435gf09p 0v8381376 6h440t36j qv33rx36x 7w62f925w 5425kb76p g445cf216 "
    "df65v8733 41687j32q r207tq17h pn89d748r 41687j330 xg94hq37z fj2362955 1r66j195h "
    "j098zc06b 3n203z903 gx41mj79g mp48sd64h p2676w56p dn39x2566 pv63g1045 r207tq18s "
    "qr46r1659 wd375x18w td96k336b 6q182m27b ms35t936k 02870w66d cj82k821x 9k41zf376 "
    "bk128b81j q524jp737 37720d60h ks65hd14w b5644s476 3t945r72w bn999773b 4t64gp10r "
    "qr46r166k h415pb60j sq87bv504 ht24wk29w p2676w57z 2514nm49h 41687j348 tq57ns04w "
    "4t64gp111 5712m736z f1881m88g 2b88qd012 2b88qd00s bn999775w h415pb59s q524jp72z"
).split()
SFREQ = 500.0
#: Participants brainmagick leaves out (``bm/studies/brennan2019.py:280-291``, HEAD 1aa77d2:
#: eight whose ``proc.trl`` has fewer epochs than words, and S02, "bad proc.trl?");
#: ``subjects()`` drops them, which leaves brainmagick's 33 (not the authors' own 33: see
#: datasets/brennan2019.md).
EXCLUDED = ("S02", "S24", "S26", "S27", "S30", "S32", "S34", "S35", "S36")
WORDS = "AliceChapterOne-EEG.csv"
AUDIO = "audio/DownTheRabbitHoleFinal_SoundFile{segment}.wav"


class Brennan2019(Study):
    """Brennan 2019: 60 EEG + VEOG channels (actiCHamp, easycap-M10), 500 Hz, words."""

    name = "brennan2019"
    modality = "meeg"

    def remote(self, base: str | None = None, *, read: Reader = read_text) -> list[RemoteFile]:
        base = (base or BASE_URL).rstrip("/")
        return [RemoteFile(f".deepblue/{fid}", f"{base}/{fid}", None, None,
                           named_by_server=True) for fid in FILE_IDS]

    def post_fetch(self, folder: Path) -> None:
        """Move what arrived in ``.deepblue/<id>/`` (named by the server) into the folder."""
        staging = folder / ".deepblue"
        for item in sorted(staging.glob("*/*")) if staging.is_dir() else []:
            if not item.name.startswith("."):
                _merge(item, folder / item.name)

    def subject_of(self, path: str) -> str | None:
        return None  # Deep Blue names files only when they arrive

    def subjects(self, root: str | Path) -> list[str]:
        """The participants present but brainmagick's :data:`EXCLUDED` (33 of 42)."""
        root = self._root(root)
        return sorted(p.stem for p in root.glob("S[0-9]*.mat") if p.stem not in EXCLUDED)

    def layout(self) -> str:
        return "\n".join([
            "S<NN>.mat (FieldTrip raw: hdr.label, hdr.Fs, trial, 61 channels incl. VEOG)",
            "proc/S<NN>.mat (proc.trl: one row per word, begsample endsample offset ...)",
            WORDS + " (Word, Segment, onset, offset, Position, Sentence, ...)",
            "audio/DownTheRabbitHoleFinal_SoundFile<1..12>.wav",
        ])

    def read(self, root: str | Path, subject: str, session: str | None = None,
             task: str | None = None, **kwargs) -> list[Recording]:
        """The participant's single recording with word and sound events; none (with a
        warning naming the participant) when its word epochs do not match the word table,
        so that one bad participant does not end a run over all of them."""
        from ..meeg import read_meeg

        root = self._root(root)
        subject = subject if str(subject).startswith("S") else f"S{int(subject):02d}"
        eeg, proc, words = root / f"{subject}.mat", root / "proc" / f"{subject}.mat", root / WORDS
        for path in (eeg, proc, words):
            if not path.is_file():
                raise self._missing(root, str(path.relative_to(root)))
        raw = read_fieldtrip_raw(eeg)
        try:
            events = word_events(proc, pd.read_csv(words), root, sfreq=raw.info["sfreq"])
        except DataFormatError as err:
            logger.warning("brennan2019: participant %s is left out: %s", subject, err)
            return []
        return [read_meeg(raw, events=events, subject=subject, **kwargs)]


def _merge(src: Path, dst: Path) -> None:
    """Move ``src`` to ``dst``, merging folders that already exist."""
    if src.is_dir() and dst.is_dir():
        for child in src.iterdir():
            _merge(child, dst / child.name)
        src.rmdir()
    else:
        src.replace(dst)


def read_fieldtrip_raw(path: Path) -> mne.io.RawArray:
    """A FieldTrip ``raw`` struct (one continuous trial, microvolts) as an MNE Raw."""
    mat = loadmat(path, squeeze_me=True, simplify_cells=True)
    if "raw" not in mat:
        raise DataFormatError(f"{path} has no 'raw' struct; expected FieldTrip raw data.")
    raw = mat["raw"]
    labels = [str(c) for c in np.atleast_1d(raw["hdr"]["label"])]
    data = np.atleast_2d(raw["trial"]) * 1e-6
    types = ["eog" if c.upper().startswith("VEOG") else "misc" if c in ("AUD", "Aux5")
             else "eeg" for c in labels]
    info = mne.create_info(labels, float(raw["hdr"]["Fs"]), types)
    out = mne.io.RawArray(data[: len(labels)], info, verbose="error")
    montage = mne.channels.make_standard_montage("easycap-M10")
    out.set_montage(montage, on_missing="ignore")
    return out


def word_events(proc_path: Path, words: pd.DataFrame, root: Path, *, sfreq: float
                ) -> pd.DataFrame:
    """Word onsets from ``proc.trl`` (1-based samples, FieldTrip offset) and the word table.

    The word onset is the t=0 sample of its epoch, ``begsample - offset`` (1-based), i.e.
    ``(begsample - offset - 1) / sfreq`` s into the recording. This is how the dataset's
    authors wrote ``proc.trl`` (``cnllab/alice-eeg-shared``, ``helpers/get_alice2_trials.m``
    called by ``preprocessing/timelock_single.m`` with ``epoch = [-.3 1]``): word sample
    ``a`` = segment trigger + e-prime lag + ``ceil(onset * Fs)``, ``begsample = a - 150``,
    ``offset = -150``, FieldTrip's ``trl`` convention (``ft_definetrial``). brainmagick
    reads ``begsample`` (``bm/studies/brennan2019.py``), which puts every word 0.3 s early.
    When ``proc.varnames`` names the trl's own ``passage``, ``onset`` and ``Order`` columns,
    each epoch must match its row of the word table (else ``DataFormatError``: the
    participant's triggers are out of order). Sound events start each audio segment at the
    first word's onset minus its onset within the WAV (negative when the WAV began before
    the recording).
    """
    proc = loadmat(proc_path, squeeze_me=True, simplify_cells=True)["proc"]
    trl = np.atleast_2d(np.asarray(proc["trl"], dtype=float))
    if len(trl) != len(words):
        raise DataFormatError(
            f"{proc_path.name}: proc.trl has {len(trl)} rows but {WORDS} has {len(words)} "
            "words; expected one epoch per word."
        )
    _check_trl_columns(proc_path, proc, trl, words)
    onsets = (trl[:, 0] - trl[:, 2] - 1) / sfreq
    table = pd.DataFrame({
        "onset": onsets, "duration": (words["offset"] - words["onset"]).to_numpy(),
        "kind": "word", "text": words["Word"].astype(str).map(_clean_word).to_numpy(),
        "block": words["Segment"].astype(str).to_numpy(), "condition": "sentence",
        "sentence": words.get("Sentence", pd.Series(0, index=words.index)).to_numpy(),
    })
    sounds = []
    for segment, group in table.groupby("block", sort=False):
        first = group.index[0]
        # a WAV that began before the EEG keeps its (negative) onset, as in brainmagick:
        # its words still read the sound's timeline at their offset into it
        start = table.loc[first, "onset"] - float(words.loc[first, "onset"])
        sounds.append({"onset": start, "kind": "sound", "block": segment,
                       "stimulus": str(root / AUDIO.format(segment=segment)),
                       "condition": "sentence", "text": ""})
    table = pd.concat([table, pd.DataFrame(sounds)], ignore_index=True)
    return table.sort_values("onset", kind="stable").reset_index(drop=True)


#: ``proc.varnames`` columns of ``proc.trl`` (after begsample, endsample, offset) and the
#: word-table columns they copy (``get_alice2_trials.m``), with the tolerance of the match.
_TRL_COLUMNS = {"passage": ("Segment", 0.0), "onset": ("onset", 1e-4), "Order": ("Order", 0.0)}


def _check_trl_columns(proc_path: Path, proc: dict, trl: np.ndarray,
                       words: pd.DataFrame) -> None:
    """Each epoch's own passage, onset and word order against its row of the word table."""
    names = [str(v) for v in np.atleast_1d(proc.get("varnames", []))]
    if len(names) != trl.shape[1] - 3:
        return  # no (or other) column names: nothing to check against
    for name, (column, tolerance) in _TRL_COLUMNS.items():
        if name not in names or column not in words:
            continue
        ours = trl[:, 3 + names.index(name)]
        theirs = words[column].to_numpy(dtype=float)
        bad = np.flatnonzero(~(np.abs(ours - theirs) <= tolerance))
        if len(bad):
            row = int(bad[0])
            raise DataFormatError(
                f"{proc_path.name}: proc.trl's {name!r} column does not match {WORDS}'s "
                f"{column!r} at {len(bad)} epoch(s), the first epoch {row + 1} ({ours[row]:g} vs "
                f"{theirs[row]:g}); expected one epoch per word in the table's order "
                "(the participant's triggers are out of order or missing)."
            )


def _clean_word(word: str) -> str:
    return re.sub(r"[^\w'-]", "", word)


#: Module-level entry points: ``read(root, subject, session=None, task=None, **kwargs)``
#: returns a list of Recordings, ``layout()`` describes the expected files.
read = Brennan2019().read
layout = Brennan2019().layout


__all__ = ["layout", "read", "Brennan2019", "EXCLUDED", "FILE_IDS", "read_fieldtrip_raw", "word_events"]
