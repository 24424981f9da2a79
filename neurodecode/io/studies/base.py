"""The ``Study`` base class: what every public dataset module provides."""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import ClassVar

from ...exceptions import DataNotFoundError
from ..recording import Recording
from .archive import ArchiveLimits
from .download import RemoteFile, read_text
from .hosts import Reader

_SUBJECT = re.compile(r"(?:^|/)sub-([A-Za-z0-9]+)(?=[/_.]|$)")


class Study:
    """A public dataset: where its files are, how they are laid out, how to read them.

    Subclasses set the class attributes and implement :meth:`remote`, :meth:`layout` and
    :meth:`read`. Instances hold no state.

    Attributes
    ----------
    name : str
        Registry name, also the folder that :func:`~neurodecode.io.studies.fetch` creates.
    modality : {"meeg", "fmri"}
    card : str
        Path of the data card, relative to the repository root.
    manual_steps : str
        For datasets behind a registration: what the user must do by hand (empty otherwise).
    archive_limits : ArchiveLimits
        Bounds on the archives it downloads (a study whose archives hold links sets
        ``allow_links=True``).
    """

    name: ClassVar[str] = ""
    modality: ClassVar[str] = "meeg"
    manual_steps: ClassVar[str] = ""
    archive_limits: ClassVar[ArchiveLimits] = ArchiveLimits()

    @property
    def card(self) -> str:
        return f"datasets/{self.name}.md"

    # ---------------------------------------------------------------- fetching
    def remote(self, base: str | None = None, *, read: Reader = read_text) -> list[RemoteFile]:
        """The files to download; ``base`` replaces the host (a mirror), ``read`` GETs listings.

        Raises
        ------
        DataNotFoundError
            For datasets that need a registration: the message lists the manual steps.
        """
        raise DataNotFoundError(
            f"{self.name} cannot be downloaded automatically: it needs a registration.\n"
            f"{self.manual_steps}\nThen place the files as described by "
            f"neurodecode.io.studies.layout({self.name!r}) (data card: {self.card})."
        )

    def post_fetch(self, folder: Path) -> None:
        """Work after every file is in place (e.g. unpack nested archives); none by default."""

    def mirror_url(self, base: str | None, url: str, path: str) -> str:
        """``url``, or ``base/path`` when a mirror ``base`` is given."""
        if base is None:
            return url
        return base.rstrip("/") + "/" + urllib.parse.quote(path)

    def subject_of(self, path: str) -> str | None:
        """The subject a remote file belongs to, or None for shared files (stimuli, ...)."""
        match = _SUBJECT.search(path)
        return match.group(1) if match else None

    def select(self, files: Iterable[RemoteFile], subjects: Sequence[str] | None
               ) -> list[RemoteFile]:
        """Keep the shared files and those of ``subjects`` (all when None)."""
        files = list(files)
        if subjects is None:
            return files
        wanted = {str(s).removeprefix("sub-") for s in subjects}
        return [f for f in files if self.subject_of(f.path) in wanted | {None}]

    # ---------------------------------------------------------------- reading
    def layout(self) -> str:
        """The expected local files, relative to the study folder (one pattern a line)."""
        raise NotImplementedError

    def subjects(self, root: str | Path) -> list[str]:
        """Subjects present under ``root`` (BIDS ``sub-*`` folders by default)."""
        root = self._root(root)
        return sorted(p.name[4:] for p in root.glob("sub-*") if p.is_dir())

    def read(self, root: str | Path, subject: str, session: str | None = None,
             task: str | None = None, **kwargs) -> list[Recording]:
        """Recordings of one subject (all sessions / tasks / runs unless given)."""
        raise NotImplementedError

    def _root(self, root: str | Path) -> Path:
        root = Path(root)
        if not root.is_dir():
            raise DataNotFoundError(
                f"root={str(root)!r} is not a folder; expected the {self.name} study folder "
                f"(neurodecode fetch {self.name} --root DIR creates DIR/{self.name}). "
                f"Expected layout:\n{self.layout()}"
            )
        return root

    def _missing(self, root: Path, what: str) -> DataNotFoundError:
        return DataNotFoundError(
            f"{self.name}: no {what} under {root}. Expected layout:\n{self.layout()}"
        )


__all__ = ["Study"]
