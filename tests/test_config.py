"""Recipes: validation, overrides, nearest-key hints, hashing."""

from __future__ import annotations

from pathlib import Path

import pytest

from neurodecode.config import load_recipe, recipe_from_dict
from neurodecode.exceptions import ConfigError

REPO = Path(__file__).resolve().parents[1]


def _write(tmp_path, text):
    path = tmp_path / "r.yaml"
    path.write_text(text)
    return path


def test_demo_recipe_loads_and_overrides():
    recipe = load_recipe(REPO / "recipes" / "demo.yaml", ["training.epochs=2",
                                                          "data.simulation.n_subjects=3"])
    assert recipe.task == "decoding" and recipe.training.epochs == 2
    assert recipe.data.simulation.n_subjects == 3
    assert recipe.segments.on == "sound"  # a bare `on:` key is YAML's boolean; mapped back
    assert recipe_from_dict(recipe.to_dict()) == recipe
    assert recipe.digest() == recipe_from_dict(recipe.to_dict()).digest()
    assert recipe.digest() != load_recipe(REPO / "recipes" / "demo.yaml").digest()


def test_unknown_key_names_file_key_and_nearest(tmp_path):
    path = _write(tmp_path, "training:\n  epochz: 3\n")
    with pytest.raises(ConfigError, match=r"r.yaml: unknown key 'training.epochz'; did you mean "
                                          r"'epochs'\?"):
        load_recipe(path)


def test_type_and_choice_errors(tmp_path):
    with pytest.raises(ConfigError, match="training.epochs must be int; got 'many'"):
        load_recipe(_write(tmp_path, "training: {epochs: many}\n"))
    with pytest.raises(ConfigError, match="task='decodng' is not valid.*Did you mean 'decoding'"):
        load_recipe(_write(tmp_path, "task: decodng\n"))
    with pytest.raises(ConfigError, match="segments.tmin .* must be < segments.tmax"):
        load_recipe(_write(tmp_path, "segments: {tmin: 1.0, tmax: 0.5}\n"))
    with pytest.raises(ConfigError, match="section 'training' must be a mapping"):
        load_recipe(_write(tmp_path, "training: 3\n"))
    with pytest.raises(ConfigError, match="must look like key.sub=value"):
        load_recipe(_write(tmp_path, "task: decoding\n"), ["training.epochs"])
    with pytest.raises(ConfigError, match="does not exist"):
        load_recipe(tmp_path / "missing.yaml")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_recipe(_write(tmp_path, "task: [unclosed\n"))
    with pytest.raises(ConfigError, match="must hold a mapping"):
        load_recipe(_write(tmp_path, "- a\n- b\n"))
    with pytest.raises(ConfigError, match="evaluation.ks must be a list"):
        load_recipe(_write(tmp_path, "evaluation: {ks: 5}\n"))
    with pytest.raises(ConfigError, match=r"evaluation.baselines has 'regresion'; expected some "
                       r"of \['regression', 'untrained', 'ridge'\]. Did you mean 'regression'\?"):
        load_recipe(_write(tmp_path, "evaluation: {baselines: [regresion]}\n"))
    with pytest.raises(ConfigError, match=r"found the key 'training' twice \(first at line 1\)"):
        load_recipe(_write(tmp_path, "training: {epochs: 5}\ntask: decoding\ntraining: {lr: 0.1}\n"))


def test_floats_written_without_a_dot(tmp_path):
    """YAML 1.1 reads 3e-4 as text; a float field takes it as the number it means."""
    recipe = load_recipe(_write(tmp_path, "training: {lr: 3e-4}\n"), ["training.weight_decay=1E-2"])
    assert recipe.training.lr == 3e-4 and recipe.training.weight_decay == 1e-2
    with pytest.raises(ConfigError, match="training.lr must be float; got 'fast'"):
        load_recipe(_write(tmp_path, "training: {lr: fast}\n"))


