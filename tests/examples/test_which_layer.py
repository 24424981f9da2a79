"""examples/which_layer.py recovers the planted model and layer on the real audiobook speech."""

from __future__ import annotations

import re
import runpy
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.mark.realdata
def test_which_layer_recovers_the_planted_model_and_layer(data_root, tmp_path, monkeypatch,
                                                           capsys):
    args = ["which_layer.py", str(tmp_path), "--data", str(data_root), "--n-trials", "3",
            "--model", "wav2vec2", "--layer", "3"]
    monkeypatch.setattr(sys, "argv", args)
    runpy.run_path(str(EXAMPLES / "which_layer.py"), run_name="__main__")
    out = capsys.readouterr().out
    found = re.search(r"planted (\S+) layer (\d); recovered (\S+) layer (\d) \(normalised "
                      r"score ([\d.]+)\)", out)
    assert found, out
    assert found[3] == "wav2vec2" and found[4] == "3" and float(found[5]) > 0.7
    assert (tmp_path / "which_layer.png").stat().st_size > 10_000
