"""Training on CPU whose result does not depend on the number of threads.

Which operations of a ``ConvEncoder`` training step give other bits on 1 and on 2
threads (``benchmarks/determinism.py`` recomputes every module alone from the same
input, weights and output gradient, at the demo's size), and what else was found:

- the **weight and bias gradients of every convolution**: oneDNN (mkldnn), the default
  CPU convolution, splits the reduction ``dW[o, i, k] = sum_{b, t} grad[b, o, t]
  x[b, i, t + k d]`` over batch and time between the threads;
- a **kernel-1 convolution on a batch under 16**: PyTorch runs it with its own GEMM on
  one thread and with oneDNN on more (``use_mkldnn`` in ATen's ``Convolution.cpp``);
- **MKL's GEMMs** (``matmul``, ``bmm``, ``einsum``) at some shapes (a 20 x 360 product on
  3 threads; the spatial attention's einsum on 2 under ``MKL_CBWR=AUTO,STRICT``): MKL
  splits a product in blocks that follow the thread count;
- a **full reduction** of more than 32,768 elements (``F.mse_loss``'s mean): PyTorch sums
  one part per thread (``MSELoss`` therefore sums per example first);
- in ``NiceEncoder``, also **LayerNorm's weight and bias gradients** (one buffer per
  thread) and the 2-D convolutions' weight gradients (oneDNN).

The convolutions' outputs and input gradients, ``SubjectLayers``, BatchNorm, GELU/GLU,
the softmax, dropout masks and AdamW give the same bits on any number of threads.

``FixedOrderConvolutions`` (a ``TorchFunctionMode``, entered by ``fit`` on CPU and by
``predict_batch`` for inference) handles the first three and LayerNorm (normalised by
the fused kernel, then a broadcast affine product): the weight gradient is one
GEMM per kernel tap and example (``torch.bmm`` over the batch, contracting over time),
summed over the batch by a reduction split over its outputs, so that each output is
added in batch order; a kernel-1 convolution is called with a dilation of 2 (no effect
on its values) so that its backend is oneDNN on any number of threads; MKL runs on one
thread while the mode is active (oneDNN keeps every thread). The model, its parameters
and ``state_dict`` are untouched; CUDA never enters the mode (cuDNN keeps its kernels).
"""

from __future__ import annotations

import ctypes
import functools
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from torch.overrides import TorchFunctionMode

_CONV1D_ARGS = ("input", "weight", "bias", "stride", "padding", "dilation", "groups")
_CONV1D_DEFAULTS = {"bias": None, "stride": 1, "padding": 0, "dilation": 1, "groups": 1}


def conv1d_weight_grad(x: torch.Tensor, grad: torch.Tensor, kernel: int, padding: int,
                       dilation: int) -> torch.Tensor:
    """Gradient of a stride-1 conv1d's weight, summed in an order fixed by the shapes.

    Parameters
    ----------
    x : tensor of shape (batch, in_channels, n_times)
        The convolution's input.
    grad : tensor of shape (batch, out_channels, n_times_out)
        The gradient of its output.
    kernel, padding, dilation : int
        The convolution's (zero) padding on each side, kernel size and dilation.

    Returns
    -------
    grad_weight : tensor of shape (out_channels, in_channels, kernel)
        ``sum_{b, t} grad[b, o, t] * x_padded[b, i, t + k * dilation]``: per tap, one GEMM
        per example over time, then a sum over the batch in batch order.
    """
    n_out = grad.shape[-1]
    padded = F.pad(x, (padding, padding))
    taps = [torch.bmm(grad, padded[:, :, k * dilation:k * dilation + n_out].transpose(1, 2))
            for k in range(kernel)]
    return torch.stack([tap.sum(0) for tap in taps], dim=-1)


