"""Fixed-order convolution gradients: the values of the default kernels, the same bits on
any number of threads, the modules they do not cover, and what ``fit`` does with them."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from neurodecode.losses import ClipLoss, MSELoss
from neurodecode.models import ConvEncoder
from neurodecode.training import predict_batch
from neurodecode.training.determinism import (
    FixedOrderConvolutions,
    conv1d_weight_grad,
    uncovered_convolutions,
)
from neurodecode.training.loop import _deterministic


def _on_threads(n_threads: int, compute):
    previous = torch.get_num_threads()
    torch.set_num_threads(n_threads)
    try:
        return compute()
    finally:
        torch.set_num_threads(previous)


@pytest.mark.parametrize("kernel, dilation, padding", [(3, 1, 1), (3, 4, 4), (1, 1, 0),
                                                       (5, 2, 0), (3, 16, 16)])
def test_weight_grad_is_the_convolution_weight_gradient(kernel, dilation, padding):
    torch.manual_seed(0)
    x = torch.randn(6, 5, 50, dtype=torch.float64)
    weight = torch.randn(7, 5, kernel, dtype=torch.float64, requires_grad=True)
    out = F.conv1d(x, weight, None, 1, padding, dilation)
    grad = torch.randn_like(out)
    (expected,) = torch.autograd.grad(out, weight, grad)
    torch.testing.assert_close(conv1d_weight_grad(x, grad, kernel, padding, dilation), expected,
                               rtol=1e-12, atol=1e-12)


def _step(model, batch, mode: bool):
    model.zero_grad()
    with FixedOrderConvolutions() if mode else torch.enable_grad():
        torch.manual_seed(1)
        out = model(*batch[:3])
        ClipLoss()(out, batch[3]).backward()
    return out.detach(), {k: p.grad.clone() for k, p in model.named_parameters()}


def _encoder_and_batch(n: int = 20):
    torch.manual_seed(0)
    model = ConvEncoder(16, 6, 2, n_virtual=12, hidden=16, depth=3, fourier_freqs=4).train()
    batch = (torch.randn(n, 16, 60), torch.randint(0, 2, (n,)), torch.rand(16, 2),
             torch.randn(n, 6, 60))
    return model, batch


def test_the_mode_gives_the_default_outputs_and_gradients():
    model, batch = _encoder_and_batch()
    out, grads = _step(model, batch, mode=False)
    fixed_out, fixed_grads = _step(model, batch, mode=True)
    torch.testing.assert_close(fixed_out, out, rtol=1e-5, atol=1e-6)
    scale = max(g.abs().max() for g in grads.values())
    for name, grad in grads.items():  # conv biases before a BatchNorm have a zero gradient
        torch.testing.assert_close(fixed_grads[name], grad, rtol=1e-4, atol=1e-6 * scale)


@pytest.mark.parametrize("n", [20, 8])  # under 16, a kernel-1 conv's backend follows threads
def test_a_training_step_is_bit_identical_on_one_two_and_three_threads(n):
    model, batch = _encoder_and_batch(n)
    steps = [_on_threads(k, lambda: _step(model, batch, mode=True)) for k in (1, 2, 3)]
    for out, grads in steps[1:]:
        assert torch.equal(out, steps[0][0])
        for name, grad in grads.items():
            assert torch.equal(grad, steps[0][1][name]), name


def test_a_demo_size_weight_gradient_is_bit_identical_on_one_and_two_threads():
    """oneDNN's own gradient here differs on 1 and 2 threads (``benchmarks/determinism.py``)."""
    torch.manual_seed(0)
    conv = nn.Conv1d(64, 64, 3, padding=1)
    x, grad = torch.randn(32, 64, 360), torch.randn(32, 64, 360)

    def weight_grad(mode: bool):
        conv.zero_grad()
        with FixedOrderConvolutions() if mode else torch.enable_grad():
            conv(x).backward(grad)
        return conv.weight.grad.clone()

    fixed = [_on_threads(k, lambda: weight_grad(True)) for k in (1, 2)]
    assert torch.equal(*fixed)
    torch.testing.assert_close(fixed[0], weight_grad(False), rtol=1e-4, atol=1e-3)


def test_inference_on_a_small_batch_is_bit_identical_on_one_and_two_threads():
    model, batch = _encoder_and_batch(8)
    model.eval()
    inputs = {"brain": batch[0], "subject": batch[1]}

    def predict():
        with torch.no_grad():
            return predict_batch(model, inputs, batch[2])

    assert torch.equal(_on_threads(1, predict), _on_threads(2, predict))


def test_mse_is_the_mean_and_bit_identical_on_one_and_two_threads():
    torch.manual_seed(0)
    pred, target = torch.randn(32, 40, 360), torch.randn(32, 40, 360)
    values = [_on_threads(k, lambda: MSELoss()(pred, target)) for k in (1, 2)]
    assert torch.equal(values[0], values[1])
    torch.testing.assert_close(values[0], F.mse_loss(pred.double(), target.double()).float())


