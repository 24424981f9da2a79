"""THINGS-MEG (Hebart et al. 2023): 4 participants, 12 sessions, 22,448 object images.

BIDS on OpenNeuro (``ds004212``), 272-channel CTF MEG. The images (the THINGS database)
are distributed separately behind a licence agreement: see the data card
``datasets/things_meg.md``.
"""

from __future__ import annotations

from pathlib import Path

from ..recording import Recording
from ._bids import image_events, read_bids_runs
from .base import Study
from .download import RemoteFile, read_text
from .hosts import OPENNEURO_S3, Reader, openneuro_files

DATASET = "ds004212"
SUBJECTS = ("BIGMEG1", "BIGMEG2", "BIGMEG3", "BIGMEG4")
STIMULI = "stimuli"


class ThingsMeg(Study):
    """THINGS-MEG: CTF MEG, 1200 Hz, image onsets with THINGS image file names."""

    name = "things_meg"
    modality = "meeg"

    def remote(self, base: str | None = None, *, read: Reader = read_text) -> list[RemoteFile]:
        return openneuro_files(DATASET, base=base or OPENNEURO_S3, read=read)

    def layout(self) -> str:
        return "\n".join([
            "dataset_description.json, participants.tsv",
            "sub-BIGMEG<1..4>/ses-<01..12>/meg/sub-<S>_ses-<NN>_task-main_run-<NN>_meg.ds/",
            "sub-<S>/ses-<NN>/meg/sub-<S>_ses-<NN>_task-main_run-<NN>_events.tsv "
            "(onset, duration, trial_type exp/test/catch, value, image file column)",
            f"{STIMULI}/<concept>/<image>.jpg (THINGS images, fetched by hand)",
        ])

    def read(self, root: str | Path, subject: str, session: str | None = None,
             task: str | None = None, **kwargs) -> list[Recording]:
        """Recordings of ``subject`` (``"BIGMEG1"`` ...), one per run, image events.

        Keyword arguments go to :func:`neurodecode.io.read_meeg`.
        """
        root = self._root(root)
        subject = str(subject).removeprefix("sub-")
        recordings = read_bids_runs(
            root, subject, session=session, task=task, datatype="meg",
            to_events=lambda table, tsv: image_events(table, root, STIMULI), **kwargs)
        if not recordings:
            raise self._missing(root, f"events.tsv for subject={subject!r}, "
                                      f"session={session!r}")
        return recordings


#: Module-level entry points: ``read(root, subject, session=None, task=None, **kwargs)``
#: returns a list of Recordings, ``layout()`` describes the expected files.
read = ThingsMeg().read
layout = ThingsMeg().layout


__all__ = ["layout", "read", "DATASET", "SUBJECTS", "ThingsMeg"]
