"""Retrieval curves, training curves and time courses with significance bars."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from neurodecode.viz import plot_retrieval_curve, plot_timecourse, plot_training_curves
from neurodecode.viz.curves import chance_top_k, significance_runs

KS = np.array([1, 2, 5, 10, 20, 50, 100])


def _retrieval_accuracy(n_candidates: int, skill: float, rng) -> np.ndarray:
    """Top-k accuracy of a simulated retrieval: the target's rank among candidates."""
    n_queries = 400
    scores = rng.normal(size=(n_queries, n_candidates))
    scores[:, 0] += skill  # candidate 0 is the target
    rank = (scores > scores[:, :1]).sum(axis=1)
    return np.array([(rank < k).mean() for k in KS])


def test_retrieval_curve_png(tmp_path, check_file, rng):
    models = {"good": _retrieval_accuracy(200, 2.0, rng), "null": _retrieval_accuracy(200, 0.0, rng)}
    fname = tmp_path / "retrieval.png"
    fig = plot_retrieval_curve(KS, models, n_candidates=200, title="top-k", fname=fname, dpi=100)
    check_file(fname)
    ax = fig.axes[0]
    assert len(fig.axes) == 1 and ax.get_xscale() == "log"
    lines = {line.get_label(): line for line in ax.lines}
    assert set(lines) == {"good", "null", "chance"}
    np.testing.assert_allclose(lines["chance"].get_ydata(), KS / 200)
    # the planted skilful model is above chance, the null model close to it
    assert np.all(lines["good"].get_ydata()[:5] > 2 * lines["chance"].get_ydata()[:5])
    np.testing.assert_allclose(lines["null"].get_ydata(), KS / 200, atol=0.05)


def test_retrieval_curve_chance_forms_and_ci(tmp_path, check_file):
    acc = np.linspace(0.1, 0.9, len(KS))
    ci = np.stack([acc - 0.05, acc + 0.05])
    for chance in (0.2, np.full(len(KS), 0.2), lambda ks: np.full(len(ks), 0.2)):
        fig = plot_retrieval_curve(KS, acc, chance, ci)
        chance_line = [ln for ln in fig.axes[0].lines if ln.get_label() == "chance"][0]
        np.testing.assert_allclose(chance_line.get_ydata(), 0.2)
        assert len(fig.axes[0].collections) == 1  # the ci band
    fig = plot_retrieval_curve([1, 2, 3], [0.2, 0.3, 0.4], fname=tmp_path / "r.svg")
    check_file(tmp_path / "r.svg", min_bytes=2_000)
    assert fig.axes[0].get_xscale() == "linear"


def test_chance_top_k():
    np.testing.assert_allclose(chance_top_k(np.array([1, 10, 500]), 100), [0.01, 0.1, 1.0])


def test_training_curves_pdf_marks_best_epoch(tmp_path, check_file):
    epochs = np.arange(30)
    history = [
        {"epoch": int(e), "train_loss": 3 / (e + 1), "valid_loss": 1 + 0.01 * (e - 12) ** 2,
         "valid_top10": min(e / 20, 0.7)}
        for e in epochs
    ]
    fname = tmp_path / "history.pdf"
    fig = plot_training_curves(history, fname=fname)
    check_file(fname)
    assert len(fig.axes) == 2
    losses, others = fig.axes
    best = int(np.argmin([h["valid_loss"] for h in history]))
    labels = {ln.get_label(): ln for ln in losses.lines}
    assert set(labels) == {"train_loss", "valid_loss", f"best epoch ({best})"}
    assert float(labels[f"best epoch ({best})"].get_xdata()[0]) == best == 12
    assert "valid_top10" in {ln.get_label() for ln in others.lines}
    frame = pd.DataFrame(history)[["epoch", "train_loss"]].sample(frac=1, random_state=0)
    fig = plot_training_curves(frame)  # shuffled rows are sorted by epoch
    assert len(fig.axes) == 1
    np.testing.assert_array_equal(fig.axes[0].lines[0].get_xdata(), epochs)


def test_training_curves_mark_the_epoch_chosen_by_the_validation_score():
    """Item decoding chooses the epoch on ``valid_score`` (planted peak at 7), not on the
    validation loss (lowest at 2)."""
    history = [{"epoch": e, "train_loss": 1 / e, "valid_loss": 1 + abs(e - 2),
                "valid_score": 0.9 - 0.01 * (e - 7) ** 2} for e in range(1, 11)]
    fig = plot_training_curves(history)
    assert "best epoch (7)" in {ln.get_label() for ln in fig.axes[0].lines}


