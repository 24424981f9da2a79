"""Command line: ``neurodecode run RECIPE``, ``neurodecode plot RUN_DIR``, ``neurodecode fetch``."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from . import __version__

if TYPE_CHECKING:
    from .training.distributed import DistributedInfo


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="neurodecode", description=__doc__)
    parser.add_argument("--version", action="version", version=f"neurodecode {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run a recipe and write a run directory")
    run.add_argument("recipe", type=Path,
                     help="YAML recipe, or the name of a shipped one (`neurodecode recipes`)")
    run.add_argument("--out", type=Path, default=None,
                     help="run directory (default: runs/<recipe name>)")
    run.add_argument("--set", dest="overrides", action="append", default=[],
                     metavar="KEY=VALUE", help="override a recipe value, e.g. training.epochs=3")
    run.add_argument("--no-progress", action="store_true", help="hide progress bars")
    _add_nproc(run)
    run.add_argument("--overwrite", action="store_true",
                     help="remove the run files of a neurodecode run directory first (a "
                          "folder that is not one is refused; default: resume a run of the "
                          "same recipe, refuse one of another recipe)")
    run.add_argument("--seeds", type=int, nargs="+", default=None, metavar="SEED",
                     help="run at each seed (and each evaluation.compare variant) and report "
                          "mean and sd over seeds")
    run.add_argument("--executor", choices=("local", "slurm"), default="local",
                     help="how variants and seeds run: local (one after the other, "
                          "resumable) or slurm (submitit)")
    run.add_argument("--slurm-partition", default=None,
                     help="SLURM partition (--executor slurm; default: execution.partition)")
    run.add_argument("--slurm-gpus", type=int, default=None,
                     help="GPUs per SLURM job (default: execution.gpus)")
    run.add_argument("--slurm-cpus", type=int, default=None,
                     help="CPU cores per SLURM job (default: execution.cpus)")
    run.add_argument("--slurm-time", type=int, default=None,
                     help="minutes per SLURM job (default: execution.time_min)")
    run.add_argument("--slurm-mem", type=float, default=None, metavar="GB",
                     help="memory per SLURM job in GB (default: execution.mem_gb)")
    plot = sub.add_parser("plot", help="redraw a run's figures and report")
    plot.add_argument("run_dir", type=Path)
    plot.add_argument("--formats", nargs="+", default=["png"], help="png, svg and/or pdf")
    plot.add_argument("--dpi", type=float, default=300)
    fetch = sub.add_parser("fetch", help="download a public dataset", add_help=False)
    fetch.add_argument("args", nargs=argparse.REMAINDER)
    sub.add_parser("recipes", help="list the recipes shipped in recipes/")
    return parser


def _add_nproc(run: argparse.ArgumentParser) -> None:
    run.add_argument("--nproc", type=int, default=1, metavar="N",
                     help="train with N processes on this node (DistributedDataParallel, "
                          "launched through torchrun; gloo on CPU, NCCL on CUDA); the "
                          "global batch is N x training.batch_size")


def _launch(argv: Sequence[str], nproc: int) -> int:
    """Rerun this command under ``torch.distributed.run`` (torchrun) with ``nproc`` processes."""
    import subprocess

    from .exceptions import ConfigError

    if nproc < 1:
        raise ConfigError(f"--nproc must be >= 1; got {nproc}.")
    rest = [a for i, a in enumerate(argv) if not (a == "--nproc" or a.startswith("--nproc=")
                                                  or (i and argv[i - 1] == "--nproc"))]
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone",
           f"--nproc_per_node={nproc}", "-m", "neurodecode.cli", *rest]
    return subprocess.call(cmd)


def _distributed(recipe) -> DistributedInfo:
    """Join torchrun's process group (gloo on CPU, NCCL on CUDA) for a decoding recipe."""
    from .build import feature_kind
    from .exceptions import ConfigError
    from .training.distributed import setup_distributed

    if int(os.environ.get("WORLD_SIZE", "1")) > 1 and (
            recipe.task != "decoding" or feature_kind(recipe) != "timeline"):
        raise ConfigError(
            f"several processes (WORLD_SIZE={os.environ['WORLD_SIZE']}) train only decoding "
            f"recipes of timeline features; {recipe.name!r} is task {recipe.task!r}. Run it "
            "with one process (no torchrun, --nproc 1).")
    cuda = recipe.training.device.startswith("cuda")
    return setup_distributed("nccl" if cuda else "gloo")


def _run(args: argparse.Namespace) -> int:
    from .build import run_recipe
    from .config import load_recipe
    from .rundir import completed_epochs
    from .training.distributed import cleanup_distributed

    path = find_recipe(args.recipe)
    recipe = load_recipe(path, args.overrides)
    if args.seeds is not None or recipe.evaluation.compare:
        return _compare(args, path, recipe)
    out = args.out or Path("runs") / recipe.name
    main = _distributed(recipe).is_main
    done = 0 if args.overwrite else completed_epochs(out)
    if done and main:
        print(f"resuming the run in {out} after epoch {done}", file=sys.stderr)
    try:
        metrics = run_recipe(recipe, out, progress=main and not args.no_progress,
                             overwrite=args.overwrite)
    except KeyboardInterrupt:
        if main:
            print(f"interrupted at epoch {completed_epochs(out)}; rerun the same command "
                  "to resume", file=sys.stderr)
        return 130
    finally:
        cleanup_distributed()
    if not main:  # rank 0 alone reports
        return 0
    print(json.dumps(_headline(metrics), indent=2))
    print(f"run directory: {out}\nreport: {out / 'report.html'}")
    return 0


