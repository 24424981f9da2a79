"""MOUS (Schoffelen et al. 2019): 204 Dutch participants reading or listening to sentences.

Donders Repository (``di.dccn.DSC_3011020.09_236``), behind a registration and a data use
agreement: the fetcher cannot download it. The BIDS release holds 275-channel CTF MEG
(``.ds``) at 1200 Hz and an ``events.tsv`` per recording. Data card:
``datasets/schoffelen2019.md``.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pandas as pd

from ...exceptions import DataNotFoundError
from ..recording import Recording
from ._bids import read_bids_runs
from .base import Study

logger = logging.getLogger("neurodecode")

MANUAL_STEPS = """Steps:
 1. Create an account at https://data.donders.ru.nl (institutional or social login).
 2. Open the collection di.dccn.DSC_3011020.09_236_v1 (doi:10.34973/37n0-yc51), accept the
    data use agreement (RU-DI-HD-1.0) and request access.
 3. Download the subjects you need (sub-A2xxx: auditory task; sub-V1xxx: visual task) with
    the repository's web client or WebDAV (e.g. rclone), keeping the BIDS layout, into
    ROOT/schoffelen2019/."""

#: How to obtain the per-word timings the auditory BIDS events lack.
ALIGNMENT_STEPS = """The auditory MOUS events.tsv holds sentence triggers ('Start File N.wav'),
no per-word timings. Give a folder of word tables, one per subject, sub-<S>_words.tsv with
columns onset (s, on the recording's clock), duration (s), word, sentence (the WAV number
N of 'Start File N.wav'), as data.read_options.alignments (see datasets/schoffelen2019.md:
brainmagick's came from MAUS forced alignments of the sentence WAVs, shipped in a
derivatives.zip distributed privately by its authors; a forced aligner such as WebMAUS or
the Montreal Forced Aligner on stimuli/audio_files/ plus the trigger onsets gives them)."""

#: Columns of an alignment table (``sub-<S>_words.tsv``).
ALIGNMENT_COLUMNS = ("onset", "duration", "word", "sentence")


class Schoffelen2019(Study):
    """MOUS: CTF MEG 275 axial gradiometers, 1200 Hz, BIDS; tasks auditory / visual."""

    name = "schoffelen2019"
    modality = "meeg"
    manual_steps = MANUAL_STEPS

    def layout(self) -> str:
        return "\n".join([
            "participants.tsv, dataset_description.json",
            "sub-A<2002..2125>/meg/sub-<S>_task-auditory_meg.ds/ (CTF)",
            "sub-V<1001..1117>/meg/sub-<S>_task-visual_meg.ds/",
            "sub-<S>/meg/sub-<S>_task-<task>_events.tsv (onset, duration, type, value, ...)",
            "stimuli/audio_files/EQ_Ramp_Int2_Int1LPF<NNN>.wav (auditory sentences; events value "
            "'Start File <NNN>.wav')",
        ])

    def subjects(self, root: str | Path) -> list[str]:
        """The auditory-task subjects (``sub-A*``): the speech recipes' default list."""
        return [s for s in super().subjects(root) if s.startswith("A")]

    def read(self, root: str | Path, subject: str, session: str | None = None,
             task: str | None = None, *, events_table: pd.DataFrame | None = None,
             alignments: str | Path | None = None, **kwargs) -> list[Recording]:
        """Recordings of ``subject`` (``"A2002"``) with the events of its ``events.tsv``.

        Parameters
        ----------
        events_table : DataFrame, optional
            Word/phoneme timings aligned to this recording (e.g. a forced alignment), used
            instead of the BIDS events (which hold the presentation triggers).
        alignments : str or Path, optional
            Folder of per-subject word tables ``sub-<S>_words.tsv`` (columns
            :data:`ALIGNMENT_COLUMNS`; relative to ``root``); their words replace the
            triggers' (the auditory triggers have none), each with its sentence and WAV.

        Raises
        ------
        ValueError
            If a visual-task subject (``V1xxx``) is read for the auditory task.
        DataNotFoundError
            If the alignment table is missing, or an auditory recording has no word
            timing and no ``alignments`` is given.
        """
        root = self._root(root)
        subject = str(subject).removeprefix("sub-")
        if subject.startswith("V") and task in (None, "auditory"):
            raise ValueError(
                f"subject={subject!r} did MOUS's visual (reading) task; the auditory "
                f"(listening) recipes need sub-A2xxx subjects: remove {subject!r} from "
                "data.subjects (or read it with task='visual').")
        words = None if alignments is None else read_alignment(root, alignments, subject)

        def to_events(table: pd.DataFrame, tsv: Path) -> pd.DataFrame:
            if events_table is not None:
                return events_table
            events = trigger_events(table, root)
            sounds = events["kind"] == "sound"
            if sounds.any() and (events.loc[sounds, "stimulus"] == "").all():
                logger.warning(
                    "%s: no sound event names its sentence WAV (expected values like 'Start File "
                    "186.wav'); pass events_table= with onset, duration, kind and stimulus "
                    "(stimuli/audio_files/EQ_Ramp_Int2_Int1LPF<NNN>.wav) columns.", tsv.name)
            if words is not None:
                return with_words(events, words, root)
            if subject.startswith("A") and not (events["kind"] == "word").any():
                raise DataNotFoundError(f"{tsv.name} has no word timings. {ALIGNMENT_STEPS}")
            return events

        recordings = read_bids_runs(root, subject, session=session, task=task,
                                    datatype="meg", to_events=to_events, **kwargs)
        if not recordings:
            raise self._missing(root, f"events.tsv for subject={subject!r}")
        return recordings


