"""HDF5 cache of stimulus features.

One small HDF5 file per (feature, stimulus) under ``<root>/<feature name>/``, named by
a SHA-256 key over the feature's identity (class, every parameter, hash of the
weights file) and the stimulus content (file hash, array bytes or text). The key is
computed without loading any model, so a hit never loads one. Each file stores the
values, the key, the feature identity and a checksum over all of them
(:mod:`neurodecode._cachefile`); it is written to a temporary name and moved into place
(atomic); an unreadable, mismatched or altered file is rebuilt with a warning.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
from pathlib import Path
from typing import Any

import numpy as np

from neurodecode._cachefile import entry_lock, try_read, write_entry
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
        """SHA-256 over the feature identity and the stimulus content (no model loaded).

        Parameters
        ----------
        feature : Feature
            The feature (its identity: name, parameters, weights hash).
        stimulus : object
            A stimulus as :meth:`Feature.compute` takes it.

        Returns
        -------
        key : str
            A hexadecimal SHA-256.
        """
        if isinstance(stimulus, str) and feature.modality != "text":
            stimulus = Path(stimulus)
        payload = json.dumps({"feature": feature.identity(), "stimulus": stimulus_hash(stimulus)},
                             sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()

    def _path(self, feature: Feature, key: str) -> Path:
        return self.root / feature.name / f"{key}.h5"

    def get(self, feature: Feature, key: str) -> np.ndarray | None:
        """The cached value, or ``None`` on a miss or a corrupted entry (warned about).

        Parameters
        ----------
        feature : Feature
            The feature of the entry.
        key : str
            The entry's key (:meth:`key`).

        Returns
        -------
        values : array or None
            The cached feature of the stimulus.
        """
        return try_read(self._path(feature, key), key, _decode, what="feature cache file")

    def put(self, feature: Feature, key: str, values: np.ndarray) -> Path:
        """Write ``values`` atomically, with the key, the feature identity and a checksum.

        Parameters
        ----------
        feature : Feature
            The feature that computed ``values`` (its identity is stored with them).
        key : str
            The key of the stimulus (:meth:`key`), the entry's file name.
        values : array
            The feature of the stimulus.

        Returns
        -------
        path : Path
            The written entry.

        Raises
        ------
        CacheError
            The cache folder is not writable.
        """
        meta = {"identity": feature.identity(),
                "sfreq": None if feature.sfreq is None else float(feature.sfreq)}
        try:
            return write_entry(self._path(feature, key), key, {"values": values}, meta)
        except CacheError as err:
            raise CacheError(f"cannot write the feature cache under {str(self.root)!r}: "
                             f"{err}") from err

    def lock(self, feature: Feature, keys: list[str]) -> contextlib.ExitStack:
        """Exclusive locks on the entries of ``keys`` (taken in sorted order).

        Parameters
        ----------
        feature : Feature
            The feature of the entries.
        keys : list of str
            The entries' keys.

        Returns
        -------
        locks : contextlib.ExitStack
            Holds the locks; closing it releases them.
        """
        stack = contextlib.ExitStack()
        try:
            for key in sorted(set(keys)):
                stack.enter_context(entry_lock(self._path(feature, key)))
        except CacheError as err:
            stack.close()
            raise CacheError(f"cannot write the feature cache under {str(self.root)!r}: "
                             f"{err}") from err
        return stack


def _decode(arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> np.ndarray:
    return arrays["values"]


def compute_cached(feature: Feature, stimuli: list[Any], cache: FeatureCache | None = None,
                   *, progress: bool = False) -> list[np.ndarray]:
    """Compute ``feature`` for every stimulus, reading and filling ``cache``.

    The model is loaded only if at least one stimulus misses the cache. Missing or
    corrupted entries are computed once under a lock: another process reading them at
    the same time waits and reads the rebuilt entries.

    Parameters
    ----------
    feature : Feature
        The feature to compute.
    stimuli : list
        Stimuli as :meth:`Feature.compute` takes them.
    cache : FeatureCache or None
        The cache; ``None`` computes everything.
    progress : bool
        Show a progress bar.

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
        with cache.lock(feature, [keys[i] for i in missing]):
            for i in missing:  # written by another process while we waited?
                values[i] = try_read(cache._path(feature, keys[i]), keys[i], _decode,
                                     what="feature cache file", warn=False)
            missing = [i for i in missing if values[i] is None]
            computed = (feature.compute([stimuli[i] for i in missing], progress=progress)
                        if missing else [])
            for i, value in zip(missing, computed):
                cache.put(feature, keys[i], value)
                values[i] = value
    return values  # type: ignore[return-value]


__all__ = ["FeatureCache", "compute_cached", "stimulus_hash"]
