"""Shared helpers for studies stored in BIDS."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..recording import Recording

IMAGE_COLUMNS = ("image_path", "file_path", "stim_file", "image_name", "image")


def image_events(table: pd.DataFrame, root: Path, stimuli: str) -> pd.DataFrame:
    """A BIDS events table of image presentations to neurodecode events.

    The image column is the first of :data:`IMAGE_COLUMNS` present; its value becomes an
    absolute path under ``root/stimuli`` and its parent folder the ``text`` (the concept).
    """
    events = table.copy()
    column = next((c for c in IMAGE_COLUMNS if c in events.columns), None)
    if column is not None:
        names = events[column].fillna("").astype(str)
        events["stimulus"] = [str(root / stimuli / n) if n else "" for n in names]
        events["text"] = [Path(n).parent.name if "/" in n else Path(n).stem for n in names]
    events["kind"] = "image"
    if "trial_type" in events.columns:
        events["condition"] = events["trial_type"].fillna("").astype(str)
    return events.sort_values("onset", kind="stable").reset_index(drop=True)


def read_bids_runs(root: Path, subject: str, *, session: str | None, task: str | None,
                   datatype: str, to_events, **kwargs) -> list[Recording]:
    """Read every matching BIDS recording; ``to_events(table, tsv_path)`` makes its events."""
    from mne_bids import BIDSPath, get_entities_from_fname

    from ..meeg import read_meeg

    pattern = f"sub-{subject}/" + ("ses-*/" if session is None else f"ses-{session}/")
    tsvs = sorted(root.glob(pattern + f"{datatype}/*_events.tsv"))
    if not tsvs:  # no session level
        tsvs = sorted(root.glob(f"sub-{subject}/{datatype}/*_events.tsv"))
    recordings = []
    for tsv in tsvs:
        entities = get_entities_from_fname(tsv.name)
        if task is not None and entities.get("task") != task:
            continue
        path = BIDSPath(root=root, subject=subject, session=entities.get("session"),
                        task=entities.get("task"), run=entities.get("run"),
                        acquisition=entities.get("acquisition"), datatype=datatype,
                        suffix=datatype)
        events = to_events(pd.read_csv(tsv, sep="\t", na_values=["n/a"]), tsv)
        recordings.append(read_meeg(path, events=events, subject=subject,
                                    session=entities.get("session"), **kwargs))
    return recordings


__all__ = ["IMAGE_COLUMNS", "image_events", "read_bids_runs"]
