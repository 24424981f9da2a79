"""Content hashes of files (the caches and the downloader) and of configs (run and report)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np


def file_hash(path: str | Path, algorithm: str = "sha256", *, chunk_size: int = 1 << 20) -> str:
    """Hex digest of the bytes of the file at ``path``, read in chunks of ``chunk_size``."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(chunk_size), b""):
            digest.update(block)
    return digest.hexdigest()


def _json_default(value: Any) -> Any:
    """Plain JSON value of what ``json`` cannot encode (paths, numpy, sets, dataclasses)."""
    if isinstance(value, np.ndarray | np.generic):
        return value.tolist()
    if isinstance(value, set | frozenset):
        return list(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): v for k, v in value.items()}
    return str(value)


def config_hash(config: Mapping[str, Any] | Any) -> str:
    """SHA-256 (hex) of a config as canonical JSON (sorted keys, no spaces, UTF-8).

    The one config hash: :meth:`neurodecode.config.Recipe.digest` (written to a run's
    ``config.sha256``) and the report (:func:`neurodecode.viz.config_hash`) both use it,
    so the two always agree. Paths and other objects count as their ``str``, numpy
    values as Python numbers and lists, dataclasses as dicts of their fields.

    Parameters
    ----------
    config : mapping or dataclass
        The resolved config.

    Returns
    -------
    digest : str
        64 hexadecimal characters.
    """
    text = json.dumps(config, sort_keys=True, separators=(",", ":"), default=_json_default)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


__all__ = ["config_hash", "file_hash"]
