"""CUDA paths checked against the CPU (``pytest -m gpu``; skipped without a GPU).

Seeded simulated batches; each check compares a CUDA result with the CPU/numpy one.
``benchmarks/gpu_check.py`` runs this file on the device.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from neurodecode.losses import ClipLoss
from neurodecode.models import ConvEncoder

pytestmark = [pytest.mark.gpu,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA")]


def _batch(seed: int = 0, n: int = 8, channels: int = 16, times: int = 60, outputs: int = 12):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(n, channels, times, generator=g),
            torch.randint(0, 2, (n,), generator=g),
            torch.rand(channels, 2, generator=g),
            torch.randn(n, outputs, times, generator=g))


def _model(seed: int = 0) -> ConvEncoder:
    torch.manual_seed(seed)
    return ConvEncoder(16, 12, 2, n_virtual=16, hidden=16, depth=2, spatial_dropout_radius=0)


def test_conv_encoder_forward_backward_on_cuda_equals_cpu():
    brain, subject, pos, target = _batch()
    results = {}
    for device in ("cpu", "cuda"):
        model = _model().to(device).train()
        out = model(brain.to(device), subject.to(device), pos.to(device))
        ClipLoss().to(device)(out, target.to(device)).backward()
        results[device] = (out.detach().cpu(), [p.grad.cpu() for p in model.parameters()])
    torch.testing.assert_close(results["cuda"][0], results["cpu"][0], rtol=1e-4, atol=1e-4)
    for g_cuda, g_cpu in zip(results["cuda"][1], results["cpu"][1]):
        torch.testing.assert_close(g_cuda, g_cpu, rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize("amp", ["bf16", "fp16"])
def test_amp_training_decreases_the_loss_like_fp32(amp, tmp_path):
    from neurodecode.training import SegmentDataset, fit

    brain, subject, pos, target = _batch(n=32)
    data = SegmentDataset(brain.numpy(), target.numpy(), subject.numpy())
    final = {}
    for mode in ("none", amp):
        result = fit(_model(), ClipLoss(), data, data, positions=pos.numpy(),
                     run_dir=tmp_path / mode, epochs=8, batch_size=16, lr=3e-3, device="cuda",
                     amp=mode, progress=False, resume=False)
        losses = [r["train_loss"] for r in result.history]
        assert losses[-1] < losses[0], (mode, losses)
        final[mode] = losses[-1]
    assert final[amp] == pytest.approx(final["none"], rel=0.1)


def test_rsa_torch_backend_on_cuda_equals_numpy():
    from neurodecode.rsa import compare_rdms, compute_rdm

    rng = np.random.default_rng(0)
    data = rng.standard_normal((5, 20, 30))
    models = rng.random((3, 20 * 19 // 2))
    ref = compare_rdms(compute_rdm(data, "correlation"), models, "spearman")
    rdms = compute_rdm(data, "correlation", backend="torch", device="cuda")
    got = compare_rdms(rdms, models, "spearman", backend="torch", device="cuda")
    np.testing.assert_allclose(np.asarray(got), ref, atol=1e-5)


def test_ridge_torch_backend_on_cuda_equals_numpy():
    from neurodecode.encoding import RidgeCV

    rng = np.random.default_rng(0)
    X, W = rng.standard_normal((200, 20)), rng.standard_normal((20, 30))
    Y = X @ W + rng.standard_normal((200, 30))
    ref = RidgeCV(alphas=[0.1, 1.0, 10.0]).fit(X, Y).predict(X)
    got = RidgeCV(alphas=[0.1, 1.0, 10.0], device="cuda", dtype="float64").fit(X, Y).predict(X)
    np.testing.assert_allclose(got, ref, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("where", [("cuda", "cpu"), ("cpu", "cuda")])
def test_a_checkpoint_resumes_on_the_other_device(where, tmp_path):
    from neurodecode.training import SegmentDataset, fit

    brain, subject, pos, target = _batch(n=32)
    data = SegmentDataset(brain.numpy(), target.numpy(), subject.numpy())
    kw = dict(positions=pos.numpy(), batch_size=16, lr=3e-3, progress=False)
    fit(_model(), ClipLoss(), data, data, run_dir=tmp_path, epochs=2, device=where[0], **kw)
    resumed = fit(_model(), ClipLoss(), data, data, run_dir=tmp_path, epochs=4,
                  device=where[1], **kw)
    assert [r["epoch"] for r in resumed.history] == [1, 2, 3, 4]
    assert all(np.isfinite(r["train_loss"]) for r in resumed.history)
