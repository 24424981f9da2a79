"""Download, resume, checksum and archive safety, all on the loopback server."""

from __future__ import annotations

import hashlib
import io
import re
import tarfile
import time
import zipfile

import numpy as np
import pytest

from neurodecode.exceptions import DataFormatError, DataNotFoundError
from neurodecode.io.studies.archive import ArchiveLimits, check_members, extract
from neurodecode.io.studies.download import RemoteFile, Timeouts, download, read_text
from neurodecode.io.studies.hosts import parse_md5sums


def _payload(rng, n=300_000) -> bytes:
    return rng.integers(0, 256, n, dtype=np.uint8).tobytes()


def test_resume_after_broken_connection(server, tmp_path, rng):
    data = _payload(rng)
    (server.folder / "big.bin").write_bytes(data)
    server.cut.add("/big.bin")
    sha = "sha256:" + hashlib.sha256(data).hexdigest()
    out = download(f"{server.url}/big.bin", tmp_path / "dl" / "big.bin", expected_hash=sha,
                   progress=False)
    assert out.read_bytes() == data
    assert not (tmp_path / "dl" / "big.bin.part").exists()
    # first request cut at half, second one asks for exactly the missing bytes
    assert server.log[0] == ("/big.bin", None)
    assert server.log[1] == ("/big.bin", f"bytes={len(data) // 2}-")


def test_resume_from_part_left_by_earlier_run(server, tmp_path, rng):
    data = _payload(rng, 50_000)
    (server.folder / "f.bin").write_bytes(data)
    dest = tmp_path / "f.bin"
    (tmp_path / "f.bin.part").write_bytes(data[:12_345])
    download(f"{server.url}/f.bin", dest, expected_hash="md5:" + hashlib.md5(data).hexdigest(),
             progress=False)
    assert dest.read_bytes() == data
    assert server.log == [("/f.bin", "bytes=12345-")]


def test_server_ignoring_range_restarts_from_zero(server, tmp_path, rng):
    data = _payload(rng, 40_000)
    (server.folder / "f.bin").write_bytes(data)
    server.ranges = False
    (tmp_path / "f.bin.part").write_bytes(b"garbage")
    download(f"{server.url}/f.bin", tmp_path / "f.bin", progress=False)
    assert (tmp_path / "f.bin").read_bytes() == data


def test_checksum_mismatch_raises_and_removes(server, tmp_path, rng):
    (server.folder / "f.bin").write_bytes(_payload(rng, 10_000))
    dest = tmp_path / "f.bin"
    with pytest.raises(DataFormatError, match="checksum mismatch .* expected sha256 0{64}"):
        download(f"{server.url}/f.bin", dest, expected_hash="sha256:" + "0" * 64,
                 progress=False)
    assert not dest.exists() and not (tmp_path / "f.bin.part").exists()


def test_http_error_names_url(server, tmp_path):
    with pytest.raises(DataNotFoundError, match="HTTP 404"):
        download(f"{server.url}/nope.bin", tmp_path / "nope.bin", progress=False)


def test_gives_up_after_retries_and_keeps_part(server, tmp_path, rng):
    (server.folder / "f.bin").write_bytes(_payload(rng, 64_000))
    server.cut_always = True
    server.cut.add("*")
    with pytest.raises(DataNotFoundError, match="failed after 2 attempts.*run the fetch again"):
        download(f"{server.url}/f.bin", tmp_path / "f.bin", retries=1, progress=False)
    assert (tmp_path / "f.bin.part").stat().st_size > 0


def test_name_from_content_disposition(server, tmp_path):
    (server.folder / "deepblue").mkdir()
    (server.folder / "deepblue" / "S01.mat").write_bytes(b"abc")
    server.named["xyz"] = "S01.mat"
    out = download(f"{server.url}/deepblue/xyz", tmp_path / "stage", progress=False,
                   name_from_header=True)
    assert out == tmp_path / "stage" / "S01.mat" and out.read_bytes() == b"abc"


def test_unverified_file_logs_warning(server, tmp_path, caplog):
    (server.folder / "f.txt").write_bytes(b"x")
    with caplog.at_level("WARNING", logger="neurodecode"):
        download(f"{server.url}/f.txt", tmp_path / "f.txt", progress=False)
    assert "no checksum is published" in caplog.text


