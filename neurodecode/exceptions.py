"""Domain errors of neurodecode.

Each subclasses the built-in error a user would expect (``ValueError`` or
``FileNotFoundError``) so that generic ``except`` clauses keep working.
"""

from __future__ import annotations


class NeurodecodeError(Exception):
    """Base class of every error raised on purpose by neurodecode."""


class ConfigError(NeurodecodeError, ValueError):
    """A recipe or configuration value is invalid (names the file, key and expectation)."""


class AlignmentError(NeurodecodeError, ValueError):
    """Brain data, events and stimuli cannot be aligned as asked."""


class DataNotFoundError(NeurodecodeError, FileNotFoundError):
    """A file, folder or model needed for the analysis does not exist."""


class DataFormatError(NeurodecodeError, ValueError):
    """A file exists but its content cannot be read as the expected format."""


class CacheError(NeurodecodeError, RuntimeError):
    """A cache file is unusable (it is rebuilt; this error is raised only when it cannot be)."""


class TrainingError(NeurodecodeError, RuntimeError):
    """Training cannot continue (e.g. a NaN loss); the message says what to change."""


__all__ = [
    "AlignmentError",
    "CacheError",
    "ConfigError",
    "DataFormatError",
    "DataNotFoundError",
    "NeurodecodeError",
    "TrainingError",
]
