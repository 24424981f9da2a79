"""The recipe reference (``recipes/README.md``) is generated from the config dataclasses
and kept current; the config reads its defaults from the library signatures."""

from __future__ import annotations

import dataclasses
import inspect
import subprocess
import sys
from pathlib import Path

import pytest

from neurodecode import config
from neurodecode._reference import field_comments, reference, undocumented
from neurodecode.config import Recipe

README = Path(__file__).resolve().parents[1] / "recipes" / "README.md"


def test_recipes_readme_is_the_generated_reference():
    assert README.read_text() == reference(Recipe), (
        "recipes/README.md is stale: run `python -m neurodecode.config --reference > "
        "recipes/README.md`")


def test_every_key_is_documented():
    assert undocumented(Recipe) == []


def test_reference_lists_every_key_with_its_default():
    text = reference(Recipe)
    for f in dataclasses.fields(config.TrainingConfig):
        assert f"| `training.{f.name}` |" in text
    assert "| `segments.baseline` | `tuple[float \\| None, float] \\| None` | `[null, 0.0]` |" in text
    assert field_comments(config.AnalysisConfig)["n_folds"].startswith("stratified folds")


def test_the_cli_prints_the_reference():
    out = subprocess.run([sys.executable, "-m", "neurodecode.config", "--reference"],
                         capture_output=True, text=True, check=True).stdout
    assert out == reference(Recipe)
    bad = subprocess.run([sys.executable, "-m", "neurodecode.config"], capture_output=True,
                         text=True)
    assert bad.returncode != 0 and "usage: python -m neurodecode.config --reference" in bad.stderr


@pytest.mark.parametrize(("section", "callable_path", "names"), [
    ("TrainingConfig", "neurodecode.training.loop:fit",
     ["epochs", "batch_size", "lr", "weight_decay", "optimizer", "patience", "device",
      "num_workers", "amp", "deterministic"]),
    ("SegmentsConfig", "neurodecode.align.segments:make_segments",
     ["stride", "sfreq", "baseline", "delay", "max_pad"]),
    ("SplitConfig", "neurodecode.align.splits:split_segments",
     ["by", "test_size", "valid_size", "allow_shared_stimuli"]),
    ("ScalingConfig", "neurodecode.align.scaling:SegmentScaler", ["method", "clamp"]),
    ("EvaluationConfig", "neurodecode.evaluation.retrieval:compute_topk_accuracy",
     ["ks", "pool_size", "n_bootstraps"]),
])
def test_config_defaults_are_the_library_defaults(section, callable_path, names):
    import importlib

    module, name = callable_path.split(":")
    signature = inspect.signature(getattr(importlib.import_module(module), name))
    defaults = {f.name: f.default for f in dataclasses.fields(getattr(config, section))}
    for key in names:
        assert defaults[key] == signature.parameters[key].default, key
