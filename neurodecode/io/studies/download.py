"""Downloading one file: HTTP Range resume, checksum verification, progress bar.

Only the standard library talks to the network (``urllib``); nothing here knows about
particular hosts (see :mod:`neurodecode.io.studies.hosts` for those).
"""

from __future__ import annotations

import http.client
import logging
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tqdm.auto import tqdm

from ..._hashing import file_hash
from ..._validation import check_positive
from ...exceptions import DataFormatError, DataNotFoundError

logger = logging.getLogger("neurodecode")

_CHUNK = 1 << 20
_ALGORITHMS = ("sha256", "md5")
USER_AGENT = "neurodecode-fetch/0.1 (+https://github.com/)"


@dataclass(frozen=True)
class RemoteFile:
    """One file of a public dataset.

    Attributes
    ----------
    path : str
        Where the file is saved, relative to the study folder (POSIX separators).
    url : str
        Full URL of the file.
    hash : str or None
        ``"sha256:<hex>"`` or ``"md5:<hex>"`` (hosts that publish only MD5); ``None`` when
        the host publishes no checksum (a warning is logged and the file is kept unchecked).
    size : int or None
        Size in bytes when known (used for the progress bar and to detect a complete file).
    extract : bool
        True for a zip or tar archive that is unpacked into the study folder after download
        (and then removed).
    named_by_server : bool
        True when the host names the file only in its ``Content-Disposition`` header
        (Deep Blue Data): ``path`` is then the folder the file goes into.
    """

    path: str
    url: str
    hash: str | None = None
    size: int | None = None
    extract: bool = False
    named_by_server: bool = False

    def __post_init__(self) -> None:
        parts = Path(self.path).parts
        if not self.path or Path(self.path).is_absolute() or ".." in parts:
            raise ValueError(
                f"RemoteFile.path={self.path!r} must be a relative path inside the study "
                "folder, without '..'."
            )
        if self.hash is not None:
            algo, _, digest = self.hash.partition(":")
            if algo not in _ALGORITHMS or not digest:
                raise ValueError(
                    f"RemoteFile.hash={self.hash!r} is not valid; expected 'sha256:<hex>', "
                    "'md5:<hex>' or None."
                )


@dataclass(frozen=True)
class Timeouts:
    """Time limits of one download, in seconds.

    Attributes
    ----------
    connect : float
        To connect and receive the response headers.
    read : float
        Longest wait for the next bytes of the body.
    deadline : float or None
        The whole download, retries included (None: no limit). The ``.part`` file is
        kept, so a later run resumes.
    min_rate : float
        Bytes per second: a body arriving slower than this over ``window`` seconds (a
        trickling server) is treated as an interruption and resumed.
    window : float
        Seconds over which ``min_rate`` is measured.
    """

    connect: float = 30.0
    read: float = 60.0
    deadline: float | None = None
    min_rate: float = 1024.0
    window: float = 60.0

    def __post_init__(self) -> None:
        for name in ("connect", "read", "window"):
            check_positive(f"Timeouts.{name}", getattr(self, name))
        check_positive("Timeouts.min_rate", self.min_rate, strict=False)
        if self.deadline is not None:
            check_positive("Timeouts.deadline", self.deadline)


def verify(path: Path, expected: str | None, *, label: str) -> None:
    """Check ``path`` against ``expected`` (``"algo:hex"``); remove the file on mismatch.

    Raises
    ------
    DataFormatError
        When the digest differs; the file has been deleted so that a new run starts afresh.
    """
    if expected is None:
        logger.warning("no checksum is published for %s: it is kept unverified", label)
        return
    algorithm, _, digest = expected.partition(":")
    got = file_hash(path, algorithm)
    if got.lower() != digest.lower():
        path.unlink(missing_ok=True)
        raise DataFormatError(
            f"checksum mismatch for {label}: expected {algorithm} {digest}, got {got}. "
            "The corrupt file was removed; run the fetch again (or check the mirror)."
        )


