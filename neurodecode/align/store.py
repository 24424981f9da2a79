"""The streamed store: each recording preprocessed once, each stimulus timeline once, on disk.

An entry is a folder ``<root>/<key>/`` holding ``data.npy`` (one float32 array, stored
time-major and read back by time spans, :class:`DiskArray`) and ``entry.json`` (its key, what it was built from, its shape and a
checksum of the array bytes and the metadata). The key hashes the recording's content
(its source file and read options, or its samples) and the preprocessing, so an entry is
reused only for the same data prepared the same way. An entry whose stored key differs
(written by another preprocessing), whose file is short (a crash while writing) or whose
checksum does not match is rebuilt, with a warning; a new entry is written to a temporary
folder and renamed into place, so readers never see a half-written one.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ..io.recording import Recording
from .resample import n_resampled, resample_ratio

logger = logging.getLogger("neurodecode")

#: Bump when the layout of an entry changes: older entries are rebuilt.
STORE_VERSION = 1
_CHUNK = 1 << 24  # bytes hashed at once


def _digest(*parts: Any) -> str:
    return hashlib.blake2b(json.dumps(parts, sort_keys=True, default=str).encode(),
                           digest_size=16).hexdigest()


def _array_checksum(array: np.ndarray, meta: dict) -> str:
    """blake2b of an in-memory array's bytes and of the metadata."""
    h = hashlib.blake2b(json.dumps(meta, sort_keys=True, default=str).encode(), digest_size=16)
    h.update(np.ascontiguousarray(array).tobytes())
    return h.hexdigest()


def _file_checksum(path: Path, meta: dict) -> str:
    """blake2b of a file's bytes (read in chunks, never mapped) and of the metadata."""
    h = hashlib.blake2b(json.dumps(meta, sort_keys=True, default=str).encode(), digest_size=16)
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


