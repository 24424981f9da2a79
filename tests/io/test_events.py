"""Events helpers: schema, label files and OpenFMRI onsets."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from neurodecode.exceptions import DataFormatError, DataNotFoundError
from neurodecode.io import (
    EVENT_COLUMNS,
    events_from_labels,
    normalize_events,
    read_events_tsv,
    read_label_file,
    read_openfmri_onsets,
)


def test_normalize_schema_and_aliases():
    df = normalize_events(pd.DataFrame({"onset": [0.5], "value": [3], "stim_file": ["a.wav"],
                                        "story": ["s1"], "extra": [1]}))
    assert list(df.columns[: len(EVENT_COLUMNS)]) == list(EVENT_COLUMNS)
    row = df.iloc[0]
    assert (row["condition"], row["stimulus"], row["block"], row["extra"]) == ("3", "a.wav", "s1", 1)


def test_openfmri_onsets(tmp_path):
    run = tmp_path / "task001_run001"
    run.mkdir()
    (run / "cond001.txt").write_text("10\t5\t1\n30\t5\t1\n")
    (run / "cond002.txt").write_text("20\t5\t1\n")
    df = read_openfmri_onsets(run, {"cond001": "face", "cond002": "house"})
    assert df["condition"].tolist() == ["face", "house", "face"]
    assert df["onset"].tolist() == [10.0, 20.0, 30.0]
    key = tmp_path / "condition_key.txt"
    key.write_text("task001 cond001 face\ntask001 cond002 house\n")
    assert read_openfmri_onsets(run, key)["condition"].tolist() == ["face", "house", "face"]


def test_errors(tmp_path):
    with pytest.raises(DataNotFoundError, match="does not exist"):
        read_events_tsv(tmp_path / "x.tsv")
    with pytest.raises(DataNotFoundError, match="is not a folder"):
        read_openfmri_onsets(tmp_path / "nope", {})
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataFormatError, match="holds no condNNN.txt"):
        read_openfmri_onsets(tmp_path / "empty", {})
    with pytest.raises(DataNotFoundError, match="condition_key"):
        read_openfmri_onsets(tmp_path / "empty", tmp_path / "key.txt")
    with pytest.raises(DataNotFoundError, match="label file"):
        read_label_file(tmp_path / "labels.txt")


def test_labels_with_header(tmp_path):
    path = tmp_path / "attr.txt"
    path.write_text("labels chunks\na 0\na 0\nrest 0\n")
    labels, runs = read_label_file(path, 3)
    assert labels.tolist() == ["a", "a", "rest"] and runs.tolist() == [0, 0, 0]
    ev = events_from_labels(labels, 2.0, runs=runs)
    assert ev["duration"].tolist() == [4.0]
    assert np.isclose(ev["onset"].iloc[0], 0.0)


def test_events_from_labels_checks_tr_and_runs():
    """One home with ``tr`` (issue 14): the old encoding order (labels, runs, t_r) is named."""
    from neurodecode.encoding import events_from_labels as from_encoding

    assert from_encoding is events_from_labels
    with pytest.raises(TypeError, match="tr must be the repetition time.*runs="):
        events_from_labels(["a", "b"], [0, 0])
    with pytest.raises(ValueError, match="tr must be a finite number > 0; got -2"):
        events_from_labels(["a", "b"], -2.0)
    with pytest.raises(ValueError, match=r"runs must have shape \(2,\)"):
        events_from_labels(["a", "b"], 2.0, runs=[0])
