"""MEG-MASC (Gwilliams et al. 2022/2023): 27 English speakers listening to four stories.

BIDS on OSF (project ``ag3kj`` and sibling components), 208-channel KIT MEG. Each run is
one story (BIDS ``task-0`` .. ``task-3``) in session ``0`` or ``1``; ``events.tsv`` holds
words, phonemes and sound onsets, each row's ``trial_type`` a Python dict literal such as
``{'story': 'lw1', 'sound_id': 0, 'kind': 'word', 'word': 'tara', 'sound':
'stimuli/audio/lw1_0.0.wav', ...}``. Data card: ``datasets/gwilliams2022.md``.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pandas as pd

from ...exceptions import DataFormatError
from ..recording import Recording
from .base import Study
from .download import RemoteFile, read_text
from .hosts import OSF_API, Reader, osf_files

#: OSF storage of MEG-MASC: the project and the sibling components brainmagick downloads.
OSF_NODES = ("ag3kj", "h2tzn", "u5327")
STORIES = ("lw1", "cable_spool_fort", "easy_money", "The_Black_Willow")
SESSIONS = ("0", "1")
TASKS = ("0", "1", "2", "3")
_NAN = re.compile(r"(?<![\w'])nan(?![\w'])")
_SOUND_ID = re.compile(r"^(.*)\.\d+(\.wav)$")


class Gwilliams2022(Study):
    """MEG-MASC: KIT MEG, 208 channels, 1000 Hz, BIDS, words and phonemes aligned."""

    name = "gwilliams2022"
    modality = "meeg"

    def remote(self, base: str | None = None, *, read: Reader = read_text) -> list[RemoteFile]:
        files: list[RemoteFile] = []
        for node in OSF_NODES:
            files += osf_files(node, base=base or OSF_API, read=read)
        return files

    def layout(self) -> str:
        return "\n".join([
            "dataset_description.json, participants.tsv",
            "sub-<01..27>/ses-<0|1>/meg/sub-<S>_ses-<0|1>_task-<0..3>_meg.con (+ .json)",
            "sub-<S>/ses-<0|1>/meg/sub-<S>_ses-<0|1>_task-<0..3>_events.tsv "
            "(trial_type: dict literal with kind, word/phoneme, story, sound)",
            "stimuli/audio/<story>_<sound_id>.wav",
        ])

    def read(self, root: str | Path, subject: str, session: str | None = None,
             task: str | None = None, **kwargs) -> list[Recording]:
        """Recordings of ``subject``, one per session and story (``task``).

        Extra keyword arguments go to :func:`neurodecode.io.read_meeg` (``picks``,
        ``preload``).
        """
        from mne_bids import BIDSPath

        from ..meeg import read_meeg

        root = self._root(root)
        subject = str(subject).removeprefix("sub-")
        recordings = []
        for ses in [session] if session is not None else SESSIONS:
            for tsk in [task] if task is not None else TASKS:
                path = BIDSPath(root=root, subject=subject, session=ses, task=tsk,
                                datatype="meg", suffix="meg")
                tsv = path.copy().update(suffix="events", extension=".tsv").fpath
                if not Path(tsv).is_file():
                    continue
                events = parse_events(pd.read_csv(tsv, sep="\t"), root, source=str(tsv))
                recordings.append(read_meeg(path, events=events, subject=subject,
                                            session=ses, **kwargs))
        if not recordings:
            raise self._missing(root, f"events.tsv for subject={subject!r}, "
                                      f"session={session!r}, task={task!r}")
        return recordings


def parse_events(table: pd.DataFrame, root: Path, *, source: str = "events.tsv"
                 ) -> pd.DataFrame:
    """MEG-MASC ``events.tsv`` rows to neurodecode events (words, phonemes, sounds).

    Parameters
    ----------
    table : DataFrame
        Columns ``onset``, ``duration``, ``trial_type`` (a dict literal) and ``value``.
    root : Path
        Study folder; sound paths become absolute paths under it.

    Returns
    -------
    events : DataFrame
        ``kind`` word/phoneme/sound, ``text`` the word or phoneme, ``stimulus`` the WAV of
        the sound segment, ``block`` ``<story>_<sound_id>``, ``condition`` the list type
        (``sentence`` or ``word_list``) and every key of the dict as an extra column.
    """
    if "trial_type" not in table.columns or "onset" not in table.columns:
        raise DataFormatError(
            f"{source} has columns {list(table.columns)}; expected MEG-MASC's onset, "
            "duration and trial_type (a dict literal)."
        )
    rows = []
    durations = table["duration"] if "duration" in table.columns else [0.0] * len(table)
    values = table["value"] if "value" in table.columns else [-1] * len(table)
    for index, (onset, duration, trial_type, value) in enumerate(zip(
            table["onset"], durations, table["trial_type"], values)):
        meta = _literal(trial_type, source, index)
        kind = str(meta.get("kind", "")).lower()
        text = meta.get("word") if kind == "word" else meta.get("phoneme", "")
        rows.append({
            **meta, "onset": float(onset), "duration": float(duration),
            "kind": kind if kind in ("word", "phoneme", "sound") else "trial",
            "condition": str(meta.get("condition", kind)), "text": str(text or ""),
            "stimulus": _sound_path(meta.get("sound"), root),
            "block": f"{meta.get('story', '')}_{_as_int(meta.get('sound_id'))}",
            "value": int(value) if pd.notna(value) else -1,
        })
    events = pd.DataFrame(rows)
    return events.sort_values("onset", kind="stable").reset_index(drop=True)


def _literal(text: str, source: str, index: int) -> dict:
    try:
        meta = ast.literal_eval(_NAN.sub("None", str(text)))
    except (ValueError, SyntaxError) as err:
        raise DataFormatError(
            f"{source} row {index}: trial_type {str(text)[:80]!r} is not a dict literal "
            f"({err}); expected MEG-MASC's \"{{'kind': 'word', ...}}\"."
        ) from err
    if not isinstance(meta, dict):
        raise DataFormatError(f"{source} row {index}: trial_type is not a dict literal.")
    return meta


def _sound_path(sound, root: Path) -> str:
    """``'Stimuli/Audio/lw1_0.0.wav'`` -> ``'<root>/stimuli/audio/lw1_0.wav'``."""
    if not sound or not isinstance(sound, str):
        return ""
    relative = _SOUND_ID.sub(r"\1\2", sound.lower())
    return str(root / relative)


def _as_int(value) -> str:
    try:
        return str(int(float(value)))
    except (TypeError, ValueError):
        return "0"


#: Module-level entry points: ``read(root, subject, session=None, task=None, **kwargs)``
#: returns a list of Recordings, ``layout()`` describes the expected files.
read = Gwilliams2022().read
layout = Gwilliams2022().layout


__all__ = ["layout", "read", "Gwilliams2022", "OSF_NODES", "STORIES", "parse_events"]
