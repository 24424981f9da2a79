"""Smoke test of benchmarks/decoding_scale.py's data path at a tiny size."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "decoding_scale.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("decoding_scale", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_lazy_meg_reads_the_same_span_the_same_way(bench):
    meg = bench.LazyMEG(3, 6000)
    np.testing.assert_array_equal(meg.get(100, 1900)[:, 500:600], meg.get(600, 700))


def test_streamed_study_is_planned_on_words(bench, tmp_path):
    windows = bench._streamed(2, 2.0, tmp_path)  # one 60-s sound each
    assert windows.subjects == ["00", "01"] and windows.width == 360
    assert set(windows.meta["kind"]) == {"word"} and windows.n_features == bench.N_FEATURES
    batch = windows.dataset(windows.meta.iloc[:4]).get_batch(np.arange(4))
    assert batch["brain"].shape == (4, bench.N_CHANNELS, 360)
    assert batch["stimulus"].shape == (4, bench.N_FEATURES, 360)


def test_eval_stage_streamed_equals_materialised(bench, tmp_path):
    """``--stage eval``: both scorers give the same top-10, CI and word top-10; the test
    split is every subject's windows of the held-out sounds."""
    streamed = bench.child_eval(2, 2.0, tmp_path / "a", materialised=False)
    old = bench.child_eval(2, 2.0, tmp_path / "b", materialised=True)
    assert streamed["n_test"] == old["n_test"] == 2 * streamed["n_candidates"]
    for key in ("top10", "ci_top10", "word_top10", "n_candidates"):
        assert streamed[key] == old[key], key
    assert streamed["eval_peak_mb"] > 0
