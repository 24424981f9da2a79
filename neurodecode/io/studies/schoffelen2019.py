"""MOUS (Schoffelen et al. 2019): 204 Dutch participants reading or listening to sentences.

Donders Repository (``di.dccn.DSC_3011020.09_236``), behind a registration and a data use
agreement: the fetcher cannot download it. The BIDS release holds 275-channel CTF MEG
(``.ds``) at 1200 Hz and an ``events.tsv`` per recording. Data card:
``datasets/schoffelen2019.md``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..recording import Recording
from ._bids import read_bids_runs
from .base import Study

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
            "stimuli/ (audio_files/*.wav for the auditory task, optional)",
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
            return trigger_events(table)

        recordings = read_bids_runs(root, subject, session=session, task=task,
                                    datatype="meg", to_events=to_events, **kwargs)
        if not recordings:
            raise self._missing(root, f"events.tsv for subject={subject!r}")
        return recordings


def trigger_events(table: pd.DataFrame) -> pd.DataFrame:
    """MOUS BIDS events: ``type`` becomes ``condition``; rows whose type or value names a
    word become ``kind="word"`` (``text`` the value), sounds ``kind="sound"``."""
    events = table.copy()
    kind_of = events.get("type", pd.Series("", index=events.index)).fillna("").astype(str)
    value = events.get("value", pd.Series("", index=events.index)).fillna("").astype(str)
    events["condition"] = kind_of
    is_word = kind_of.str.lower().str.contains("word")
    is_sound = kind_of.str.lower().str.contains("sound") | value.str.lower().str.endswith(".wav")
    events["kind"] = "trial"
    events.loc[is_word, "kind"] = "word"
    events.loc[is_sound & ~is_word, "kind"] = "sound"
    events["text"] = value.where(is_word, "")
    events["value"] = pd.to_numeric(events.get("value"), errors="coerce").fillna(-1)
    return events.sort_values("onset", kind="stable").reset_index(drop=True)


#: Module-level entry points: ``read(root, subject, session=None, task=None, **kwargs)``
#: returns a list of Recordings, ``layout()`` describes the expected files.
read = Schoffelen2019().read
layout = Schoffelen2019().layout


__all__ = ["layout", "read", "MANUAL_STEPS", "Schoffelen2019", "trigger_events"]