def test_significance_runs():
    mask = np.array([0, 1, 1, 0, 0, 1, 0, 1, 1, 1], dtype=bool)
    assert significance_runs(mask) == [(1, 3), (5, 6), (7, 10)]
    assert significance_runs(np.zeros(4, bool)) == []


def test_timecourse_png_significance_bars(tmp_path, check_file):
    times = np.linspace(-0.2, 0.8, 101)
    values = 0.5 + np.stack([0.3 * np.exp(-((times - 0.2) / 0.08) ** 2),
                             0.2 * np.exp(-((times - 0.45) / 0.08) ** 2)])
    sig = values > 0.6  # one planted run per model
    ci = np.stack([values - 0.03, values + 0.03], axis=1)
    fname = tmp_path / "timecourse.png"
    fig = plot_timecourse(values, times, ci, sig, labels=["early", "late"], chance=0.5,
                          fname=fname, dpi=100)
    check_file(fname)
    ax = fig.axes[0]
    bars = [ln for ln in ax.lines if ln.get_linewidth() == 3]
    assert len(bars) == 2
    for bar, mask in zip(bars, sig):
        on = times[mask]
        step = times[1] - times[0]
        np.testing.assert_allclose(bar.get_xdata(), [on[0] - step / 2, on[-1] + step / 2])
        assert bar.get_ydata()[0] < values.min() - 0.03  # below the curves and bands
    assert len(ax.collections) == 2
    fig = plot_timecourse(values[0], times, sig_mask=sig[0])
    assert len([ln for ln in fig.axes[0].lines if ln.get_linewidth() == 3]) == 1


def test_curve_errors():
    with pytest.raises(ValueError, match="ks must be increasing values >= 1"):
        plot_retrieval_curve([0, 1], [0.1, 0.2])
    with pytest.raises(ValueError, match=r"accuracy 'a' must lie in \[0, 1\]"):
        plot_retrieval_curve([1, 2], {"a": [10.0, 20.0]})
    with pytest.raises(ValueError, match=r"accuracy\['a'\] must have shape"):
        plot_retrieval_curve([1, 2], {"a": [0.1, 0.2, 0.3]})
    with pytest.raises(ValueError, match="accuracy is empty"):
        plot_retrieval_curve([1, 2], {})
    with pytest.raises(ValueError, match="pass either chance or n_candidates"):
        plot_retrieval_curve([1, 2], [0.1, 0.2], 0.1, n_candidates=10)
    with pytest.raises(ValueError, match=r"chance must lie in \[0, 1\]"):
        plot_retrieval_curve([1, 2], [0.1, 0.2], 5.0)
    with pytest.raises(ValueError, match="chance must have shape"):
        plot_retrieval_curve([1, 2], [0.1, 0.2], [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match=r"ci has keys \['b'\] not in accuracy"):
        plot_retrieval_curve([1, 2], {"a": [0.1, 0.2]}, ci={"b": np.zeros((2, 2))})
    with pytest.raises(ValueError, match="n_candidates must be >= 1"):
        chance_top_k(np.array([1]), 0)
    with pytest.raises(TypeError, match="n_candidates must be int"):
        chance_top_k(np.array([1]), 2.5)
    with pytest.raises(TypeError, match="history must be a list of dicts or a pandas DataFrame"):
        plot_training_curves("history.csv")
    with pytest.raises(ValueError, match="history is empty"):
        plot_training_curves([])
    with pytest.raises(ValueError, match="history has no 'epoch' column"):
        plot_training_curves([{"loss": 1.0}])
    with pytest.raises(ValueError, match=r"history has no numeric '\*loss' column"):
        plot_training_curves([{"epoch": 0, "acc": 1.0}])
    times = np.arange(4.0)
    with pytest.raises(ValueError, match="times must have shape"):
        plot_timecourse(np.zeros(4), np.arange(3.0))
    with pytest.raises(ValueError, match=r"ci must have 3 dimensions \(2, 2, 4\)"):
        plot_timecourse(np.zeros((2, 4)), times, ci=np.zeros((2, 4)))
    with pytest.raises(TypeError, match="sig_mask must be boolean"):
        plot_timecourse(np.zeros(4), times, sig_mask=np.ones(4))
    with pytest.raises(ValueError, match="labels has 1 entries; expected 2"):
        plot_timecourse(np.zeros((2, 4)), times, labels=["a"])
    with pytest.raises(ValueError, match=r"values contains 1 NaN or Inf .* \(value np.float64\(inf\)\)"):
        plot_timecourse(np.r_[np.inf, 0, 0, 0], times)
    plot_timecourse(np.r_[np.nan, 0, 0, 0], times)  # an undefined window: a gap
    with pytest.raises(ValueError, match="chance must be a finite number >= 0"):
        plot_timecourse(np.zeros(4), times, chance=-1.0)
