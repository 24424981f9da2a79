"""The run report: one self-contained mne.Report HTML page, checked by parsing and, when
Debian's chromium is installed, by rendering it headless."""

from __future__ import annotations

import base64
import io
import math
import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import matplotlib.image as mpimg
import numpy as np
import pytest
import yaml

from neurodecode.exceptions import DataFormatError, DataNotFoundError
from neurodecode.viz import config_hash, plot_rdm, plot_retrieval_curve, write_report
from neurodecode.viz.report import ReportContent, ReportFigure, build_report, to_plain

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None,
    reason="chromium not installed (CI set-up: apt-get install -y chromium); "
    "headless rendering check skipped",
)


class _Page(HTMLParser):
    """Collects tags with their attributes, text by enclosing tag, two-cell table rows,
    the table of contents and the figures (``img`` of class ``figure-img``)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.text: dict[str, list[str]] = {}
        self.rows: dict[str, str] = {}
        self.toc: list[str] = []
        self.figures: list[dict] = []
        self._stack: list[tuple[str, dict]] = []
        self._row: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append((tag, attrs))
        if tag == "img" and "figure-img" in attrs.get("class", ""):
            self.figures.append(attrs)
        if tag not in ("img", "meta", "br", "input", "hr"):
            self._stack.append((tag, attrs))
        if tag == "tr":
            self._row = []

    def handle_endtag(self, tag):
        if self._stack and self._stack[-1][0] == tag:
            self._stack.pop()
        if tag == "tr" and len(self._row) == 2:
            self.rows[self._row[0]] = self._row[1]

    def handle_data(self, data):
        tag, attrs = self._stack[-1] if self._stack else ("", {})
        self.text.setdefault(tag, []).append(data)
        if tag in ("th", "td"):
            self._row.append(data)
        if tag == "a" and "nav-link" in attrs.get("class", "") and data.strip():
            self.toc.append(data.strip())


def _parse(text: str) -> _Page:
    page = _Page()
    page.feed(text)
    return page


CONFIG = {
    "dataset": {"name": "gwilliams2022", "root": Path("/data/meg")},
    "model": {"name": "conv_encoder", "hidden": np.int64(320), "dilations": (1, 2, 4)},
    "training": {"lr": 3e-4, "epochs": 40, "seed": 0},
}
METRICS = {
    "top10_accuracy": 0.4213,
    "n_segments": 1500,
    "diverged": False,
    "retrieval": {"top1": 0.1234567, "top10": 0.4213, "per_subject": {"s01": 0.45, "s02": 0.39}},
    "rsa": {"ceiling": [0.31, 0.42], "missing": float("nan")},
}


@pytest.fixture
def run_dir(tmp_path) -> Path:
    """A run directory with a PNG (relative path) and an SVG (absolute path) figure."""
    run = tmp_path / "run"
    ks = np.array([1, 5, 10, 50])
    plot_retrieval_curve(ks, [0.1, 0.3, 0.42, 0.8], n_candidates=100,
                         fname=run / "figures" / "retrieval.png", dpi=80)
    rng = np.random.default_rng(0)
    plot_rdm(rng.random(45), categories=["a"] * 5 + ["b"] * 5, fname=run / "figures" / "rdm.svg")
    return run


def _write(run_dir: Path, **kwargs) -> Path:
    args = dict(title="Run <b>&amp; demo", config=CONFIG, metrics=METRICS,
                figures=["figures/retrieval.png", run_dir / "figures" / "rdm.svg"],
                notes="line 1\n<script>alert('x')</script>")
    args.update(kwargs)
    return write_report(run_dir, **args)


def test_report_embeds_every_figure(run_dir):
    path = _write(run_dir)
    assert path == run_dir / "report.html"
    text = path.read_text(encoding="utf-8")
    page = _parse(text)
    imgs = page.figures
    assert len(imgs) == 2
    png_uri, svg_uri = imgs[0]["src"], imgs[1]["src"]
    assert png_uri.startswith("data:image/png;base64,")
    pixels = mpimg.imread(io.BytesIO(base64.b64decode(png_uri.split(",", 1)[1])), format="png")
    assert pixels.shape[0] > 100 and pixels[..., :3].std() > 0.05
    assert svg_uri.startswith("data:image/svg+xml;base64,")
    svg = base64.b64decode(svg_uri.split(",", 1)[1])
    assert svg == (run_dir / "figures" / "rdm.svg").read_bytes()
    assert [a["alt"] for a in imgs] == ["retrieval", "rdm"]


def test_report_is_self_contained_and_escaped(run_dir):
    text = _write(run_dir).read_text(encoding="utf-8")
    page = _parse(text)
    assert "<script>alert" not in text and "<b>&amp; demo" not in text
    assert "".join(page.text["title"]) == "Run <b>&amp; demo"
    assert "<script>alert('x')</script>" in "".join(page.text["div"])
    for tag, attrs in page.tags:
        assert tag not in ("link", "iframe", "object", "embed")
        if "src" in attrs:  # every loaded resource is embedded
            assert attrs["src"].startswith("data:"), (tag, attrs["src"][:60])
        if tag != "a" and "href" in attrs:
            assert attrs["href"].startswith("#"), (tag, attrs["href"][:60])
    scripts = [attrs for tag, attrs in page.tags if tag == "script"]
    assert scripts and all("src" not in a for a in scripts)  # inline scripts only


def test_report_metrics_tables_and_config(run_dir):
    page = _parse(_write(run_dir).read_text(encoding="utf-8"))
    assert page.rows["top10_accuracy"] == "0.4213"
    assert page.rows["n_segments"] == "1500"
    assert page.rows["diverged"] == "False"
    assert page.rows["top1"] == "0.1235"  # 4 significant digits
    assert page.rows["per_subject.s02"] == "0.39"
    assert page.rows["ceiling"] == "[0.31, 0.42]"
    assert page.rows["missing"] == "nan"
    assert "".join(page.text["h6"]) == "retrievalrsa"
    config_text = "".join(page.text["pre"])
    assert yaml.safe_load(config_text) == to_plain(CONFIG)
    assert config_hash(CONFIG) in "".join(page.text["code"])


def test_config_hash_is_canonical():
    reordered = {"training": CONFIG["training"], "model": CONFIG["model"],
                 "dataset": CONFIG["dataset"]}
    assert config_hash(reordered) == config_hash(CONFIG)
    changed = {**CONFIG, "training": {**CONFIG["training"], "lr": 1e-3}}
    assert config_hash(changed) != config_hash(CONFIG)
    assert re.fullmatch(r"[0-9a-f]{64}", config_hash(CONFIG))
    assert to_plain({"a": np.arange(3), "b": (np.float32(0.5),)}) == {"a": [0, 1, 2], "b": [0.5]}


def test_report_empty_and_given_digest(tmp_path):
    path = write_report(tmp_path, title="empty", config={}, metrics={}, config_digest="abc123")
    page = _parse(path.read_text(encoding="utf-8"))
    assert not page.figures
    assert "No metrics." in "".join(page.text["p"]) and "abc123" in "".join(page.text["code"])


def test_report_errors(run_dir, tmp_path):
    with pytest.raises(DataNotFoundError, match="is not a directory"):
        write_report(tmp_path / "nope", title="t", config={}, metrics={})
    with pytest.raises(DataNotFoundError, match="figure 'figures/missing.png' not found"):
        _write(run_dir, figures=["figures/missing.png"])
    with pytest.raises(ValueError, match="a report embeds .png, .svg only"):
        _write(run_dir, figures=["figures/retrieval.pdf"])
    (run_dir / "fake.png").write_text("not an image")
    with pytest.raises(DataFormatError, match="has a .png suffix but is not a PNG"):
        _write(run_dir, figures=["fake.png"])
    (run_dir / "fake.svg").write_text("<html></html>")
    with pytest.raises(DataFormatError, match="holds no <svg> element"):
        _write(run_dir, figures=["fake.svg"])
    with pytest.raises(TypeError, match="figures must be a list of paths"):
        _write(run_dir, figures="figures/retrieval.png")
    with pytest.raises(TypeError, match="config must be Mapping"):
        _write(run_dir, config=[1, 2])
    with pytest.raises(TypeError, match="metrics must be Mapping"):
        _write(run_dir, metrics=0.5)
    with pytest.raises(TypeError, match="title must be str"):
        _write(run_dir, title=None)


# --------------------------------------------------------------------------- chromium
def _chromium(page: Path, work: Path, *mode: str) -> subprocess.CompletedProcess:
    cmd = [
        CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
        "--no-first-run", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", f"--user-data-dir={work / 'profile'}", "--enable-logging=stderr",
        "--v=0", *mode, page.as_uri(),
    ]
    env = {**os.environ, "HOME": str(work)}
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env, check=False)


def _render_check(page: Path, work: Path) -> tuple[dict, list[str]]:
    """The ``#nd-render-check`` attributes after load, and the console messages."""
    proc = _chromium(page, work, "--dump-dom")
    assert proc.returncode == 0, proc.stderr[-2000:]
    marks = [a for t, a in _parse(proc.stdout).tags if a.get("id") == "nd-render-check"]
    console = re.findall(r":CONSOLE[^\]]*\] (.*)", proc.stderr)
    return marks[0], console


