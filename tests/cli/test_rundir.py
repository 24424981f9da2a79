"""The run directory: marker, safe --overwrite, lock, atomic writers, keys that differ."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import pytest

from neurodecode import rundir
from neurodecode.config import load_recipe
from neurodecode.exceptions import ConfigError

REPO = Path(__file__).resolve().parents[2]


def _recipe(*overrides):
    return load_recipe(REPO / "recipes" / "demo.yaml", list(overrides))


def _started(run_dir: Path) -> None:
    (run_dir / "last.pt").write_bytes(b"0")


def test_a_new_run_directory_is_marked_and_holds_config_and_hash(tmp_path):
    run = rundir.prepare_run_dir(tmp_path / "a" / "run", _recipe())
    assert (run / rundir.MARKER).is_file() and rundir.is_run_dir(run)
    assert (run / "config.sha256").read_text().strip() == _recipe().digest()
    assert not any(p.name.endswith(".tmp") for p in run.iterdir())


def test_overwrite_never_deletes_a_folder_that_is_not_a_run(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    (home / "thesis.tex").write_text("years of work")
    for overwrite in (True, False):
        with pytest.raises(ConfigError, match=r"'.*home' is not a neurodecode run directory "
                                              r"\(it holds other files and no "
                                              r"\.neurodecode-run marker\); nothing was deleted"):
            rundir.prepare_run_dir(home, _recipe(), overwrite=overwrite)
    assert sorted(p.name for p in home.iterdir()) == ["thesis.tex"]
    with pytest.raises(ConfigError, match="--overwrite refused: .* is not a neurodecode run"):
        rundir.clear_run(home)
    (tmp_path / "file").write_text("x")
    with pytest.raises(ConfigError, match=r"--out '.*file' is a file; expected a run directory"):
        rundir.prepare_run_dir(tmp_path / "file", _recipe())


def test_overwrite_removes_only_the_files_a_run_writes(tmp_path, caplog):
    run = rundir.prepare_run_dir(tmp_path / "run", _recipe())
    _started(run)
    (run / "figures").mkdir()
    (run / "figures" / "curve.png").write_bytes(b"png")
    (run / "notes.md").write_text("mine")
    rundir.prepare_run_dir(run, _recipe("seed=4"), overwrite=True)
    assert sorted(p.name for p in run.iterdir()) == sorted(
        [rundir.MARKER, "config.yaml", "config.sha256", "notes.md"])
    assert "kept files a run does not write" in caplog.text


def test_another_recipe_names_the_keys_that_differ(tmp_path):
    run = rundir.prepare_run_dir(tmp_path / "run", _recipe())
    _started(run)
    with pytest.raises(ConfigError, match=r"holds a run of another recipe; these keys differ: "
                                          r"model.params.hidden: 64 -> 32, seed: 0 -> 2\. "
                                          r"Choose a new --out directory or pass --overwrite"):
        rundir.prepare_run_dir(run, _recipe("seed=2", "model.params.hidden=32"))
    with pytest.raises(ConfigError, match="training.epochs: 40 -> 10"):  # fewer epochs differ
        rundir.prepare_run_dir(run, _recipe("training.epochs=10"))


def test_keys_that_keep_the_model_extend_the_run(tmp_path):
    run = rundir.prepare_run_dir(tmp_path / "run", _recipe())
    _started(run)
    extended = _recipe("training.epochs=60", "evaluation.n_bootstraps=10",
                       "evaluation.baselines=[untrained]")
    assert rundir.prepare_run_dir(run, extended) == run
    assert (run / "config.sha256").read_text().strip() == extended.digest()
    assert (run / "last.pt").is_file()
    resumable, blocking = rundir.recipe_changes(_recipe().to_dict(), extended.to_dict())
    assert set(resumable) == {"training.epochs", "evaluation.n_bootstraps",
                              "evaluation.baselines"} and not blocking


def test_an_older_run_without_marker_is_still_a_run(tmp_path):
    run = tmp_path / "old"
    run.mkdir()
    rundir.write_config(run, _recipe())
    _started(run)
    assert rundir.prepare_run_dir(run, _recipe(), overwrite=True) == run
    assert not (run / "last.pt").exists() and (run / rundir.MARKER).is_file()


def test_a_live_lock_refuses_a_second_run_and_a_stale_one_is_taken_over(tmp_path, caplog):
    run = rundir.prepare_run_dir(tmp_path / "run", _recipe())
    lock = run / rundir.LOCK
    lock.write_text(json.dumps({"pid": os.getppid(), "host": socket.gethostname()}))
    with pytest.raises(ConfigError, match=r"is in use by another run \(PID \d+ on '.*'\); wait "
                                          r"for it to finish or choose another --out"):
        with rundir.open_run(run, _recipe()):
            pass
    lock.write_text(json.dumps({"pid": 2**22 + 12345, "host": socket.gethostname()}))
    with rundir.open_run(run, _recipe()) as path:
        assert json.loads(lock.read_text())["pid"] == os.getpid() and path == run
    assert "taking over the stale lock" in caplog.text
    assert not lock.exists()  # released on exit
    lock.write_text("")  # a lock file emptied by a crash is stale too
    with rundir.open_run(run, _recipe()):
        pass


def test_atomic_write_keeps_the_old_file_when_the_writer_fails(tmp_path):
    path = rundir.write_json(tmp_path / "m.json", {"a": 1})

    def fail(handle):
        handle.write(b"{half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        rundir.write_atomic(path, fail)
    assert json.loads(path.read_text()) == {"a": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json"]


def test_completed_epochs_counts_the_history(tmp_path):
    assert rundir.completed_epochs(tmp_path) == 0
    (tmp_path / rundir.HISTORY).write_text('{"epoch": 1}\n{"epoch": 2}\n')
    assert rundir.completed_epochs(tmp_path) == 2


def test_a_started_run_with_an_unreadable_config_is_not_resumed_blindly(tmp_path):
    run = rundir.prepare_run_dir(tmp_path / "run", _recipe())
    _started(run)
    (run / "config.yaml").write_text("{unclosed")
    assert rundir.prepare_run_dir(run, _recipe()) == run  # the hash still matches
    (run / "config.yaml").unlink()
    with pytest.raises(ConfigError, match=r"holds a run whose config.yaml is missing or "
                                          r"unreadable, .* pass --overwrite"):
        rundir.prepare_run_dir(run, _recipe("seed=5"))


def test_a_folder_left_by_a_run_killed_while_creating_it_is_claimed(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / f"{rundir.MARKER}.x1y2.tmp").write_text('{"neuro')  # killed inside write_atomic
    (run / rundir.LOCK).write_text("")  # and before its lock was written
    assert rundir.prepare_run_dir(run, _recipe()) == run
    assert rundir.is_run_dir(run)
