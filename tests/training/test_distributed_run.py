"""``neurodecode run --nproc 2``: one model trained by two gloo processes (DDP, the
DistributedSampler, negatives gathered across processes, batch norm over the global batch),
evaluated and written by rank 0 alone, equal to one process with the same global batch."""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import pytest

from neurodecode.cli import main
from neurodecode.exceptions import ConfigError

REPO = Path(__file__).resolve().parents[2]


def _script(monkeypatch):
    monkeypatch.syspath_prepend(str(REPO / "benchmarks"))
    return importlib.import_module("torchrun_equivalence")


@pytest.mark.slow  # about 2 minutes on 2 loaded cores (two runs, one of two processes)
def test_two_gloo_processes_equal_one_with_the_same_global_batch(tmp_path, monkeypatch):
    script = _script(monkeypatch)
    one, _ = script.run_demo(tmp_path / "one", batch_size=16, nproc=1)
    two, _ = script.run_demo(tmp_path / "two", batch_size=8, nproc=2)
    assert one.count("run directory") == 1
    assert two.count("run directory") == 1  # rank 0 alone reports
    for folder in ("", "baseline_regression"):
        assert len(script.history(tmp_path / "two" / folder / "metrics.jsonl")) == 2
        assert script.loss_difference(tmp_path / "one", tmp_path / "two", folder) < 1e-4
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
