"""Paths of a recipe: ``~`` expanded, globs matched, and what a folder holds (for errors)."""

from __future__ import annotations

from pathlib import Path

from ..exceptions import DataNotFoundError


def folder_listing(root: Path, limit: int = 12) -> str:
    """The first entries of ``root`` (or why there are none), for an error message."""
    if not root.is_dir():
        return "no such folder" if not root.exists() else "a file, not a folder"
    names = sorted(p.name + ("/" if p.is_dir() else "") for p in root.iterdir())
    more = f" ... ({len(names)} entries)" if len(names) > limit else ""
    return (", ".join(names[:limit]) + more) if names else "an empty folder"


def glob_paths(pattern: str, key: str) -> list[Path]:
    """The files of a path or glob pattern (sorted); a pattern matching nothing is an error."""
    path = Path(pattern).expanduser()
    if not any(c in str(pattern) for c in "*?["):
        return [path]
    anchor = Path(path.anchor or ".")
    matches = sorted(anchor.glob(str(path.relative_to(anchor)))) if path.is_absolute() else \
        sorted(Path(".").glob(str(path)))
    if not matches:
        raise DataNotFoundError(f"{key} pattern {pattern!r} matches no file; the folder holds: "
                                f"{folder_listing(_fixed_part(path))}.")
    return matches


def _fixed_part(path: Path) -> Path:
    """The folder of ``path`` before its first glob character."""
    parts = []
    for part in path.parts:
        if any(c in part for c in "*?["):
            break
        parts.append(part)
    return Path(*parts) if parts else Path(".")


def expand_path(path: str | None) -> Path | None:
    """A recipe path with ``~`` expanded (``None`` stays ``None``)."""
    return None if path is None else Path(path).expanduser()


__all__ = ["expand_path", "folder_listing", "glob_paths"]