def _raw_page(path: Path, raw_html: str) -> None:
    """A report holding ``raw_html`` as one of its sections."""
    report = build_report(ReportContent(title="raw", config={}, metrics={}))
    report.add_html(raw_html, title="raw")
    report.save(path, open_browser=False, overwrite=True, verbose="error")


@needs_chromium
def test_chromium_detects_broken_page(tmp_path):
    """Negative control: the checks below do catch a broken image and a script error."""
    page = tmp_path / "broken.html"
    _raw_page(page, '<img src="data:image/png;base64,AAAA" alt="broken">'
                    "<script>undefinedFunction();</script>")
    mark, console = _render_check(page, tmp_path)
    assert mark["data-status"] == "loaded"
    assert mark["data-broken"] == "1" and int(mark["data-errors"]) >= 1
    _raw_page(page, "<script>undefinedFunction();</script>")
    mark, _ = _render_check(page, tmp_path)
    assert mark["data-broken"] == "0" and mark["data-errors"] == "1"
    assert any("Uncaught" in line for line in console), console


@needs_chromium
def test_chromium_renders_every_figure(run_dir, tmp_path):
    report = _write(run_dir)
    moved = tmp_path / "elsewhere" / "report.html"  # the page must not need its folder
    moved.parent.mkdir()
    shutil.move(report, moved)
    shutil.rmtree(run_dir)
    mark, console = _render_check(moved, tmp_path)
    assert mark["data-status"] == "loaded", mark
    assert mark["data-images"] == "3" and mark["data-broken"] == "0", mark  # + MNE logo
    assert mark["data-errors"] == "0" and console == [], console
    shot = tmp_path / "shot.png"
    proc = _chromium(moved, tmp_path, f"--screenshot={shot}", "--window-size=1200,2000",
                     "--hide-scrollbars")
    assert proc.returncode == 0 and shot.is_file(), proc.stderr[-2000:]
    pixels = mpimg.imread(shot)[..., :3]
    assert pixels.shape[:2] == (2000, 1200)
    assert pixels.std() > 0.05, "screenshot looks blank"
    inked_rows = (pixels.mean(axis=2) < 0.8).any(axis=1).mean()
    assert inked_rows > 0.3, f"only {inked_rows:.0%} of screenshot rows hold content"
    assert not math.isclose(pixels.mean(), 1.0, abs_tol=1e-3)


