"""The command line runs a recipe end to end and redraws a run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from neurodecode.cli import main
from neurodecode.exceptions import ConfigError

REPO = Path(__file__).resolve().parents[2]
TINY = ["data.simulation.n_subjects=2", "data.simulation.n_trials=4",
        "data.simulation.trial_duration=8.0", "features.params.n_mels=8", "training.epochs=2",
        "training.batch_size=16", "model.params.hidden=16", "model.params.depth=2",
        "model.params.n_virtual=16", "evaluation.n_bootstraps=20", "split.valid_size=0.25"]


def _overrides(items):
    return [arg for item in items for arg in ("--set", item)]


def test_run_demo_recipe_end_to_end(tmp_path, capsys):
    out = tmp_path / "run"
    code = main(["run", str(REPO / "recipes" / "demo.yaml"), "--out", str(out),
                 "--no-progress", *_overrides(TINY)])
    assert code == 0
    metrics = json.loads((out / "metrics.json").read_text())
    decoder = metrics  # the decoder's figures are top-level, baselines under "baselines"
    assert set(metrics["baselines"]["untrained"]) >= {"top1", "top10", "chance_top1"}
    assert "0" in metrics["per_subject"] and "1" in metrics["per_subject"]
    assert decoder["n_candidates"] == metrics["data"]["n_test_unique"] > 0
    assert 0 <= decoder["top1"] <= decoder["top5"] <= decoder["top10"] <= 1
    assert decoder["chance_top1"] == pytest.approx(1 / decoder["n_candidates"])
    assert "untrained" in metrics["baselines"]
    for name in ("config.yaml", "config.sha256", "history.csv", "retrieval.csv",
                 "report.html", "best.pt", "figures/retrieval_curve.png",
                 "figures/training_curves.png", "figures/spatial_attention.png"):
        assert (out / name).is_file(), name
    assert "report:" in capsys.readouterr().out
    assert main(["plot", str(out)]) == 0


def test_relative_run_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code = main(["run", str(REPO / "recipes" / "demo.yaml"), "--out", "runs/demo",
                 "--no-progress", *_overrides([*TINY, "evaluation.baselines=[]"])])
    assert code == 0
    assert (tmp_path / "runs" / "demo" / "report.html").is_file()
    assert main(["plot", "runs/demo"]) == 0
    other = ["run", str(REPO / "recipes" / "demo.yaml"), "--out", "runs/demo", "--no-progress",
             *_overrides([*TINY, "evaluation.baselines=[]", "seed=1"])]
    assert main(other) == 2  # another recipe: refused, the earlier run is kept
    assert (tmp_path / "runs" / "demo" / "best.pt").is_file()
    assert main([*other, "--overwrite"]) == 0


def test_cli_errors(tmp_path, capsys):
    from neurodecode.config import load_recipe
    from neurodecode.jobs.common import prepare_run_dir

    first = load_recipe(REPO / "recipes" / "demo.yaml")
    prepare_run_dir(tmp_path / "r", first)
    assert prepare_run_dir(tmp_path / "r", first) == tmp_path / "r"  # same recipe: resume
    other = load_recipe(REPO / "recipes" / "demo.yaml", ["seed=3"])
    prepare_run_dir(tmp_path / "r", other)  # nothing but a config yet: replaced
    (tmp_path / "r" / "last.pt").write_bytes(b"0")  # a run that started
    with pytest.raises(ConfigError, match="holds a run of another recipe; these keys differ: "
                                          "seed: 3 -> 0. .* --overwrite"):
        prepare_run_dir(tmp_path / "r", first)
    bad = tmp_path / "bad.yaml"
    bad.write_text("trainig: {}\n")
    assert main(["run", str(bad)]) == 2
    assert "unknown key 'trainig'; did you mean 'training'" in capsys.readouterr().err
    assert main(["plot", str(tmp_path / "nowhere")]) == 2
    assert "is not a directory" in capsys.readouterr().err
    assert main(["recipes"]) == 0
    assert "demo.yaml" in capsys.readouterr().out


def test_ctrl_c_stops_with_one_line_and_a_rerun_says_where_it_resumes(tmp_path, monkeypatch,
                                                                       capsys):
    import neurodecode.build

    out = tmp_path / "run"

    def interrupted(recipe, run_dir, **kwargs):
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / "metrics.jsonl").write_text('{"epoch": 1}\n{"epoch": 2}\n{"epoch": 3}\n')
        raise KeyboardInterrupt

    monkeypatch.setattr(neurodecode.build, "run_recipe", interrupted)
    args = ["run", str(REPO / "recipes" / "demo.yaml"), "--out", str(out), "--no-progress"]
    assert main(args) == 130
    assert capsys.readouterr().err.strip() == (
        "interrupted at epoch 3; rerun the same command to resume")
    monkeypatch.setattr(neurodecode.build, "run_recipe", lambda *a, **k: {"top1": 0.5})
    assert main(args) == 0
    assert f"resuming the run in {out} after epoch 3" in capsys.readouterr().err


def test_overwrite_of_a_folder_that_is_not_a_run_deletes_nothing(tmp_path, capsys):
    home = tmp_path / "home"
    home.mkdir()
    (home / "data.fif").write_bytes(b"precious")
    code = main(["run", str(REPO / "recipes" / "demo.yaml"), "--out", str(home), "--overwrite",
                 "--no-progress"])
    assert code == 2
    assert "is not a neurodecode run directory" in capsys.readouterr().err
    assert [p.name for p in home.iterdir()] == ["data.fif"]
    bad = tmp_path / "bad.yaml"
    bad.write_text("training: {epochs: 0}\n")  # an invalid recipe is refused first
    assert main(["run", str(bad), "--out", str(home), "--overwrite"]) == 2
    assert "training.epochs=0 is out of range" in capsys.readouterr().err