@pytest.mark.parametrize("path", ["../x", "/abs/x", "a/../../x", ""])
def test_remote_file_rejects_escaping_paths(path):
    with pytest.raises(ValueError, match="must be a relative path inside the study folder"):
        RemoteFile(path, "http://127.0.0.1/x")


def test_remote_file_rejects_bad_hash():
    with pytest.raises(ValueError, match="expected 'sha256:<hex>', 'md5:<hex>' or None"):
        RemoteFile("a", "http://127.0.0.1/a", hash="crc32:abcd")


def test_parse_md5sums():
    digest = "d41d8cd98f00b204e9800998ecf8427e"
    assert parse_md5sums(f"{digest}  a.tar.gz\n\n{digest} *b.txt\n") == {
        "a.tar.gz": digest, "b.txt": digest}
    with pytest.raises(DataFormatError, match="MD5SUMS line 1 is 'xyz  a'"):
        parse_md5sums("xyz  a\n")


# ------------------------------------------------------------------ archives
def _zip(path, members):
    with zipfile.ZipFile(path, "w") as handle:
        for name, data in members.items():
            handle.writestr(name, data)
    return path


def _tar(path, members):
    with tarfile.open(path, "w:gz") as handle:
        for info, data in members:
            handle.addfile(info, io.BytesIO(data) if data is not None else None)
    return path


def _file(name, data=b"x"):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    return info, data


def _link(name, target, kind=tarfile.SYMTYPE):
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, target
    return info, None


def test_safe_archives_extract(tmp_path):
    _zip(tmp_path / "a.zip", {"d/one.txt": "1", "two.txt": "2"})
    extract(tmp_path / "a.zip", tmp_path / "out")
    assert (tmp_path / "out" / "d" / "one.txt").read_text() == "1"
    _tar(tmp_path / "b.tar.gz", [_file("e/three.txt", b"3"), _link("e/ln", "three.txt")])
    links = ArchiveLimits(allow_links=True)
    assert check_members(tmp_path / "b.tar.gz", links) == ["e/three.txt", "e/ln"]
    extract(tmp_path / "b.tar.gz", tmp_path / "out", links)
    assert (tmp_path / "out" / "e" / "ln").read_text() == "3"


@pytest.mark.parametrize("name, why", [
    ("../evil.txt", "contains '..'"),
    ("ok/../../evil.txt", "contains '..'"),
    ("/etc/evil.txt", "has an absolute path"),
    ("C:/evil.txt", "has an absolute path"),
])
def test_zip_member_escaping_root_refused(tmp_path, name, why):
    _zip(tmp_path / "bad.zip", {"good.txt": "g", name: "evil"})
    with pytest.raises(DataFormatError, match=f"member .* {why}.*nothing was extracted"):
        extract(tmp_path / "bad.zip", tmp_path / "out")
    assert not (tmp_path / "out").exists() and not (tmp_path / "evil.txt").exists()


@pytest.mark.parametrize("member, why", [
    (_file("../evil.txt"), "contains '..'"),
    (_file("/tmp/evil.txt"), "has an absolute path"),
    (_link("ln", "../../outside"), "resolves outside the extraction root"),
    (_link("d/ln", "/etc/passwd"), "links to '/etc/passwd' and points to an absolute path"),
    (_link("hard", "../x", tarfile.LNKTYPE), "resolves outside the extraction root"),
])
def test_tar_member_escaping_root_refused(tmp_path, member, why):
    """Links are refused by default; allowed, their final target must stay inside."""
    _tar(tmp_path / "bad.tar.gz", [_file("good.txt"), member])
    with pytest.raises(DataFormatError, match=why):
        extract(tmp_path / "bad.tar.gz", tmp_path / "out", ArchiveLimits(allow_links=True))
    assert not (tmp_path / "out").exists()


def test_tar_special_file_refused(tmp_path):
    fifo = tarfile.TarInfo("pipe")
    fifo.type = tarfile.FIFOTYPE
    _tar(tmp_path / "bad.tar", [(fifo, None)])
    with pytest.raises(DataFormatError, match="is a device, FIFO or other special file"):
        check_members(tmp_path / "bad.tar")