class DiskArray:
    """A stored float32 array of logical shape (n_rows, n_times), read by time spans.

    Kept time-major on disk, so the samples ``[start, stop)`` of every row are one
    contiguous read (``os.pread``): nothing is memory-mapped, so reading windows adds
    nothing to the process's resident memory but the window itself. Pickles as its path
    (DataLoader workers open their own file).

    Parameters
    ----------
    path : Path
        A ``.npy`` file of shape (n_times, n_rows), float32, C order.
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        with open(self.path, "rb") as handle:
            fmt = np.lib.format
            version = fmt.read_magic(handle)
            read = fmt.read_array_header_1_0 if version == (1, 0) else fmt.read_array_header_2_0
            (n_times, n_rows), fortran, dtype = read(handle)
            self._offset = handle.tell()
        if fortran or dtype != np.float32:
            raise ValueError(f"{self.path} holds {dtype} (fortran={fortran}); expected a C-order "
                             "float32 store entry.")
        self.shape = (int(n_rows), int(n_times))
        self._fd: int | None = None

    def frames(self, start: int, stop: int, out: np.ndarray | None = None,
               scratch: np.ndarray | None = None) -> np.ndarray:
        """Samples ``[start, stop)`` (inside ``[0, n_times]``), shape (n_rows, stop - start).

        Parameters
        ----------
        start, stop : int
        out : array of shape (n_rows, stop - start) or None
            Written in place and returned (``None``: a new array).
        scratch : float32 array of at least ``(stop - start) * n_rows`` values or None
            Reused for the time-major read into ``out`` (``None``: one is allocated); a
            caller cutting many windows passes one, so no window allocates anything.
        """
        n_rows, n = self.shape[0], max(0, int(stop) - int(start))
        if out is None:
            major = np.empty((n, n_rows), np.float32)
            self._read(start, major)
            return major.T
        flat = np.empty(n * n_rows, np.float32) if scratch is None else scratch[:n * n_rows]
        major = flat.reshape(n, n_rows)
        self._read(start, major)
        out[...] = major.T
        return out

    def _read(self, start: int, into: np.ndarray) -> None:
        """Fill the C-contiguous time-major ``into`` (n, n_rows) from sample ``start``."""
        if self._fd is None:
            self._fd = os.open(self.path, os.O_RDONLY)
        view, offset = memoryview(into).cast("B"), self._offset + int(start) * self.shape[0] * 4
        done = 0
        while done < len(view):
            got = os.preadv(self._fd, [view[done:]], offset + done)
            if got == 0:
                raise OSError(f"{self.path} is shorter than its header says; the store entry "
                              "was truncated after it was checked (rebuild it).")
            done += got

    def window(self, start: int, width: int, out: np.ndarray | None = None,
               scratch: np.ndarray | None = None) -> np.ndarray:
        """``width`` samples from ``start``, edge-padded beyond the ends (as ``cut_windows``),
        shape (n_rows, width); ``out`` and ``scratch`` as in :meth:`frames`."""
        start, width = int(start), int(width)
        lo, hi = max(0, start), min(self.shape[1], start + width)
        if out is None:
            out = np.empty((self.shape[0], width), np.float32)
        self.frames(lo, hi, out[:, lo - start:hi - start], scratch)
        if lo > start:  # a copy of the edge column: numpy would copy an overlapping source whole
            out[:, :lo - start] = out[:, lo - start, None].copy()
        if hi < start + width:
            out[:, hi - start:] = out[:, hi - start - 1, None].copy()
        return out

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        out = np.ascontiguousarray(self.frames(0, self.shape[1]))
        return out if dtype is None else out.astype(dtype)

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_fd": None}

    def __del__(self) -> None:
        fd = getattr(self, "_fd", None)
        if fd is not None:
            os.close(fd)


def recording_fingerprint(rec: Recording, chunk_s: float = 60.0) -> str:
    """Identity of a recording's content: its source file and read options when it was
    read unchanged from a file, else a hash of all its samples (read chunk by chunk)."""
    head = [rec.modality, float(rec.sfreq), int(rec.n_times), list(rec.ch_names)]
    if rec.source is not None and Path(rec.source).exists():
        st = Path(rec.source).stat()
        return _digest(head, str(Path(rec.source).resolve()), st.st_size, st.st_mtime_ns,
                       rec.source_params)
    h = hashlib.blake2b(json.dumps(head, default=str).encode(), digest_size=16)
    step = max(1, int(chunk_s * rec.sfreq))
    for start in range(0, rec.n_times, step):
        h.update(np.ascontiguousarray(rec.get_data(start, min(start + step, rec.n_times)),
                                      dtype=np.float32).tobytes())
    return h.hexdigest()


class RecordingStore:
    """Preprocessed recordings and stimulus timelines kept on disk under ``root``.

    Parameters
    ----------
    root : str or Path
        Folder of the store (created when missing); may be shared by runs and jobs.
    """

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root).expanduser()
        self.root.mkdir(parents=True, exist_ok=True)

    def recording(self, rec: Recording, *, sfreq: float | None,
                  chunk_duration: float = 100.0) -> DiskArray:
        """The recording resampled to ``sfreq`` (``None``: its own rate), built once.

        Returns
        -------
        data : DiskArray of shape (n_channels, n_times_resampled)

        Raises
        ------
        ValueError
            If the recording holds NaN or infinite values.
        """
        up, down = (1, 1) if sfreq is None else resample_ratio(rec.sfreq, sfreq)
        prep = {"step": "resample", "up": up, "down": down, "chunk_duration": chunk_duration}
        key = _digest(STORE_VERSION, recording_fingerprint(rec), prep)
        shape = (rec.n_channels, n_resampled(rec.n_times, up, down))

        def build(out: np.ndarray) -> None:
            from .windows import resampled_data  # exactly as make_segments resamples

            resampled_data(rec, up, down, chunk_duration, out=out)

        return self.entry(key, shape, build, {"kind": "recording", "subject": rec.subject,
                                              "preprocessing": prep})

    def put_feature(self, features: Any, stim: str, sfreq: float,
                    block: np.ndarray) -> DiskArray:
        """A stimulus's timeline at ``sfreq`` stored once (shared by every recording)."""
        key = _digest(STORE_VERSION, "feature", features.name, features.sfreq, stim, sfreq,
                      _array_checksum(features.values[stim], {}))

        def build(out: np.ndarray) -> None:
            out[:] = block

        return self.entry(key, block.shape, build, {"kind": "feature", "stimulus": stim,
                                                    "sfreq": sfreq})

    def entry(self, key: str, shape: tuple[int, int], build: Callable[[np.ndarray], None],
              meta: dict) -> DiskArray:
        """The array of entry ``key``, of shape (n_rows, n_times), built by ``build(out)``
        (``out`` a writable (n_rows, n_times) view) when absent, written by another
        preprocessing, truncated or corrupted."""
        folder = self.root / key
        problem = self._check(folder, key, shape)
        if problem is None:
            return DiskArray(folder / "data.npy")
        if problem != "absent":
            logger.warning("store entry %s is %s; rebuilding it", folder, problem)
        return self._write(folder, key, shape, build, meta)

    def _check(self, folder: Path, key: str, shape: tuple[int, ...]) -> str | None:
        """Why entry ``folder`` cannot be used (None: it can)."""
        info_path, data_path = folder / "entry.json", folder / "data.npy"
        if not info_path.is_file() or not data_path.is_file():
            return "incomplete" if folder.exists() else "absent"
        try:
            info = json.loads(info_path.read_text())
            data = DiskArray(data_path)
        except (ValueError, OSError) as err:
            return f"unreadable ({err})"
        if info.get("key") != key:
            return f"from another preprocessing (key {info.get('key')!r}, expected {key!r})"
        expected = data._offset + 4 * int(np.prod(shape))
        if data.shape != tuple(shape) or tuple(info.get("shape", ())) != tuple(shape):
            return f"of shape {data.shape} instead of {tuple(shape)}"
        if data_path.stat().st_size != expected:
            return f"truncated ({data_path.stat().st_size} of {expected} bytes)"
        if _file_checksum(data_path, _checked_meta(info)) != info.get("checksum"):
            return "corrupted (checksum mismatch)"
        return None

    def _write(self, folder: Path, key: str, shape: tuple[int, ...],
               build: Callable[[np.ndarray], None], meta: dict) -> DiskArray:
        tmp = folder.with_name(f".{key}.{os.getpid()}.tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        disk = np.lib.format.open_memmap(tmp / "data.npy", mode="w+", dtype=np.float32,
                                         shape=(shape[1], shape[0]))  # time-major
        try:
            build(disk.T)
            disk.flush()
        except BaseException:
            del disk
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        del disk  # unmapped: its pages leave this process
        info = {"key": key, "version": STORE_VERSION, "shape": list(shape), **meta}
        info["checksum"] = _file_checksum(tmp / "data.npy", _checked_meta(info))
        (tmp / "entry.json").write_text(json.dumps(info, default=str))
        shutil.rmtree(folder, ignore_errors=True)
        os.replace(tmp, folder)
        return DiskArray(folder / "data.npy")


def _checked_meta(info: dict) -> dict:
    """The metadata the checksum covers: everything but the checksum itself."""
    return {k: v for k, v in info.items() if k != "checksum"}


__all__ = ["DiskArray", "RecordingStore", "recording_fingerprint"]
