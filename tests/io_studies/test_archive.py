"""Bounded archive extraction: symlink chains, bombs, member counts, malformed archives."""

from __future__ import annotations

import gzip
import io
import tarfile
import time
import zipfile

import pytest

from neurodecode.exceptions import DataFormatError
from neurodecode.io.studies.archive import ArchiveLimits, check_members, extract

from ._hostile import cve_2025_4517_tar, many_files_tar_gz, tar_gz_bomb


def _leftovers(tmp_path, *keep):
    return sorted(p.name for p in tmp_path.iterdir() if p.name not in keep)


@pytest.mark.parametrize("limits", [ArchiveLimits(), ArchiveLimits(allow_links=True)])
def test_cve_2025_4517_symlink_chain_refused_before_writing(tmp_path, limits):
    archive = cve_2025_4517_tar(tmp_path / "poc.tar")
    root = tmp_path / "study" / "inner"
    why = "is a symlink" if not limits.allow_links else (
        "resolves outside the extraction root|longer than 4096 characters")
    with pytest.raises(DataFormatError, match=why):
        extract(archive, root, limits)
    assert _leftovers(tmp_path, "poc.tar") == []  # neither study/ nor escaped/


def test_link_chain_staying_inside_is_accepted_when_links_are_allowed(tmp_path):
    members = [("real/data.txt", tarfile.REGTYPE, ""), ("a", tarfile.SYMTYPE, "real"),
               ("b", tarfile.SYMTYPE, "a"), ("c", tarfile.SYMTYPE, "b/data.txt")]
    archive = tmp_path / "ok.tar"
    with tarfile.open(archive, "w") as tar:
        for name, kind, target in members:
            info = tarfile.TarInfo(name)
            info.type, info.linkname = kind, target
            info.size = 2 if kind == tarfile.REGTYPE else 0
            tar.addfile(info, io.BytesIO(b"ok") if info.size else None)
    extract(archive, tmp_path / "out", ArchiveLimits(allow_links=True))
    assert (tmp_path / "out" / "c").read_text() == "ok"


def test_symlink_loop_refused(tmp_path):
    archive = tmp_path / "loop.tar"
    with tarfile.open(archive, "w") as tar:
        for name, target in [("x", "y"), ("y", "x")]:
            info = tarfile.TarInfo(name)
            info.type, info.linkname = tarfile.SYMTYPE, target
            tar.addfile(info)
    with pytest.raises(DataFormatError, match="follows more than 40 symbolic links"):
        check_members(archive, ArchiveLimits(allow_links=True))


def test_gzip_bomb_refused_fast_with_nothing_on_disk(tmp_path):
    archive = tar_gz_bomb(tmp_path / "bomb.tar.gz")  # 2 GiB of zeros
    assert archive.stat().st_size < 3 * 2**20
    start = time.perf_counter()
    with pytest.raises(DataFormatError, match="uncompressed bytes 2,147,483,648 > .*max_ratio"):
        extract(archive, tmp_path / "out")
    assert time.perf_counter() - start < 1.0
    assert _leftovers(tmp_path, "bomb.tar.gz") == []


def test_bomb_of_many_members_stops_at_the_limit(tmp_path):
    """100 members of 20 MiB: the check stops at the budget (here 10 x 2 MB), it does not
    inflate the 2 GiB (which takes several seconds)."""
    archive = tar_gz_bomb(tmp_path / "bomb.tar.gz", n_files=100, mib_per_file=20)
    start = time.perf_counter()
    with pytest.raises(DataFormatError, match="> 21,.* .ArchiveLimits.max_ratio"):
        extract(archive, tmp_path / "out", ArchiveLimits(max_ratio=10))
    assert time.perf_counter() - start < 1.0
    assert _leftovers(tmp_path, "bomb.tar.gz") == []


def test_total_size_limit(tmp_path):
    archive = tar_gz_bomb(tmp_path / "b.tar.gz", n_files=2, mib_per_file=1)
    with pytest.raises(DataFormatError, match="> 1,000,000 .ArchiveLimits.max_total_bytes"):
        check_members(archive, ArchiveLimits(max_total_bytes=1_000_000, max_ratio=1e6))
    assert check_members(archive, ArchiveLimits(max_ratio=1e6)) == [
        "bomb/000000.bin", "bomb/000001.bin"]


def test_member_count_limit(tmp_path):
    archive = many_files_tar_gz(tmp_path / "many.tar.gz", n_files=1500)
    with pytest.raises(DataFormatError, match="members 1,001 > 1,000 .ArchiveLimits.max_members"):
        extract(archive, tmp_path / "out", ArchiveLimits(max_members=1000))
    assert _leftovers(tmp_path, "many.tar.gz") == []


