"""Atomic checkpoints: write to a temporary file in the same folder, then ``os.replace``.

A process killed while saving leaves the previous checkpoint intact. Checkpoints hold
only tensors, numbers, strings and containers of them, and are loaded with
``torch.load(..., weights_only=True)`` (no arbitrary code runs on load).
"""

from __future__ import annotations

import os
import random
import tempfile
from pathlib import Path
from typing import Any

import torch

from ..exceptions import DataNotFoundError, TrainingError


def save_checkpoint(state: dict[str, Any], path: str | os.PathLike) -> Path:
    """Write ``state`` to ``path`` atomically and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            torch.save(state, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict:
    """Load a checkpoint written by ``save_checkpoint`` (``weights_only=True``)."""
    path = Path(path)
    if not path.is_file():
        raise DataNotFoundError(f"checkpoint {str(path)!r} does not exist.")
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # noqa: BLE001 - re-raised with context
        raise TrainingError(
            f"checkpoint {str(path)!r} cannot be loaded with weights_only=True ({err}); it "
            "was not written by neurodecode or is corrupt. Delete it or use a new run_dir."
        ) from err


def rng_state() -> dict[str, Any]:
    """The torch (CPU and CUDA) and Python random generator states."""
    state: dict[str, Any] = {"torch": torch.get_rng_state(), "python": random.getstate()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore generator states saved by ``rng_state``."""
    torch.set_rng_state(state["torch"])
    random.setstate(_as_tuple(state["python"]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _as_tuple(value):
    return tuple(_as_tuple(v) for v in value) if isinstance(value, list | tuple) else value


__all__ = ["load_checkpoint", "rng_state", "save_checkpoint", "set_rng_state"]
