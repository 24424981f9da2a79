"""extract_layers on a loaded torch model: hooks read the planted layers exactly."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from neurodecode.features import extract_layers
from neurodecode.features.image_io import IMAGENET_MEAN, IMAGENET_STD
from neurodecode.features.image_models import TorchImageModel


def _red_picker() -> torch.nn.Module:
    conv = torch.nn.Conv2d(3, 2, kernel_size=1, bias=False)
    with torch.no_grad():
        conv.weight.zero_()
        conv.weight[0, 0] = 1.0  # channel 0 copies the (normalised) red channel
        conv.weight[1, 2] = -1.0  # channel 1 is minus the blue channel
    return torch.nn.Sequential(conv, torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(1),
                               torch.nn.Flatten())


def test_loaded_model_layers_equal_planted_values():
    images = [np.full((40, 60, 3), value, np.uint8) for value in ((255, 0, 0), (0, 0, 255))]
    acts = extract_layers(_red_picker(), images, layers=["0", "3"], size=32)
    assert acts["0"].shape == (2, 2) and acts["3"].shape == (2, 2)
    red = [(255 - IMAGENET_MEAN[0]) / IMAGENET_STD[0], (0 - IMAGENET_MEAN[0]) / IMAGENET_STD[0]]
    blue = [-(0 - IMAGENET_MEAN[2]) / IMAGENET_STD[2], -(255 - IMAGENET_MEAN[2]) / IMAGENET_STD[2]]
    np.testing.assert_allclose(acts["0"][:, 0], red, rtol=1e-4)
    np.testing.assert_allclose(acts["0"][:, 1], blue, rtol=1e-4)
    np.testing.assert_allclose(acts["3"], np.maximum(acts["0"], 0), rtol=1e-4)


def test_errors():
    with pytest.raises(TypeError, match="model must be a registry name, a layered feature"):
        extract_layers(42, [])
    with pytest.raises(TypeError, match="model must be Module"):
        TorchImageModel("not a model")
    with pytest.raises(ValueError, match="layer"):
        extract_layers(_red_picker(), [np.zeros((8, 8, 3), np.uint8)], layers=["nope"])


def test_cache_key_tells_models_apart():
    """Two models (or one fine-tuned) never share feature-cache entries."""
    torch.manual_seed(0)
    a = TorchImageModel(torch.nn.Sequential(torch.nn.Conv2d(3, 2, 3)), size=16)
    b = TorchImageModel(torch.nn.Sequential(torch.nn.Conv2d(3, 2, 3)), size=16)
    assert a.identity() != b.identity()
    before = a.identity()
    with torch.no_grad():
        a._model[0].weight.add_(1.0)
    assert a.identity() != before