def test_zip_limits(tmp_path):
    with zipfile.ZipFile(tmp_path / "z.zip", "w", zipfile.ZIP_DEFLATED) as handle:
        handle.writestr("zeros.bin", bytes(50 * 2**20))
    with pytest.raises(DataFormatError, match="uncompressed bytes 52,428,800 > .*max_ratio"):
        extract(tmp_path / "z.zip", tmp_path / "out")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("field, value", [("max_members", 0), ("max_ratio", -1.0),
                                          ("max_total_bytes", 0)])
def test_limits_must_be_positive(field, value):
    with pytest.raises(ValueError, match=f"ArchiveLimits.{field} must be > 0; got {value}"):
        ArchiveLimits(**{field: value})


def _small_tar(path, n=5, size=20_000):
    with tarfile.open(path, "w") if not isinstance(path, io.BytesIO) else tarfile.open(
            fileobj=path, mode="w") as tar:
        for k in range(n):
            info = tarfile.TarInfo(f"data/{k}.bin")
            info.size = size
            tar.addfile(info, io.BytesIO(bytes([k]) * size))
    return path


def test_truncated_tar_leaves_nothing_behind(tmp_path):
    data = _small_tar(tmp_path / "full.tar").read_bytes()
    archive = tmp_path / "cut.tar"
    archive.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataFormatError, match="cut.tar is not a readable zip or tar archive"):
        extract(archive, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_failed_extraction_keeps_what_was_there_before(tmp_path):
    data = _small_tar(tmp_path / "full.tar").read_bytes()
    (tmp_path / "cut.tar").write_bytes(data[: len(data) // 2])
    root = tmp_path / "study"
    (root / "data").mkdir(parents=True)
    (root / "data" / "mine.txt").write_text("kept")
    with pytest.raises(DataFormatError, match="nothing was left extracted"):
        extract(tmp_path / "cut.tar", root)
    assert sorted(p.name for p in (root / "data").iterdir()) == ["mine.txt"]


def _tar_bytes(n=3, size=5000):
    buffer = io.BytesIO()
    _small_tar(buffer, n, size)
    return buffer.getvalue()


@pytest.mark.parametrize("content", [
    lambda: gzip.compress(_tar_bytes())[:-2000],  # a gzip stream cut short
    lambda: gzip.compress(b"\xff" * 512 + _tar_bytes()[512:]),  # a garbled header
    lambda: gzip.compress(b"\x00" * 100 + b"not a tar" * 100),
])
def test_malformed_tar_gz_is_a_clear_error(tmp_path, content):
    (tmp_path / "m.tar.gz").write_bytes(content())
    with pytest.raises(DataFormatError, match="m.tar.gz is not a readable zip or tar archive"):
        extract(tmp_path / "m.tar.gz", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_corrupt_zip_member_leaves_nothing_behind(tmp_path):
    with zipfile.ZipFile(tmp_path / "z.zip", "w", zipfile.ZIP_DEFLATED) as handle:
        handle.writestr("a/one.txt", "1" * 1000)
        handle.writestr("a/two.txt", "2" * 1000)
    data = bytearray((tmp_path / "z.zip").read_bytes())
    data[42] ^= 0xFF  # inside the first member's compressed bytes
    (tmp_path / "z.zip").write_bytes(bytes(data))
    with pytest.raises(DataFormatError, match="z.zip is not a readable zip or tar archive"):
        extract(tmp_path / "z.zip", tmp_path / "out")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("mode", ["w:gz", "w:bz2", "w:xz", "w"])
def test_every_compression_is_checked_and_extracted(tmp_path, mode):
    archive = tmp_path / f"a.{mode}.tar".replace(":", "")
    with tarfile.open(archive, mode) as tar:
        for k in range(3):
            info = tarfile.TarInfo(f"d/{k}.bin")
            info.size = 3 * 2**20 + k  # members larger than the 1 MiB inflate chunk
            tar.addfile(info, io.BytesIO(bytes([k]) * info.size))
    limits = ArchiveLimits(max_ratio=1e5)
    assert check_members(archive, limits) == ["d/0.bin", "d/1.bin", "d/2.bin"]
    extract(archive, tmp_path / "out", limits)
    assert (tmp_path / "out" / "d" / "2.bin").read_bytes() == bytes([2]) * (3 * 2**20 + 2)


def test_fetch_removes_a_refused_archive(server, tmp_path):
    from neurodecode.io.studies.download import RemoteFile
    from neurodecode.io.studies.fetch import _fetch_one

    tar_gz_bomb(server.folder / "bomb.tar.gz")
    remote = RemoteFile("bomb.tar.gz", f"{server.url}/bomb.tar.gz", extract=True)
    study = tmp_path / "study"
    with pytest.raises(DataFormatError, match="bomb.tar.gz expands past the limit"):
        _fetch_one(remote, study, progress=False, limits=ArchiveLimits())
    assert list(study.iterdir()) == []
