"""``fit(amp=...)``: bf16 autocast on the CPU trains like fp32; a bad mode is refused."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from neurodecode.losses import ClipLoss
from neurodecode.models import ConvEncoder
from neurodecode.training import SegmentDataset, fit
from neurodecode.training.loop import amp_mode

REPO = Path(__file__).resolve().parents[2]


def _data(seed: int = 0):
    rng = np.random.default_rng(seed)  # planted: the target is a fixed mix of the brain
    brain = rng.standard_normal((32, 16, 40), dtype=np.float32)
    target = np.einsum("oc,nct->not", rng.standard_normal((12, 16)).astype(np.float32), brain)
    return SegmentDataset(brain, target, rng.integers(0, 2, 32)), rng.random((16, 2))


def _model():
    torch.manual_seed(0)
    return ConvEncoder(16, 12, 2, n_virtual=16, hidden=16, depth=2, spatial_dropout_radius=0)


def test_bf16_on_cpu_decreases_the_loss_like_fp32(tmp_path):
    data, pos = _data()
    final = {}
    for mode in ("none", "bf16"):
        result = fit(_model(), ClipLoss(), data, data, positions=pos, run_dir=tmp_path / mode,
                     epochs=6, batch_size=16, lr=3e-3, amp=mode, progress=False)
        losses = [r["train_loss"] for r in result.history]
        assert losses[-1] < losses[0] - 0.1, (mode, losses)
        final[mode] = losses[-1]
    assert final["bf16"] == pytest.approx(final["none"], rel=0.15)


def test_amp_flags_map_to_modes_and_a_bad_mode_is_refused(tmp_path):
    assert amp_mode(True, torch.device("cpu")) == "bf16"
    assert amp_mode(True, torch.device("cuda")) == "fp16"
    assert amp_mode(False, torch.device("cpu")) == "none"
    data, pos = _data()
    with pytest.raises(ValueError, match="amp"):
        fit(_model(), ClipLoss(), data, data, positions=pos, run_dir=tmp_path, epochs=1,
            amp="fp8", progress=False)


def test_the_recipe_field_takes_a_mode_name(tmp_path):
    from neurodecode.config import load_recipe
    from neurodecode.exceptions import ConfigError

    recipe = load_recipe(REPO / "recipes" / "demo.yaml", ["training.amp=bf16"])
    assert recipe.training.amp == "bf16"
    with pytest.raises(ConfigError, match="amp"):
        load_recipe(REPO / "recipes" / "demo.yaml", ["training.amp=half"])
