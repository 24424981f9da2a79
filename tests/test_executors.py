"""Variants x seeds as independent jobs: local (resumable) and submitit's local executor."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from neurodecode.cli import main
from neurodecode.config import load_recipe
from neurodecode.exceptions import ConfigError
from neurodecode.executors import SlurmOptions, plan, run_comparison

RECIPES = Path(__file__).resolve().parents[1] / "recipes"
TINY = ["training.epochs=1", "training.batch_size=4", "evaluation.n_bootstraps=10",
        "model.params={n_virtual: 8, hidden: 8, depth: 1, fourier_freqs: 4}",
        "data.simulation.n_subjects=2", "data.simulation.n_trials=4",
        "data.simulation.trial_duration=8.0", "evaluation.ks=[1, 5]",
        "evaluation.baselines=[untrained]"]


def _sets(overrides):
    return [a for o in overrides for a in ("--set", o)]


def test_seeds_and_variants_give_one_table(tmp_path, capsys):
    recipe = tmp_path / "demo_compare.yaml"
    recipe.write_text((RECIPES / "demo.yaml").read_text().replace("name: demo", "name: demo_compare")
                      + "\n  compare:\n    clip: {}\n    mse: {loss.name: mse}\n")
    out = tmp_path / "cmp"
    args = ["run", str(recipe), "--out", str(out), "--no-progress", "--seeds", "0", "1",
            *_sets(TINY)]
    assert main(args) == 0
    metrics = json.loads((out / "metrics.json").read_text())["comparison"]
    assert set(metrics) == {"clip", "clip:untrained", "mse", "mse:untrained"}
    assert metrics["clip"]["seeds"] == [0, 1] and len(metrics["mse"]["top1"]["values"]) == 2
    assert metrics["clip"]["top5"]["sd"] >= 0 and "chance_top5" in metrics["clip"]
    table = pd.read_csv(out / "table.csv")
    assert list(table["model"]) == list(metrics) and "top5_sd" in table.columns
    assert (out / "table.png").is_file() and (out / "report.html").is_file()
    assert (out / "mse" / "seed1" / "metrics.json").is_file()
    # resumable: a second call reads the finished jobs back (same numbers, nothing retrained)
    stamp = (out / "mse" / "seed1" / "metrics.json").stat().st_mtime_ns
    assert main(args) == 0
    assert (out / "mse" / "seed1" / "metrics.json").stat().st_mtime_ns == stamp
    assert json.loads((out / "metrics.json").read_text())["comparison"] == metrics


def test_seeds_without_a_seed_dependent_step_is_an_error(tmp_path, capsys):
    code = main(["run", str(RECIPES / "mne_sample_classification.yaml"), "--out",
                 str(tmp_path / "x"), "--seeds", "0", "1"])
    assert code == 2
    assert "has no seed-dependent step" in capsys.readouterr().err
    recipe = load_recipe(RECIPES / "mne_sample_classification.yaml")
    with pytest.raises(ConfigError, match=r"--seeds 0 1 given, but recipe .* no seed-dependent"):
        plan(RECIPES / "mne_sample_classification.yaml", recipe, [0, 1], tmp_path)


def test_a_bad_variant_is_named(tmp_path):
    recipe = tmp_path / "r.yaml"
    recipe.write_text((RECIPES / "demo.yaml").read_text().replace("name: demo", "name: r")
                      + "\n  compare:\n    bad: {loss.name: msee}\n")
    with pytest.raises(ConfigError, match="evaluation.compare variant 'bad': .*msee"):
        plan(recipe, load_recipe(recipe), None, tmp_path)


def test_submitit_local_executor_runs_the_jobs(tmp_path):
    pytest.importorskip("submitit")
    path = RECIPES / "demo.yaml"
    jobs = plan(path, load_recipe(path, TINY), [3], tmp_path / "out", TINY)
    metrics = run_comparison(path, jobs, tmp_path / "out", executor="slurm",
                             slurm=SlurmOptions(cluster="local", time_min=10))
    assert set(metrics["comparison"]) == {"demo", "demo:untrained"}
    assert (tmp_path / "out" / "demo" / "seed3" / "report.html").is_file()
    with pytest.raises(ConfigError, match="executor 'pbs' is not valid"):
        run_comparison(path, jobs, tmp_path / "out", executor="pbs")