def test_report_opens_with_a_summary_and_ends_with_versions_and_command(tmp_path):
    """Issue 15, finding 9: report.html was a dump of flattened keys, with no summary,
    another task's config and no versions."""
    import json

    from neurodecode.viz import replot_run

    metrics = {"classification": {"accuracy": 0.661, "chance": 0.125, "n_classes": 8,
                                  "n_samples": 864, "cv": "leave-one-group-out (12 groups)",
                                  "fold_scores": [0.6, 0.7, 0.65], "p_value": 0.0099,
                                  "classes": list("abcdefgh"), "confusion": np.eye(8).tolist()},
               "per_recording": {"1": {"accuracy": 0.66}, "2": {"accuracy": 0.61}}}
    (tmp_path / "metrics.json").write_text(json.dumps(metrics))
    config = {"name": "haxby2001_classification", "task": "classification",
              "data": {"source": "study", "simulation": {"n_subjects": 4}},
              "analysis": {"classifier": "logistic"}, "training": {"epochs": 40}}
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    replot_run(tmp_path)
    text = (tmp_path / "report.html").read_text(encoding="utf-8")
    page = _parse(text)
    assert page.toc == ["Summary", "Figures", "Per-subject results", "Metrics",
                        "Configuration", "Software versions", "Reproduce this run"]
    assert ("A linear classifier separates 8 classes from 864 samples with accuracy 0.661 "
            "against chance 0.125, permutation p = 0.0099.") in page.text["strong"]
    assert "chance (majority class)" in page.text["td"]
    config_text = page.text["pre"][0]
    assert "training" not in config_text and "simulation" not in config_text
    assert page.rows["mne"] and page.rows["scikit-learn"]  # versions
    assert (f"neurodecode run {tmp_path / 'config.yaml'} --out {tmp_path}"
            in "".join(page.text["code"]))
    # per-subject results: the table, then the figure of the two subjects' accuracies
    assert [f["alt"] for f in page.figures] == ["confusion", "Per-subject figure"]
    assert (tmp_path / "figures" / "per_subject.png").is_file()