class _Interrupted(Exception):
    """The connection ended before the announced number of bytes arrived, or stalled."""


class _Deadline(Exception):
    """The overall deadline passed (not retried)."""


def download(url: str, dest: Path, *, expected_hash: str | None = None,
             size: int | None = None, progress: bool = True, retries: int = 3,
             timeouts: Timeouts | None = None, name_from_header: bool = False) -> Path:
    """Download ``url`` to ``dest``, resuming a broken transfer with an HTTP Range request.

    Bytes go to ``dest`` + ``".part"`` first; an interrupted transfer (connection cut,
    timeout) is resumed from the bytes already on disk, up to ``retries`` times (a ``.part``
    left by an earlier run is resumed too). The complete file is checked against
    ``expected_hash`` and only then renamed to ``dest``.

    Parameters
    ----------
    url : str
        Address of the file.
    dest : Path
        Final location.
    expected_hash : str or None
        ``"sha256:<hex>"`` or ``"md5:<hex>"``; None skips the check with a warning.
    size : int or None
        Expected size in bytes (for the progress bar when the server does not send it).
    progress : bool
        Show a tqdm progress bar.
    retries : int
        Resume attempts after an interruption (a cut connection, a timeout, a stall).
    timeouts : Timeouts or None
        Connect and read timeouts, overall deadline and minimum rate; None uses the
        defaults (30 s, 60 s, no deadline, 1 kB/s over 60 s).
    name_from_header : bool
        ``dest`` is a folder and the file name comes from the ``Content-Disposition``
        header (the last URL component when the header has none).

    Returns
    -------
    path : Path
        The downloaded file.

    Raises
    ------
    DataNotFoundError
        The server answers with an HTTP error, the transfer still fails after ``retries``,
        or the deadline passed (the ``.part`` file is kept for a later resume).
    DataFormatError
        The checksum does not match (the file is removed).
    """
    dest = Path(dest)
    key = url.rstrip("/").rpartition("/")[2] or "download"
    if name_from_header:
        dest.mkdir(parents=True, exist_ok=True)
        part = dest / f".{key}.part"
    else:
        dest.parent.mkdir(parents=True, exist_ok=True)
        part = dest.with_name(dest.name + ".part")
    timeouts = timeouts or Timeouts()
    stop_at = None if timeouts.deadline is None else time.monotonic() + timeouts.deadline
    served_name = None
    for attempt in range(retries + 1):
        try:
            served_name = _transfer(url, part, size=size, progress=progress,
                                    timeouts=timeouts, stop_at=stop_at)
            break
        except _Deadline as err:
            done = part.stat().st_size if part.exists() else 0
            raise DataNotFoundError(
                f"downloading {url} {err}; {done} bytes are kept in {part}: run the fetch "
                "again to resume, or pass a longer Timeouts.deadline."
            ) from None
        except urllib.error.HTTPError as err:
            raise DataNotFoundError(
                f"downloading {url} failed: HTTP {err.code} {err.reason}. Check the URL "
                "or the --mirror base, or fetch the file by hand into "
                f"{dest.parent}."
            ) from err
        except (_Interrupted, http.client.HTTPException, urllib.error.URLError,
                ConnectionError, TimeoutError) as err:
            done = part.stat().st_size if part.exists() else 0
            if attempt == retries:
                raise DataNotFoundError(
                    f"downloading {url} failed after {retries + 1} attempts ({err}); "
                    f"{done} bytes are kept in {part}: run the fetch again to resume."
                ) from err
            logger.warning("download of %s interrupted (%s); resuming from byte %d",
                           url, err, done)
    if name_from_header:
        dest = dest / _safe_name(served_name or key)
    verify(part, expected_hash, label=f"{url} (saved as {dest})")
    part.replace(dest)
    return dest


def _safe_name(name: str) -> str:
    """A bare file name from a server header: no folders, no '..', no leading dot."""
    name = name.replace("\\", "/").rpartition("/")[2].strip().lstrip(".")
    if not name:
        raise DataFormatError("the server named the file with an empty or unsafe name.")
    return name


