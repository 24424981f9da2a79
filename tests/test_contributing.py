"""CONTRIBUTING.md's four recipes, each done here and run through the public API: a
dataset (a study class in ``STUDIES``), a feature (a class in ``FEATURES``), an RSA
comparison method (a ``Method`` record in ``METHODS``) and an encoder (a ``BrainEncoder``
subclass in ``MODELS``). Each touches the registry the design names and nothing else.

Data: the tiny MNE sample layout of ``tests/recipes/_layouts.py`` (the fetched
``mne_sample`` layout, MNE's ``sample_audvis_raw.fif`` and ``-eve.fif`` names) and the
built-in simulated speech.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

from neurodecode.build import (
    build_feature,
    build_model,
    check_recipe_contract,
    classification_inputs,
)
from neurodecode.config import load_recipe
from neurodecode.decoding import cross_validate, window_features
from neurodecode.exceptions import ConfigError
from neurodecode.features import FEATURES, Feature, get_feature
from neurodecode.features.audio import compute_envelope
from neurodecode.io.studies import STUDIES, get_study
from neurodecode.io.studies.mne_sample import MneSample
from neurodecode.models import MODELS
from neurodecode.models.base import BrainEncoder
from neurodecode.rsa import compare_rdms, compute_rdm, noise_ceiling
from neurodecode.rsa.methods import METHODS, Method, identity, pool_unit_rms

from .recipes import _layouts

RECIPES = Path(__file__).resolve().parents[1] / "recipes"


# -- 1. a dataset ------------------------------------------------------------------------
class TinySample(MneSample):
    """A study in the MNE sample layout under its own name (a real study also writes
    ``remote``, ``layout``, ``subjects`` and ``read`` and a data card in datasets/)."""

    name = "tiny_sample"


def test_a_new_dataset_is_one_study_class_registered(tmp_path, rng, monkeypatch):
    root = _layouts.mne_sample(tmp_path / "tiny_sample", rng)
    overrides = [f"data.root={root}", "data.study=tiny_sample", "analysis.categories={}",
                 "analysis.conditions=[auditory/left, visual/left]"]
    with pytest.raises(ConfigError, match="tiny_sample"):  # unknown before registration
        load_recipe(RECIPES / "mne_sample_classification.yaml", overrides)
    monkeypatch.setitem(STUDIES, "tiny_sample", TinySample)
    assert isinstance(get_study("tiny_sample"), TinySample)
    recipe = load_recipe(RECIPES / "mne_sample_classification.yaml", overrides)
    inputs = classification_inputs(recipe)
    result = cross_validate(window_features(inputs.segments.brain, "meeg"), inputs.labels,
                            inputs.groups)
    assert result["accuracy"] > 0.8  # auditory vs visual is planted in the layout


# -- 2. a feature ------------------------------------------------------------------------
class Loudness(Feature):
    """Squared amplitude envelope, 1 feature on the brain's clock."""

    name = "loudness"
    modality = "audio"
    takes_sfreq = True
    kind = "timeline"
    dimension = 1

    def __init__(self, sfreq: float = 100.0):
        self.sfreq = sfreq

    def _compute_one(self, stimulus: Any, **kwargs: Any) -> np.ndarray:
        wav, sr = stimulus
        return compute_envelope(np.asarray(wav), sr, out_sfreq=self.sfreq) ** 2


def test_a_new_feature_is_one_class_in_features(monkeypatch):
    monkeypatch.setitem(FEATURES, "loudness", Loudness)
    recipe = load_recipe(RECIPES / "demo.yaml", ["features.name=loudness", "features.params={}"])
    feature = build_feature(recipe, sfreq=120.0)  # takes_sfreq: the brain's rate is passed
    assert isinstance(feature, Loudness) and feature.sfreq == 120.0
    wav = np.sin(2 * np.pi * 5 * np.arange(16000) / 16000.0)
    (values,) = get_feature("loudness", sfreq=50.0).compute([(wav, 16000)])
    assert values.shape[0] == 1 and abs(values.shape[-1] - 50) <= 1


# -- 3. an RSA comparison method ---------------------------------------------------------
def test_a_new_rsa_method_is_one_record(monkeypatch):
    monkeypatch.setitem(METHODS, "my_cosine", Method("cosine", identity, pool_unit_rms))
    rng = np.random.default_rng(0)
    rdms = np.stack([compute_rdm(rng.standard_normal((6, 8)), "euclidean") for _ in range(4)])
    same = np.ravel(compare_rdms(rdms[:1], rdms[:1], "my_cosine"))[0]
    assert same == pytest.approx(1.0)
    assert np.allclose(compare_rdms(rdms, rdms, "my_cosine"), compare_rdms(rdms, rdms, "cosine"))
    ceiling = noise_ceiling(rdms, method="my_cosine")  # its pooling rule gives a ceiling
    assert ceiling is not None
    recipe = load_recipe(RECIPES / "mne_sample_rsa.yaml", ["analysis.method=my_cosine"])
    assert recipe.analysis.method == "my_cosine"


# -- 4. an encoder -----------------------------------------------------------------------
class PointwiseEncoder(BrainEncoder):
    """A per-subject 1x1 convolution from channels to features (timeline output)."""

    input_rank = "windows"
    output_rank = "timeline"
    size_argument = "n_channels_in"

    def __init__(self, n_channels_in: int, n_outputs: int, n_subjects: int, *,
                 hidden: int = 16):
        super().__init__()
        self.subject = nn.Embedding(n_subjects, n_channels_in)
        self.net = nn.Sequential(nn.Conv1d(n_channels_in, hidden, 1), nn.GELU(),
                                 nn.Conv1d(hidden, n_outputs, 1))

    def forward(self, x: torch.Tensor, subject: torch.Tensor,
                positions: torch.Tensor | None = None) -> torch.Tensor:
        return self.net(x * self.subject(subject)[:, :, None])


def test_a_new_encoder_is_one_brain_encoder_in_models(monkeypatch):
    monkeypatch.setitem(MODELS, "pointwise", PointwiseEncoder)
    recipe = load_recipe(RECIPES / "demo.yaml", ["model.name=pointwise",
                                                 "model.params={hidden: 8}"])
    check_recipe_contract(recipe)  # timeline feature, timeline encoder
    model = build_model(recipe, n_channels=208, n_outputs=40, n_subjects=4)
    out = model(torch.zeros(2, 208, 360), torch.tensor([0, 3]))
    assert isinstance(model, PointwiseEncoder) and out.shape == (2, 40, 360)
