"""Verified cache entries on disk: atomic writes, checksums, one rebuild under a lock.

One entry is one HDF5 file holding named arrays, a JSON metadata dict, the key it was
written for and a checksum over all three. It is read back only when the key matches
and the checksum of what was read equals the stored one; anything else (missing, a
truncated file, a flipped byte, a corrupted header, another key) is reported as a
:class:`CorruptEntry` or a miss, never returned as good data. Shared by the segment
cache (:mod:`neurodecode.align.cache`), the feature cache
(:mod:`neurodecode.features.cache`) and any other on-disk store.

API
---
``checksum(key, arrays, meta_json)``
    BLAKE2b of the key, every array (name, dtype, shape, bytes) and the metadata JSON.
``atomic_path(path)``
    Context manager yielding a temporary name next to ``path``; on success the file is
    fsynced and renamed onto ``path``, on error it is removed.
``write_entry(path, key, arrays, meta)`` / ``read_entry(path, key)``
    Write (atomically) and read (verified) one entry.
``entry_lock(path)``
    Exclusive inter-process lock for rebuilding the entry at ``path``.
``load_or_build(path, key, build, encode=..., decode=..., what=...)``
    Read the entry, or build it once under the lock (concurrent readers of a missing or
    corrupt entry wait for one rebuild and then read it).

Failures to write (a read-only folder, a full disk) are :class:`~neurodecode.exceptions.CacheError`
naming the entry and the reason; a read-only folder still serves its good entries. The
empty lock files (``.<name>.lock``) stay next to the entries; deleting them while no
process uses the cache is safe.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import uuid
import warnings
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, TypeVar

import h5py
import numpy as np

from .exceptions import CacheError

T = TypeVar("T")
FORMAT = "neurodecode-cache-1"
#: Errors that mean "this file is not a readable entry" (h5py raises several kinds).
_READ_ERRORS = (OSError, KeyError, ValueError, TypeError, AttributeError, IndexError,
                RuntimeError, UnicodeDecodeError)


class CorruptEntry(CacheError):
    """A cache entry exists but is unusable; ``reason`` says why."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"cache entry {str(path)!r} is corrupted ({reason})")
        self.path, self.reason = path, reason


def checksum(key: str, arrays: Mapping[str, np.ndarray], meta_json: str) -> str:
    """BLAKE2b (32 hex digits) over ``key``, each array's name, dtype, shape and bytes (in
    name order) and the metadata JSON text."""
    digest = hashlib.blake2b(key.encode(), digest_size=16)
    for name in sorted(arrays):
        array = np.ascontiguousarray(arrays[name])
        digest.update(f"|{name}|{array.dtype.str}|{array.shape}|".encode())
        digest.update(array.tobytes())
    digest.update(b"|meta|" + meta_json.encode())
    return digest.hexdigest()


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a unique temporary path next to ``path``; fsync and rename it onto ``path``
    when the block succeeds, remove it when it fails.

    Raises
    ------
    CacheError
        The folder cannot be created or written (read-only, full disk).
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        yield tmp
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as err:
        raise CacheError(f"cannot write the cache entry {str(path)!r} ({err}); pass a "
                         "writable cache folder or disable the cache.") from err
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)


def write_entry(path: Path, key: str, arrays: Mapping[str, np.ndarray | None],
                meta: Mapping[str, Any]) -> Path:
    """Write one entry atomically: ``arrays`` (``None`` values are skipped), ``meta``
    (JSON-serialisable), ``key`` and their checksum."""
    stored = {name: np.asarray(a) for name, a in arrays.items() if a is not None}
    meta_json = json.dumps(meta, sort_keys=True)
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as handle:
        for name, array in stored.items():
            handle.create_dataset(name, data=array)
        handle.attrs["format"] = FORMAT
        handle.attrs["key"] = key
        handle.attrs["meta"] = meta_json
        handle.attrs["checksum"] = checksum(key, stored, meta_json)
    return Path(path)


