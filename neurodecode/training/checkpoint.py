"""Atomic, checksummed checkpoints.

``save_checkpoint`` writes to a temporary file in the same folder, fsyncs it and renames
it (``neurodecode.rundir.write_atomic``): a process killed while saving leaves the
previous checkpoint intact. Each checkpoint carries the SHA-256 of its content (every
tensor's dtype, shape and bytes, and every other value), which ``load_checkpoint``
verifies, so a flipped byte is an error, never a silently different model. Checkpoints
hold only tensors, numbers, strings and containers of them, and are loaded with
``torch.load(..., weights_only=True)`` (no arbitrary code runs on load).
"""

from __future__ import annotations

import hashlib
import os
import random
from pathlib import Path
from typing import Any

import torch

from ..exceptions import DataNotFoundError, TrainingError
from ..rundir import write_atomic

CHECKSUM = "sha256"


def state_digest(state: Any) -> str:
    """SHA-256 of a checkpoint's content (tensors by dtype, shape and bytes; keys sorted)."""
    digest = hashlib.sha256()
    _update(digest, state)
    return digest.hexdigest()


def _update(digest, value: Any) -> None:
    if isinstance(value, torch.Tensor):
        tensor = value.detach().cpu().contiguous()
        digest.update(f"T{tensor.dtype}{tuple(tensor.shape)}".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    elif isinstance(value, dict):
        digest.update(f"D{len(value)}".encode())
        for key in sorted(value, key=repr):
            digest.update(repr(key).encode())
            _update(digest, value[key])
    elif isinstance(value, (list, tuple)):
        digest.update(f"L{len(value)}".encode())  # lists and tuples alike (JSON-like)
        for item in value:
            _update(digest, item)
    else:
        digest.update(f"V{value!r}".encode())


def save_checkpoint(state: dict[str, Any], path: str | os.PathLike) -> Path:
    """Write ``state`` and its SHA-256 to ``path`` atomically and return the path.

    Parameters
    ----------
    state : dict
        Tensors and plain values (model, optimiser, epoch, ...).
    path : str or path-like
        The file (written atomically).

    Returns
    -------
    path : Path
        The written file.
    """
    body = {k: v for k, v in state.items() if k != CHECKSUM}
    checked = {**body, CHECKSUM: state_digest(body)}
    return write_atomic(path, lambda handle: torch.save(checked, handle))


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict:
    """Load a checkpoint written by ``save_checkpoint`` and verify its SHA-256.

    Parameters
    ----------
    path : str or path-like
        A file written by :func:`save_checkpoint`.
    map_location : str or torch.device
        Where the tensors are loaded.

    Returns
    -------
    state : dict
        The saved state, checksum verified.

    Raises
    ------
    DataNotFoundError
        When ``path`` does not exist.
    TrainingError
        When it cannot be read with ``weights_only=True``, has no checksum, or its
        content does not match its checksum (a corrupt file).
    """
    path = Path(path)
    if not path.is_file():
        raise DataNotFoundError(f"checkpoint {str(path)!r} does not exist.")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # noqa: BLE001 - re-raised with context
        raise TrainingError(
            f"checkpoint {str(path)!r} cannot be loaded with weights_only=True ({err}); it "
            "was not written by neurodecode or is corrupt. Delete it or use a new run_dir."
        ) from err
    expected = state.pop(CHECKSUM, None) if isinstance(state, dict) else None
    if not isinstance(expected, str):
        raise TrainingError(f"checkpoint {str(path)!r} has no {CHECKSUM} checksum (written "
                            "by another program or an older neurodecode, or corrupt); "
                            "delete it or use a new run_dir.")
    if state_digest(state) != expected:
        raise TrainingError(f"checkpoint {str(path)!r} is corrupt: its content does not "
                            f"match its SHA-256 ({expected[:12]}...); delete it or use a "
                            "new run_dir.")
    return state


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


__all__ = ["load_checkpoint", "rng_state", "save_checkpoint", "set_rng_state", "state_digest"]
