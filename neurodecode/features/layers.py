"""Layer-wise features of any registered model (or a loaded torch image model), for
layer-wise RSA and encoding.

It sits above :mod:`.registry` (it looks names up there), so the feature modules never
import the registry.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from neurodecode.features.image_models import TorchImageModel
from neurodecode.features.registry import get_feature


def extract_layers(model: Any, stimuli: list[Any], layers: list[str] | None = None, *,
                   pooled: bool = True, progress: bool = False, **params: Any) -> dict[str, np.ndarray]:
    """Features of several layers of a model for every stimulus, for layer-wise RSA and encoding.

    Parameters
    ----------
    model : str, Feature or torch.nn.Module
        A registry name (e.g. ``"efficientnet_lite0"``, ``"wav2vec2"``), a feature instance
        with ``layer_names()`` and ``activations()``, or a loaded torch image model (wrapped
        in :class:`TorchImageModel`; ``**params`` go to the wrapper).
    stimuli : list
        Images (``(H, W, 3)`` uint8 arrays or paths) or audio (``(wav, sr)`` or paths).
    layers : list of str or None
        Layer names; ``None`` means every named layer the feature offers by default.
    pooled : bool
        Pool each layer to one vector per stimulus (False keeps spatial/temporal detail).
    **params
        Passed to the feature's constructor when ``model`` is a name.
    progress : bool
        Show a progress bar.

    Returns
    -------
    features : dict of str to array of shape (n_stimuli, ...)
    """
    # Any: a duck-typed layered feature (checked below), not just the Feature base class.
    feature: Any = get_feature(model, **params) if isinstance(model, str) else model
    if isinstance(model, torch.nn.Module):
        feature = TorchImageModel(model, **params)
    if not hasattr(feature, "activations"):
        raise TypeError(
            f"model must be a registry name, a layered feature (with activations()) or a "
            f"torch.nn.Module; got {type(model).__name__}."
        )
    if layers is None:
        layers = list(getattr(feature, "default_layers", feature.layer_names)())
    return feature.activations(stimuli, layers, pooled=pooled, progress=progress)


__all__ = ["extract_layers"]
