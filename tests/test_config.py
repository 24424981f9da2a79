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
                       r"of \['regression', 'untrained'\]. Did you mean 'regression'\?"):
        load_recipe(_write(tmp_path, "evaluation: {baselines: [regresion]}\n"))
    with pytest.raises(ConfigError, match=r"found the key 'training' twice \(first at line 1\)"):
        load_recipe(_write(tmp_path, "training: {epochs: 5}\ntask: decoding\ntraining: {lr: 0.1}\n"))


def test_floats_written_without_a_dot(tmp_path):
    """YAML 1.1 reads 3e-4 as text; a float field takes it as the number it means."""
    recipe = load_recipe(_write(tmp_path, "training: {lr: 3e-4}\n"), ["training.weight_decay=1E-2"])
    assert recipe.training.lr == 3e-4 and recipe.training.weight_decay == 1e-2
    with pytest.raises(ConfigError, match="training.lr must be float; got 'fast'"):
        load_recipe(_write(tmp_path, "training: {lr: fast}\n"))


def test_recipe_digest_is_the_report_config_hash():
    """One config hash (issue 14): the run's config.sha256 equals the report's hash."""
    from neurodecode._hashing import config_hash
    from neurodecode.viz import config_hash as report_hash

    recipe = load_recipe(REPO / "recipes" / "demo.yaml")
    assert report_hash is config_hash
    assert recipe.digest() == config_hash(recipe.to_dict()) == config_hash(recipe)
