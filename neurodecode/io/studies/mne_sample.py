"""MNE "sample": one subject's auditory/visual MEG+EEG session (Neuromag VectorView).

One tar.gz on OSF, with the MD5 that MNE-Python's own fetcher checks
(``mne/datasets/config.py``). Data card: ``datasets/mne_sample.md``.
"""

from __future__ import annotations

from pathlib import Path

import mne

from ..recording import Recording
from .base import Study
from .download import RemoteFile, read_text
from .hosts import Reader

ARCHIVE = "MNE-sample-data-processed.tar.gz"
URL = "https://osf.io/download/86qa2?version=6"
MD5 = "md5:e8f30c4516abdc12a0c08e6bae57409c"
RAW = "MNE-sample-data/MEG/sample/sample_audvis_raw.fif"
EVENTS = "MNE-sample-data/MEG/sample/sample_audvis_raw-eve.fif"
EVENT_ID = {"auditory/left": 1, "auditory/right": 2, "visual/left": 3, "visual/right": 4,
            "smiley": 5, "button": 32}


class MneSample(Study):
    """MNE sample: 306 MEG + 60 EEG channels, about 600 Hz, 4 conditions + smiley/button."""

    name = "mne_sample"
    modality = "meeg"

    def remote(self, base: str | None = None, *, read: Reader = read_text) -> list[RemoteFile]:
        url = self.mirror_url(base, URL, ARCHIVE)
        return [RemoteFile(ARCHIVE, url, MD5, None, extract=True)]

    def subjects(self, root: str | Path) -> list[str]:
        return ["sample"] if (self._root(root) / RAW).is_file() else []

    def layout(self) -> str:
        return "\n".join([
            f"{RAW}", f"{EVENTS}",
            "MNE-sample-data/subjects/sample/ (FreeSurfer anatomy, optional)",
        ])

    def read(self, root: str | Path, subject: str = "sample", session: str | None = None,
             task: str | None = None, **kwargs) -> list[Recording]:
        """The raw session with the events of ``sample_audvis_raw-eve.fif``.

        Keyword arguments go to :func:`neurodecode.io.read_meeg` (``picks``, ``preload``).
        """
        from ..meeg import read_meeg

        root = self._root(root)
        raw_path, eve_path = root / RAW, root / EVENTS
        if not raw_path.is_file():
            raise self._missing(root, RAW)
        if eve_path.is_file():
            events = mne.read_events(eve_path)
        else:
            raw = mne.io.read_raw_fif(raw_path, verbose="error")
            events = mne.find_events(raw, stim_channel="STI 014", verbose="error")
        present = {k: v for k, v in EVENT_ID.items() if v in set(events[:, 2])}
        return [read_meeg(raw_path, events=events, event_id=present, subject="sample",
                          session=session, **kwargs)]


#: Module-level entry points: ``read(root, subject, session=None, task=None, **kwargs)``
#: returns a list of Recordings, ``layout()`` describes the expected files.
read = MneSample().read
layout = MneSample().layout


__all__ = ["layout", "read", "EVENT_ID", "MneSample"]
