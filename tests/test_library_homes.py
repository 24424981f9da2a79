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


def test_condition_impulses_lives_in_io_events():
    """Events to a design of impulses is event handling: its one home is ``io.events``;
    ``neurodecode.encoding`` re-exports the same function for earlier imports."""
    from neurodecode import encoding, io
    from neurodecode.encoding import trf_cv

    assert io.condition_impulses.__module__ == "neurodecode.io.events"
    assert encoding.condition_impulses is io.condition_impulses
    assert not hasattr(trf_cv, "condition_impulses")


def test_split_modules_keep_their_earlier_import_paths():
    """Files split under 500 lines (issue 14): the moved names stay importable from the
    module they left, as the very objects of their new home."""
    from neurodecode import _recipe_file, config, rundir, runlock
    from neurodecode.align import segments, windows
    from neurodecode.rsa import _streamed, rdm

    for name in ("WindowPlan", "apply_baseline", "check_conditions_found", "cut_windows",
                 "plan_windows", "resampled_data", "select_events"):
        assert getattr(segments, name) is getattr(windows, name)
    for name in ("LOCK", "acquire_lock", "release_lock"):
        assert getattr(rundir, name) is getattr(runlock, name)
    assert rdm._copy_blocked is _streamed.copy_blocked  # rsa.timecourse imports it there
    assert config.MAX_ALIAS_NODES is _recipe_file.MAX_ALIAS_NODES
