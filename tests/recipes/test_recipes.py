"""Every recipe in recipes/ loads, builds and trains end to end (through the CLI) against a
tiny study in its dataset's layout."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from neurodecode.build import (
    build_decoding_segments,
    build_item_data,
    build_item_segments,
    build_loss,
    build_model,
    build_recordings,
)
from neurodecode.build import build_segments as load_segments
from neurodecode.cli import main
from neurodecode.config import TASKS, load_recipe
from neurodecode.exceptions import ConfigError
from neurodecode.io import studies
from neurodecode.jobs import JOBS

from . import _layouts

RECIPES = Path(__file__).resolve().parents[2] / "recipes"
ALL = sorted(p.name for p in RECIPES.glob("*.yaml"))
SPEECH = ["gwilliams2022", "brennan2019", "broderick2019", "schoffelen2019"]
IMAGES = ["things_meg", "things_eeg2"]
ANALYSES = [f"{d}_{t}" for d in ("haxby2001", "mne_sample")
            for t in ("classification", "rsa", "encoding")]


def test_every_dataset_and_task_has_a_recipe():
    expected = {f"{d}_decoding.yaml" for d in SPEECH + IMAGES + ["nsd"]}
    expected |= {f"{name}.yaml" for name in ANALYSES} | {"demo.yaml", "demo_images.yaml"}
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
    segments = build_decoding_segments(recordings, features, recipe)
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


def _build_items(name: str, overrides: list[str]):
    recipe = load_recipe(RECIPES / f"{name}_decoding.yaml", overrides)
    recordings, features = build_item_data(recipe)
    items = build_item_segments(recordings, features, recipe)
    model = build_model(recipe, n_channels=items.brain.shape[1],
                        n_outputs=items.targets.shape[1], n_subjects=len(items.subjects))
    return recipe, items, model, build_loss(recipe)


@pytest.mark.parametrize("name", IMAGES)
def test_image_recipe_builds(name, tmp_path, rng, tiny_clip):
    root = getattr(_layouts, name)(tmp_path / name, rng)
    recipe, items, model, loss = _build_items(name, [
        f"data.root={root}", f"data.stimulus_root={root}",
        f"features.params.model_path={tiny_clip}"])
    # 5 training images x 2, 2 test images x 2 (MEG) or x 3 (EEG2); catch trials dropped.
    assert len(items) == {"things_meg": 14, "things_eeg2": 16}[name]
    assert set(items.meta["kind"]) == {"image"}
    # Item targets are stored once per image (7 images), not once per window.
    assert items.targets.shape == (7, 16) and np.abs(items.targets).sum() > 0
    assert items.brain.ndim == 3 and type(model).__name__ == "ConvEncoderTimeAgg"
    assert recipe.split.test_conditions == ("test",) and loss.kind in ("infonce", "brainmagick")
    out = model(torch.as_tensor(items.brain[:2]), torch.zeros(2, dtype=torch.long),
                torch.as_tensor(items.pos_2d, dtype=torch.float32))
    assert out.shape == (2, 16)


def test_nsd_recipe_builds(tmp_path, rng, tiny_clip):
    root = _layouts.nsd(tmp_path / "nsd", rng)
    recipe, items, model, loss = _build_items("nsd", [
        f"data.root={root}", f"data.stimulus_root={root}",
        f"features.params.model_path={tiny_clip}"])
    assert len(items) == 8 and set(items.meta["kind"]) == {"image"}
    assert items.brain.shape == (8, 18) and items.rank == "patterns"  # one TR, reduced
    assert items.targets.shape == (7, 16)  # 73KID 5 is shown twice: one target
    # Trials 0 and 2 show the same image (73KID 5): same item; others differ.
    assert items.item[0] == items.item[2] != items.item[1]
    assert (items.meta["condition"] == "shared").sum() == 2  # 73KIDs 1 and 2 (sharedix)
    out = model(torch.zeros(2, 18), torch.zeros(2, dtype=torch.long))
    assert out.shape == (2, 16) and loss.kind == "infonce"


# 3 blocks (by block/run/story) or 6 words (schoffelen2019, by sentence) in the layouts
_TINY_SPLIT = {d: ["split.test_size=0.34", "split.valid_size=0.34"] for d in SPEECH}
_TINY_SPLIT["schoffelen2019"] = ["split.test_size=0.25", "split.valid_size=0.25"]
# the tiny layouts' sentences are shorter than a window: train on word onsets, split by
# block (sentence blocks and stride windows are exercised by benchmarks/decode_study_like.py
# and tests/align/test_dataset.py)
_TINY_SPLIT = {d: v + ["segments.train_on=null", "segments.train_stride=null",
                       "split.by=story" if d == "schoffelen2019" else "split.by=block"]
               for d, v in _TINY_SPLIT.items()}
TINY_CONV = "model.params={n_virtual: 8, hidden: 8, depth: 1, fourier_freqs: 4}"
QUICK = ["training.epochs=1", "training.batch_size=4", "evaluation.n_bootstraps=10"]


def _cli_overrides(name: str, root: Path | None, wav2vec2: Path, clip: Path) -> list[str]:
    """Overrides that make a recipe train in seconds on its tiny layout."""
    dataset = name.rsplit("_", 1)[0]
    if name == "demo":
        return QUICK + [TINY_CONV, "data.simulation.n_subjects=2", "data.simulation.n_trials=4",
                        "data.simulation.trial_duration=8.0", "evaluation.ks=[1, 5]"]
    if name == "demo_images":
        return QUICK + [TINY_CONV, "data.simulation.n_subjects=2", "data.simulation.n_images=12",
                        "data.simulation.image_root=null", "data.simulation.n_test_images=3",
                        "data.simulation.n_repetitions=2", "data.simulation.n_test_repetitions=2",
                        "evaluation.ks=[1]"]
    base = [f"data.root={root}"]
    if dataset in SPEECH:
        return base + QUICK + [TINY_CONV, f"data.stimulus_root={root}",
                               "training.batches_per_epoch=2",  # the recipes' 1,200: minutes
                               f"features.params.model_path={wav2vec2}",
                               "features.params.layers=[1, 2]", "evaluation.ks=[1]",
                               *_TINY_SPLIT[dataset]]
    if dataset in IMAGES + ["nsd"]:
        model = "model.params={hidden: 16, depth: 1}" if dataset == "nsd" else TINY_CONV
        return base + QUICK + [model, f"data.stimulus_root={root}",
                               f"features.params.model_path={clip}", "evaluation.ks=[1]",
                               "evaluation.pool_size=null"]
    if name == "mne_sample_rsa":  # 4 magnetometers: MNE's Neuromag adjacency needs all 102
        return base + ["analysis.searchlight_radius=0.1"]
    return base


def _layout(name: str, tmp_path: Path, rng) -> Path | None:
    dataset = name.rsplit("_", 1)[0]
    if dataset == "demo" or name == "demo_images":
        return None
    if dataset == "haxby2001":
        return _layouts.haxby2001(tmp_path / dataset, rng, tmp_path)
    return getattr(_layouts, dataset)(tmp_path / dataset, rng)


@pytest.mark.parametrize("name", [n.removesuffix(".yaml") for n in ALL])
def test_every_recipe_trains_through_the_cli(name, tmp_path, rng, tiny_wav2vec2, tiny_clip):
    root = _layout(name, tmp_path, rng)
    out = tmp_path / "run"
    overrides = _cli_overrides(name, root, tiny_wav2vec2, tiny_clip)
    code = main(["run", str(RECIPES / f"{name}.yaml"), "--out", str(out), "--no-progress",
                 *[a for o in overrides for a in ("--set", o)]])
    assert code == 0
    assert (out / "report.html").is_file() and (out / "metrics.json").is_file()
    if load_recipe(RECIPES / f"{name}.yaml").task == "decoding":
        assert (out / "history.csv").is_file() and (out / "retrieval.csv").is_file()


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
    from neurodecode.build import classification_inputs, encoding_inputs
    from neurodecode.exceptions import ConfigError

    root = _layouts.mne_sample(tmp_path / "s", rng)
    base = [f"data.root={root}"]
    present = "analysis.conditions=[auditory/left, auditory/right, visual/left]"  # no vis/right
    recipe = load_recipe(RECIPES / "mne_sample_classification.yaml",
                         base + [present, "analysis.cv_by=run"])
    with pytest.raises(ConfigError, match="analysis.cv_by='run' is not a segment column"):
        classification_inputs(recipe)  # before any fitting
    recipe = load_recipe(RECIPES / "mne_sample_rsa.yaml", base + ["analysis.conditions=[smiley]",
                                                                 "segments.on=[smiley]"])
    with pytest.raises(ConfigError, match="does not map condition\\(s\\) \\['smiley'\\]"):
        load_segments(recipe)  # issue 15: checked before any fitting
    recipe = load_recipe(RECIPES / "mne_sample_rsa.yaml", base + [
        "analysis.conditions=[smiley]", "segments.on=[smiley]", "analysis.categories={}"])
    with pytest.raises(ConfigError, match="12 sample\\(s\\) of 1 class"):  # one class: an
        load_segments(recipe)  # error before fitting (it gave an RDM of one condition)
    recipe = load_recipe(RECIPES / "mne_sample_rsa.yaml", base + ["analysis.conditions=[nope]"])
    with pytest.raises(ConfigError, match="analysis.conditions \\['nope'\\]: \\['nope'\\] match no "
                                          "window"):
        load_segments(recipe)
    recipe = load_recipe(RECIPES / "mne_sample_encoding.yaml", base + ["analysis.conditions=[x]"])
    with pytest.raises(ConfigError, match="analysis.conditions \\['x'\\] are not in the events"):
        encoding_inputs(recipe)


def _image_recipe(name: str, root: Path, clip: Path, *extra: str):
    return load_recipe(RECIPES / f"{name}.yaml", _cli_overrides(name, root, clip, clip) + list(extra))


def test_item_feature_with_a_time_resolved_encoder_fails_before_reading(tmp_path, tiny_clip):
    from neurodecode.build import run_recipe

    recipe = _image_recipe("things_eeg2_decoding", tmp_path / "absent", tiny_clip,
                           "model.name=conv_encoder")
    with pytest.raises(ConfigError, match=r"feature 'clip_vision' is an item feature .* encoder "
                       r"'conv_encoder' outputs \(n_features, n_times\); set model.name"):
        run_recipe(recipe, tmp_path / "run")


def test_timeline_feature_with_an_item_encoder_fails(tmp_path):
    from neurodecode.build import run_recipe

    recipe = load_recipe(RECIPES / "demo.yaml", ["model.name=conv_time_agg"])
    with pytest.raises(ConfigError, match=r"feature 'mel' is a timeline feature .* encoder "
                       r"'conv_time_agg' outputs \(n_features,\); set model.name to a "
                       "time-resolved encoder"):
        run_recipe(recipe, tmp_path / "run")


def test_unreadable_image_stimuli_are_named(tmp_path, rng, tiny_clip):
    from neurodecode.build import run_recipe
    from neurodecode.exceptions import DataNotFoundError

    root = _layouts.things_eeg2(tmp_path / "eeg2", rng)
    (root / "image_set" / "test_images" / "bee" / "bee_02.jpg").unlink()
    with pytest.raises(DataNotFoundError, match=r"bee_02.jpg' \(and 0 more\) is referenced by an "
                       "event but absent from the stimulus folder"):
        run_recipe(_image_recipe("things_eeg2_decoding", root, tiny_clip), tmp_path / "run")
    nsd = _layouts.nsd(tmp_path / "nsd", rng)
    responses = nsd / "nsddata/ppdata/subj01/behav/responses.tsv"
    table = pd.read_csv(responses, sep="\t")
    table.loc[1, "73KID"] = 70001  # beyond the 70,000 images of the fake imgBrick
    table.to_csv(responses, sep="\t", index=False)
    with pytest.raises(IndexError, match="image index 70000 is out of range for dataset "
                       "'/imgBrick'"):
        run_recipe(_image_recipe("nsd_decoding", nsd, tiny_clip), tmp_path / "run_nsd")


def test_nsd_test_split_is_the_shared_images_and_scores_both_directions(tmp_path, rng, tiny_clip):
    import json

    root = _layouts.nsd(tmp_path / "nsd", rng)
    out = tmp_path / "run"
    overrides = _cli_overrides("nsd_decoding", root, tiny_clip, tiny_clip)
    assert main(["run", str(RECIPES / "nsd_decoding.yaml"), "--out", str(out), "--no-progress",
                 *[a for o in overrides for a in ("--set", o)]]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["data"]["n_test_items"] == 2 and metrics["data"]["rank"] == "patterns"
    assert metrics["brain_to_image"]["n_candidates"] == 2
    assert set(metrics["image_to_brain"]) == {"01"} and "ridge" in metrics["baselines"]


def test_demo_images_needs_room_for_test_images(tmp_path):
    from neurodecode.build import run_recipe

    recipe = load_recipe(RECIPES / "demo_images.yaml", [
        "data.simulation.image_root=null", "data.simulation.n_images=5",
        "data.simulation.n_test_images=4"])
    with pytest.raises(ConfigError, match=r"data.simulation.n_test_images=4 must be between 2 "
                       r"and 3 \(n_images - 2\) for 5 images"):
        run_recipe(recipe, tmp_path / "run")
