"""``fetch(name, root)``: download a public dataset into ``root/<name>``.

Downloads resume (HTTP Range), checksums are verified, archives are extracted safely and
a small state file (``.neurodecode-fetch.json``) remembers what is complete, so that a
second run only fetches what is missing.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from tqdm.auto import tqdm

from ...exceptions import DataFormatError, DataNotFoundError
from .archive import ArchiveLimits, extract, is_archive
from .download import RemoteFile, download, read_text
from .hosts import Reader
from .registry import STUDIES, get_study

logger = logging.getLogger("neurodecode")

STATE_FILE = ".neurodecode-fetch.json"


class _State:
    """Which remote files are complete in a study folder."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / STATE_FILE
        self.done: dict[str, str] = {}
        if self.path.is_file():
            try:
                self.done = json.loads(self.path.read_text())
            except json.JSONDecodeError:
                logger.warning("%s is unreadable; every file is checked again", self.path)

    @staticmethod
    def _key(remote: RemoteFile) -> str:
        return remote.hash or f"size:{remote.size}"

    def is_done(self, remote: RemoteFile, folder: Path) -> bool:
        if self.done.get(remote.path) != self._key(remote):
            return False
        return remote.extract or remote.named_by_server or (folder / remote.path).exists()

    def mark(self, remote: RemoteFile) -> None:
        self.done[remote.path] = self._key(remote)
        self.path.write_text(json.dumps(self.done, indent=1, sort_keys=True))


def fetch(name: str, root: str | Path, *, url_override: str | None = None,
          subjects: Sequence[str] | None = None, progress: bool = True,
          read: Reader = read_text) -> Path:
    """Download the public dataset ``name`` into ``root/<name>`` and return that folder.

    Parameters
    ----------
    name : str
        A key of :data:`~neurodecode.io.studies.STUDIES` (``"gwilliams2022"``, ...).
    root : path
        Data root; the dataset goes into ``root/<name>``.
    url_override : str or None
        Base URL of a mirror that replaces the dataset's host and answers the same
        requests. None uses the official host. What it replaces, per host: OSF studies
        (gwilliams2022, things_eeg2) the API root ``https://api.osf.io/v2``; OpenNeuro
        (things_meg) the bucket ``https://s3.amazonaws.com/openneuro.org``; PyMVPA
        (haxby2001) the folder holding ``MD5SUMS``; Deep Blue (brennan2019) the
        ``.../data/downloads`` folder; single archives (mne_sample, broderick2019)
        ``<mirror>/<archive name>``.
    subjects : sequence of str or None
        Download only these subjects' files (plus the shared files: stimuli, sidecars).
    progress : bool
        Show tqdm progress bars.
    read : callable
        ``read(url) -> str`` used for listings and manifests (tests pass their own).

    Returns
    -------
    folder : Path
        ``root/<name>``, to be passed to the study's ``read``.

    Raises
    ------
    ValueError
        Unknown ``name`` (the message lists the valid ones).
    DataNotFoundError
        The dataset needs a registration (the message gives the manual steps), nothing
        matches ``subjects``, or a download fails.
    DataFormatError
        A checksum does not match, or an archive is malformed, unsafe or past the study's
        :class:`~neurodecode.io.studies.archive.ArchiveLimits` (the archive is removed).
    """
    study = get_study(name)
    folder = Path(root) / study.name
    listed = study.remote(url_override, read=read)
    _check_subjects(study, listed, subjects)
    files = study.select(listed, subjects)
    if not files:
        raise DataNotFoundError(f"{name}: the host lists no file; see {study.card}.")
    folder.mkdir(parents=True, exist_ok=True)
    state = _State(folder)
    todo = [f for f in files if not state.is_done(f, folder)]
    logger.info("%s: %d of %d files to download into %s", name, len(todo), len(files), folder)
    for remote in tqdm(todo, desc=name, unit="file", disable=not progress or len(todo) < 2):
        _fetch_one(remote, folder, progress=progress, limits=study.archive_limits)
        state.mark(remote)
    study.post_fetch(folder)
    return folder


def _check_subjects(study, listed: list[RemoteFile], subjects: Sequence[str] | None) -> None:
    """Raise when a requested subject has no file (studies that name subjects in paths)."""
    available = {study.subject_of(f.path) for f in listed} - {None}
    if not subjects or not available:
        return
    missing = sorted({str(s).removeprefix("sub-") for s in subjects} - available)
    if missing:
        shown = ", ".join(sorted(available)[:30])
        raise DataNotFoundError(
            f"{study.name}: the listing has no file for subjects={missing!r}; "
            f"available: {shown}. See {study.card}."
        )


def _fetch_one(remote: RemoteFile, folder: Path, *, progress: bool,
               limits: ArchiveLimits) -> None:
    path = download(remote.url, folder / remote.path, expected_hash=remote.hash,
                    size=remote.size, progress=progress,
                    name_from_header=remote.named_by_server)
    if remote.extract or (remote.named_by_server and is_archive(path)):
        try:
            extract(path, path.parent, limits)
        except DataFormatError:
            path.unlink(missing_ok=True)  # refused: nothing of it stays on disk
            raise
        path.unlink()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="neurodecode fetch",
        description="Download a public dataset into ROOT/NAME (resumable, checksummed).",
    )
    parser.add_argument("name", help="dataset: " + ", ".join(STUDIES))
    parser.add_argument("--root", required=True, help="data root folder")
    parser.add_argument("--mirror", default=None, help="base URL of a mirror of the host")
    parser.add_argument("--subject", action="append", default=None,
                        help="only this subject (repeat for several)")
    parser.add_argument("--no-progress", action="store_true", help="hide progress bars")
    return parser


def main_fetch(argv: list[str]) -> int:
    """Command line ``neurodecode fetch NAME --root DIR [--mirror URL] [--subject S]``.

    Returns
    -------
    code : int
        0 on success, 1 when the download fails or needs manual steps, 2 for bad usage.
    """
    args = _parser().parse_args(argv)
    try:
        folder = fetch(args.name, args.root, url_override=args.mirror,
                       subjects=args.subject, progress=not args.no_progress)
    except (DataNotFoundError, DataFormatError) as err:
        print(f"neurodecode fetch: error: {err}", file=sys.stderr)
        return 1
    except ValueError as err:
        print(f"neurodecode fetch: error: {err}", file=sys.stderr)
        return 2
    print(folder)
    return 0


__all__ = ["STATE_FILE", "fetch", "main_fetch"]
