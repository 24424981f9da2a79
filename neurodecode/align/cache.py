"""HDF5 cache of segments, keyed by the source data, the events and every parameter."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import warnings
from io import StringIO
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pandas as pd

from .._hashing import file_hash
from ..io.recording import Recording
from .segments import Segments, make_segments

logger = logging.getLogger("neurodecode")

CACHE_VERSION = 2  # 2: the key holds how the source was read


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

    The file is written atomically (temporary file, then rename). A truncated or corrupted
    file is detected (it fails to open, or its checksum differs), rebuilt and warned about;
    any changed parameter, event or source byte gives a new key, never a stale read.
    """
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    path = cache_dir / f"segments-{segments_key(recording, dict(params))}.h5"
    if path.exists():
        try:
            segs = read_segments(path)
            segs.info = recording.info
            segs.meta["recording_uid"] = recording.uid  # this recording's timeline now
            logger.info("segments read from cache %s", path)
            return segs
        except (OSError, KeyError, ValueError) as err:
            warnings.warn(f"segment cache {path.name} is corrupted ({err}); rebuilding it.",
                          RuntimeWarning, stacklevel=2)
            path.unlink()
    segs = make_segments(recording, **params)
    write_segments(segs, path)
    return segs


def write_segments(segs: Segments, path: Path) -> None:
    """Write ``segs`` to HDF5 atomically, with a checksum of the arrays."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with h5py.File(tmp, "w") as f:
        f.create_dataset("brain", data=segs.brain)
        if segs.stimulus is not None:
            f.create_dataset("stimulus", data=segs.stimulus)
        f.create_dataset("subject", data=segs.subject)
        if segs.pos_2d is not None:
            f.create_dataset("pos_2d", data=segs.pos_2d)
        f.attrs["meta"] = segs.meta.to_json(orient="split")
        f.attrs["header"] = json.dumps({
            "sfreq": segs.sfreq, "tmin": segs.tmin, "subjects": segs.subjects,
            "ch_names": segs.ch_names, "ch_types": segs.ch_types, "modality": segs.modality})
        f.attrs["checksum"] = _checksum(segs)
    os.replace(tmp, path)


def read_segments(path: Path) -> Segments:
    """Read segments written by :func:`write_segments`; ``ValueError`` if the checksum differs."""
    with h5py.File(path, "r") as f:
        header = json.loads(f.attrs["header"])
        segs = Segments(
            brain=f["brain"][()], stimulus=f["stimulus"][()] if "stimulus" in f else None,
            subject=f["subject"][()], pos_2d=f["pos_2d"][()] if "pos_2d" in f else None,
            meta=pd.read_json(StringIO(f.attrs["meta"]), orient="split",
                              dtype={"block": str, "condition": str, "stimulus": str,
                                     "text": str, "subject": str}),
            **header)
        expected = f.attrs["checksum"]
    if _checksum(segs) != expected:
        raise ValueError("checksum mismatch")
    return segs


def _checksum(segs: Segments) -> str:
    digest = hashlib.blake2b(np.ascontiguousarray(segs.brain).tobytes(), digest_size=16)
    if segs.stimulus is not None:
        digest.update(np.ascontiguousarray(segs.stimulus).tobytes())
    return digest.hexdigest()
