"""Public datasets: fetchers (``neurodecode fetch NAME --root DIR``) and per-study readers.

Each study module turns its local files into :class:`~neurodecode.io.recording.Recording`
objects with word, phoneme, sound or image events. Data cards live in ``datasets/``.

>>> from neurodecode.io.studies import fetch, get_study        # doctest: +SKIP
>>> folder = fetch("haxby2001", "~/data", subjects=["1"])       # doctest: +SKIP
>>> recordings = get_study("haxby2001").read(folder, "1")       # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path

from ..recording import Recording
from .archive import check_members, extract
from .base import Study
from .download import RemoteFile, download
from .fetch import fetch, main_fetch
from .registry import STUDIES, get_study


def read(name: str, root: str | Path, subject: str, session: str | None = None,
         task: str | None = None, **kwargs) -> list[Recording]:
    """Recordings of ``subject`` from the study ``name`` stored in ``root``."""
    return get_study(name).read(root, subject, session=session, task=task, **kwargs)


def layout(name: str) -> str:
    """The local files the study ``name`` expects, relative to its folder."""
    return get_study(name).layout()


__all__ = ["STUDIES", "RemoteFile", "Study", "check_members", "download", "extract",
           "fetch", "get_study", "layout", "main_fetch", "read"]
