"""Splits for real designs (issue 15, item 4): by trial, leave-one-run-out, K-fold, and
the message for a design with one group."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from neurodecode.align import cv_splits, make_segments, split_segments
from neurodecode.exceptions import AlignmentError
from neurodecode.io import Recording

README = Path(__file__).resolve().parents[2] / "README.md"


def _trials(rng, n_trials=40, isi=0.5, n_runs=1, sfreq=100.0):
    onsets = 1.0 + np.arange(n_trials) * isi
    events = pd.DataFrame({"onset": onsets, "duration": 0.0, "kind": "trial",
                           "condition": np.tile(["a", "b"], n_trials // 2), "stimulus": "",
                           "text": "", "block": np.repeat(np.arange(n_runs), n_trials // n_runs)
                           .astype(str), "value": np.tile([1, 2], n_trials // 2)})
    n_times = int((onsets[-1] + 2) * sfreq)
    return Recording(data_loader=rng.standard_normal((3, n_times)), sfreq=sfreq, events=events,
                     modality="meeg", ch_names=["a", "b", "c"], ch_types=["mag"] * 3)


def _overlap(segs, a, b):
    start, stop = segs.meta["start"].to_numpy(), segs.meta["stop"].to_numpy()
    return any(start[i] < stop[j] and start[j] < stop[i] for i in a for j in b)


def test_one_group_says_which_splitters_fit(rng):
    """Finding 5 of issue 15: split_segments(by='block') on one session had no way out."""
    segs = make_segments(_trials(rng), tmin=-0.1, tmax=0.3, sfreq=None)
    with pytest.raises(AlignmentError, match=re.escape(
            "by='block' finds 1 group(s) ['0'] in these segments; 3 or more are needed. For a "
            "design with one run or block use by='trial'")):
        split_segments(segs, by="block")
    with pytest.raises(AlignmentError, match="finds 1 group.*2 or more are needed.*"
                                             "stratified_kfold"):
        cv_splits(segs, "leave_one_group_out", by="run")


def test_split_by_trial_is_stratified_and_drops_overlapping_windows(rng):
    segs = make_segments(_trials(rng, isi=0.5), tmin=-0.2, tmax=0.5, sfreq=None)  # overlap
    splits = split_segments(segs, by="trial", test_size=0.2, valid_size=0.1, seed=1)
    assert splits["test"].meta["condition"].value_counts().to_dict() == {"a": 4, "b": 4}
    assert len(splits["valid"]) > 0 and set(splits["train"].meta["condition"]) == {"a", "b"}
    parts = list(splits.values())
    for i in range(3):
        for j in range(i + 1, 3):
            a = set(map(tuple, parts[i].meta[["start", "stop"]].to_numpy()))
            b = set(map(tuple, parts[j].meta[["start", "stop"]].to_numpy()))
            assert not any(s1 < e2 and s2 < e1 for s1, e1 in a for s2, e2 in b)
    assert sum(map(len, parts)) < len(segs)


def test_stratified_kfold_leaves_out_train_windows_touching_test(rng):
    segs = make_segments(_trials(rng, isi=0.5), tmin=-0.2, tmax=0.5, sfreq=None)
    folds = cv_splits(segs, "stratified_kfold", n_splits=4, seed=0)
    assert len(folds) == 4
    tests = np.concatenate([t for _, t in folds])
    assert sorted(tests.tolist()) == list(range(len(segs)))  # every window tested once
    for train, test in folds:
        assert not _overlap(segs, train, test)
        assert 0 < len(train) < len(segs) - len(test)  # neighbours of test windows left out
    far = make_segments(_trials(rng, isi=2.0), tmin=-0.2, tmax=0.5, sfreq=None)
    assert all(len(tr) + len(te) == len(far) for tr, te in cv_splits(far, "stratified_kfold"))
    with pytest.raises(AlignmentError, match="n_splits=30 needs 2 <= n_splits <= the size of "
                                             "the smallest condition \\(20\\)"):
        cv_splits(far, "stratified_kfold", n_splits=30)


def test_leave_one_run_out_and_group_kfold(rng):
    segs = make_segments(_trials(rng, n_runs=4, isi=2.0), tmin=-0.2, tmax=0.5, sfreq=None)
    folds = cv_splits(segs, "leave_one_group_out", by="run")
    assert [sorted(set(segs.meta["block"][t])) for _, t in folds] == [["0"], ["1"], ["2"], ["3"]]
    assert all(not set(segs.meta["block"][tr]) & set(segs.meta["block"][te]) for tr, te in folds)
    assert len(cv_splits(segs, "group_kfold", by="run", n_splits=2)) == 2
    with pytest.raises(AlignmentError, match="finds 4 group.*5 or more are needed"):
        cv_splits(segs, "group_kfold", by="run", n_splits=5)
    with pytest.raises(ValueError, match="method='loro' is not valid"):
        cv_splits(segs, "loro")


@pytest.mark.realdata
def test_readme_python_example_runs_on_the_shipped_meg_file(data_root, monkeypatch):
    """Finding 5 of issue 15: the README's example failed on the shipped M/EEG file."""
    code = re.search(r"```python\n(.*?)```", README.read_text(), re.S).group(1)
    monkeypatch.chdir(data_root / "meg_sample_crop")
    code = code.replace('"sample_audvis_raw.fif"', '"test_raw.fif"')
    scope: dict = {}
    exec(compile(code, "README.md", "exec"), scope)  # noqa: S102  the README's own example
    assert set(scope["splits"]) == {"train", "valid", "test"}
    assert scope["epochs"].info["sfreq"] == pytest.approx(120.0, rel=1e-4)