def _bomb(depth: int) -> str:
    """The audit's alias bomb ("billion laughs"): each level refers 9 times to the last."""
    lines = ['a0: &a0 ["x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    for k in range(1, depth):
        refs = ", ".join([f"*a{k - 1}"] * 9)
        lines.append(f"a{k}: &a{k} [{refs}]")
    return "name: bomb\n" + "\n".join(lines) + f"\ndescription: *a{depth - 1}\n"


def test_alias_bomb_empty_file_and_directory_are_refused_fast(tmp_path):
    import time

    bomb = _write(tmp_path, _bomb(9))
    assert len(bomb.read_bytes()) < 800
    start = time.perf_counter()
    with pytest.raises(ConfigError, match=r"YAML aliases expand to more than 500 nodes \(an "
                                          r"alias bomb\?\); write the values out"):
        load_recipe(bomb)
    assert time.perf_counter() - start < 1.0
    few = "name: ok\nsplit: &s {by: block, test_size: 0.25}\ndescription: fine\n"
    assert load_recipe(_write(tmp_path, few)).split.test_size == 0.25
    with pytest.raises(ConfigError, match=r"recipe '.*r.yaml' is empty; expected a YAML mapping"):
        load_recipe(_write(tmp_path, "\n  \n"))
    with pytest.raises(ConfigError, match="holds no YAML document"):
        load_recipe(_write(tmp_path, "# only a comment\n"))
    with pytest.raises(ConfigError, match=r"recipe '.*' is a directory; expected a YAML recipe "
                                          r"file"):
        load_recipe(tmp_path)


@pytest.mark.parametrize(("override", "message"), [
    ("training.epochs=0", r"training.epochs=0 is out of range; expected >= 1"),
    ("training.epochs=-3", r"training.epochs=-3 is out of range; expected >= 1"),
    ("training.batch_size=0", r"training.batch_size=0 is out of range; expected >= 1"),
    ("training.lr=0", r"training.lr=0.0 is out of range; expected > 0"),
    ("split.test_size=2", r"split.test_size=2.0 is out of range; expected a fraction in \(0, 1\)"),
    ("split.valid_size=0.8", r"split.test_size \+ split.valid_size = 1.05 leaves no training"),
    ("segments.sfreq=-120", r"segments.sfreq=-120.0 is out of range; expected > 0 Hz"),
    ("evaluation.ks=[1,0]", r"evaluation.ks=\(1, 0\) is out of range; expected each >= 1"),
    ("data.simulation.n_subjects=0", r"data.simulation.n_subjects=0 is out of range"),
    ("seed=-1", r"seed=-1 is out of range; expected >= 0"),
    ("analysis.n_folds=1", r"analysis.n_folds=1 is out of range; expected >= 2"),
    ("analysis.alphas=[1.0,-1.0]", r"analysis.alphas=\(1.0, -1.0\) is out of range"),
    ("analysis.l_freq=40", r"analysis.l_freq \(40.0\) must be < analysis.h_freq"),
])
def test_values_out_of_range_are_refused_at_load(override, message):
    extra = ["analysis.h_freq=30"] if "l_freq" in override else []
    with pytest.raises(ConfigError, match=r"demo.yaml: " + message):
        load_recipe(REPO / "recipes" / "demo.yaml", [override, *extra])


@pytest.mark.parametrize(("override", "message"), [
    ("features.name=mell", r"features.name='mell' is not valid; expected one of .*Did you "
                           r"mean 'mel'\?"),
    ("model.name=conv_encodr", r"model.name='conv_encodr' .* Did you mean 'conv_encoder'\?"),
    ("loss.name=clp", r"loss.name='clp' is not valid.* Did you mean 'clip'\?"),
    ("analysis.classifier=lda", r"analysis.classifier='lda' is not valid; expected one of "
                                r"\['logistic', 'svm'\]"),
    ("analysis.method=spearmann", r"analysis.method='spearmann' .* Did you mean 'spearman'\?"),
    ("analysis.metric=corelation", r"analysis.metric='corelation' .*'correlation'\?"),
    ("data.study=haxby", r"data.study='haxby' is not valid.* Did you mean 'haxby2001'\?"),
    ("split.by=blok", r"split.by='blok' is not valid.* Did you mean 'block'\?"),
])
def test_registry_names_are_checked_at_load(override, message):
    with pytest.raises(ConfigError, match=r"demo.yaml: " + message):
        load_recipe(REPO / "recipes" / "demo.yaml", [override])


def test_data_study_is_needed_for_a_study_source():
    with pytest.raises(ConfigError, match=r"data.study=None is not valid; expected one of"):
        load_recipe(REPO / "recipes" / "demo.yaml", ["data.source=study"])


def test_config_defaults_are_the_library_defaults():
    import inspect

    from neurodecode.align import make_segments
    from neurodecode.config import SegmentsConfig, TrainingConfig
    from neurodecode.training import fit

    fit_defaults = inspect.signature(fit).parameters
    for name in ("epochs", "batch_size", "lr", "weight_decay", "optimizer", "patience",
                 "device", "num_workers", "amp", "deterministic"):
        assert getattr(TrainingConfig(), name) == fit_defaults[name].default, name
    seg_defaults = inspect.signature(make_segments).parameters
    for name in ("tmin", "tmax", "sfreq", "baseline", "delay", "max_pad", "stride", "on"):
        if name in seg_defaults and seg_defaults[name].default is not inspect.Parameter.empty:
            assert getattr(SegmentsConfig(), name) == seg_defaults[name].default, name


def test_recipe_digest_is_the_report_config_hash():
    """One config hash (issue 14): the run's config.sha256 equals the report's hash."""
    from neurodecode._hashing import config_hash
    from neurodecode.viz import config_hash as report_hash

    recipe = load_recipe(REPO / "recipes" / "demo.yaml")
    assert report_hash is config_hash
    assert recipe.digest() == config_hash(recipe.to_dict()) == config_hash(recipe)


def test_lag_longer_than_the_window_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match=r"segments.offset=3.5 .* not shorter than the window"):
        load_recipe(_write(tmp_path, "segments: {tmin: -0.5, tmax: 2.5, offset: 3.5}\n"))
    with pytest.raises(ConfigError, match=r"segments.offset=-0.1 is out of range"):
        load_recipe(_write(tmp_path, "segments: {offset: -0.1}\n"))
