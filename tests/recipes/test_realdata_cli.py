"""The CLI runs the Haxby and MNE-sample analysis recipes end to end on the real data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from neurodecode.cli import main

RECIPES = Path(__file__).resolve().parents[2] / "recipes"
pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def roots(data_root, tmp_path_factory):
    """The real files placed in the fetched layouts of haxby2001 and mne_sample (links)."""
    base = tmp_path_factory.mktemp("studies")
    subj = base / "haxby2001" / "subj1"
    subj.mkdir(parents=True)
    source = data_root / "fmri_haxby"
    for name, target in [("bold.nii.gz", "bold.nii.gz"), ("labels.txt", "attributes_literal.txt"),
                         ("mask4_vt.nii.gz", "mask.nii.gz")]:
        (subj / name).symlink_to(source / target)
    meg = base / "mne_sample" / "MNE-sample-data" / "MEG" / "sample"
    meg.mkdir(parents=True)
    (meg / "sample_audvis_raw.fif").symlink_to(data_root / "meg_sample_crop" / "test_raw.fif")
    (meg / "sample_audvis_raw-eve.fif").symlink_to(data_root / "meg_sample_crop" / "test-eve.fif")
    return {"haxby2001": base / "haxby2001", "mne_sample": base / "mne_sample"}


def _run(name: str, root: Path, out: Path, *extra: str) -> dict:
    code = main(["run", str(RECIPES / f"{name}.yaml"), "--out", str(out), "--no-progress",
                 "--set", f"data.root={root}", *[a for e in extra for a in ("--set", e)]])
    assert code == 0
    assert (out / "report.html").is_file() and (out / "config.yaml").is_file()
    metrics = json.loads((out / "metrics.json").read_text())
    print(name, json.dumps(metrics, indent=1)[:1500])
    return metrics


def _figures(out: Path) -> set[str]:
    return {p.stem for p in (out / "figures").glob("*.png") if p.stat().st_size > 10_000}


def test_haxby_classification(roots, tmp_path):
    m = _run("haxby2001_classification", roots["haxby2001"], tmp_path)
    c = m["classification"]
    assert c["n_classes"] == 8 and c["chance"] == pytest.approx(0.125)
    assert c["accuracy"] > 0.5 and len(c["fold_scores"]) == 12
    assert _figures(tmp_path) == {"brainmap_pattern", "confusion"}


def test_haxby_rsa(roots, tmp_path):
    m = _run("haxby2001_rsa", roots["haxby2001"], tmp_path, "analysis.n_permutations=200")
    assert m["rsa"]["similarity"] > 0.3 and m["rsa"]["p_value"] < 0.05
    assert m["searchlight"]["max"] > m["searchlight"]["median"]
    assert _figures(tmp_path) == {"rdm_brain", "rdm_model", "brainmap_searchlight"}


def test_haxby_encoding(roots, tmp_path):
    m = _run("haxby2001_encoding", roots["haxby2001"], tmp_path, "analysis.n_permutations=50",
             "analysis.alphas=[1.0, 100.0, 10000.0]")
    e = m["encoding"]
    assert e["n_targets"] == 530 and e["max_r"] > 0.3 and e["median_r"] > 0
    assert e["fraction_significant_fdr"] > 0.1
    assert _figures(tmp_path) == {"brainmap_r"}


def test_mne_sample_classification(roots, tmp_path):
    m = _run("mne_sample_classification", roots["mne_sample"], tmp_path,
             "analysis.n_permutations=0")
    assert m["classification"]["accuracy"] > 0.8 and m["classification"]["n_classes"] == 2
    assert m["time_resolved"]["peak_accuracy"] > 0.9
    assert 0.05 <= m["time_resolved"]["peak_time"] <= 0.3
    assert _figures(tmp_path) == {"timecourse", "topomap_pattern", "topomap_pattern_time",
                                  "confusion"}
    import mne  # issue 15: the results back in MNE, at the analysis rate

    course = mne.read_evokeds(tmp_path / "timecourse-ave.fif", verbose="error")[0]
    pattern = mne.read_evokeds(tmp_path / "pattern-ave.fif", verbose="error")[0]
    assert course.ch_names == ["accuracy"] and course.info["sfreq"] == pytest.approx(100, 1e-3)
    assert len(pattern.ch_names) == 366 and pattern.info["sfreq"] == pytest.approx(100, 1e-3)
    assert m["time_resolved"]["n_significant_times"] > 0


def test_mne_sample_rsa(roots, tmp_path):
    m = _run("mne_sample_rsa", roots["mne_sample"], tmp_path, "analysis.n_permutations=10")
    assert 0.05 <= m["rsa"]["peak_latency"] <= 0.3 and m["rsa"]["peak_similarity"] > 0.5
    assert _figures(tmp_path) == {"timecourse", "topomap_searchlight", "rdm_brain", "rdm_model"}


def test_mne_sample_encoding(roots, tmp_path):
    m = _run("mne_sample_encoding", roots["mne_sample"], tmp_path, "analysis.n_permutations=0",
             "analysis.alphas=[10.0, 1000.0]", "analysis.n_folds=3")
    e = m["encoding"]
    assert e["n_targets"] == 366 and e["max_r"] > 0.2 and e["mean_r"] > 0
    assert _figures(tmp_path) == {"timecourse", "topomap_r"}
