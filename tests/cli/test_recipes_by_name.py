"""Issue 15, finding 10: ``neurodecode run demo`` finds a shipped recipe by name, and
``neurodecode recipes`` prints a table (name, task, dataset, what it needs)."""

from __future__ import annotations

from pathlib import Path

import pytest

from neurodecode.cli import RECIPES, find_recipe, main, recipe_table
from neurodecode.exceptions import ConfigError


def test_a_shipped_recipe_by_name_and_a_file_as_is(tmp_path):
    assert find_recipe("demo") == RECIPES / "demo.yaml"
    assert find_recipe(Path("mne_sample_rsa.yaml")) == RECIPES / "mne_sample_rsa.yaml"
    mine = tmp_path / "demo.yaml"
    mine.write_text("name: mine\n")
    assert find_recipe(mine) == mine  # a file the user names wins
    with pytest.raises(ConfigError, match=r"recipe 'dmeo' is neither a file nor a shipped "
                                          r"recipe. Did you mean 'demo'\? Shipped recipes "
                                          r"\(.*\): \['brennan2019_decoding'"):
        find_recipe("dmeo")


def test_unknown_recipe_name_on_the_command_line(capsys):
    assert main(["run", "haxby_classification"]) == 2
    assert "Did you mean 'haxby2001_classification'?" in capsys.readouterr().err


def test_recipes_table(capsys):
    rows = {r["name"]: r for r in recipe_table()}
    assert rows["demo"] == {"name": "demo", "task": "decoding", "dataset": "simulated",
                            "needs": "nothing (built-in simulation)"}
    assert rows["haxby2001_rsa"]["needs"] == "neurodecode fetch haxby2001"
    assert "wav2vec2 weights in" in rows["gwilliams2022_decoding"]["needs"]
    assert main(["recipes"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["name", "task", "dataset", "needs"]
    assert any(line.split()[:3] == ["mne_sample_classification", "classification",
                                    "mne_sample"] for line in out)


def test_third_party_messages_only_with_verbose(capsys):
    """MNE's adjacency and filter messages leaked into a quiet run."""
    import logging

    import mne

    main(["recipes"])
    assert mne.utils.logger.level == logging.ERROR
    main(["-v", "recipes"])
    assert mne.utils.logger.level == logging.INFO
    mne.set_log_level("WARNING")


def test_dev_extras_install_nbconvert():
    """`jupyter nbconvert` was missing from the dev extras."""
    import tomllib

    pyproject = tomllib.loads((RECIPES.parent / "pyproject.toml").read_text())
    assert "nbconvert" in pyproject["project"]["optional-dependencies"]["dev"]
