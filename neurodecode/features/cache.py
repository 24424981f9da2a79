"""HDF5 cache of stimulus features.

One small HDF5 file per (feature, stimulus) under ``<root>/<feature name>/``, named by
a SHA-256 key over the feature's identity (class, every parameter, hash of the
weights file) and the stimulus content (file hash, array bytes or text). The key is
computed without loading any model, so a hit never loads one. Files are written to a
temporary name and moved into place (atomic); an unreadable file is rebuilt with a
warning.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import warnings
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from neurodecode.exceptions import CacheError
from neurodecode.features.base import Feature, file_hash

logger = logging.getLogger("neurodecode")


def stimulus_hash(stimulus: Any) -> str:
    """Content hash of a stimulus: a file (path), an array, a ``(wav, sr)`` tuple or a string.

    Paths are hashed by content, never by name, so a renamed file still hits.
    """
    if isinstance(stimulus, Path):
        if not stimulus.is_file():
            from neurodecode.exceptions import DataNotFoundError

            raise DataNotFoundError(f"stimulus file {str(stimulus)!r} does not exist.")
        return "file:" + file_hash(stimulus)
    digest = hashlib.sha256()
    if isinstance(stimulus, str):
        digest.update(b"text:" + stimulus.encode())
    elif isinstance(stimulus, tuple):
        for part in stimulus:
            digest.update(stimulus_hash(part).encode())
    elif isinstance(stimulus, np.ndarray):
        digest.update(f"{stimulus.dtype}{stimulus.shape}".encode())
        digest.update(np.ascontiguousarray(stimulus).tobytes())
    else:
        digest.update(repr(stimulus).encode())
    return digest.hexdigest()


class FeatureCache:
    """Cache of computed features in HDF5 files under ``root``.

    Parameters
    ----------
    root : str or Path
        Cache folder (created on first write).
    """

    def __init__(self, root: str | Path):
        self.root = Path(root)

    def key(self, feature: Feature, stimulus: Any) -> str:
        """SHA-256 over the feature identity and the stimulus content (no model loaded)."""
        if isinstance(stimulus, str) and feature.modality != "text":
            stimulus = Path(stimulus)
        payload = json.dumps({"feature": feature.identity(), "stimulus": stimulus_hash(stimulus)},
                             sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()

    def _path(self, feature: Feature, key: str) -> Path:
        return self.root / feature.name / f"{key}.h5"

    def get(self, feature: Feature, key: str) -> np.ndarray | None:
        """The cached value, or ``None`` on a miss; a corrupted file is removed with a warning."""
        path = self._path(feature, key)
        if not path.is_file():
            return None
        try:
            with h5py.File(path, "r") as handle:
                if handle.attrs.get("key") != key:
                    raise OSError("key mismatch")
                return np.asarray(handle["values"][()])
        except (OSError, KeyError, ValueError) as err:
            warnings.warn(
                f"feature cache file {str(path)!r} is corrupted ({err}); it is rebuilt.",
                RuntimeWarning, stacklevel=2,
            )
            path.unlink(missing_ok=True)
            return None

    def put(self, feature: Feature, key: str, values: np.ndarray) -> Path:
        """Write ``values`` atomically (temporary file, then ``os.replace``)."""
        path = self._path(feature, key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(suffix=".tmp", dir=path.parent)
            os.close(fd)
            with h5py.File(tmp, "w") as handle:
                handle.create_dataset("values", data=np.asarray(values))
                handle.attrs["key"] = key
                handle.attrs["identity"] = json.dumps(feature.identity(), sort_keys=True)
                handle.attrs["sfreq"] = np.nan if feature.sfreq is None else float(feature.sfreq)
            os.replace(tmp, path)
        except OSError as err:
            raise CacheError(
                f"cannot write the feature cache under {str(self.root)!r} ({err}); pass a "
                "writable cache folder or cache=None."
            ) from err
        return path


def compute_cached(feature: Feature, stimuli: list[Any], cache: FeatureCache | None = None,
                   *, progress: bool = False) -> list[np.ndarray]:
    """Compute ``feature`` for every stimulus, reading and filling ``cache``.

    The model is loaded only if at least one stimulus misses the cache.

    Returns
    -------
    values : list of array of shape (n_features, n_frames) or (n_features,)
    """
    if cache is None:
        return feature.compute(list(stimuli), progress=progress)
    keys = [cache.key(feature, stim) for stim in stimuli]
    values: list[np.ndarray | None] = [cache.get(feature, key) for key in keys]
    missing = [i for i, v in enumerate(values) if v is None]
    logger.info("%s: %d cache hit(s), %d miss(es)", feature.name, len(keys) - len(missing),
                len(missing))
    if missing:
        computed = feature.compute([stimuli[i] for i in missing], progress=progress)
        for i, value in zip(missing, computed):
            cache.put(feature, keys[i], value)
            values[i] = value
    return values  # type: ignore[return-value]


__all__ = ["FeatureCache", "compute_cached", "stimulus_hash"]
