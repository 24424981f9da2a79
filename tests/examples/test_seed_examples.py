"""The seed-analysis examples (topology, attention, coherence, selectivity) run and print their figures."""

from __future__ import annotations

import re

import pytest

from .test_examples import _run


@pytest.mark.realdata
def test_attention_example_accuracy_grows_with_the_window(data_root, tmp_path, monkeypatch,
                                                          capsys):
    out = _run(monkeypatch, capsys, "attention_audiobook.py", str(tmp_path), "--data",
               str(data_root), "--n-trials", "4")
    acc = [float(a) for a in re.findall(r"accuracy\s+([\d.]+) %", out)]
    assert len(acc) == 4 and 55 < acc[0] < acc[2] and acc[3] >= 90
    assert re.search(r"MESD [\d.]+ s at [\d.]+ s windows", out)
    assert (tmp_path / "attention_accuracy.png").stat().st_size > 10_000


@pytest.mark.realdata
def test_coherence_example_finds_channels_above_the_null(data_root, tmp_path, monkeypatch,
                                                         capsys):
    out = _run(monkeypatch, capsys, "coherence_meg_sample.py", str(tmp_path), "--data",
               str(data_root))
    found = re.search(r"(\d+) stimuli at ([\d.]+) Hz; (\d+) of 366 channels", out)
    assert found and int(found[1]) == 31 and 1.2 < float(found[2]) < 1.8
    assert int(found[3]) > 18  # far more than the 5 % family-wise false positives
    assert (tmp_path / "coherence.png").stat().st_size > 10_000


@pytest.mark.realdata
def test_selectivity_example_maps_house_preferring_voxels(data_root, tmp_path, monkeypatch,
                                                          capsys):
    out = _run(monkeypatch, capsys, "selectivity_haxby.py", str(tmp_path), "--data",
               str(data_root))
    counts = {c: int(n) for c, n in re.findall(r"^\s+(\w+)\s+(\d+) voxels", out, flags=re.M)}
    assert sum(counts.values()) == 100 and len(counts) == 8
    assert max(counts, key=counts.get) == "house"  # as printed by the example on this slice
    assert (tmp_path / "selectivity.png").stat().st_size > 10_000


def test_topological_rsa_example(tmp_path, monkeypatch, capsys):
    out = _run(monkeypatch, capsys, "topological_rsa.py", str(tmp_path))
    topo = re.search(r"topological RSA: best (\w+) \(ring ([\d.]+), chain ([\d.]+)", out)
    plain = re.search(r"plain RSA: best \w+ \(ring ([\d.]+), chain ([\d.]+)", out)
    assert topo[1] == "ring" and float(topo[2]) > 0.95
    assert float(topo[2]) - float(topo[3]) > float(plain[1]) - float(plain[2])
    assert (tmp_path / "topology_rdms.png").stat().st_size > 10_000


@pytest.mark.realdata
def test_cca_example_finds_brain_model_components(data_root, tmp_path, monkeypatch, capsys):
    out = _run(monkeypatch, capsys, "cca_haxby.py", str(tmp_path), "--data", str(data_root),
               "--n-permutations", "10")
    rows = [(float(r), float(p)) for r, p in
            re.findall(r"held-out canonical r = ([\d.-]+) \(p = ([\d.]+)\)", out)]
    assert len(rows) == 4 and rows[0][0] > 0.6 and rows[0][1] == pytest.approx(1 / 11, abs=1e-3)
    assert all(a[0] >= b[0] for a, b in zip(rows, rows[1:]))
    assert (tmp_path / "cca.png").stat().st_size > 10_000
