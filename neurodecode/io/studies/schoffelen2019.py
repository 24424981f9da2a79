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

    def read(self, root: str | Path, subject: str, session: str | None = None,
             task: str | None = None, *, events_table: pd.DataFrame | None = None,
             **kwargs) -> list[Recording]:
        """Recordings of ``subject`` (``"A2002"``) with the events of its ``events.tsv``.

        Parameters
        ----------
        events_table : DataFrame, optional
            Word/phoneme timings aligned to this recording (e.g. a forced alignment), used
            instead of the BIDS events (which hold the presentation triggers).
        """
        root = self._root(root)
        subject = str(subject).removeprefix("sub-")

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
            return events

        recordings = read_bids_runs(root, subject, session=session, task=task,
                                    datatype="meg", to_events=to_events, **kwargs)
        if not recordings:
            raise self._missing(root, f"events.tsv for subject={subject!r}")
        return recordings


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
    return _sound_durations(events).drop(columns="_end")


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


__all__ = ["layout", "read", "MANUAL_STEPS", "AUDIO_FILES", "AUDIO_NAME", "Schoffelen2019", "trigger_events"]