def test_report_slider_of_several_figures(run_dir, tmp_path):
    """A ReportFigure of several PNGs is an mne.Report slider, captions in order."""
    frames = []
    for i in range(3):
        frames.append(plot_retrieval_curve([1, 5, 10], [0.1 * i, 0.2, 0.3],
                                           n_candidates=20, fname=run_dir / f"f{i}.png", dpi=40))
    entry = ReportFigure(tuple(run_dir / f"f{i}.png" for i in range(3)), "over time",
                         ("t0", "t1", "t2"))
    page = _parse(_write(run_dir, figures=[entry]).read_text(encoding="utf-8"))
    sliders = [a for t, a in page.tags if t == "input" and a.get("type") == "range"]
    assert len(sliders) == 1 and sliders[0]["max"] == "2"
    assert [f["alt"] for f in page.figures] == ["over time"] * 3
    assert [c.strip() for c in page.text["figcaption"]] == ["t0", "t1", "t2"]


def test_report_figure_errors(run_dir):
    png = run_dir / "figures" / "retrieval.png"
    with pytest.raises(ValueError, match="'mixed': a slider takes PNG files only"):
        _write(run_dir, figures=[ReportFigure((png, run_dir / "figures" / "rdm.svg"), "mixed")])
    with pytest.raises(ValueError, match="'two' has 1 captions for 2 files"):
        _write(run_dir, figures=[ReportFigure((png, png), "two", ("a",))])
    with pytest.raises(ValueError, match="'none' holds no path"):
        _write(run_dir, figures=[ReportFigure((), "none")])
    with pytest.raises(TypeError, match=r"figures\[i\] must be"):
        _write(run_dir, figures=[3])


def test_neurodecode_plot_redraws_the_report_from_the_run_files(tmp_path, eeg_info):
    """`neurodecode plot RUN_DIR` rebuilds report.html (an mne.Report) and its figures from
    the saved files alone, the time-resolved map as a slider."""
    import json

    import mne

    from neurodecode.cli import main

    rng = np.random.default_rng(1)
    (tmp_path / "metrics.json").write_text(json.dumps({
        "top1": 0.2, "top5": 0.6, "chance_top5": 0.05, "n_candidates": 100,
        "per_subject": {"01": {"top1": 0.25, "top5": 0.7}, "02": {"top1": 0.15, "top5": 0.5}}}))
    (tmp_path / "config.yaml").write_text(yaml.safe_dump({"name": "demo", "task": "decoding"}))
    mne.io.write_info(tmp_path / "info.fif", eeg_info)
    np.save(tmp_path / "topomap_r.npy", rng.normal(size=(64, 5)))
    np.save(tmp_path / "times.npy", np.linspace(0.0, 0.4, 5))
    assert main(["plot", str(tmp_path)]) == 0
    page = _parse((tmp_path / "report.html").read_text(encoding="utf-8"))
    assert page.toc == ["Summary", "Figures", "Per-subject results", "Metrics",
                        "Configuration", "Software versions", "Reproduce this run"]
    assert "in its top 5 for 60.0 % of test segments (chance 5.0 %)" in "".join(
        page.text["strong"])
    assert [f["alt"] for f in page.figures] == (
        ["topomap r"] + ["Encoding accuracy per sensor over time (slider)"] * 5
        + ["Per-subject figure"])
    assert [a for t, a in page.tags if t == "input" and a.get("type") == "range"]
