"""Issue 15, finding 8: the figures show the statistics the jobs compute (chance, CIs,
null band, corrected significance), name their window, label their colour bars, and draw
native-space brain maps on the data's own mean EPI."""

from __future__ import annotations

import json

import nibabel as nib
import numpy as np
import pytest

from neurodecode.viz import plot_confusion, plot_timecourse, replot, replot_run


def _legend(ax) -> list[str]:
    return [t.get_text() for t in ax.get_legend().get_texts()]


def test_decoding_time_course_shows_chance_ci_and_corrected_significance(tmp_path):
    times = np.arange(-0.2, 0.5, 0.01)
    acc = np.where(times > 0.1, 0.9, 0.5)
    np.save(tmp_path / "timecourse.npy", acc)
    np.save(tmp_path / "times.npy", times)
    np.save(tmp_path / "timecourse_ci.npy", np.stack([acc - 0.1, acc + 0.1]))
    np.save(tmp_path / "timecourse_sig.npy", times > 0.1)
    (tmp_path / "metrics.json").write_text(json.dumps(
        {"classification": {"chance": 0.5}, "time_resolved": {"chance": 0.5, "n_folds": 5}}))
    ax = replot._timecourse(tmp_path).axes[0]
    assert _legend(ax) == ["95 % CI over 5 folds", "p < 0.05, binomial, FDR over time",
                           "chance"]
    assert ax.get_title() == "Decoding accuracy over time, -0.20 to +0.49 s"
    chance = next(line for line in ax.get_lines() if line.get_label() == "chance")
    assert list(chance.get_ydata()) == [0.5, 0.5]


def test_rsa_time_course_shows_its_null_band_and_the_peak_p_value(tmp_path):
    """The RSA peak with p = 0.37 looked like a finding: the null and p are now drawn."""
    times = np.arange(0, 0.3, 0.01)
    np.save(tmp_path / "timecourse.npy", np.sin(times * 20))
    np.save(tmp_path / "times.npy", times)
    np.save(tmp_path / "timecourse_null.npy", np.stack([-np.ones(30), np.ones(30)]))
    np.save(tmp_path / "timecourse_sig.npy", np.zeros(30, bool))
    (tmp_path / "metrics.json").write_text(json.dumps(
        {"rsa": {"method": "spearman", "peak_latency": 0.08, "p_value_at_peak": 0.37}}))
    ax = replot._timecourse(tmp_path).axes[0]
    assert ax.get_title() == ("Time-resolved RSA, +0.00 to +0.29 s, peak 0.080 s; peak "
                              "p = 0.37 (max-corrected)")
    assert _legend(ax) == ["null (2.5-97.5 %)"]  # nothing significant: no bar
    assert ax.get_ylabel() == "model similarity (spearman)"


def test_time_course_errors():
    with pytest.raises(ValueError, match=r"null_band must have shape \(2, 3\)"):
        plot_timecourse(np.zeros(3), np.arange(3.0), null_band=np.zeros((3, 3)))


def test_confusion_matrix_figure_and_its_errors(tmp_path):
    fig = plot_confusion(np.array([[8, 2], [1, 9]]), ["face", "house"], title="cm")
    ax, cbar = fig.axes
    assert ax.get_xlabel() == "predicted class" and ax.get_ylabel() == "true class"
    assert cbar.get_ylabel() == "fraction of the true class"
    assert [t.get_text() for t in ax.texts] == ["8", "2", "1", "9"]
    with pytest.raises(ValueError, match=r"confusion must be square with one row per class; "
                                         r"got shape \(2, 2\) for 3 classes"):
        plot_confusion(np.eye(2), ["a", "b", "c"])
    (tmp_path / "metrics.json").write_text(json.dumps({"classification": {
        "confusion": [[3, 1], [0, 4]], "classes": ["a", "b"], "accuracy": 0.875,
        "chance": 0.5, "cv": "stratified 2-fold"}}))
    paths = replot_run(tmp_path, formats=["png", "svg", "pdf"])
    assert sorted(p.name for p in paths) == ["confusion.pdf", "confusion.png", "confusion.svg"]


def _slab(tmp_path, name, values):
    affine = np.diag([3.0, 3.0, 3.0, 1.0])
    nib.Nifti1Image(values.astype(np.float32), affine).to_filename(tmp_path / name)


def test_native_space_maps_are_drawn_on_the_mean_epi_and_say_so(tmp_path):
    """Haxby's native-space slice was drawn on an MNI glass brain (it looked frontal)."""
    rng = np.random.default_rng(0)
    _slab(tmp_path, "brainmap_r.nii.gz", rng.uniform(-0.5, 0.5, (8, 6, 1)))
    fig = replot._brainmap(tmp_path, tmp_path / "brainmap_r.nii.gz")
    assert any("Encoding accuracy: MNI space" in t.get_text() for a in fig.axes
               for t in a.texts)
    _slab(tmp_path, "background_mean_epi.nii.gz", rng.uniform(100, 200, (8, 6, 1)))
    fig = replot._brainmap(tmp_path, tmp_path / "brainmap_r.nii.gz")
    texts = [t.get_text() for a in fig.axes for t in a.texts]
    assert any("Encoding accuracy: native space, on the mean EPI" in t for t in texts)
    assert "encoding r (Pearson)" in [a.get_ylabel() for a in fig.axes]  # colour bar


def test_retrieval_curve_draws_every_baseline(tmp_path):
    """The retrieval curve omitted the baselines the decoding job scores."""
    import pandas as pd

    pd.DataFrame({"k": [1, 5, 10, 50], "accuracy": [0.1, 0.3, 0.5, 0.9],
                  "chance": [0.01, 0.05, 0.1, 0.5], "ci_lower": [0.05, 0.2, 0.4, 0.8],
                  "ci_upper": [0.15, 0.4, 0.6, 0.95]}).to_csv(tmp_path / "retrieval.csv",
                                                              index=False)
    (tmp_path / "metrics.json").write_text(json.dumps({
        "n_candidates": 100, "top10": 0.5, "chance_top10": 0.1,
        "baselines": {"regression": {"top1": 0.05, "top5": 0.2, "top10": 0.3},
                      "untrained": {"top1": 0.01, "top5": 0.05, "top10": 0.1, "top50": 0.5}}}))
    ax = replot._retrieval(tmp_path).axes[0]
    assert _legend(ax) == ["model", "baseline: untrained", "baseline: regression", "chance"]
    assert ax.get_title() == "Segment retrieval on the test set (100 candidates)"
    assert ax.get_ylabel() == "top-k accuracy (fraction)"
