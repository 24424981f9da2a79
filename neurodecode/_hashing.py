"""Content hashes of files, shared by the caches and the downloader."""

from __future__ import annotations

import hashlib
from pathlib import Path


def file_hash(path: str | Path, algorithm: str = "sha256", *, chunk_size: int = 1 << 20) -> str:
    """Hex digest of the bytes of the file at ``path``, read in chunks of ``chunk_size``."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(chunk_size), b""):
            digest.update(block)
    return digest.hexdigest()