class _FixedOrderConv1d(torch.autograd.Function):
    """``F.conv1d`` (stride 1, groups 1) whose weight and bias gradients do not depend on
    the number of threads; forward and input gradient are the default kernels'."""

    @staticmethod
    def forward(ctx, x, weight, bias, padding: int, dilation: int):  # noqa: D102
        ctx.save_for_backward(x, weight)
        ctx.padding, ctx.dilation, ctx.has_bias = padding, dilation, bias is not None
        return F.conv1d(x, weight, bias, 1, padding, dilation, 1)

    @staticmethod
    def backward(ctx, grad):  # noqa: D102
        x, weight = ctx.saved_tensors
        grad_x = grad_weight = grad_bias = None
        if ctx.needs_input_grad[0]:
            grad_x = torch.ops.aten.convolution_backward(
                grad, x, weight, None, [1], [ctx.padding], [ctx.dilation], False, [0], 1,
                [True, False, False])[0]
        if ctx.needs_input_grad[1]:
            grad_weight = conv1d_weight_grad(x, grad, weight.shape[-1], ctx.padding,
                                             ctx.dilation)
        if ctx.has_bias and ctx.needs_input_grad[2]:
            grad_bias = grad.sum((0, 2))  # split over channels: each sums in one order
        return grad_x, grad_weight, grad_bias, None, None


def _single(value) -> int | None:
    """An int, or a 1-tuple of one (``nn.Conv1d`` stores ``(k,)``); else None."""
    if isinstance(value, (tuple, list)) and len(value) == 1:
        value = value[0]
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _stable_dilation(weight: torch.Tensor, dilation: int) -> int:
    """The dilation to call a kernel-1 conv with so that its backend is oneDNN on any
    number of threads (a dilation has no effect on a kernel of size 1).

    PyTorch's CPU convolution runs a 1x1 filter on a batch under 16 with its own GEMM
    kernel (THNN) on one thread and with oneDNN on more, unless the conv is dilated or
    strided (``use_mkldnn`` in ``aten/src/ATen/native/Convolution.cpp``): the two round
    differently, so a validation batch of 8 gave other bits on 1 and 2 threads.
    """
    return 2 if weight.shape[-1] == 1 else dilation


def _conv1d_arguments(args: tuple, kwargs: dict) -> tuple | None:
    """(x, weight, bias, padding, dilation) of a CPU conv1d call with stride 1, groups 1,
    integer padding and dilation, in float32 or float64; else None."""
    bound = {**_CONV1D_DEFAULTS, **dict(zip(_CONV1D_ARGS, args)), **kwargs}
    x, weight = bound["input"], bound["weight"]
    padding, dilation = _single(bound["padding"]), _single(bound["dilation"])
    if (x.device.type != "cpu" or x.dim() != 3 or x.dtype not in (torch.float32, torch.float64)
            or weight.dtype != x.dtype or torch.is_autocast_enabled("cpu")
            or _single(bound["stride"]) != 1 or bound["groups"] != 1
            or padding is None or dilation is None):
        return None
    return x, weight, bound["bias"], padding, _stable_dilation(weight, dilation)


@functools.cache
def _mkl_set_num_threads_local():
    """MKL's ``mkl_set_num_threads_local`` in the library torch links, or None (a build
    without MKL, whose BLAS keeps its own threading)."""
    if not torch.backends.mkl.is_available():
        return None
    for name in ("libtorch_cpu.so", "libtorch_cpu.dylib", "torch_cpu.dll"):
        path = Path(torch.__file__).parent / "lib" / name
        try:
            function = ctypes.CDLL(str(path)).MKL_Set_Num_Threads_Local
        except (OSError, AttributeError):
            continue
        function.restype, function.argtypes = ctypes.c_int, [ctypes.c_int]
        return function
    return None


