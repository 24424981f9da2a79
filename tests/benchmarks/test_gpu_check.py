"""benchmarks/gpu_check.py runs end to end on the CPU at a tiny size (--device cpu --quick)."""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import pytest
import torch

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "gpu_check.py"
PARTS = ["gpu_tests", "ddp_gloo", "ddp_nccl_world1", "training", "loader", "ridge", "rsa"]


def _load(monkeypatch):
    """The script as module ``gpu_check`` (importable by its spawned DDP processes too)."""
    monkeypatch.syspath_prepend(str(SCRIPT.parent))
    return importlib.import_module("gpu_check")


@pytest.mark.skipif(torch.cuda.is_available(), reason="the CPU run of a machine without CUDA")
def test_gpu_check_runs_every_part_on_the_cpu(tmp_path, monkeypatch):
    gpu_check = _load(monkeypatch)
    assert gpu_check.main(["--device", "cpu", "--quick", "--out", str(tmp_path)]) == 0
    report = json.loads((tmp_path / "gpu_check.json").read_text())
    parts = report["parts"]
    assert list(parts) == PARTS
    assert report["environment"]["torch"] == torch.__version__
    assert parts["gpu_tests"]["status"] == gpu_check.NO_CUDA
    assert parts["gpu_tests"]["skipped"] > 0 and parts["gpu_tests"]["failed"] == 0
    assert parts["ddp_nccl_world1"]["status"] == gpu_check.NO_CUDA
    for name in ("ddp_gloo", "training", "ridge", "rsa"):
        assert parts[name]["status"] == "pass", (name, parts[name])
    assert parts["ddp_gloo"]["max_abs_grad_diff"] < 1e-5
    for mode in ("fp32", "bf16", "compile"):
        assert parts["training"][mode]["steps_per_s"] > 0, mode
    assert parts["loader"]["batches_per_s"] > 0 and parts["loader"]["ratio_vs_step_rate"] > 0
    assert parts["rsa"]["max_abs_diff"] < 1e-5
    assert parts["ridge"]["max_rel_diff_vs_numpy"] < 1e-4
    table = (tmp_path / "gpu_check.txt").read_text().splitlines()
    assert table[0].startswith("gpu_check on cpu")
    assert [line.split()[0] for line in table[2:]] == PARTS


def test_a_failing_part_is_reported_and_the_others_run(monkeypatch):
    gpu_check = _load(monkeypatch)

    def broken(*args):
        raise RuntimeError("planted failure")
    out = gpu_check._guarded(broken)
    assert out["status"] == "fail: RuntimeError: planted failure"
    assert "planted failure" in out["traceback"]
