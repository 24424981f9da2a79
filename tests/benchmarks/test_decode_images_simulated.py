"""Smoke test of benchmarks/decode_images_simulated.py at a tiny size (its main function)."""

from __future__ import annotations

import pytest

from tests.benchmarks._load import load_benchmark


def test_quick_run_prints_every_row_with_chance(capsys):
    results = load_benchmark("decode_images_simulated").main(["--quick", "--synthetic", "--subjects", "2", "--test-images", "6",
                            "--epochs", "1", "--threads", "1"])
    out = capsys.readouterr().out
    for row in ("CLIP conv_time_agg", "CLIP nice_eeg", "ridge (RidgeCV)",
                "untrained conv_time_agg", "chance", "generated", "minus ridge, same queries",
                "best/run epochs"):
        assert row in out
    assert set(results) == {"conv_time_agg", "nice_eeg", "ridge", "untrained"}
    for result in results.values():
        assert result.n_candidates == 6 and result.n_queries == 12
        assert result.chance[1] == pytest.approx(1 / 6)
        assert 0.0 <= result.topk[1] <= result.topk[5] <= 1.0
