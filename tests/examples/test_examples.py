"""The RSA example scripts run on the real data and print the figures they promise."""

from __future__ import annotations

import re
import runpy
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _run(monkeypatch, capsys, script: str, *args: str) -> str:
    monkeypatch.setattr(sys, "argv", [script, *args])
    runpy.run_path(str(EXAMPLES / script), run_name="__main__")
    return capsys.readouterr().out


@pytest.mark.realdata
def test_rsa_meg_sample_peaks_after_onset(data_root, tmp_path, monkeypatch, capsys):
    out = _run(monkeypatch, capsys, "rsa_meg_sample.py", str(tmp_path), "--data", str(data_root))
    peak = re.search(r"peak r = ([\d.]+) at (\d+) ms \(baseline max ([\d.-]+)\)", out)
    assert peak, out
    value, latency, baseline = float(peak[1]), int(peak[2]), float(peak[3])
    assert 50 <= latency <= 300 and value > 0.9 and value > baseline
    for name in ("timecourse.png", "searchlight_topomap.png"):
        assert (tmp_path / name).stat().st_size > 10_000


@pytest.mark.realdata
def test_rsa_92images_ceiling_and_layer_profile(data_root, tmp_path, monkeypatch, capsys):
    out = _run(monkeypatch, capsys, "rsa_92images.py", str(tmp_path), "--data", str(data_root),
               "--n-bootstrap", "50")
    ceiling = re.search(r"lower ([\d.]+), upper ([\d.]+)", out)
    assert ceiling and (float(ceiling[1]), float(ceiling[2])) == (0.372, 0.666)
    rows = re.findall(r"^(human IT|monkey IT)\s+(\S+)\s+rho ([\d.-]+) \[([\d.-]+), ([\d.-]+)\]",
                      out, flags=re.M)
    assert len(rows) >= 8
    for _, _, rho, low, high in rows:
        assert float(low) <= float(rho) <= float(high) < float(ceiling[2])
    for name in ("rdms.png", "layer_profile.png"):
        assert (tmp_path / name).stat().st_size > 10_000
