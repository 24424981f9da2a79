"""Jobs run by a recipe: one function per task, registered in ``JOBS``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ..config import Recipe
from .decoding import run_decoding

JOBS: dict[str, Callable[..., dict]] = {"decoding": run_decoding}


def run_job(recipe: Recipe, run_dir: Path, *, progress: bool = True) -> dict:
    """Run the job registered for ``recipe.task``."""
    return JOBS[recipe.task](recipe, run_dir, progress=progress)


__all__ = ["JOBS", "run_job", "run_decoding"]
