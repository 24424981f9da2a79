"""The report's per-subject figure and the k its decoding summary quotes."""

from __future__ import annotations

import numpy as np
import pytest

from neurodecode.viz.series import per_subject_figure
from neurodecode.viz.subjects import plot_per_subject
from neurodecode.viz.summary import headline_k, summarize


def test_per_subject_bars_mean_and_chance(check_file, tmp_path):
    values = {"01": 0.2, "02": 0.5, "03": 0.8}
    fig = plot_per_subject(values, ylabel="accuracy (fraction)", chance=0.1,
                           fname=tmp_path / "subjects.png", dpi=60)
    check_file(tmp_path / "subjects.png", min_bytes=2_000)
    ax = fig.axes[0]
    assert [p.get_height() for p in ax.patches] == pytest.approx([0.2, 0.5, 0.8])
    levels = sorted(line.get_ydata()[0] for line in ax.get_lines())
    assert levels == pytest.approx([0.1, 0.5])  # chance, then the mean of the subjects
    assert [t.get_text() for t in ax.get_xticklabels()] == ["01", "02", "03"]
    assert ax.get_ylabel() == "accuracy (fraction)"


def test_per_subject_errors():
    with pytest.raises(ValueError, match="values is empty; give one score per subject"):
        plot_per_subject({}, ylabel="r")
    with pytest.raises(ValueError, match="values"):
        plot_per_subject({"01": np.nan, "02": 1.0}, ylabel="r")


def test_headline_k_skips_a_k_reaching_every_candidate():
    """With 10 candidates top-10 is 1 by construction; the summary quotes top-5."""
    assert headline_k({"top1": 0.1, "top5": 0.5, "top10": 1.0, "n_candidates": 10}) == 5
    assert headline_k({"top1": 0.1, "top10": 0.4, "top50": 0.9, "n_candidates": 1500}) == 10
    assert headline_k({"top1": 1.0, "n_candidates": 1}) == 1
    assert headline_k({"accuracy": 0.5}) is None
    sentence, rows = summarize({"top1": 0.1, "top5": 0.5, "top10": 1.0, "chance_top5": 0.5,
                                "n_candidates": 10})
    assert "in its top 5 for 50.0 % of test segments (chance 50.0 %)" in sentence
    assert rows[0]["result"] == "model, top-5"


def test_per_subject_figure_draws_the_summary_score(tmp_path):
    rows = [{"subject": "0", "top1": 0.1, "top5": 0.4, "top10": 1.0},
            {"subject": "1", "top1": 0.2, "top5": 0.6, "top10": 1.0}]
    metrics = {"top5": 0.5, "top10": 1.0, "chance_top5": 0.5, "n_candidates": 10}
    entry = per_subject_figure(rows, metrics, tmp_path, dpi=50)
    assert entry.paths == (tmp_path / "per_subject.png",) and entry.paths[0].is_file()
    assert entry.captions[0].startswith("top-5 retrieval accuracy (fraction) of each of the 2")
    assert per_subject_figure(rows[:1], metrics, tmp_path, dpi=50) is None  # one subject