def _served_name(response) -> str | None:
    header = response.headers.get("Content-Disposition") or ""
    for part in header.split(";"):
        key, _, value = part.strip().partition("=")
        if key.lower() == "filename" and value:
            return value.strip().strip('"')
    return None


def _open(request: urllib.request.Request, timeouts: Timeouts) -> http.client.HTTPResponse:
    """``urlopen`` with the connect timeout, then the read timeout on the socket."""
    response = urllib.request.urlopen(request, timeout=timeouts.connect)
    sock = getattr(getattr(getattr(response, "fp", None), "raw", None), "_sock", None)
    if sock is not None:  # http(s) responses; other schemes keep the connect timeout
        sock.settimeout(timeouts.read)
    return response


def _blocks(response, timeouts: Timeouts, stop_at: float | None) -> Iterator[bytes]:
    """The body as it arrives (``read1``: no wait for a full block), within the deadline
    and above the minimum rate."""
    window_start, window_bytes = time.monotonic(), 0
    while block := response.read1(_CHUNK):
        yield block
        now = time.monotonic()
        if stop_at is not None and now > stop_at:
            raise _Deadline("passed its deadline")
        window_bytes += len(block)
        if now - window_start >= timeouts.window:
            if window_bytes < timeouts.min_rate * (now - window_start):
                raise _Interrupted(f"stalled: {window_bytes} bytes in {now - window_start:.1f} s"
                                   f", below Timeouts.min_rate={timeouts.min_rate:g} B/s")
            window_start, window_bytes = now, 0


def _transfer(url: str, part: Path, *, size: int | None, progress: bool,
              timeouts: Timeouts, stop_at: float | None) -> str | None:
    offset = part.stat().st_size if part.exists() else 0
    headers = {"User-Agent": USER_AGENT}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    request = urllib.request.Request(url, headers=headers)
    if stop_at is not None and time.monotonic() > stop_at:
        raise _Deadline("passed its deadline")
    try:
        response = _open(request, timeouts)
    except urllib.error.HTTPError as err:
        if err.code == 416 and offset and (size is None or offset == size):
            return None  # the .part already holds the whole file
        raise
    with response:
        name = _served_name(response)
        if offset and response.status != 206:
            offset = 0  # the server ignored the Range header: start over
        length = response.headers.get("Content-Length")
        expected = offset + int(length) if length is not None else size
        with open(part, "ab" if offset else "wb") as handle, tqdm(
            total=expected, initial=offset, unit="B", unit_scale=True,
            desc=Path(part.name).stem[:40], disable=not progress, leave=False,
        ) as bar:
            received = offset
            for block in _blocks(response, timeouts, stop_at):
                handle.write(block)
                received += len(block)
                bar.update(len(block))
    if expected is not None and received < expected:
        raise _Interrupted(f"connection closed after {received} of {expected} bytes")
    return name


def read_text(url: str, *, timeouts: Timeouts | None = None) -> str:
    """GET a small text resource (a manifest or a listing page) and decode it as UTF-8.

    ``timeouts`` as for :func:`download`; its deadline defaults to 120 s here.

    Raises
    ------
    DataNotFoundError
        The server cannot be reached, answers with an HTTP error, or is too slow.
    """
    timeouts = timeouts or Timeouts(deadline=120.0)
    stop_at = None if timeouts.deadline is None else time.monotonic() + timeouts.deadline
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    try:
        with _open(request, timeouts) as response:
            return b"".join(_blocks(response, timeouts, stop_at)).decode("utf-8")
    except (_Deadline, _Interrupted) as err:
        raise DataNotFoundError(f"could not read the listing {url}: it {err}.") from None
    except (urllib.error.URLError, http.client.HTTPException, OSError) as err:
        raise DataNotFoundError(
            f"could not read the listing {url} ({err}). Check the network or the --mirror "
            "base URL."
        ) from err


__all__ = ["RemoteFile", "Timeouts", "download", "file_hash", "read_text", "verify"]
