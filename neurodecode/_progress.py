"""Timed stages logged through the package logger (shown with ``-v``)."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator

logger = logging.getLogger("neurodecode")


@contextlib.contextmanager
def stage(name: str) -> Iterator[None]:
    """Log ``name`` when it starts and its duration when it ends."""
    start = time.perf_counter()
    logger.info("%s ...", name)
    yield
    logger.info("%s: done in %.1f s", name, time.perf_counter() - start)


__all__ = ["stage"]
