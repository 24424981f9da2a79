"""Safe, bounded extraction of zip and tar archives.

Every member is checked before anything is written: absolute paths, ``..`` components,
special files (devices, FIFOs) and members whose final path (following every symbolic
link of the archive, chains included) lies outside the extraction root are refused; links
are refused altogether unless :class:`ArchiveLimits` allows them; the member count, the
total uncompressed size and the compression ratio are bounded, and the check stops at the
first member past a limit (a gzip bomb is refused before it is inflated). A malformed
archive is a :class:`~neurodecode.exceptions.DataFormatError`, and whatever an extraction
that fails midway has written is removed.
"""

from __future__ import annotations

import bz2
import lzma
import posixpath
import shutil
import stat
import tarfile
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath

from ...exceptions import DataFormatError

ARCHIVE_SUFFIXES = (".zip", ".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz")
#: Longest resolved path accepted (Linux PATH_MAX); longer chains are refused, not truncated.
PATH_MAX = 4096
_CHUNK = 1 << 20
_MAX_HOPS = 40  # symbolic links followed while resolving one path (as Linux' MAXSYMLINKS)
_MALFORMED = (tarfile.TarError, zipfile.BadZipFile, zlib.error, lzma.LZMAError, EOFError,
              OSError, NotImplementedError, RuntimeError, UnicodeDecodeError)


@dataclass(frozen=True)
class ArchiveLimits:
    """Bounds on what one archive may expand to.

    The defaults fit the largest archive of the registered studies (the MNE sample
    data, about 1.6 GB compressed to 3.3 GB and a few thousand files; the Broderick
    Dryad zip, a few GB of already compressed experiments) with a wide margin.

    Attributes
    ----------
    max_total_bytes : int
        Sum of the uncompressed member sizes.
    max_members : int
        Number of members (files, folders, links).
    max_ratio : float
        Total uncompressed size / archive file size.
    allow_links : bool
        Accept symbolic and hard links (whose final target must stay inside the root).
    """

    max_total_bytes: int = 200 * 2**30
    max_members: int = 20_000
    max_ratio: float = 100.0
    allow_links: bool = False

    def __post_init__(self) -> None:
        for name in ("max_total_bytes", "max_members", "max_ratio"):
            value = getattr(self, name)
            if not value > 0:
                raise ValueError(f"ArchiveLimits.{name} must be > 0; got {value!r}.")


@dataclass(frozen=True)
class _Member:
    name: str
    size: int
    kind: str  # "file", "dir", "symlink", "hardlink", "special"
    target: str = ""


def is_archive(path: str | Path) -> bool:
    """True when the file name ends with a zip or tar suffix."""
    return str(path).lower().endswith(ARCHIVE_SUFFIXES)


def _refuse(archive: Path, member: str, why: str) -> DataFormatError:
    return DataFormatError(
        f"archive {archive.name} holds a member {member[:200]!r} that {why}; it was refused "
        "and nothing was extracted. The archive is corrupt or hostile: delete it and fetch "
        "again from a trusted source."
    )


def _over_limit(archive: Path, what: str, value: float, limit: float, field: str):
    return DataFormatError(
        f"archive {archive.name} expands past the limit: {what} {value:,.0f} > {limit:,.0f} "
        f"(ArchiveLimits.{field}); it was refused and nothing was extracted. If the "
        "archive is trusted, pass larger ArchiveLimits."
    )


def _malformed(archive: Path, err: BaseException) -> DataFormatError:
    return DataFormatError(
        f"{archive} is not a readable zip or tar archive ({type(err).__name__}: {err}); "
        "nothing was left extracted. Delete it and fetch again."
    )


def _check_name(archive: Path, name: str) -> str:
    """Return the normalised member name, or raise if it escapes the root."""
    if len(name) > PATH_MAX:
        raise _refuse(archive, name, f"has a name longer than {PATH_MAX} characters")
    if name.startswith(("/", "\\")) or PureWindowsPath(name).drive:
        raise _refuse(archive, name, "has an absolute path")
    if ".." in PurePosixPath(name.replace("\\", "/")).parts:
        raise _refuse(archive, name, "contains '..'")
    return posixpath.normpath(name.replace("\\", "/"))