def test_zip_symlink_escaping_root_refused(tmp_path):
    info = zipfile.ZipInfo("ln")
    info.external_attr = (0o120777 << 16)
    with zipfile.ZipFile(tmp_path / "ln.zip", "w") as handle:
        handle.writestr(info, "../../etc/passwd")
    with pytest.raises(DataFormatError, match="is a symlink .links are refused unless"):
        check_members(tmp_path / "ln.zip")
    with pytest.raises(DataFormatError, match="resolves outside the extraction root"):
        check_members(tmp_path / "ln.zip", ArchiveLimits(allow_links=True))


def test_not_an_archive(tmp_path):
    (tmp_path / "x.zip").write_bytes(b"not an archive at all")
    with pytest.raises(DataFormatError, match="not a readable zip or tar archive"):
        extract(tmp_path / "x.zip", tmp_path / "out")


# ------------------------------------------------------------------ timeouts
def _timed_download(server, tmp_path, **kwargs):
    start = time.monotonic()
    with pytest.raises(DataNotFoundError) as info:
        download(f"{server.url}/f.bin", tmp_path / "f.bin", progress=False, **kwargs)
    return time.monotonic() - start, str(info.value)


def test_trickling_server_stops_at_the_deadline(server, tmp_path):
    (server.folder / "f.bin").write_bytes(bytes(10_000))
    server.trickle["/f.bin"] = 0.02  # 50 B/s: a 10 kB file would take 200 s
    seconds, message = _timed_download(server, tmp_path, timeouts=Timeouts(deadline=1.0))
    assert seconds < 3.0
    assert re.search(r"f.bin passed its deadline; \d+ bytes are kept in .*f.bin.part: run the "
                     r"fetch again to resume, or pass a longer Timeouts.deadline", message)
    assert 0 < (tmp_path / "f.bin.part").stat().st_size < 10_000


def test_trickling_server_below_the_minimum_rate_is_resumed_then_refused(server, tmp_path):
    (server.folder / "f.bin").write_bytes(bytes(10_000))
    server.trickle["/f.bin"] = 0.02
    seconds, message = _timed_download(
        server, tmp_path, retries=1, timeouts=Timeouts(min_rate=1000.0, window=0.5))
    assert seconds < 4.0
    assert re.search(r"failed after 2 attempts \(stalled: \d+ bytes in 0.\d s, below "
                     r"Timeouts.min_rate=1000 B/s\)", message)
    assert [entry[0] for entry in server.log] == ["/f.bin", "/f.bin"]  # resumed once


def test_server_that_never_answers_hits_the_connect_timeout(server, tmp_path):
    (server.folder / "f.bin").write_bytes(b"x")
    server.hang.add("/f.bin")
    seconds, message = _timed_download(server, tmp_path, retries=0,
                                       timeouts=Timeouts(connect=0.3))
    assert seconds < 2.0 and "failed after 1 attempts" in message and "timed out" in message


def test_body_that_stops_hits_the_read_timeout(server, tmp_path):
    (server.folder / "f.bin").write_bytes(bytes(100))
    server.trickle["/f.bin"] = 5.0  # one byte, then silence
    seconds, message = _timed_download(server, tmp_path, retries=0,
                                       timeouts=Timeouts(connect=5.0, read=0.3))
    assert seconds < 2.0 and "timed out" in message


def test_deadline_covers_listings(server):
    (server.folder / "list.txt").write_bytes(b"a" * 1000)
    server.trickle["/list.txt"] = 0.02
    with pytest.raises(DataNotFoundError, match="could not read the listing .*list.txt: it "
                       "passed its deadline"):
        read_text(f"{server.url}/list.txt", timeouts=Timeouts(deadline=0.5))


@pytest.mark.parametrize("field, value", [("connect", 0), ("read", -1.0),
                                          ("deadline", 0.0), ("min_rate", -5.0)])
def test_timeouts_must_be_positive(field, value):
    with pytest.raises(ValueError, match=f"Timeouts.{field} must be a finite number"):
        Timeouts(**{field: value})
