"""The ``Feature`` protocol and time-axis helpers (the registry is :mod:`.registry`).

A feature turns a stimulus (a waveform, an image, a sentence) into numbers:

- *time-resolved* features (``sfreq`` is a float) return an array of shape
  ``(n_features, n_frames)`` with ``sfreq`` frames per second, the first frame
  at the stimulus onset;
- *item* features (``sfreq is None``) return one vector of shape ``(n_features,)``.

Every feature describes itself with :meth:`Feature.identity` (its class, every
parameter and, for pretrained models, the hash of the weights file) so that the
cache can key results without loading the model.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np
from scipy import signal

from neurodecode._hashing import file_hash
from neurodecode._validation import check_positive

logger = logging.getLogger("neurodecode")

def weights_hash(path: str | Path) -> str:
    """Hash of a weights file, or of the weight and config files of a pretrained folder."""
    path = Path(path)
    if path.is_file():
        return file_hash(path)
    files = sorted(
        p for p in path.iterdir()
        if p.suffix in (".safetensors", ".bin", ".pt", ".pth", ".json") and p.is_file()
    )
    return "-".join(file_hash(p)[:16] for p in files)


def folder_hash(path: str | Path) -> str:
    """SHA-256 over the relative names and contents of every file under ``path`` (sorted)."""
    root = Path(path)
    digest = hashlib.sha256()
    for item in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(str(item.relative_to(root)).encode())
        digest.update(file_hash(item).encode())
    return digest.hexdigest()


class Feature:
    """Base class of every stimulus feature.

    Subclasses set the class attributes ``name`` (their key in
    :data:`neurodecode.features.FEATURES`), ``modality`` (``"audio"``, ``"image"`` or
    ``"text"``) and ``takes_sfreq``, store their parameters in
    ``__init__`` without loading any model, and implement :meth:`_compute_one`
    (and optionally :meth:`_load` and :meth:`weights_id`).

    Attributes
    ----------
    name : str
        Registry name.
    modality : str
        What :meth:`compute` expects: ``"audio"``, ``"image"`` or ``"text"``.
    takes_sfreq : bool
        The time base: True when the constructor's ``sfreq`` sets the output frame rate and
        should follow the brain's rate (acoustic features computed on the brain's clock);
        False for item features and for models kept at their native frame rate (placed on the
        brain's clock by :meth:`StimulusFeatures.to_timeline`).
    kind : str
        ``"timeline"`` (``(n_features, n_frames)`` placed on the brain's clock) or
        ``"item"`` (one ``(n_features,)`` vector per event: images, sentence embeddings).
    sfreq : float or None
        Frames per second of the output, or ``None`` for one vector per item.
    dimension : int
        Number of output features ``n_features``.
    """

    name: ClassVar[str] = "feature"
    modality: ClassVar[str] = "audio"
    takes_sfreq: ClassVar[bool] = False
    kind: ClassVar[str] = "timeline"  # "timeline": (F, T) on the brain's clock; "item": (F,)
    sfreq: float | None = None
    dimension: int = 0

    def params(self) -> dict[str, Any]:
        """Constructor parameters that change the output (used in the cache key).

        Returns
        -------
        params : dict
            The public attributes set by the constructor.
        """
        return {k: v for k, v in vars(self).items() if not k.startswith("_")}

    def weights_location(self) -> Path | None:
        """File or folder of the pretrained weights; ``None`` for parameter-free features."""
        return None

    def weights_id(self) -> str:
        """Hash of the pretrained weights (computed once), ``""`` for parameter-free features.

        Returns
        -------
        digest : str
            SHA-256 of the weights file or folder, ``""`` when there is none.
        """
        if "_weights_id" not in vars(self):
            path = self.weights_location()
            self._weights_id = "" if path is None else weights_hash(path)
        return self._weights_id

    def identity(self) -> dict[str, Any]:
        """Everything that determines the output: name, class, parameters and weights hash.

        Returns
        -------
        identity : dict
            ``name``, ``class``, ``params`` (as repr) and ``weights``.
        """
        params = {k: v for k, v in self.params().items() if k not in ("device", "batch_size")}
        return {
            "name": self.name,
            "class": type(self).__qualname__,
            "params": {k: repr(v) for k, v in sorted(params.items())},
            "weights": self.weights_id(),
        }

    def load(self) -> Self:
        """Load the model (once) and return ``self``; parameter-free features do nothing.

        Returns
        -------
        feature : Feature
            ``self``, loaded.
        """
        if getattr(self, "_loaded", False):
            return self
        self._load()
        self._loaded = True
        return self

    def _load(self) -> None:
        return None

    def compute(self, stimuli: list[Any], *, progress: bool = False, **kwargs: Any) -> list[np.ndarray]:
        """Compute the feature of each stimulus.

        Parameters
        ----------
        stimuli : list
            Waveforms ``(wav, sr)`` tuples or paths (audio), images ``(H, W, 3)`` uint8 or
            paths (image), strings (text).
        progress : bool
            Show a tqdm progress bar.
        **kwargs
            Passed to :meth:`_compute_one` for each stimulus.

        Returns
        -------
        values : list of array of shape (n_features, n_frames) or (n_features,)
        """
        from tqdm.auto import tqdm

        self.load()
        return [
            self._compute_one(stim, **kwargs)
            for stim in tqdm(stimuli, disable=not progress, desc=self.name)
        ]

    def _compute_one(self, stimulus: Any, **kwargs: Any) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params().items())
        return f"{type(self).__name__}({args})"


def resample_frames(
    values: np.ndarray, sfreq: float, new_sfreq: float, n_out: int | None = None, *,
    t0: float = 0.0,
) -> np.ndarray:
    """Resample a time-resolved feature along its last axis.

    Frame ``i`` is taken to describe time ``t0 + i / sfreq``. When downsampling, a
    zero-phase Butterworth low-pass at 0.45 x ``new_sfreq`` is applied first (no
    aliasing); then values are linearly interpolated at ``j / new_sfreq``.

    Parameters
    ----------
    values : array of shape (n_features, n_frames)
    sfreq : float
        Frames per second of ``values``.
    new_sfreq : float
        Wanted frames per second.
    n_out : int or None
        Number of output frames; default ``round(n_frames * new_sfreq / sfreq)``.
        Times past the last input frame hold the last value (before the first, the first).
    t0 : float
        Time of input frame 0 in seconds (e.g. the centre of a model's first receptive field).

    Returns
    -------
    resampled : array of shape (n_features, n_out)
    """
    check_positive("sfreq", sfreq)
    check_positive("new_sfreq", new_sfreq)
    values = np.asarray(values)
    dtype = np.float32 if values.dtype == np.float32 else np.float64
    n_frames = values.shape[-1]
    if n_out is None:
        n_out = max(1, int(round(n_frames * new_sfreq / sfreq)))
    if n_frames == 0:
        return np.zeros(values.shape[:-1] + (n_out,))
    if new_sfreq < sfreq and n_frames > 27:
        sos = signal.butter(8, 0.45 * new_sfreq, fs=sfreq, output="sos")
        values = signal.sosfiltfilt(sos, values, axis=-1)
    t_in = t0 + np.arange(n_frames) / sfreq
    t_out = np.arange(n_out) / new_sfreq
    flat = values.reshape(-1, n_frames)
    out = np.empty((flat.shape[0], n_out), dtype=dtype)  # row by row: memory ~ the output
    for k, row in enumerate(flat):
        out[k] = np.interp(t_out, t_in, row)
    return out.reshape(values.shape[:-1] + (n_out,))


__all__ = ["Feature", "file_hash", "folder_hash", "resample_frames"]