def read_alignment(root: Path, folder: str | Path, subject: str) -> pd.DataFrame:
    """Subject ``subject``'s word table from the alignment ``folder`` (see ``read``)."""
    path = Path(folder).expanduser()
    path = (path if path.is_absolute() else root / path) / f"sub-{subject}_words.tsv"
    if not path.is_file():
        raise DataNotFoundError(f"MOUS word alignment {str(path)!r} is missing. "
                                f"{ALIGNMENT_STEPS}")
    table = pd.read_csv(path, sep="\t")
    missing = [c for c in ALIGNMENT_COLUMNS if c not in table.columns]
    if missing:
        raise DataNotFoundError(f"{path} lacks the column(s) {missing}; found "
                                f"{list(table.columns)}. {ALIGNMENT_STEPS}")
    return table


def with_words(events: pd.DataFrame, words: pd.DataFrame, root: Path) -> pd.DataFrame:
    """The trigger events without their word rows, plus the aligned ``words``."""
    wav = words["sentence"].map(lambda n: str(root / AUDIO_FILES / AUDIO_NAME.format(int(n))))
    rows = pd.DataFrame({"onset": words["onset"].astype(float),
                         "duration": words["duration"].astype(float), "kind": "word",
                         "condition": "word", "text": words["word"].astype(str),
                         "sentence": words["sentence"].astype(int), "stimulus": wav,
                         "block": words["sentence"].astype(str), "value": -1})
    kept = events[events["kind"] != "word"]
    return pd.concat([kept, rows], ignore_index=True).sort_values(
        "onset", kind="stable").reset_index(drop=True)


AUDIO_FILES = "stimuli/audio_files"
AUDIO_NAME = "EQ_Ramp_Int2_Int1LPF{:03d}.wav"
_SOUND_VALUE = re.compile(r"(\d+)\.wav\s*$", re.IGNORECASE)


def trigger_events(table: pd.DataFrame, root: str | Path | None = None) -> pd.DataFrame:
    """MOUS BIDS events: ``type`` becomes ``condition``; rows whose type or value names a
    word become ``kind="word"`` (``text`` the value), sounds ``kind="sound"``.

    A sound whose value names a sentence file (``"Start File 186.wav"``) gets ``stimulus``
    ``<root>/stimuli/audio_files/EQ_Ramp_Int2_Int1LPF186.wav`` (relative to the stimulus
    folder when ``root`` is None) and, when it has none, the duration up to the next
    ``End of file`` event. A non-empty ``stimulus`` column of the table is kept.
    """
    events = table.copy()
    kind_of = events.get("type", pd.Series("", index=events.index)).fillna("").astype(str)
    value = events.get("value", pd.Series("", index=events.index)).fillna("").astype(str)
    events["condition"] = kind_of
    is_word = kind_of.str.lower().str.contains("word")
    is_end = value.str.contains("end of file", case=False)
    is_sound = (kind_of.str.lower().str.contains("sound")
                | value.str.lower().str.endswith(".wav")) & ~is_end
    events["kind"] = "trial"
    events.loc[is_word, "kind"] = "word"
    events.loc[is_sound & ~is_word, "kind"] = "sound"
    events["text"] = value.where(is_word, "")
    events["stimulus"] = _sound_files(events, value, is_sound & ~is_word, root)
    events["value"] = pd.to_numeric(events.get("value"), errors="coerce").fillna(-1)
    events["_end"] = is_end
    events = events.sort_values("onset", kind="stable").reset_index(drop=True)
    return _with_sentences(_sound_durations(events).drop(columns="_end"))


def _with_sentences(events: pd.DataFrame) -> pd.DataFrame:
    """Words take the sentence (the count of sounds so far) and WAV of the sound before."""
    sounds = events["kind"] == "sound"
    events["sentence"] = sounds.cumsum()
    heard = events["stimulus"].where(sounds).ffill().fillna("")
    unnamed = (events["kind"] == "word") & (events["stimulus"] == "")
    events.loc[unnamed, "stimulus"] = heard[unnamed]
    return events


def _sound_files(events: pd.DataFrame, value: pd.Series, is_sound: pd.Series,
                 root: str | Path | None) -> pd.Series:
    """The sentence WAV of each sound event (kept from a ``stimulus`` column when given)."""
    given = events.get("stimulus", pd.Series("", index=events.index)).fillna("").astype(str)
    folder = Path(AUDIO_FILES) if root is None else Path(root) / AUDIO_FILES
    number = value.str.extract(_SOUND_VALUE, expand=False)
    derived = number.map(lambda n: "" if pd.isna(n) else str(folder / AUDIO_NAME.format(int(n))))
    return given.where((given != "") | ~is_sound, derived.fillna(""))


def _sound_durations(events: pd.DataFrame) -> pd.DataFrame:
    """Duration of each sentence sound: up to the next ``End of file`` event, if any."""
    ends = events.loc[events["_end"], "onset"]
    duration = pd.to_numeric(events.get("duration"), errors="coerce").fillna(0.0)
    for i in events.index[(events["kind"] == "sound") & (events["stimulus"] != "")]:
        later = ends[ends > events.at[i, "onset"]]
        if duration[i] <= 0 and len(later):
            duration[i] = later.iloc[0] - events.at[i, "onset"]
    events["duration"] = duration
    return events


#: Module-level entry points: ``read(root, subject, session=None, task=None, **kwargs)``
#: returns a list of Recordings, ``layout()`` describes the expected files.
read = Schoffelen2019().read
layout = Schoffelen2019().layout


__all__ = ["layout", "read", "MANUAL_STEPS", "AUDIO_FILES", "AUDIO_NAME", "ALIGNMENT_COLUMNS",
           "ALIGNMENT_STEPS", "Schoffelen2019", "read_alignment", "trigger_events", "with_words"]
