"""The run directory: its file names, atomic writers, marker, lock and config hash.

A run directory is created by :func:`open_run` and carries a marker file (``MARKER``)
from its first moment. ``overwrite`` removes only a folder holding that marker, and in
it only the files a run writes; anything else is a ``ConfigError`` naming the folder. A
lock file (``LOCK``, the owner's PID and host; :mod:`neurodecode.runlock`) makes a second
run on the same folder an error while the first is alive; a stale lock (its process is
gone) is taken over with a warning. Every file is written to a temporary name in the same folder, fsynced and
renamed (:func:`write_atomic`), so a process killed at any moment leaves either the old
or the new file, never a truncated one.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import numpy as np
import yaml

from .config import Recipe
from .exceptions import ConfigError
from .runlock import LOCK, acquire_lock, release_lock

logger = logging.getLogger("neurodecode")

MARKER = ".neurodecode-run"
CONFIG, DIGEST, METRICS = "config.yaml", "config.sha256", "metrics.json"
HISTORY, LAST, BEST = "metrics.jsonl", "last.pt", "best.pt"
#: What a run writes (``overwrite`` removes these and nothing else).
RUN_SUFFIXES = (".pt", ".json", ".jsonl", ".csv", ".npy", ".npz", ".yaml", ".sha256",
                ".html", ".png", ".svg", ".pdf", ".nii.gz", ".fif", ".txt", ".tmp")
RUN_FOLDERS = ("figures", "baseline_regression")
#: Keys whose change keeps a run resumable: they do not change the trained model.
RESUMABLE_PREFIXES = ("evaluation.", "description", "execution.")


# -- atomic writers ---------------------------------------------------------------------

def write_atomic(path: str | os.PathLike, write: Callable[[IO[bytes]], Any]) -> Path:
    """Call ``write(handle)`` on a temporary file next to ``path``, fsync, rename to it.

    Parameters
    ----------
    path : str or path-like
        The file to write (its folder is created).
    write : callable
        Called once with the temporary file's binary handle; writes the content.

    Returns
    -------
    path : Path
        The written file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)
    return path


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):  # not every platform can open a directory
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically.

    Parameters
    ----------
    path : str or path-like
        The file to write.
    text : str
        Its content.

    Returns
    -------
    path : Path
        The written file.
    """
    return write_atomic(path, lambda handle: handle.write(text.encode()))


def jsonable(value: Any) -> Any:
    """``value`` with numpy scalars and arrays as plain Python (dict keys as str).

    Parameters
    ----------
    value : object
        A value made of dicts, lists, tuples, numpy scalars and arrays, and JSON values.

    Returns
    -------
    value : object
        The same value in plain Python types that ``json.dumps`` accepts.
    """
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value


def write_json(path: str | os.PathLike, value: Any) -> Path:
    """Write ``value`` as indented JSON (numpy values converted) atomically.

    Parameters
    ----------
    path : str or path-like
        The file to write.
    value : object
        Anything :func:`jsonable` converts.

    Returns
    -------
    path : Path
        The written file.
    """
    return write_text(path, json.dumps(jsonable(value), indent=2))


def write_metrics(run_dir: str | os.PathLike, metrics: dict) -> Path:
    """Write ``metrics.json`` atomically (numpy values converted).

    Parameters
    ----------
    run_dir : str or path-like
        The run directory.
    metrics : dict
        The metrics (numpy values allowed).

    Returns
    -------
    path : Path
        ``run_dir/metrics.json``.
    """
    return write_json(Path(run_dir) / METRICS, metrics)


def write_config(run_dir: str | os.PathLike, recipe: Recipe) -> None:
    """Write ``config.yaml`` and then ``config.sha256``, each atomically.

    Parameters
    ----------
    run_dir : str or path-like
        The run directory.
    recipe : Recipe
        The resolved recipe (``neurodecode.config.load_recipe``).
    """
    run_dir = Path(run_dir)
    write_text(run_dir / CONFIG, yaml.safe_dump(recipe.to_dict(), sort_keys=False))
    write_text(run_dir / DIGEST, recipe.digest() + "\n")


def completed_epochs(run_dir: str | os.PathLike) -> int:
    """Epochs recorded in ``run_dir/metrics.jsonl`` (0 when there is none).

    Parameters
    ----------
    run_dir : str or path-like
        The run directory.

    Returns
    -------
    n_epochs : int
        The lines of ``metrics.jsonl``.
    """
    path = Path(run_dir) / HISTORY
    if not path.is_file():
        return 0
    return sum(1 for line in path.read_text().splitlines() if line.strip())


def finish_run(run_dir: Path, recipe: Recipe, *, title: str | None = None) -> Path:
    """Draw every figure of the run directory and write ``report.html``; returns its path.

    Parameters
    ----------
    run_dir : Path
        The run directory.
    recipe : Recipe
        The recipe of the run (its name and task make the default title).
    title : str or None
        Title of the report; ``None``: ``"neurodecode: <name> (<task>)"``.

    Returns
    -------
    path : Path
        ``run_dir/report.html``.
    """
    from .viz import replot_run

    replot_run(run_dir, title=title or f"neurodecode: {recipe.name} ({recipe.task})")
    return run_dir / "report.html"


# -- marker, ownership and overwrite ----------------------------------------------------

def is_run_dir(folder: Path) -> bool:
    """True when ``folder`` holds a run marker (or a config and hash of an older run).

    Parameters
    ----------
    folder : Path
        Any folder.

    Returns
    -------
    is_run_dir : bool
        Whether it is a neurodecode run directory.
    """
    return (folder / MARKER).is_file() or (
        (folder / CONFIG).is_file() and (folder / DIGEST).is_file())


def _is_run_file(path: Path) -> bool:
    if path.name in (MARKER, LOCK):
        return True
    if path.is_dir() and not path.is_symlink():
        return path.name in RUN_FOLDERS
    return path.name.endswith(RUN_SUFFIXES)


def _leftover(path: Path) -> bool:
    """A lock or the temporary marker of a run killed while it was creating its folder."""
    return path.name == LOCK or (path.name.startswith(MARKER + ".")
                                 and path.name.endswith(".tmp"))


def _claim(run_dir: Path) -> None:
    """Make ``run_dir`` a run directory (create it, write the marker) or refuse it."""
    if run_dir.exists() and not run_dir.is_dir():
        raise ConfigError(f"--out {str(run_dir)!r} is a file; expected a run directory (a "
                          "new or empty folder, or one written by neurodecode).")
    if run_dir.is_dir() and not is_run_dir(run_dir) and any(
            not _leftover(p) for p in run_dir.iterdir()):
        raise ConfigError(
            f"--out {str(run_dir)!r} is not a neurodecode run directory (it holds other "
            f"files and no {MARKER} marker); nothing was deleted. Choose a new or empty "
            "folder.")
    run_dir.mkdir(parents=True, exist_ok=True)
    if not (run_dir / MARKER).is_file():
        write_json(run_dir / MARKER, {"neurodecode": "run directory"})


def clear_run(run_dir: Path) -> None:
    """Remove the files a run writes from a marked ``run_dir`` (keeps the lock).

    Parameters
    ----------
    run_dir : Path
        A marked run directory; another folder raises ``ConfigError``.
    """
    if not is_run_dir(run_dir):
        raise ConfigError(f"--overwrite refused: {str(run_dir)!r} is not a neurodecode run "
                          f"directory (no {MARKER} marker); nothing was deleted.")
    kept = []
    for path in run_dir.iterdir():
        if path.name == LOCK:
            continue
        if not _is_run_file(path):
            kept.append(path.name)
        elif path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()
    if kept:
        logger.warning("--overwrite kept files a run does not write in %s: %s", run_dir,
                       sorted(kept))


# -- the recipe of a run ----------------------------------------------------------------

def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        return {k: v for key, sub in value.items()
                for k, v in _flatten(sub, f"{prefix}{key}.").items()}
    return {prefix.rstrip("."): value}


def recipe_changes(old: dict, new: dict) -> tuple[dict, dict]:
    """Keys that differ between two resolved recipes: ``(resumable, blocking)``.

    Each maps a dotted key to ``(old, new)``. Resumable changes do not change the trained
    model: ``evaluation.*``, ``description`` and more ``training.epochs``.

    Parameters
    ----------
    old, new : dict
        Resolved recipes (``Recipe.to_dict()``).

    Returns
    -------
    resumable : dict of str to tuple
        Dotted key -> ``(old, new)`` for the changes that keep the run resumable.
    blocking : dict of str to tuple
        Dotted key -> ``(old, new)`` for the others.
    """
    flat_old, flat_new = _flatten(old), _flatten(new)
    resumable: dict[str, tuple] = {}
    blocking: dict[str, tuple] = {}
    for key in sorted(set(flat_old) | set(flat_new)):
        before, after = flat_old.get(key), flat_new.get(key)
        if before == after:
            continue
        more_epochs = (key == "training.epochs" and isinstance(before, int)
                       and isinstance(after, int) and after > before)
        free = more_epochs or key.startswith(RESUMABLE_PREFIXES)
        (resumable if free else blocking)[key] = (before, after)
    return resumable, blocking


def _previous_config(run_dir: Path) -> dict | None:
    """The recipe a run directory holds (None: none, or a config that was never used)."""
    try:
        previous = yaml.safe_load((run_dir / CONFIG).read_text())
    except (OSError, yaml.YAMLError):
        return None
    return previous if isinstance(previous, dict) else None


def _started(run_dir: Path) -> bool:
    return any(p.name not in (CONFIG, DIGEST, MARKER, LOCK) and not p.name.endswith(".tmp")
               for p in run_dir.iterdir())


def _check_same_recipe(run_dir: Path, recipe: Recipe) -> None:
    if not _started(run_dir):
        return
    previous = _previous_config(run_dir)
    if previous is None:
        digest = (run_dir / DIGEST).read_text().strip() if (run_dir / DIGEST).is_file() else ""
        if digest == recipe.digest():
            return
        raise ConfigError(
            f"run directory {str(run_dir)!r} holds a run whose {CONFIG} is missing or "
            "unreadable, so it cannot be matched to this recipe; choose a new --out "
            "directory or pass --overwrite to replace it.")
    resumable, blocking = recipe_changes(previous, recipe.to_dict())
    if blocking:
        shown = ", ".join(f"{k}: {a!r} -> {b!r}" for k, (a, b) in list(blocking.items())[:8])
        more = f" (and {len(blocking) - 8} more)" if len(blocking) > 8 else ""
        raise ConfigError(
            f"run directory {str(run_dir)!r} holds a run of another recipe; these keys "
            f"differ: {shown}{more}. Choose a new --out directory or pass --overwrite to "
            "replace it.")
    if resumable:
        logger.info("extending the run in %s with %s (old -> new)", run_dir, resumable)


def prepare_run_dir(run_dir: str | os.PathLike, recipe: Recipe, *,
                    overwrite: bool = False) -> Path:
    """Claim ``run_dir`` for ``recipe`` and write its config and hash (no lock taken).

    A folder holding a run of the same recipe, or of one that differs only in keys that
    do not change the trained model (``recipe_changes``), is reused so training resumes;
    another recipe raises ``ConfigError`` naming the keys that differ, unless
    ``overwrite``, which first removes the run files of a marked run directory.

    Parameters
    ----------
    run_dir : str or path-like
        The folder to claim (created if absent).
    recipe : Recipe
        The resolved recipe whose config and hash are written there.
    overwrite : bool
        Clear a marked folder of another recipe's run files instead of refusing it.

    Returns
    -------
    run_dir : Path
        The prepared run directory.
    """
    run_dir = Path(run_dir)
    _claim(run_dir)
    if overwrite:
        clear_run(run_dir)
        write_json(run_dir / MARKER, {"neurodecode": "run directory"})
    else:
        _check_same_recipe(run_dir, recipe)
    write_config(run_dir, recipe)
    return run_dir


@contextlib.contextmanager
def open_run(run_dir: str | os.PathLike, recipe: Recipe, *,
             overwrite: bool = False) -> Iterator[Path]:
    """Claim and lock ``run_dir`` for ``recipe`` (see ``prepare_run_dir``); unlock on exit.

    Under torch.distributed only rank 0 claims, locks and prepares the folder; the other
    ranks wait until it has, then get the same path (to read what rank 0 writes, never
    to write), and every rank waits on exit until rank 0 has finished the run.

    Parameters
    ----------
    run_dir : str or path-like
        The run directory.
    recipe : Recipe
        The resolved recipe.
    overwrite : bool
        Remove the run files of another recipe first.

    Yields
    ------
    run_dir : Path
        The claimed, locked and prepared run directory.
    """
    from ._distributed import barrier, get_info

    run_dir = Path(run_dir)
    if not get_info().is_main:
        barrier()  # rank 0 has prepared the folder
        yield run_dir
        barrier()  # rank 0 has written the run
        return
    _claim(run_dir)
    acquire_lock(run_dir)
    try:
        prepared = prepare_run_dir(run_dir, recipe, overwrite=overwrite)
        barrier()
        yield prepared
        barrier()
    finally:
        release_lock(run_dir)


__all__ = ["BEST", "CONFIG", "DIGEST", "HISTORY", "LAST", "LOCK", "MARKER", "METRICS",
           "acquire_lock", "clear_run", "completed_epochs", "finish_run", "is_run_dir",
           "jsonable", "open_run", "prepare_run_dir", "recipe_changes", "release_lock",
           "write_atomic", "write_config", "write_json", "write_metrics", "write_text"]
