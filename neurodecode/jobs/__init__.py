"""Jobs run by a recipe: one function per task, registered in ``JOBS``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ..config import Recipe
from .classification import run_classification
from .decoding import run_decoding
from .encoding import run_encoding
from .rsa import run_rsa

JOBS: dict[str, Callable[..., dict]] = {"decoding": run_decoding, "classification": run_classification, "rsa": run_rsa, "encoding": run_encoding}  # noqa: E501


def run_job(recipe: Recipe, run_dir: Path, *, progress: bool = True) -> dict:
    """Run the job registered for ``recipe.task``."""
    return JOBS[recipe.task](recipe, run_dir, progress=progress)


__all__ = ["JOBS", "run_classification", "run_decoding", "run_encoding", "run_job", "run_rsa"]
