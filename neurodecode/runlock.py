"""The lock of a run directory: one live run per folder.

``LOCK`` holds the owner's PID and host, created with ``O_EXCL`` so two processes cannot
both take it. A second run on the same folder is a ``ConfigError`` while the first is
alive; a stale lock (its process is gone, on this host) is taken over with a warning.
:func:`neurodecode.rundir.open_run` takes and releases it.
"""

from __future__ import annotations

import json
import logging
import os
import socket
from pathlib import Path

from .exceptions import ConfigError

logger = logging.getLogger("neurodecode")

LOCK = ".neurodecode-lock"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _read_lock(path: Path) -> dict | None:
    try:
        owner = json.loads(path.read_text())
        return owner if isinstance(owner, dict) and isinstance(owner.get("pid"), int) else None
    except (OSError, ValueError):
        return None


def acquire_lock(run_dir: Path) -> Path:
    """Write ``run_dir/LOCK`` (PID, host) or raise ``ConfigError`` if a live run holds it.

    Parameters
    ----------
    run_dir : Path
        The run directory.

    Returns
    -------
    path : Path
        The lock file, held by this process.
    """
    path, host = run_dir / LOCK, socket.gethostname()
    me = {"pid": os.getpid(), "host": host}
    for _ in range(3):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            owner = _read_lock(path)
            if owner is not None and (owner.get("host") != host or _alive(owner["pid"])):
                raise ConfigError(
                    f"run directory {str(run_dir)!r} is in use by another run (PID "
                    f"{owner['pid']} on {owner.get('host')!r}); wait for it to finish or "
                    f"choose another --out. If no run is alive there, delete {str(path)!r}."
                ) from None
            logger.warning("taking over the stale lock of %s (%s)", run_dir,
                           owner or "unreadable lock file")
            path.unlink(missing_ok=True)
            continue
        with os.fdopen(fd, "w") as handle:
            json.dump(me, handle)
            handle.flush()
            os.fsync(handle.fileno())
        return path
    raise ConfigError(f"could not lock run directory {str(run_dir)!r}: another process keeps "
                      "taking the lock; choose another --out.")


def release_lock(run_dir: Path) -> None:
    """Remove ``run_dir/LOCK`` if this process holds it.

    Parameters
    ----------
    run_dir : Path
        The run directory.
    """
    path = run_dir / LOCK
    owner = _read_lock(path)
    if owner is not None and owner["pid"] == os.getpid():
        path.unlink(missing_ok=True)


__all__ = ["LOCK", "acquire_lock", "release_lock"]