def _compare(args: argparse.Namespace, path: Path, recipe) -> int:
    """Variants x seeds as independent jobs (``neurodecode.executors``)."""
    from .executors import plan, run_comparison, slurm_options

    out = args.out or Path("runs") / recipe.name
    jobs = plan(path, recipe, args.seeds, out, args.overrides)
    slurm = slurm_options(recipe.execution, partition=args.slurm_partition,
                          gpus=args.slurm_gpus, cpus=args.slurm_cpus,
                          time_min=args.slurm_time, mem_gb=args.slurm_mem)
    metrics = run_comparison(path, jobs, out, executor=args.executor, slurm=slurm)
    import pandas as pd

    print(pd.read_csv(out / "table.csv").round(1).to_string(index=False))
    print(f"comparison of {len(jobs)} job(s): {out / 'metrics.json'}, {out / 'report.html'}")
    return 0 if metrics else 1


def _headline(metrics: dict) -> dict:
    """The numbers worth printing: top-level scalars and each block's top-k values."""
    head: dict = {}
    for key, value in metrics.items():
        if not isinstance(value, dict):
            head[key] = value
            continue
        scalars = {k: v for k, v in value.items()
                   if isinstance(v, (int, float, str)) and not isinstance(v, bool)}
        if scalars:
            head[key] = scalars
    return head


def _plot(args: argparse.Namespace) -> int:
    from .viz import replot_run

    paths = replot_run(args.run_dir, formats=args.formats, dpi=args.dpi)
    for path in paths:
        print(path)
    print(args.run_dir / "report.html")
    return 0


RECIPES = Path(__file__).resolve().parents[1] / "recipes"


def find_recipe(recipe: str | Path, root: Path = RECIPES) -> Path:
    """``recipe`` when it is a file, else the shipped recipe of that name (``demo``).

    Raises
    ------
    ConfigError
        When it is neither, listing the shipped recipes (the nearest first).
    """
    import difflib

    from .exceptions import ConfigError

    path = Path(recipe)
    if path.is_file():
        return path
    shipped = {p.stem: p for p in sorted(root.glob("*.yaml"))}
    name = path.name.removesuffix(".yaml")
    if name in shipped and path.parent == Path("."):
        return shipped[name]
    near = difflib.get_close_matches(name, list(shipped), n=1)
    hint = f" Did you mean {near[0]!r}?" if near else ""
    raise ConfigError(f"recipe {str(recipe)!r} is neither a file nor a shipped recipe.{hint} "
                      f"Shipped recipes ({root}): {sorted(shipped)}.")


def recipe_table(root: Path = RECIPES) -> list[dict[str, str]]:
    """One row per shipped recipe: name, task, dataset and what it needs to run."""
    import yaml

    rows = []
    for path in sorted(root.glob("*.yaml")):
        raw = yaml.safe_load(path.read_text()) or {}
        data, features = raw.get("data") or {}, raw.get("features") or {}
        study = data.get("study") or ("simulated" if data.get("source", "simulated")
                                      == "simulated" else "files")
        rows.append({"name": path.stem, "task": str(raw.get("task", "?")), "dataset": study,
                     "needs": _needs(data, features)})
    return rows


def _needs(data: dict, features: dict) -> str:
    """What a recipe needs besides the package: the data, a pretrained model."""
    if data.get("source", "simulated") == "simulated":
        needs = ["nothing (built-in simulation)"]
    elif data.get("study"):
        from .io.studies import STUDIES

        study = STUDIES.get(data["study"])
        manual = " (after a registration)" if study is not None and study.manual_steps else ""
        needs = [f"neurodecode fetch {data['study']}{manual}"]
    else:
        needs = ["data.files"]
    model = (features.get("params") or {}).get("model_path")
    if model:
        needs.append(f"{features.get('name')} weights in {model}")
    return "; ".join(needs)


def _recipes() -> int:
    rows = recipe_table()
    cols = ("name", "task", "dataset", "needs")
    width = {c: max(len(c), *(len(r[c]) for r in rows)) for c in cols[:-1]}
    print("  ".join(c.ljust(width.get(c, 0)) for c in cols).rstrip())
    for row in rows:
        print("  ".join(row[c].ljust(width.get(c, 0)) for c in cols).rstrip())
    print(f"\nrun one by name (neurodecode run demo) or by file (neurodecode run "
          f"{RECIPES / 'demo.yaml'}); --set KEY=VALUE overrides a value.")
    return 0


def _quiet_third_party(verbose: bool) -> None:
    """MNE's own messages (adjacency, filter design, ...) only with ``-v``."""
    import mne

    mne.set_log_level("INFO" if verbose else "ERROR")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``neurodecode`` command."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["fetch"]:
        from .io.studies import main_fetch

        return main_fetch(argv[1:])
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    _quiet_third_party(args.verbose)
    from .exceptions import NeurodecodeError

    try:
        if args.command == "run" and args.nproc != 1 and "WORLD_SIZE" not in os.environ:
            return _launch(argv, args.nproc)
        if args.command == "run":
            return _run(args)
        if args.command == "plot":
            return _plot(args)
        return _recipes()
    except NeurodecodeError as err:
        print(f"neurodecode {args.command}: {type(err).__name__}: {err}", file=sys.stderr)
        return 2


__all__ = ["RECIPES", "find_recipe", "main", "recipe_table"]


if __name__ == "__main__":
    raise SystemExit(main())
