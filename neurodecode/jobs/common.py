"""Run directories: config and its hash, metrics, figures and the report."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from ..config import Recipe
from ..exceptions import ConfigError

logger = logging.getLogger("neurodecode")


def prepare_run_dir(run_dir: str | Path, recipe: Recipe, *, overwrite: bool = False) -> Path:
    """Create ``run_dir`` and write the resolved recipe (``config.yaml``) and its hash.

    A directory holding a run of the same recipe (same hash) is reused, so training
    resumes from its last checkpoint; one holding a different recipe raises
    ``ConfigError`` unless ``overwrite`` is True, which empties it first, or unless it
    holds nothing but that recipe (a run that failed before writing anything).
    """
    run_dir = Path(run_dir)
    digest_file = run_dir / "config.sha256"
    if digest_file.is_file():
        previous = digest_file.read_text().strip()
        started = any(p.name not in ("config.yaml", "config.sha256") for p in run_dir.iterdir())
        if previous != recipe.digest() and not overwrite and started:
            raise ConfigError(
                f"run directory {str(run_dir)!r} holds a run of another recipe (config hash "
                f"{previous[:12]}, this one {recipe.digest()[:12]}); choose a new --out "
                "directory or pass --overwrite to replace it."
            )
    if overwrite and run_dir.exists():
        shutil.rmtree(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "config.yaml").write_text(yaml.safe_dump(recipe.to_dict(), sort_keys=False))
    (run_dir / "config.sha256").write_text(recipe.digest() + "\n")
    return run_dir


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value


def write_metrics(run_dir: Path, metrics: dict) -> Path:
    """Write ``metrics.json`` (numpy values converted)."""
    path = run_dir / "metrics.json"
    path.write_text(json.dumps(_jsonable(metrics), indent=2))
    return path


def finish_run(run_dir: Path, recipe: Recipe, *, title: str | None = None) -> Path:
    """Draw every figure of the run directory and write ``report.html``; returns its path."""
    from ..viz import replot_run

    replot_run(run_dir, title=title or f"neurodecode: {recipe.name} ({recipe.task})")
    return run_dir / "report.html"
