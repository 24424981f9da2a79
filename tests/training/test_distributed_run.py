"""``neurodecode run --nproc 2``: one model trained by two gloo processes (DDP, the
DistributedSampler, negatives gathered across processes, batch norm over the global batch),
evaluated and written by rank 0 alone, equal to one process with the same global batch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from neurodecode.cli import main
from neurodecode.exceptions import ConfigError

REPO = Path(__file__).resolve().parents[2]
# the demo with a tiny model, no sensor dropout (its random draws are per process) and 2 epochs
TINY = ["data.simulation.n_trials=4", "data.simulation.trial_duration=20",
        "model.params.hidden=16", "model.params.n_virtual=16", "model.params.depth=2",
        "model.params.spatial_dropout_radius=0", "training.epochs=2",
        "evaluation.n_bootstraps=10", "evaluation.baselines=[regression]"]


def _run(out: Path, batch_size: int, nproc: int) -> str:
    sets = [a for item in [*TINY, f"training.batch_size={batch_size}"] for a in ("--set", item)]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-m", "neurodecode.cli", "run", "demo", "--out",
                           str(out), "--no-progress", "--nproc", str(nproc), *sets],
                          capture_output=True, text=True, env=env, timeout=600, cwd=REPO)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout + done.stderr


def _history(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.mark.slow  # about 2 minutes on 2 loaded cores (two runs, one of two processes)
def test_two_gloo_processes_equal_one_with_the_same_global_batch(tmp_path):
    one = _run(tmp_path / "one", batch_size=16, nproc=1)
    two = _run(tmp_path / "two", batch_size=8, nproc=2)
    assert one.count("run directory") == 1
    assert two.count("run directory") == 1  # rank 0 alone reports
    for folder in ("", "baseline_regression"):
        h1, h2 = (_history(tmp_path / r / folder / "metrics.jsonl") for r in ("one", "two"))
        assert len(h1) == len(h2) == 2
        for a, b in zip(h1, h2):
            for key in ("train_loss", "valid_loss"):
                assert b[key] == pytest.approx(a[key], rel=1e-4), (folder, key)
    m1, m2 = (json.loads((tmp_path / r / "metrics.json").read_text()) for r in ("one", "two"))
    assert m1["training"]["best_epoch"] == m2["training"]["best_epoch"]
    assert m1["data"] == m2["data"]
    # top-k counts queries: a float-level difference may flip one near-tied candidate
    one_query = 1 / m1["n_queries"]
    for key in ("top1", "top5", "top10"):
        assert m2[key] == pytest.approx(m1[key], abs=2 * one_query + 1e-9), key
    leftovers = [p.name for p in (tmp_path / "two").iterdir() if p.name.endswith(".tmp")]
    assert not leftovers and not (tmp_path / "two" / ".neurodecode-lock").exists()


def test_several_processes_refuse_a_task_without_training(tmp_path, monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "2")
    from neurodecode.cli import _distributed
    from neurodecode.config import load_recipe

    recipe = load_recipe(REPO / "recipes" / "mne_sample_rsa.yaml")
    with pytest.raises(ConfigError, match="train only decoding recipes"):
        _distributed(recipe)


def test_nproc_below_one_is_refused(capsys):
    assert main(["run", "demo", "--nproc", "0"]) == 2
    assert "--nproc must be >= 1; got 0" in capsys.readouterr().err
