"""SLURM resources from the recipe's ``execution:`` section, overridden by ``--slurm-*``
options, reaching submitit (its local executor runs the jobs)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from neurodecode import executors
from neurodecode.cli import main
from neurodecode.config import ExecutionConfig, load_recipe
from neurodecode.exceptions import ConfigError
from neurodecode.executors import SlurmOptions, plan, run_comparison, slurm_options

from .test_executors import TINY

RECIPES = Path(__file__).resolve().parents[1] / "recipes"
RESOURCES = "\nexecution: {partition: gpu-long, gpus: 2, cpus: 6, time_min: 30, mem_gb: 48}\n"


def _recipe(tmp_path: Path) -> Path:
    path = tmp_path / "demo_slurm.yaml"
    path.write_text((RECIPES / "demo.yaml").read_text().replace("name: demo", "name: demo_slurm")
                    + RESOURCES)
    return path


def test_the_recipe_gives_the_resources_and_the_command_line_overrides_them(tmp_path, monkeypatch):
    seen = {}

    def fake_comparison(path, jobs, out, *, executor, slurm):
        seen.update(executor=executor, slurm=slurm)
        out.mkdir(exist_ok=True)
        (out / "table.csv").write_text("model\nx\n")  # what the command prints
        return {"comparison": {}}

    monkeypatch.setattr(executors, "run_comparison", fake_comparison)
    path = _recipe(tmp_path)
    base = ["run", str(path), "--out", str(tmp_path / "o"), "--seeds", "0", "--executor", "slurm"]
    assert main(base) == 0 and seen["executor"] == "slurm"
    assert seen["slurm"] == SlurmOptions(partition="gpu-long", gpus=2, time_min=30, cpus=6,
                                         mem_gb=48.0)
    main(base + ["--slurm-gpus", "4", "--slurm-time", "90", "--slurm-partition", "dev",
                 "--slurm-mem", "8", "--slurm-cpus", "2"])
    assert seen["slurm"] == SlurmOptions(partition="dev", gpus=4, time_min=90, cpus=2, mem_gb=8.0)
    main(base + ["--set", "execution.gpus=0"])  # a --set reaches the section too
    assert seen["slurm"].gpus == 0 and seen["slurm"].partition == "gpu-long"
    assert seen["slurm"].parameters() == {
        "timeout_min": 30, "cpus_per_task": 6, "mem_gb": 48.0, "slurm_partition": "gpu-long",
        "slurm_gpus_per_node": 0}
    # without a section: submitit's defaults but brainmagick-sized jobs (1 GPU, 1 day)
    assert SlurmOptions().parameters() == {"timeout_min": 1440, "cpus_per_task": 10,
                                           "slurm_gpus_per_node": 1}


def test_submitit_local_executor_gets_the_recipes_resources(tmp_path, monkeypatch):
    submitit = pytest.importorskip("submitit")
    given = []
    update = submitit.AutoExecutor.update_parameters

    def spy(self, **kwargs):
        given.append(kwargs)
        return update(self, **kwargs)

    monkeypatch.setattr(submitit.AutoExecutor, "update_parameters", spy)
    path = _recipe(tmp_path)
    recipe = load_recipe(path, TINY)
    jobs = plan(path, recipe, [1], tmp_path / "out", TINY)
    options = dataclasses.replace(slurm_options(recipe.execution, time_min=10), cluster="local")
    metrics = run_comparison(path, jobs, tmp_path / "out", executor="slurm", slurm=options)
    assert set(metrics["comparison"]) == {"demo_slurm", "demo_slurm:untrained"}
    assert given == [{"timeout_min": 10, "cpus_per_task": 6, "mem_gb": 48.0,
                      "slurm_partition": "gpu-long", "slurm_gpus_per_node": 2}]
    assert (tmp_path / "out" / "demo_slurm" / "seed1" / "report.html").is_file()


def test_changed_resources_keep_a_run_resumable(tmp_path):
    from neurodecode.rundir import recipe_changes

    old = load_recipe(_recipe(tmp_path)).to_dict()
    new = load_recipe(_recipe(tmp_path), ["execution.gpus=8", "execution.mem_gb=null"]).to_dict()
    resumable, blocking = recipe_changes(old, new)
    assert set(resumable) == {"execution.gpus", "execution.mem_gb"} and blocking == {}


@pytest.mark.parametrize(("override", "message"), [
    ("execution.gpus=-1", r"execution.gpus=-1 is out of range; expected >= 0"),
    ("execution.cpus=0", r"execution.cpus=0 is out of range; expected >= 1"),
    ("execution.time_min=0", r"execution.time_min=0 is out of range; expected >= 1 minute"),
    ("execution.mem_gb=0", r"execution.mem_gb=0.0 is out of range; expected > 0 GB"),
    ("execution.partion=x", r"unknown key 'execution.partion'; did you mean 'partition'\?"),
])
def test_bad_resources_are_refused_at_load(override, message):
    with pytest.raises(ConfigError, match=message):
        load_recipe(RECIPES / "demo.yaml", [override])


def test_slurm_options_names_an_unknown_override():
    with pytest.raises(ValueError, match=r"unknown overrides \['gpu'\]; expected some of "
                                         r"\['cpus', 'gpus', 'mem_gb', 'partition', 'time_min'\]"):
        slurm_options(ExecutionConfig(), gpu=2)