def read_entry(path: Path, key: str) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """The arrays and metadata of the entry at ``path`` written for ``key``.

    Raises
    ------
    FileNotFoundError
        No entry (a miss).
    CorruptEntry
        The file is unreadable, was written for another key, or its checksum differs.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no cache entry {str(path)!r}")
    try:
        with h5py.File(path, "r") as handle:
            attrs = {name: _text(handle.attrs[name]) for name in ("format", "key", "meta",
                                                                  "checksum")}
            arrays = {name: np.asarray(handle[name][()]) for name in handle}
    except FileNotFoundError:
        raise
    except _READ_ERRORS as err:
        raise CorruptEntry(path, f"unreadable: {type(err).__name__}: {err}") from err
    if attrs["format"] != FORMAT:
        raise CorruptEntry(path, f"format {attrs['format']!r}, expected {FORMAT!r}")
    if attrs["key"] != key:
        raise CorruptEntry(path, f"written for key {attrs['key']!r}, not {key!r}")
    if checksum(key, arrays, attrs["meta"]) != attrs["checksum"]:
        raise CorruptEntry(path, "checksum mismatch")
    try:
        return arrays, json.loads(attrs["meta"])
    except ValueError as err:  # unreachable unless the checksum collides
        raise CorruptEntry(path, f"metadata is not JSON: {err}") from err


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        value = value.decode()
    if not isinstance(value, str):
        raise TypeError(f"attribute is {type(value).__name__}, expected text")
    return value


@contextlib.contextmanager
def entry_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive lock (``flock`` on ``.<name>.lock`` next to ``path``).

    Raises
    ------
    CacheError
        The lock file cannot be created (read-only folder).
    """
    path = Path(path)
    lock = path.with_name(f".{path.name}.lock")
    try:
        lock.parent.mkdir(parents=True, exist_ok=True)
        handle = open(lock, "a")
    except OSError as err:
        raise CacheError(f"cannot write the cache entry {str(path)!r} ({err}); pass a "
                         "writable cache folder or disable the cache.") from err
    with handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def try_read(path: Path, key: str, decode: Callable[[dict[str, np.ndarray], dict[str, Any]], T],
             *, what: str, warn: bool = True, stacklevel: int = 3) -> T | None:
    """``decode(*read_entry(path, key))``, or ``None`` on a miss or a corrupt entry
    (warned about as ``"<what> <path> is corrupted (<reason>); it is rebuilt."``). An entry
    that ``decode`` cannot turn into a value is corrupt too."""
    try:
        arrays, meta = read_entry(path, key)
        try:
            return decode(arrays, meta)
        except _READ_ERRORS as err:
            raise CorruptEntry(path, f"undecodable: {type(err).__name__}: {err}") from err
    except FileNotFoundError:
        return None
    except CorruptEntry as err:
        if warn:
            warnings.warn(f"{what} {str(path)!r} is corrupted ({err.reason}); it is rebuilt.",
                          RuntimeWarning, stacklevel=stacklevel)
        return None


def load_or_build(path: Path, key: str, build: Callable[[], T], *,
                  encode: Callable[[T], tuple[Mapping[str, np.ndarray | None], dict]],
                  decode: Callable[[dict[str, np.ndarray], dict[str, Any]], T],
                  what: str = "cache entry") -> T:
    """The value stored at ``path`` for ``key``, or ``build()`` written there.

    A miss or a corrupt entry (warned about) is rebuilt under :func:`entry_lock`; a
    process that waited for the lock reads the entry just rebuilt by another one.
    ``encode`` turns a value into ``(arrays, meta)``, ``decode`` does the reverse.

    Raises
    ------
    CacheError
        The entry must be rebuilt but its folder is not writable.
    """
    found = try_read(path, key, decode, what=what, stacklevel=4)
    if found is not None:
        return found
    with entry_lock(path):
        found = try_read(path, key, decode, what=what, warn=False)  # rebuilt while we waited
        if found is not None:
            return found
        value = build()
        write_entry(path, key, *encode(value))
    return value


__all__ = ["CorruptEntry", "atomic_path", "checksum", "entry_lock", "load_or_build",
           "read_entry", "try_read", "write_entry"]
