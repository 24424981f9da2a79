"""Image stimuli: reading (files, HDF5 bricks, arrays) and the pixels a vision model wants.

Image stimuli are ``(H, W, 3)`` uint8 arrays or paths. Greyscale images are
repeated to RGB and RGBA images are composited on white. :func:`images_to_tensor`
resizes, crops and normalises them as a model's ``preprocessor_config.json`` says
(:func:`read_preprocessing`); the models themselves are in :mod:`.image_models`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from neurodecode._validation import check_option, check_type
from neurodecode.exceptions import DataFormatError, DataNotFoundError

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

    Returns
    -------
    image : array of shape (H, W, 3), uint8
        The RGB pixels.

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


__all__ = ["CLIP_MEAN", "CLIP_STD", "IMAGENET_MEAN", "IMAGENET_STD", "MODES", "HDF5Image",
           "ImagePreprocessing", "images_to_tensor", "load_image", "read_preprocessing",
           "split_hdf5_stimulus"]
