"""``neurodecode run --nproc 2`` (two gloo processes, DDP) against one process with the same
global batch, on the demo recipe with a tiny model: prints the largest relative difference of
the per-epoch losses (decoder and regression baseline), the top-k accuracies of both, and the
wall time of each run.

Run from the repository root: ``python benchmarks/torchrun_equivalence.py [--epochs 2]``.
``tests/training/test_distributed_run.py`` asserts on the same two runs.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# the demo with a tiny model, no sensor dropout (its random draws are per process)
TINY = ["data.simulation.n_trials=4", "data.simulation.trial_duration=20",
        "model.params.hidden=16", "model.params.n_virtual=16", "model.params.depth=2",
        "model.params.spatial_dropout_radius=0", "evaluation.n_bootstraps=10",
        "evaluation.baselines=[regression]"]


def run_demo(out: Path, batch_size: int, nproc: int, epochs: int = 2) -> tuple[str, float]:
    """Run the tiny demo into ``out``: (its stdout and stderr, wall seconds)."""
    items = [*TINY, f"training.epochs={epochs}", f"training.batch_size={batch_size}"]
    sets = [a for item in items for a in ("--set", item)]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "neurodecode.cli", "run", "demo", "--out",
                           str(out), "--no-progress", "--nproc", str(nproc), *sets],
                          capture_output=True, text=True, env=env, timeout=900, cwd=REPO)
    if done.returncode != 0:
        raise RuntimeError(f"neurodecode run --nproc {nproc} failed:\n{done.stderr[-3000:]}")
    return done.stdout + done.stderr, time.perf_counter() - start


def history(path: Path) -> list[dict]:
    """The per-epoch records of a run's ``metrics.jsonl``."""
    return [json.loads(line) for line in path.read_text().splitlines()]


def loss_difference(one: Path, two: Path, folder: str = "") -> float:
    """Largest relative difference of the train and valid losses of two runs."""
    pairs = zip(history(one / folder / "metrics.jsonl"), history(two / folder / "metrics.jsonl"))
    return max(abs(b[k] - a[k]) / abs(a[k]) for a, b in pairs
               for k in ("train_loss", "valid_loss"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        one, two = Path(tmp) / "one", Path(tmp) / "two"
        _, t_one = run_demo(one, 16, 1, args.epochs)
        log, t_two = run_demo(two, 8, 2, args.epochs)
        m1, m2 = (json.loads((r / "metrics.json").read_text()) for r in (one, two))
        print(f"1 process, batch 16: {t_one:.1f} s; 2 gloo processes, batch 8 each: "
              f"{t_two:.1f} s ('run directory' printed {log.count('run directory')} time(s))")
        for folder in ("", "baseline_regression"):
            print(f"max relative loss difference ({folder or 'decoder'}): "
                  f"{loss_difference(one, two, folder):.2e}")
        for key in ("top1", "top5", "top10"):
            print(f"{key}: 1 process {m1[key]:.4f}, 2 processes {m2[key]:.4f} "
                  f"({m1['n_queries']} queries)")


if __name__ == "__main__":
    main()