class FixedOrderConvolutions(TorchFunctionMode):
    """Within this mode, CPU training and inference give the same bits on any number of
    threads.

    MKL's GEMMs run on one thread in the thread that entered the mode (``matmul``,
    ``bmm``, ``einsum``, ``linear``: MKL splits a product between threads in blocks
    that follow the thread count, and rounds the edges differently, even under
    ``MKL_CBWR=AUTO,STRICT``); the previous MKL setting is restored on exit. oneDNN's
    convolutions keep every thread. Every ``torch.conv1d`` (``F.conv1d``, ``nn.Conv1d``)
    on CPU with stride 1, groups 1 and an integer padding, in float32 or float64, runs
    on one backend whatever the thread count (see ``_stable_dilation``), and with
    autograd on it is computed by ``_FixedOrderConv1d``: same outputs and input
    gradients as the default kernel, and weight/bias gradients summed in one order (see
    the module docstring); so are ``F.layer_norm``'s affine gradients (``_layer_norm``).
    Other calls (CUDA, autocast, strided or grouped convolutions) are left as they are;
    ``uncovered_convolutions`` lists a model's modules that the mode does not cover.
    """

    def __init__(self) -> None:
        super().__init__()
        self._mkl_threads: list[int] = []

    def __enter__(self):  # noqa: D105
        set_threads = _mkl_set_num_threads_local()
        if set_threads is not None:
            self._mkl_threads.append(set_threads(1))
        return super().__enter__()

    def __exit__(self, *exc):  # noqa: D105
        try:
            return super().__exit__(*exc)
        finally:
            if self._mkl_threads:
                _mkl_set_num_threads_local()(self._mkl_threads.pop())

    def __torch_function__(self, func, types, args=(), kwargs=None):  # noqa: D105
        kwargs = kwargs or {}
        if func is F.layer_norm:
            return _layer_norm(*args, **kwargs)
        conv = _conv1d_arguments(args, kwargs) if func is torch.conv1d else None
        if conv is None:
            return func(*args, **kwargs)
        x, weight, bias, padding, dilation = conv
        if torch.is_grad_enabled() and weight.requires_grad:
            return _FixedOrderConv1d.apply(x, weight, bias, padding, dilation)
        return F.conv1d(x, weight, bias, 1, padding, dilation, 1)


def _layer_norm(x: torch.Tensor, normalized_shape, weight: torch.Tensor | None = None,
                bias: torch.Tensor | None = None, eps: float = 1e-5) -> torch.Tensor:
    """``F.layer_norm`` whose affine gradients are sums over rows in one order.

    The fused CPU kernel accumulates the weight and bias gradients in one buffer per
    thread; here the normalisation is the kernel's (its backward is per row) and the
    affine part is a broadcast product, whose gradient is a reduction split over its
    outputs. On CUDA, without autograd or without an affine part: the fused kernel.
    """
    if (x.device.type != "cpu" or not torch.is_grad_enabled() or weight is None
            or not (weight.requires_grad or (bias is not None and bias.requires_grad))):
        return F.layer_norm(x, normalized_shape, weight, bias, eps)
    y = F.layer_norm(x, normalized_shape, None, None, eps) * weight
    return y if bias is None else y + bias


def uncovered_convolutions(model: nn.Module) -> list[str]:
    """Names of ``model``'s convolution modules whose gradients the mode does not fix.

    Covered: ``nn.Conv1d`` with stride 1, groups 1, zero padding given as an int.
    Anything else deriving from ``nn.modules.conv._ConvNd`` (2-D/3-D, transposed,
    strided, grouped, ``padding="same"``, other padding modes) is listed.
    """
    return [name or type(module).__name__ for name, module in model.named_modules()
            if isinstance(module, nn.modules.conv._ConvNd) and not _covered(module)]


def _covered(module: nn.Module) -> bool:
    return (type(module).forward is nn.Conv1d.forward and isinstance(module, nn.Conv1d)
            and module.padding_mode == "zeros" and module.stride == (1,)
            and module.groups == 1 and _single(module.padding) is not None)


__all__ = ["FixedOrderConvolutions", "conv1d_weight_grad", "uncovered_convolutions"]