class _Inflating:
    """Forward-only file object over a gz, bz2 or xz stream (concatenated members too)
    that skips data a MiB at a time, so that reading tar headers past large members is
    fast and memory stays bounded whatever the compression ratio."""

    def __init__(self, raw, factory) -> None:
        self._raw, self._factory, self._dec = raw, factory, factory()
        self._input, self._buf, self._pos = b"", bytearray(), 0

    def tell(self) -> int:
        return self._pos

    def read(self, size: int) -> bytes:
        while len(self._buf) < size and self._inflate():
            pass
        out = bytes(self._buf[:size])
        del self._buf[:size]
        self._pos += len(out)
        return out

    def seek(self, pos: int, whence: int = 0) -> int:
        if whence != 0 or pos < self._pos:
            raise OSError("the archive check reads forward only")
        while pos > self._pos and (self._buf or self._inflate()):
            step = min(pos - self._pos, len(self._buf))
            del self._buf[:step]
            self._pos += step
        return self._pos

    def _inflate(self) -> bool:
        """Append up to a MiB of inflated bytes to the buffer; False at the end."""
        while True:
            if self._dec.eof:  # next concatenated member, if any
                self._input = self._dec.unused_data or self._raw.read(_CHUNK)
                if not self._input:
                    return False
                self._dec = self._factory()
            if not self._input and getattr(self._dec, "needs_input", True):
                self._input = self._raw.read(_CHUNK)
                if not self._input:
                    out = self._dec.decompress(b"", _CHUNK)
                    if not out:
                        raise EOFError("the compressed stream ends before its end marker")
                    self._buf += out
                    return True
            out = self._dec.decompress(self._input, _CHUNK)
            self._input = getattr(self._dec, "unconsumed_tail", b"")
            if out:
                self._buf += out
                return True


_MAGIC = {b"\x1f\x8b": lambda: zlib.decompressobj(31), b"BZh": bz2.BZ2Decompressor,
          b"\xfd7zXZ": lzma.LZMADecompressor}


def _inflated(raw):
    """``raw`` itself for an uncompressed tar, else an :class:`_Inflating` reader."""
    head = raw.read(6)
    raw.seek(0)
    for magic, factory in _MAGIC.items():
        if head.startswith(magic):
            return _Inflating(raw, factory)
    return raw


def _tar_members(handle: tarfile.TarFile) -> Iterator[_Member]:
    for info in handle:  # lazily: a refused member stops the read
        kind = ("file" if info.isfile() else "dir" if info.isdir() else
                "symlink" if info.issym() else "hardlink" if info.islnk() else "special")
        yield _Member(info.name, info.size if kind == "file" else 0, kind, info.linkname)


def _zip_members(handle: zipfile.ZipFile) -> Iterator[_Member]:
    for info in handle.infolist():
        if stat.S_ISLNK(info.external_attr >> 16):
            if info.file_size > PATH_MAX:
                raise _refuse(Path(str(handle.filename)), info.filename,
                              f"is a link to a path longer than {PATH_MAX} characters")
            target = handle.read(info).decode("utf-8", "replace")
            yield _Member(info.filename, 0, "symlink", target)
        else:
            yield _Member(info.filename, info.file_size, "dir" if info.is_dir() else "file")


def _scan(archive: Path, members: Iterator[_Member], limits: ArchiveLimits) -> list[_Member]:
    """Names checked and limits enforced member by member (stops at the first excess)."""
    budget = min(limits.max_total_bytes, limits.max_ratio * max(archive.stat().st_size, 1))
    field = "max_total_bytes" if budget == limits.max_total_bytes else "max_ratio"
    found: list[_Member] = []
    total = 0
    for member in members:
        name = _check_name(archive, member.name)
        if member.kind == "special":
            raise _refuse(archive, member.name, "is a device, FIFO or other special file")
        if member.kind in ("symlink", "hardlink") and not limits.allow_links:
            raise _refuse(archive, member.name, f"is a {member.kind} (links are refused "
                          "unless the study needs them: ArchiveLimits(allow_links=True))")
        total += member.size
        if total > budget:
            raise _over_limit(archive, "uncompressed bytes", total, budget, field)
        if len(found) >= limits.max_members:
            raise _over_limit(archive, "members", len(found) + 1, limits.max_members,
                              "max_members")
        found.append(_Member(name, member.size, member.kind, member.target))
    return found


