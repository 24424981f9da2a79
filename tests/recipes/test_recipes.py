"""Every recipe in recipes/ loads and builds against a tiny study in its dataset's layout."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from neurodecode.build import build_loss, build_model, build_recordings
from neurodecode.config import TASKS, load_recipe
from neurodecode.io import studies
from neurodecode.jobs import JOBS
from neurodecode.jobs.classification import load_segments
from neurodecode.jobs.decoding import _segment

from . import _layouts

RECIPES = Path(__file__).resolve().parents[2] / "recipes"
ALL = sorted(p.name for p in RECIPES.glob("*.yaml"))
SPEECH = ["gwilliams2022", "brennan2019", "broderick2019", "schoffelen2019"]
IMAGES = ["things_meg", "things_eeg2"]
ANALYSES = [f"{d}_{t}" for d in ("haxby2001", "mne_sample")
            for t in ("classification", "rsa", "encoding")]


def test_every_dataset_and_task_has_a_recipe():
    expected = {f"{d}_decoding.yaml" for d in SPEECH + IMAGES + ["nsd"]}
    expected |= {f"{name}.yaml" for name in ANALYSES} | {"demo.yaml"}
    assert expected == set(ALL)


@pytest.mark.parametrize("name", ALL)
def test_recipe_loads_with_a_header_and_a_known_study(name):
    recipe = load_recipe(RECIPES / name)
    assert recipe.task in TASKS and recipe.task in JOBS
    assert recipe.name == name.removesuffix(".yaml")
    assert (RECIPES / name).read_text().startswith("#")  # cites the settings' source
    if recipe.data.source == "study":
        assert recipe.data.study in studies.STUDIES
        assert recipe.data.root == f"~/data/{recipe.data.study}"


@pytest.fixture(scope="module")
def tiny_wav2vec2(tmp_path_factory):
    from transformers import Wav2Vec2Config, Wav2Vec2Model

    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("w2v") / "wav2vec2"
    config = Wav2Vec2Config(hidden_size=16, num_hidden_layers=3, num_attention_heads=2,
                            intermediate_size=32, conv_dim=(16,) * 7,
                            conv_stride=(5, 2, 2, 2, 2, 2, 2), conv_kernel=(10, 3, 3, 3, 3, 2, 2),
                            num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=2,
                            vocab_size=10)
    Wav2Vec2Model(config).save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def tiny_clip(tmp_path_factory):
    from transformers import CLIPConfig, CLIPModel

    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("clip") / "clip"
    small = {"hidden_size": 16, "num_hidden_layers": 2, "num_attention_heads": 2,
             "intermediate_size": 32, "image_size": 32, "patch_size": 8}
    CLIPModel(CLIPConfig(vision_config=small, text_config={**small, "vocab_size": 50},
                         projection_dim=8)).save_pretrained(path)
    return path


def _build_decoding(name: str, overrides: list[str]):
    recipe = load_recipe(RECIPES / f"{name}_decoding.yaml", overrides)
    recordings, features = build_recordings(recipe)
    segments = _segment(recordings, features, recipe)
    n_out = segments.stimulus.shape[1]
    model = build_model(recipe, n_channels=len(segments.ch_names), n_outputs=n_out,
                        n_subjects=len(segments.subjects))
    return recipe, segments, model, build_loss(recipe)


@pytest.mark.parametrize("name", SPEECH)
def test_speech_recipe_builds(name, tmp_path, rng, tiny_wav2vec2):
    root = getattr(_layouts, name)(tmp_path / name, rng)
    recipe, segments, model, loss = _build_decoding(name, [
        f"data.root={root}", f"data.stimulus_root={root}",
        f"features.params.model_path={tiny_wav2vec2}", "features.params.layers=[1, 2]"])
    assert recipe.segments.tmin == -0.5 and recipe.segments.tmax == 2.5
    assert segments.sfreq == 120.0 and segments.brain.shape[2] == 360
    assert (segments.meta["kind"] == "word").all() and len(segments) >= 2
    assert np.abs(segments.stimulus).sum() > 0  # wav2vec2 features placed on the clock
    assert model.n_outputs == 16 and sum(p.numel() for p in model.parameters()) > 1e6
    assert type(loss).__name__ == "ClipLoss" and recipe.training.lr == 3e-4
    assert recipe.training.batch_size == 256 and recipe.scaling.clamp == 20.0


@pytest.mark.parametrize("name", IMAGES)
def test_image_recipe_builds(name, tmp_path, rng, tiny_clip):
    root = getattr(_layouts, name)(tmp_path / name, rng)
    recipe, segments, model, loss = _build_decoding(name, [
        f"data.root={root}", f"data.stimulus_root={root}",
        f"features.params.model_path={tiny_clip}"])
    assert len(segments) == 2 and set(segments.meta["kind"]) == {"image"}
    assert segments.stimulus.shape[1] == 16 and np.abs(segments.stimulus).sum() > 0
    assert model.pool_time and type(loss).__name__ == "ClipLoss"


def test_nsd_recipe_builds(tmp_path, rng, tiny_clip):
    root = _layouts.nsd(tmp_path / "nsd", rng)
    recipe, segments, model, loss = _build_decoding("nsd", [
        f"data.root={root}", f"data.stimulus_root={root}",
        f"features.params.model_path={tiny_clip}"])
    assert len(segments) == 8 and set(segments.meta["kind"]) == {"image"}
    assert segments.brain.shape[1] == len(segments.ch_names) == 18
    stim = segments.stimulus.reshape(len(segments), 16, -1)[..., 0]
    assert np.abs(stim).sum() > 0 and stim.shape == (8, 16)
    # Trials 0 and 2 show the same image (73KID 5): same CLIP embedding; others differ.
    np.testing.assert_allclose(stim[0], stim[2], rtol=1e-5)
    assert not np.allclose(stim[0], stim[1])
    out = model(torch.zeros(2, len(segments.ch_names)), torch.zeros(2, dtype=torch.long))
    assert out.shape == (2, 16) and loss.kind == "infonce"


@pytest.mark.parametrize("name", ANALYSES)
def test_analysis_recipe_builds(name, tmp_path, rng):
    study = name.rsplit("_", 1)[0]
    root = tmp_path / study
    overrides = [f"data.root={root}"]
    if study == "haxby2001":
        _layouts.haxby2001(root, rng, tmp_path)
        # the tiny layout holds face and house blocks only; naming the 8 categories of the
        # recipe is an error now (issue 15: no silent subsetting)
        overrides.append("analysis.conditions=[face, house]")
    else:
        _layouts.mne_sample(root, rng)  # no visual/right trial
        overrides.append("analysis.conditions=[auditory/left, auditory/right, visual/left]")
    recipe = load_recipe(RECIPES / f"{name}.yaml", overrides)
    recordings, features = build_recordings(recipe)
    assert features is None and len(recordings) == 1
    if recipe.task != "encoding":
        segments, _ = load_segments(recipe)
        assert set(segments.meta["condition"]) <= set(recipe.analysis.conditions)
        assert len(segments) > 0


def test_analysis_jobs_name_bad_settings(tmp_path, rng):
    from neurodecode.exceptions import ConfigError
    from neurodecode.jobs.classification import run_classification
    from neurodecode.jobs.encoding import run_encoding

    root = _layouts.mne_sample(tmp_path / "s", rng)
    base = [f"data.root={root}"]
    present = "analysis.conditions=[auditory/left, auditory/right, visual/left]"  # no vis/right
    recipe = load_recipe(RECIPES / "mne_sample_classification.yaml",
                         base + [present, "analysis.cv_by=run"])
    with pytest.raises(ConfigError, match="analysis.cv_by='run' is not a segment column"):
        run_classification(recipe, tmp_path / "c", progress=False)
    recipe = load_recipe(RECIPES / "mne_sample_rsa.yaml", base + ["analysis.conditions=[smiley]",
                                                                 "segments.on=[smiley]"])
    with pytest.raises(ConfigError, match="does not map condition\\(s\\) \\['smiley'\\]"):
        load_segments(recipe)  # issue 15: checked before any fitting
    recipe = load_recipe(RECIPES / "mne_sample_rsa.yaml", base + [
        "analysis.conditions=[smiley]", "segments.on=[smiley]", "analysis.categories={}"])
    with pytest.raises(ConfigError, match="1 sample\\(s\\) of 1 class"):  # one class: an
        load_segments(recipe)  # error before fitting (it gave an RDM of one condition)
    recipe = load_recipe(RECIPES / "mne_sample_rsa.yaml", base + ["analysis.conditions=[nope]"])
    with pytest.raises(ConfigError, match="analysis.conditions \\['nope'\\]: \\['nope'\\] match no "
                                          "window"):
        load_segments(recipe)
    recipe = load_recipe(RECIPES / "mne_sample_encoding.yaml", base + ["analysis.conditions=[x]"])
    with pytest.raises(ConfigError, match="analysis.conditions \\['x'\\] are not in the events"):
        run_encoding(recipe, tmp_path / "e", progress=False)
