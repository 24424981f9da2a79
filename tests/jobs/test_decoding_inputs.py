"""The decoding job's typed inputs, built from the demo recipe (simulated data) by
``build.decoding_inputs``: streamed, split, scaled per recording, the factories sized."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import torch

import neurodecode.build as build
from neurodecode.config import load_recipe
from neurodecode.exceptions import ConfigError
from neurodecode.jobs.inputs import DecodingInputs
from neurodecode.losses import MSELoss

DEMO = Path(__file__).resolve().parents[2] / "recipes" / "demo.yaml"
TINY = ["data.simulation.n_subjects=2", "data.simulation.n_trials=4",
        "data.simulation.trial_duration=8.0", "features.params.n_mels=8",
        "model.params={n_virtual: 8, hidden: 8, depth: 1, fourier_freqs: 4}",
        "split.valid_size=0.25", "training.device=auto"]


def test_decoding_inputs_are_built_once_for_the_job(tmp_path):
    inputs = build.decoding_inputs(load_recipe(DEMO, TINY), tmp_path)
    assert isinstance(inputs, DecodingInputs)
    with pytest.raises(dataclasses.FrozenInstanceError):
        inputs.seed = 1  # type: ignore[misc]
    assert (tmp_path / "store").is_dir()  # the recordings preprocessed into the run's store
    blocks = {k: set(s.meta["block"]) for k, s in inputs.sets.items()}
    assert blocks["test"].isdisjoint(blocks["train"] | blocks["valid"])
    assert all(s.scalers is not None for s in inputs.sets.values())
    model = inputs.make_model()
    assert model.n_outputs == inputs.windows.n_features == 8
    assert set(inputs.baselines) == {"regression", "untrained"}
    assert isinstance(inputs.baselines["regression"], MSELoss)
    assert inputs.baselines["untrained"] is None
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert inputs.device == inputs.fit_kwargs["device"] == expected
    assert set(inputs.eval_kwargs) == {"ks", "pool_size", "n_bootstraps", "seed"}


def test_an_item_baseline_is_an_error_before_any_data_is_read(tmp_path):
    # reading this recipe's audio would fail (DataNotFoundError): the check comes first
    recipe = load_recipe(DEMO, [*TINY, "evaluation.baselines=[ridge]",
                                f"data.simulation.audio_root={tmp_path / 'absent'}"])
    with pytest.raises(ConfigError, match=r"evaluation.baselines has 'ridge'; the decoding "
                                          r"of timeline features has the baselines"):
        build.decoding_inputs(recipe, tmp_path)


def test_resolve_device():
    assert build.resolve_device("cpu") == "cpu" and build.resolve_device("cuda:1") == "cuda:1"
    assert build.resolve_device("auto") == ("cuda" if torch.cuda.is_available() else "cpu")
