"""Run a recipe's variants and seeds as independent jobs, locally or on SLURM.

``neurodecode run RECIPE --seeds 0 1 2`` (and a recipe with ``evaluation.compare``) builds
one job per (variant, seed) (``evaluation.compare.make_jobs``), runs them with an
executor and writes the comparison into the run directory: ``metrics.json`` (mean and
sd over seeds per model), ``table.csv``, ``table.png`` and ``report.html``.

- ``local`` (default): one after the other in this process; a job whose run directory is
  complete is read back, not rerun (rerun the same command to resume).
- ``slurm``: each job a SLURM job through ``submitit`` (``pip install
  neurodecode[slurm]``), with a partition, GPUs, CPUs, a time limit and memory from the
  recipe's ``execution:`` section, each overridden by its ``--slurm-*`` option; their
  metrics are gathered when they finish. ``cluster="local"`` runs the same jobs as local
  processes (tests).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, fields
from pathlib import Path

from .config import ExecutionConfig, Recipe, load_recipe
from .evaluation.compare import Job, make_jobs, plot_summary, summarise, summary_table
from .exceptions import ConfigError

logger = logging.getLogger("neurodecode")

EXECUTORS = ("local", "slurm")


@dataclass(frozen=True)
class SlurmOptions:
    """Resources of each SLURM job (``submitit``'s ``slurm_*`` parameters)."""

    partition: str | None = None
    gpus: int = 1
    time_min: int = 24 * 60
    cpus: int = 10
    mem_gb: float | None = None
    cluster: str | None = None  # None: SLURM; "local": local processes (tests)

    def parameters(self) -> dict:
        """``submitit.AutoExecutor.update_parameters`` keywords (None: the cluster's own)."""
        params = {"timeout_min": self.time_min, "cpus_per_task": self.cpus,
                  "mem_gb": self.mem_gb, "slurm_partition": self.partition,
                  "slurm_gpus_per_node": self.gpus}
        return {k: v for k, v in params.items() if v is not None}


def slurm_options(execution: ExecutionConfig, **overrides) -> SlurmOptions:
    """The recipe's ``execution`` resources, each replaced by an override that is not None
    (the command line's ``--slurm-partition``, ``--slurm-gpus``, ...).

    Examples
    --------
    >>> slurm_options(ExecutionConfig(partition="gpu", gpus=2), gpus=4, time_min=None)
    SlurmOptions(partition='gpu', gpus=4, time_min=1440, cpus=10, mem_gb=None, cluster=None)
    """
    values = {f.name: getattr(execution, f.name) for f in fields(execution)}
    unknown = set(overrides) - set(values) - {"cluster"}
    if unknown:
        raise ValueError(f"slurm_options got unknown overrides {sorted(unknown)}; expected "
                         f"some of {sorted(values)} or 'cluster'.")
    values.update({k: v for k, v in overrides.items() if v is not None})
    return SlurmOptions(**values)


def seed_dependent(recipe: Recipe) -> bool:
    """Whether the recipe has a step whose result depends on its seed: training a model
    from a seeded initialisation (decoding), or permutations (RSA, encoding)."""
    if recipe.task == "decoding":
        return True
    return recipe.task in ("rsa", "encoding") and recipe.analysis.n_permutations > 0


def plan(recipe_path: Path, recipe: Recipe, seeds: Sequence[int] | None, out: Path,
         overrides: Sequence[str] = ()) -> list[Job]:
    """The jobs of a comparison: the recipe's ``evaluation.compare`` variants (or the
    recipe alone) at each seed (``[recipe.seed]`` when ``seeds`` is None).

    Raises
    ------
    ConfigError
        If ``seeds`` are given for a recipe with no seed-dependent step, or a variant's
        overrides do not make a valid recipe.
    """
    if seeds is not None and not seed_dependent(recipe):
        raise ConfigError(
            f"--seeds {' '.join(map(str, seeds))} given, but recipe {recipe.name!r} (task "
            f"{recipe.task!r}) has no seed-dependent step (training, permutations): every "
            "seed would give the same result; drop --seeds.")
    variants = dict(recipe.evaluation.compare) or {recipe.name: {}}
    jobs = make_jobs(variants, list(seeds) if seeds is not None else [recipe.seed], out,
                     list(overrides))
    for job in jobs:
        try:
            load_recipe(recipe_path, list(job.overrides))
        except ConfigError as err:
            raise ConfigError(f"evaluation.compare variant {job.variant!r}: {err}") from err
    return jobs


def run_job(recipe_path: str, overrides: Sequence[str], out: str) -> dict:
    """Run one job (in this process or on a SLURM node) and return its metrics."""
    from .build import run_recipe

    recipe = load_recipe(Path(recipe_path), list(overrides))
    return run_recipe(recipe, Path(out), progress=False)


def _done(out: Path) -> dict | None:
    """The metrics of a complete run directory, else None."""
    from .rundir import MARKER

    metrics = out / "metrics.json"
    if (out / "report.html").is_file() and (out / MARKER).exists() and metrics.is_file():
        return json.loads(metrics.read_text())
    return None


def run_local(recipe_path: Path, jobs: Sequence[Job]) -> dict[tuple[str, int], dict]:
    """Run the jobs one after the other; complete ones are read back (resumable)."""
    results = {}
    for i, job in enumerate(jobs):
        done = _done(job.out)
        if done is None:
            logger.warning("job %d/%d: %s seed %d -> %s", i + 1, len(jobs), job.variant,
                           job.seed, job.out)
            done = run_job(str(recipe_path), job.overrides, str(job.out))
        results[(job.variant, job.seed)] = done
    return results


def run_slurm(recipe_path: Path, jobs: Sequence[Job], folder: Path,
              options: SlurmOptions) -> dict[tuple[str, int], dict]:
    """Submit the jobs not yet complete through ``submitit`` and wait for their metrics."""
    try:
        import submitit
    except ImportError as err:
        raise ConfigError("--executor slurm needs submitit: pip install "
                          "'neurodecode[slurm]'.") from err
    executor = submitit.AutoExecutor(folder=folder, cluster=options.cluster)
    executor.update_parameters(**options.parameters())
    results, pending = {}, []
    for job in jobs:
        done = _done(job.out)
        if done is not None:
            results[(job.variant, job.seed)] = done
        else:
            pending.append((job, executor.submit(run_job, str(recipe_path), list(job.overrides),
                                                 str(job.out))))
    for job, handle in pending:
        results[(job.variant, job.seed)] = handle.result()
    return results


def run_comparison(recipe_path: Path, jobs: Sequence[Job], out: Path, *,
                   executor: str = "local", slurm: SlurmOptions | None = None) -> dict:
    """Run ``jobs`` and write the comparison (metrics.json, table.csv/png, report.html)."""
    if executor not in EXECUTORS:
        raise ConfigError(f"executor {executor!r} is not valid; expected one of "
                          f"{list(EXECUTORS)}.")
    out.mkdir(parents=True, exist_ok=True)
    results = (run_local(recipe_path, jobs) if executor == "local" else
               run_slurm(recipe_path, jobs, out / "slurm", slurm or SlurmOptions()))
    summary = summarise(results)
    table = summary_table(summary)
    metrics = {"comparison": summary,
               "jobs": [{"variant": j.variant, "seed": j.seed, "out": str(j.out)} for j in jobs]}
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2))
    table.to_csv(out / "table.csv", index=False)
    plot_summary(summary, out / "table.png")
    (out / "report.html").write_text(
        "<html><body><h1>Comparison over seeds</h1>"
        f"{table.to_html(index=False, float_format=lambda v: f'{v:.1f}')}"
        "<img src='table.png'></body></html>")
    return metrics


__all__ = ["EXECUTORS", "SlurmOptions", "plan", "run_comparison", "run_job", "run_local",
           "run_slurm", "seed_dependent", "slurm_options"]
