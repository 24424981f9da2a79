"""The registry, the module-level entry points and the data cards agree."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from neurodecode.io import studies
from neurodecode.io.studies import STUDIES, get_study

CARDS = Path(__file__).resolve().parents[2] / "datasets"


@pytest.mark.parametrize("name", sorted(STUDIES))
def test_every_study_has_card_module_and_layout(name):
    study = get_study(name)
    assert study.name == name and study.modality in ("meeg", "fmri")
    card = CARDS / f"{name}.md"
    assert card.is_file(), f"missing data card {card}"
    text = card.read_text()
    for section in ("## Local layout", "## Obtaining it", "## Reading it", "Licence",
                    "Citation", "doi"):
        assert section in text, f"{card.name} lacks {section!r}"
    assert f"`{name}`" in (CARDS / "README.md").read_text()
    module = importlib.import_module(f"neurodecode.io.studies.{name}")
    assert module.layout() == study.layout() and len(study.layout().splitlines()) >= 2
    assert callable(module.read)


def test_manual_studies_say_so_in_card_and_error():
    manual = [n for n in STUDIES if get_study(n).manual_steps]
    assert sorted(manual) == ["nsd", "schoffelen2019"]
    for name in manual:
        assert "**Manual (registration required).**" in (CARDS / f"{name}.md").read_text()


def test_package_level_read_and_layout(tmp_path):
    assert studies.layout("haxby2001") == get_study("haxby2001").layout()
    with pytest.raises(ValueError, match="name='haxby' is not valid"):
        studies.read("haxby", tmp_path, "1")
    with pytest.raises(FileNotFoundError, match="is not a folder; expected the haxby2001"):
        studies.read("haxby2001", tmp_path / "nothing", "1")
