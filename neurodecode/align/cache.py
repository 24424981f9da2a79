"""HDF5 cache of segments, keyed by the source data, the events and every parameter."""

from __future__ import annotations

import hashlib
import json
from io import StringIO
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._cachefile import load_or_build, read_entry, write_entry
from .._hashing import file_hash
from ..io.recording import Recording
from .segments import Segments, make_segments

CACHE_VERSION = 3  # 2: the key holds how the source was read; 3: verified entries


def _hash_array(array: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


def segments_key(recording: Recording, params: dict[str, Any]) -> str:
    """Cache key: hash of the source (file bytes or data), the events and the parameters."""
    if recording.source and Path(recording.source).is_file():
        source = file_hash(recording.source)
    else:
        source = _hash_array(recording.channels_first())
    features = params.pop("features", None)
    feat_key = None
    if features is not None:
        feat_key = getattr(features, "cache_key", None) or _hash_array(
            np.asarray(getattr(features, "values", features), dtype=np.float32)
            if not isinstance(getattr(features, "values", None), dict)
            else np.concatenate([np.ravel(v) for _, v in sorted(features.values.items())]))
    payload = json.dumps({
        "version": CACHE_VERSION, "source": source, "channels": recording.ch_names,
        "events": hashlib.sha256(recording.events.to_csv().encode()).hexdigest(),
        "read": recording.source_params,
        "bad_spans": np.asarray(recording.bad_spans, dtype=float).round(9).tolist(),
        "features": feat_key, "params": params,
    }, sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:32]


def cached_make_segments(recording: Recording, cache_dir: str | Path, **params: Any) -> Segments:
    """:func:`make_segments` through an HDF5 cache in ``cache_dir``.

    Each entry stores every array (brain, stimulus, subject, positions), the metadata
    (window table, subjects, channel names, ...) and the key, with a checksum over all of
    them (:mod:`neurodecode._cachefile`). The file is written atomically; a truncated or
    corrupted file, or one written for another key, is rebuilt (once, under a lock, when
    several processes read it at the same time) and warned about; any changed parameter,
    event or source byte gives a new key, never a stale read.

    Parameters
    ----------
    recording : Recording
        The recording to cut.
    cache_dir : str or Path
        Folder of the cache entries (created).
    **params
        The arguments of :func:`make_segments` (part of the key).

    Returns
    -------
    segments : Segments
        The windows, read from the cache or cut and written to it.

    Raises
    ------
    CacheError
        The entry must be written but ``cache_dir`` is not writable.
    """
    key = segments_key(recording, dict(params))
    path = Path(cache_dir) / f"segments-{key}.h5"
    segs = load_or_build(path, key, lambda: make_segments(recording, **params),
                         encode=_encode, decode=_decode, what="segment cache")
    segs.info = recording.info
    segs.meta["recording_uid"] = recording.uid  # this recording's timeline now
    return segs


def write_segments(segs: Segments, path: str | Path, key: str = "") -> None:
    """Write ``segs`` to HDF5 atomically, with a checksum of all arrays and metadata.

    Parameters
    ----------
    segs : Segments
        The windows to store.
    path : str or Path
        The HDF5 file (written atomically).
    key : str
        The cache key stored with them (``read_segments`` checks it).
    """
    write_entry(Path(path), key, *_encode(segs))


def read_segments(path: str | Path, key: str = "") -> Segments:
    """Read segments written by :func:`write_segments` for ``key``.

    Parameters
    ----------
    path : str or Path
        An HDF5 file written by :func:`write_segments`.
    key : str
        The key it must hold.

    Returns
    -------
    segments : Segments
        The stored windows.

    Raises
    ------
    CacheError
        The file is unreadable, holds another key or its checksum differs.
    """
    return _decode(*read_entry(Path(path), key))


_HEADER = ("sfreq", "tmin", "subjects", "ch_names", "ch_types", "modality")
_META_DTYPES = {"block": str, "condition": str, "stimulus": str, "text": str, "subject": str}


def _encode(segs: Segments) -> tuple[dict[str, np.ndarray | None], dict[str, Any]]:
    arrays = {"brain": segs.brain, "stimulus": segs.stimulus, "subject": segs.subject,
              "pos_2d": segs.pos_2d}
    meta = {"sfreq": float(segs.sfreq), "tmin": float(segs.tmin),
            "subjects": [str(s) for s in segs.subjects], "ch_names": list(segs.ch_names),
            "ch_types": list(segs.ch_types), "modality": segs.modality}
    meta["table"] = segs.meta.to_json(orient="split")
    return arrays, meta


def _decode(arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> Segments:
    table = pd.read_json(StringIO(meta.pop("table")), orient="split", dtype=_META_DTYPES)
    return Segments(brain=arrays["brain"], stimulus=arrays.get("stimulus"),
                    subject=arrays["subject"], pos_2d=arrays.get("pos_2d"), meta=table,
                    **{name: meta[name] for name in _HEADER})


__all__ = ["CACHE_VERSION", "cached_make_segments", "read_segments", "segments_key",
           "write_segments"]
