"""Issue 14, items 3 and 7, measured on the source: no import cycle through the modules of
this change and no concept of the review's list with two homes (``tools.codestats``)."""

from pathlib import Path

from tools.codestats import cycles, duplicated_concepts, import_graph, iter_modules

ROOT = Path(__file__).resolve().parents[1] / "neurodecode"
#: Packages whose cycles this change removed (jobs/build and features are other items).
CHECKED = ("neurodecode.encoding", "neurodecode.rsa", "neurodecode.io", "neurodecode.align",
           "neurodecode.evaluation", "neurodecode._")


def _parsed():
    return {name: (path, tree) for name, path, tree in iter_modules(ROOT)}


def test_no_import_cycle_in_the_library_packages():
    found = cycles(import_graph(_parsed(), "neurodecode"))
    touching = [c for c in found if any(m.startswith(CHECKED) for m in c)]
    assert touching == []


def test_no_concept_has_two_homes():
    assert duplicated_concepts(_parsed()) == {}
