"""replot_run: a run directory's saved files -> figures and a rewritten report."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path

import mne
import nibabel as nib
import numpy as np
import pandas as pd
import pytest
import yaml
from scipy.spatial.distance import pdist

from neurodecode.exceptions import DataFormatError, DataNotFoundError
from neurodecode.viz import replot_run

N_TIMES = 20


class _Imgs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.alts: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "img" and "figure-img" in attrs.get("class", ""):  # not the MNE logo
            self.alts.append(attrs["alt"])


def _report_images(run: Path) -> list[str]:
    parser = _Imgs()
    parser.feed((run / "report.html").read_text(encoding="utf-8"))
    return parser.alts


@pytest.fixture
def full_run(tmp_path, eeg_info, blob_img) -> Path:
    """A run directory holding every file of the contract."""
    rng = np.random.default_rng(4)
    run = tmp_path / "run_full"
    run.mkdir()
    (run / "metrics.json").write_text(json.dumps({"top10": 0.42, "rsa": {"peak_r": 0.3}}))
    (run / "config.yaml").write_text(yaml.safe_dump({"recipe": "demo", "seed": 0}))
    pd.DataFrame({"epoch": range(5), "train_loss": np.linspace(3, 1, 5),
                  "valid_loss": np.linspace(3.2, 1.5, 5)}).to_csv(run / "history.csv", index=False)
    ks = np.array([1, 5, 10, 50])
    pd.DataFrame({"k": ks, "accuracy": [0.1, 0.3, 0.45, 0.8], "chance": ks / 100,
                  "ci_lower": [0.05, 0.25, 0.4, 0.75], "ci_upper": [0.15, 0.35, 0.5, 0.85]}
                 ).to_csv(run / "retrieval.csv", index=False)
    cats = np.repeat(["face", "place"], 6)
    np.save(run / "rdm_brain.npy", pdist(rng.normal(size=(12, 5)) + 3 * (cats == "face")[:, None]))
    pd.DataFrame({"label": [f"s{i}" for i in range(12)], "category": cats}).to_csv(
        run / "conditions.csv", index=False)
    mne.io.write_info(run / "info.fif", eeg_info)
    np.save(run / "topomap_scores.npy", rng.normal(size=64))
    np.save(run / "topomap_time.npy", rng.normal(size=(64, N_TIMES)))
    np.save(run / "times.npy", np.linspace(-0.1, 0.5, N_TIMES))
    np.save(run / "layer_time.npy", rng.random((3, N_TIMES)))
    (run / "layer_names.txt").write_text("conv1\nconv2\nfc\n")
    np.save(run / "timecourse.npy", rng.random((2, N_TIMES)))
    nib.save(blob_img, run / "brainmap_r.nii.gz")
    return run


def test_replot_draws_every_contract_file(full_run, check_file):
    paths = replot_run(full_run, dpi=50)
    stems = [p.stem for p in paths]
    assert stems == ["training_curves", "retrieval_curve", "rdm_brain", "topomap_scores",
                     "topomap_time", "layer_time", "timecourse", "brainmap_r"]
    assert all(p.parent == full_run / "figures" and p.suffix == ".png" for p in paths)
    for path in paths:
        check_file(path, min_bytes=2_000)
    # each figure, the 2-D topomap followed by its slider of one map per time point
    names = [s.replace("_", " ") for s in stems]
    at = names.index("topomap time") + 1
    slider = ["topomap time over time (slider)"] * N_TIMES
    assert _report_images(full_run) == names[:at] + slider + names[at:]
    frames = sorted((full_run / "figures" / "slides").glob("topomap_time_*.png"))
    assert len(frames) == N_TIMES
    check_file(frames[0], min_bytes=2_000)
    text = (full_run / "report.html").read_text(encoding="utf-8")
    assert "peak_r" in text and "recipe: demo" in text


def test_replot_formats_and_partial_run(tmp_path, check_file):
    run = tmp_path / "run_small"
    run.mkdir()
    (run / "metrics.json").write_text(json.dumps({"valid_loss": 1.2}))
    pd.DataFrame({"epoch": [0, 1, 2], "train_loss": [2.0, 1.5, 1.2]}).to_csv(
        run / "history.csv", index=False)
    paths = replot_run(run, formats=["svg", "pdf"], title="small")
    assert [p.name for p in paths] == ["training_curves.svg", "training_curves.pdf"]
    for path in paths:
        check_file(path, min_bytes=2_000)
    assert _report_images(run) == ["training curves"]  # the SVG is embedded
    only_metrics = tmp_path / "run_metrics"
    only_metrics.mkdir()
    (only_metrics / "metrics.json").write_text("{}")
    assert replot_run(only_metrics) == [] and (only_metrics / "report.html").is_file()


def test_replot_errors(tmp_path, full_run):
    with pytest.raises(DataNotFoundError, match="is not a directory"):
        replot_run(tmp_path / "missing")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataNotFoundError, match="holds no run files"):
        replot_run(empty)
    with pytest.raises(ValueError, match=r"formats=\['jpg'\] is not valid"):
        replot_run(full_run, formats=["jpg"])
    with pytest.raises(ValueError, match="must include 'png' or 'svg'"):
        replot_run(full_run, formats=["pdf"])
    (full_run / "info.fif").unlink()
    with pytest.raises(DataNotFoundError, match="topomap_scores.npy .* needs info.fif"):
        replot_run(full_run)
    for name in ("topomap_scores.npy", "topomap_time.npy"):
        (full_run / name).unlink()
    (full_run / "times.npy").unlink()
    with pytest.raises(DataNotFoundError, match="layer_time.npy .* needs times.npy"):
        replot_run(full_run)


def test_replot_format_errors(tmp_path):
    run = tmp_path / "run_bad"
    run.mkdir()
    (run / "metrics.json").write_text("{not json")
    with pytest.raises(DataFormatError, match="metrics.json is not valid JSON"):
        replot_run(run)
    (run / "metrics.json").write_text("[1, 2]")
    with pytest.raises(DataFormatError, match="must hold a JSON object"):
        replot_run(run)
    (run / "metrics.json").write_text("{}")
    (run / "config.yaml").write_text("- a\n- b\n")
    with pytest.raises(DataFormatError, match="config.yaml must hold a YAML mapping"):
        replot_run(run)
    (run / "config.yaml").unlink()
    pd.DataFrame({"k": [1, 2], "acc": [0.1, 0.2]}).to_csv(run / "retrieval.csv", index=False)
    with pytest.raises(DataFormatError, match=r"retrieval.csv lacks column\(s\) \['accuracy', 'chance'\]"):
        replot_run(run)
    (run / "retrieval.csv").unlink()
    (run / "rdm.npy").write_bytes(b"garbage")
    with pytest.raises(DataFormatError, match="rdm.npy is not a readable .npy array"):
        replot_run(run)


def test_time_course_figure_is_labelled_for_its_job(tmp_path):
    """TRF kernels are drawn against lags with the condition names; a decoding time course
    as accuracy with its chance line; the report keeps the run's title."""
    import json

    import numpy as np

    from neurodecode.viz import replot

    np.save(tmp_path / "timecourse.npy", np.ones((2, 5)))
    np.save(tmp_path / "times.npy", np.arange(5) / 100)
    (tmp_path / "metrics.json").write_text(json.dumps({"encoding": {"conditions": ["aud", "vis"]}}))
    ax = replot._timecourse(tmp_path).axes[0]
    assert ax.get_xlabel() == "lag (s)"
    assert ax.get_ylabel() == "TRF kernel RMS over sensors (z per event)"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["aud", "vis"]
    np.save(tmp_path / "timecourse.npy", np.ones(5))
    (tmp_path / "metrics.json").write_text(json.dumps({"classification": {"chance": 0.25}}))
    ax = replot._timecourse(tmp_path).axes[0]
    assert ax.get_ylabel() == "decoding accuracy (fraction)" and ax.get_xlabel() == "time (s)"