def _resolve(path: str, links: dict[str, str]) -> str:
    """``path`` (relative to the root) with every archive symlink followed; raises
    ``ValueError`` naming why when it leaves the root, loops or grows past PATH_MAX."""
    if path.startswith(("/", "\\")) or PureWindowsPath(path).drive:
        raise ValueError("points to an absolute path")
    queue, hops = path.replace("\\", "/").split("/"), 0
    done: list[str] = []
    while queue:
        part = queue.pop(0)
        if part in ("", "."):
            continue
        if part == "..":
            if not done:
                raise ValueError("resolves outside the extraction root")
            done.pop()
            continue
        done.append(part)
        target = links.get("/".join(done))
        if target is None:
            continue
        hops += 1
        if hops > _MAX_HOPS:
            raise ValueError(f"follows more than {_MAX_HOPS} symbolic links")
        if target.startswith(("/", "\\")) or PureWindowsPath(target).drive:
            raise ValueError(f"goes through a link to the absolute path {target[:200]!r}")
        done.pop()
        queue = target.replace("\\", "/").split("/") + queue
        if sum(map(len, done + queue)) + len(done + queue) > PATH_MAX:
            raise ValueError(f"resolves to a path longer than {PATH_MAX} characters")
    return "/".join(done)


def _check_links(archive: Path, members: list[_Member]) -> None:
    """Every member's final path, and every link's final target, stays inside the root."""
    links = {m.name: m.target for m in members if m.kind == "symlink"}
    for member in members:
        try:
            parent = _resolve(posixpath.dirname(member.name), links)
            if member.kind == "symlink":
                _resolve(posixpath.join(parent, member.target), links)
            elif member.kind == "hardlink":
                _resolve(member.target, links)
            else:
                _resolve(member.name, links)
        except ValueError as err:
            what = f"links to {member.target[:200]!r} and " if member.target else ""
            raise _refuse(archive, member.name, what + str(err)) from None


def check_members(archive: str | Path, limits: ArchiveLimits | None = None) -> list[str]:
    """Check every member of a zip or tar archive and return their normalised names.

    Parameters
    ----------
    archive : path
        The zip or tar (optionally gz, bz2, xz compressed) file.
    limits : ArchiveLimits or None
        Bounds and link policy; None uses the defaults.

    Raises
    ------
    DataFormatError
        A member has an absolute path or a ``..`` component, resolves outside the root
        through the archive's links, is a link (unless allowed), a device or FIFO; the
        archive exceeds a limit; or the file is not a readable archive.
    """
    return [m.name for m in _checked(Path(archive), limits or ArchiveLimits())]


def _checked(archive: Path, limits: ArchiveLimits) -> list[_Member]:
    try:
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as handle:
                members = _scan(archive, _zip_members(handle), limits)
        else:
            with open(archive, "rb") as raw, tarfile.open(
                    fileobj=_inflated(raw), mode="r:") as handle:
                members = _scan(archive, _tar_members(handle), limits)
    except DataFormatError:
        raise
    except _MALFORMED as err:
        raise _malformed(archive, err) from err
    _check_links(archive, members)
    return members


def extract(archive: str | Path, root: str | Path,
            limits: ArchiveLimits | None = None) -> list[Path]:
    """Extract a zip or tar archive into ``root`` after checking every member.

    Parameters
    ----------
    archive : path
        The zip or tar (optionally gz, bz2, xz compressed) file.
    root : path
        Destination folder (created if needed).
    limits : ArchiveLimits or None
        Bounds and link policy; None uses the defaults.

    Returns
    -------
    paths : list of Path
        The extracted files and folders.

    Raises
    ------
    DataFormatError
        See :func:`check_members`; nothing is written when a member is refused, and an
        extraction that fails midway (a truncated or corrupt archive) removes what it wrote.
    """
    archive, root = Path(archive), Path(root)
    names = [m.name for m in _checked(archive, limits or ArchiveLimits())]
    created = _new_paths(root, names)
    try:
        root.mkdir(parents=True, exist_ok=True)
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as handle:
                handle.extractall(root)
        else:
            with tarfile.open(archive) as handle:
                handle.extractall(root, filter="data")
    except _MALFORMED as err:
        _remove(created)
        raise _malformed(archive, err) from err
    return [root / name for name in names]


def _new_paths(root: Path, names: list[str]) -> list[Path]:
    """The paths extraction would create (``root`` and member ancestors not there yet)."""
    candidates = {root}
    for name in names:
        path = PurePosixPath(name)
        candidates.update(root / p for p in [path, *path.parents] if str(p) != ".")
    return sorted((p for p in candidates if not p.exists() and not p.is_symlink()),
                  key=lambda p: len(p.parts))


def _remove(paths: list[Path]) -> None:
    for path in paths:  # shallowest first: a removed folder takes what it holds
        if path.is_symlink() or path.is_file():
            path.unlink(missing_ok=True)
        elif path.is_dir():
            shutil.rmtree(path, ignore_errors=True)


__all__ = ["ARCHIVE_SUFFIXES", "ArchiveLimits", "PATH_MAX", "check_members", "extract",
           "is_archive"]
