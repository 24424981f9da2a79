"""Safe extraction of zip and tar archives.

Every member is checked before anything is written: absolute paths, ``..`` components,
links that point outside the extraction root and special files (devices, FIFOs) are
refused, so a hostile or corrupt archive cannot write outside the study folder.
"""

from __future__ import annotations

import posixpath
import stat
import tarfile
import zipfile
from pathlib import Path, PurePosixPath, PureWindowsPath

from ...exceptions import DataFormatError

ARCHIVE_SUFFIXES = (".zip", ".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz")


def is_archive(path: str | Path) -> bool:
    """True when the file name ends with a zip or tar suffix."""
    return str(path).lower().endswith(ARCHIVE_SUFFIXES)


def _refuse(archive: Path, member: str, why: str) -> DataFormatError:
    return DataFormatError(
        f"archive {archive.name} holds a member {member!r} that {why}; it was refused and "
        "nothing was extracted. The archive is corrupt or hostile: delete it and fetch "
        "again from a trusted source."
    )


def _check_name(archive: Path, name: str) -> str:
    """Return the normalised member name, or raise if it escapes the root."""
    if name.startswith(("/", "\\")) or PureWindowsPath(name).drive:
        raise _refuse(archive, name, "has an absolute path")
    if ".." in PurePosixPath(name.replace("\\", "/")).parts:
        raise _refuse(archive, name, "contains '..'")
    return posixpath.normpath(name.replace("\\", "/"))


def _check_link(archive: Path, name: str, target: str, *, hard: bool) -> None:
    if target.startswith(("/", "\\")) or PureWindowsPath(target).drive:
        raise _refuse(archive, name, f"links to the absolute path {target!r}")
    base = "." if hard else posixpath.dirname(name)
    resolved = posixpath.normpath(posixpath.join(base, target.replace("\\", "/")))
    if resolved == ".." or resolved.startswith("../"):
        raise _refuse(archive, name, f"links to {target!r}, outside the extraction root")


def check_members(archive: str | Path) -> list[str]:
    """Check every member of a zip or tar archive and return their normalised names.

    Raises
    ------
    DataFormatError
        A member has an absolute path, a ``..`` component, is a link escaping the root,
        or is a device or FIFO; or the file is not a readable archive.
    """
    archive = Path(archive)
    names = []
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as handle:
            for info in handle.infolist():
                name = _check_name(archive, info.filename)
                if stat.S_ISLNK(info.external_attr >> 16):
                    target = handle.read(info).decode("utf-8", "replace")
                    _check_link(archive, name, target, hard=False)
                names.append(name)
        return names
    try:
        tar = tarfile.open(archive)
    except tarfile.TarError as err:
        raise DataFormatError(
            f"{archive} is neither a zip nor a tar archive ({err}); delete it and fetch again."
        ) from err
    with tar:
        for member in tar.getmembers():
            name = _check_name(archive, member.name)
            if member.issym() or member.islnk():
                _check_link(archive, name, member.linkname, hard=member.islnk())
            elif not (member.isfile() or member.isdir()):
                raise _refuse(archive, member.name, "is a device, FIFO or other special file")
            names.append(name)
    return names


def extract(archive: str | Path, root: str | Path) -> list[Path]:
    """Extract a zip or tar archive into ``root`` after checking every member.

    Parameters
    ----------
    archive : path
        The zip or tar (optionally gz, bz2, xz compressed) file.
    root : path
        Destination folder (created if needed).

    Returns
    -------
    paths : list of Path
        The extracted files and folders.

    Raises
    ------
    DataFormatError
        See :func:`check_members`; nothing is written when a member is refused.
    """
    archive, root = Path(archive), Path(root)
    names = check_members(archive)
    root.mkdir(parents=True, exist_ok=True)
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as handle:
            handle.extractall(root)
    else:
        with tarfile.open(archive) as handle:
            handle.extractall(root, filter="data")
    return [root / name for name in names]


__all__ = ["ARCHIVE_SUFFIXES", "check_members", "extract", "is_archive"]
