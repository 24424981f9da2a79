"""Smoke test of benchmarks/decode_simulated.py at a tiny size (its main function)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "decode_simulated.py"


def _load():
    spec = importlib.util.spec_from_file_location("decode_simulated", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def bench():
    return _load()


def test_quick_run_prints_the_four_rows(bench, capsys):
    summary = bench.main(["--quick", "--synthetic", "--subjects", "2", "--threads", "1"])
    out = capsys.readouterr().out
    for row in ("CLIP", "regression (MSE)", "untrained", "chance", "speech-like synthetic"):
        assert row in out
    n = summary["n_candidates"]
    assert n >= 10
    assert summary["chance"]["top1"] == pytest.approx(1 / n)
    assert summary["chance"]["top10"] == pytest.approx(min(10, n) / n)
    for name in ("CLIP", "regression (MSE)", "untrained"):
        assert 0.0 <= summary[name]["top1"] <= summary[name]["top5"] <= summary[name]["top10"] <= 1
    assert summary["CLIP"]["epochs"] == 2 and summary["untrained"]["epochs"] == 0


def test_trial_cap_fills_to_the_total(bench):
    durations = [52.0, 56.0, 60.0, 70.0, 80.0]
    cap = bench.trial_cap(durations, 250.0)
    assert np.minimum(durations, cap).sum() == pytest.approx(250.0)
    assert bench.trial_cap(durations, 1000.0) == 80.0


def test_splits_are_leak_free_with_a_finer_test_stride(bench):
    args = bench.parse_args(["--quick", "--synthetic", "--subjects", "2"])
    recordings, features, _ = bench.simulate(args)
    splits = bench.make_splits(recordings, features, args)
    test, train = splits["test"], splits["train"]
    steps = np.diff(np.sort(test.meta.loc[test.meta["recording"] == 0, "start"].to_numpy()))
    assert steps.min() == round(args.test_stride * bench.SFREQ)
    assert np.diff(np.sort(train.meta.loc[train.meta["recording"] == 0, "start"])).min() == 120
    assert not set(test.meta["block"]) & set(train.meta["block"])
    # The check catches a planted leak: a test window put into train.
    leaky = dict(splits, train=type(train).select(test, [0]))
    with pytest.raises(AssertionError, match="test stimulus in train"):
        bench.check_leak_free(leaky)
