"""neurodecode: neural decoding, RSA and encoding models for M/EEG and fMRI."""

from __future__ import annotations

import logging

__version__ = "0.1.0"

logger = logging.getLogger("neurodecode")
logger.addHandler(logging.NullHandler())

__all__ = ["__version__", "logger"]


def __getattr__(name: str):
    """Lazy top-level API: ``neurodecode.similarity_map`` imports its module on first use."""
    if name in ("similarity_map", "SimilarityMapResult"):
        from . import similarity

        return getattr(similarity, name)
    raise AttributeError(f"module 'neurodecode' has no attribute {name!r}")
