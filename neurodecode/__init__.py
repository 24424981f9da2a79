"""neurodecode: neural decoding, RSA and encoding models for M/EEG and fMRI."""

from __future__ import annotations

import logging

__version__ = "0.1.0"

logger = logging.getLogger("neurodecode")
logger.addHandler(logging.NullHandler())

__all__ = ["__version__", "logger"]