def test_convolutions_outside_the_fixed_order_are_listed():
    model = nn.Sequential(nn.Conv1d(2, 2, 3, padding=1), nn.Conv2d(2, 2, 3),
                          nn.Conv1d(2, 2, 3, stride=2), nn.Conv1d(2, 2, 3, groups=2),
                          nn.Conv1d(2, 2, 3, padding="same"), nn.ConvTranspose1d(2, 2, 3),
                          nn.Conv1d(2, 2, 3, padding=1, padding_mode="reflect"))
    assert uncovered_convolutions(model) == ["1", "2", "3", "4", "5", "6"]
    assert uncovered_convolutions(ConvEncoder(8, 4, 2, n_virtual=8, hidden=8, depth=2)) == []


class _RecordsOneDNN(nn.Module):
    def __init__(self, conv: nn.Module) -> None:
        super().__init__()
        self.conv, self.seen = conv, []

    def forward(self, x):
        self.seen.append(torch.backends.mkldnn.enabled)
        return self.conv(x)


@pytest.mark.parametrize("conv, deterministic, inside", [
    (nn.Conv2d(1, 2, 3), True, False),  # not covered: oneDNN off, as before
    (nn.Conv1d(1, 2, 3), True, True),   # covered: oneDNN stays on
    (nn.Conv2d(1, 2, 3), False, True),
])
def test_deterministic_turns_onednn_off_only_for_uncovered_convolutions(conv, deterministic,
                                                                        inside):
    model, before = _RecordsOneDNN(conv), torch.backends.mkldnn.enabled
    x = torch.randn(1, 1, 5, 5) if isinstance(conv, nn.Conv2d) else torch.randn(1, 1, 5)
    with _deterministic(torch.device("cpu"), deterministic, model):
        model(x)
    assert model.seen == [inside and before]
    assert torch.backends.mkldnn.enabled == before


def _conv_backward_name() -> str:
    weight = torch.randn(2, 1, 3, requires_grad=True)
    return type(F.conv1d(torch.randn(1, 1, 8), weight).grad_fn).__name__


def test_the_mode_is_entered_on_cpu_only():
    model = nn.Conv1d(1, 2, 3)
    with _deterministic(torch.device("cpu"), True, model):
        assert _conv_backward_name() == "_FixedOrderConv1dBackward"
    with _deterministic(torch.device("cuda"), True, model):  # cuDNN keeps its kernels
        assert _conv_backward_name() == "ConvolutionBackward0"
    with _deterministic(torch.device("cpu"), False, model):
        assert _conv_backward_name() == "ConvolutionBackward0"


def test_mkl_runs_on_one_thread_in_the_mode_and_gets_its_threads_back():
    from neurodecode.training.determinism import _mkl_set_num_threads_local

    set_threads = _mkl_set_num_threads_local()
    if set_threads is None:
        pytest.skip("this torch is built without MKL")
    previous = set_threads(3)
    with FixedOrderConvolutions():
        inside = set_threads(1)
    assert (inside, set_threads(previous)) == (1, 3)


def test_layer_norm_in_the_mode_is_the_layer_norm_with_one_order_gradients():
    torch.manual_seed(0)
    norm, x = nn.LayerNorm(48), torch.randn(4096, 48)
    nn.init.normal_(norm.weight)
    nn.init.normal_(norm.bias)

    def step(mode: bool):
        norm.zero_grad()
        with FixedOrderConvolutions() if mode else torch.enable_grad():
            out = norm(x)
            (out * torch.linspace(-1, 1, 48)).sum().backward()
        return out.detach(), norm.weight.grad.clone(), norm.bias.grad.clone()

    default, fixed = step(False), [_on_threads(k, lambda: step(True)) for k in (1, 2, 3)]
    for got, expected in zip(fixed[0], default):
        torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-4)
    for other in fixed[1:]:
        assert all(torch.equal(a, b) for a, b in zip(other, fixed[0]))


def test_a_nice_encoder_step_is_bit_identical_on_one_and_two_threads():
    from neurodecode.models import NiceEncoder

    torch.manual_seed(0)
    model = NiceEncoder(8, 16, 2, n_filters=6, temporal_kernel=5, pool_kernel=5,
                        pool_stride=2, n_pooled=4).train()
    x, subject, y = torch.randn(24, 8, 60), torch.randint(0, 2, (24,)), torch.randn(24, 16)

    def step():
        model.zero_grad()
        with _deterministic(torch.device("cpu"), True, model):
            torch.manual_seed(1)
            ClipLoss(kind="infonce")(model(x, subject), y).backward()
        return {k: p.grad.clone() for k, p in model.named_parameters()}

    one, two = _on_threads(1, step), _on_threads(2, step)
    assert [k for k in one if not torch.equal(one[k], two[k])] == []
