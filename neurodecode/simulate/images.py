"""Simulated EEG of subjects viewing images, with planted image-driven responses.

Ground truth: each image's feature vector (e.g. EfficientNet-Lite0, 1280-d) is projected
by a fixed random matrix onto ``n_sources`` latent sources; source ``k`` answers every
image onset with a planted temporal kernel (a Gaussian bump at a latency of 80-350 ms,
random sign) scaled by the image's latent value, and projects to the 64 EEG sensors
through a smooth spatial pattern (a Gaussian bump on the scalp), perturbed per subject.
Sensor noise (1/f) sets the SNR. The protocol is THINGS-EEG2 in miniature: training
images shown ``n_repetitions`` times (condition ``"training"``), zero-shot test images
never in training shown ``n_test_repetitions`` times (condition ``"test"``), in random
order, one image every ``soa`` seconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import mne
import numpy as np
import pandas as pd

from .._validation import check_positive
from ..exceptions import DataFormatError
from .noise import pink_noise
from .sensors import make_sensor_array

IMAGES_FILE = "Kriegeskorte_Neuron2008_supplementalData.mat"


def load_92_images(root: str | Path) -> list[np.ndarray]:
    """The 92 images (175, 175, 3) uint8 of Kriegeskorte et al. 2008 from ``root``."""
    from scipy.io import loadmat

    path = Path(root) / IMAGES_FILE
    try:
        stimuli = loadmat(path)["stimuli_92objs"][0]
        images = [np.asarray(s["image"], dtype=np.uint8) for s in stimuli]
    except (OSError, KeyError, ValueError) as err:
        raise DataFormatError(f"cannot read the 92 images from {path}: {err}; expected the "
                              "MATLAB file of rsatoolbox's demo data (stimuli_92objs).") from err
    return images


def generated_images(n_images: int, *, size: int = 64, seed: int = 0) -> list[np.ndarray]:
    """``n_images`` random smooth colour images (size, size, 3) uint8, distinct per seed."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size] / size
    images = []
    for _ in range(n_images):
        image = np.zeros((size, size, 3))
        for _ in range(4):
            cx, cy, r = rng.uniform(0.1, 0.9), rng.uniform(0.1, 0.9), rng.uniform(0.05, 0.3)
            blob = np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * r**2))
            image += blob[..., None] * rng.uniform(0, 1, 3)
        f = rng.uniform(2, 12)
        image += 0.3 * np.sin(2 * np.pi * f * (xx * rng.normal() + yy * rng.normal()))[..., None]
        image = (image - image.min()) / (np.ptp(image) + 1e-9)
        images.append((255 * image).astype(np.uint8))
    return images


@dataclass
class ImageGroundTruth:
    """What the simulation planted: projection (n_features, n_sources), kernels
    (n_sources, n_lags) at ``sfreq``, group maps (n_channels, n_sources)."""

    projection: np.ndarray
    kernels: np.ndarray
    maps: np.ndarray
    sfreq: float


def simulate_image_eeg(features: np.ndarray, image_ids: list[str], test_ids: list[str], *,
                       n_subjects: int = 4, n_repetitions: int = 4, n_test_repetitions: int = 8,
                       sfreq: float = 100.0, soa: float = 0.5, n_sources: int = 16,
                       snr_db: float = -10.0, subject_variability: float = 0.3,
                       seed: int = 0) -> tuple[list, ImageGroundTruth]:
    """Simulated 64-channel EEG recordings (one per subject) of an image RSVP.

    Parameters
    ----------
    features : array of shape (n_images, n_features)
        The features driving the responses, row-aligned with ``image_ids``.
    image_ids : list of str
        Stimulus id of each image (the events' ``stimulus``).
    test_ids : list of str
        The zero-shot test images (shown only in the ``"test"`` condition).
    n_subjects, n_repetitions, n_test_repetitions : int
    sfreq, soa : float
        Sampling rate (Hz) and stimulus onset asynchrony (s).
    n_sources : int
        Latent sources the features drive.
    snr_db : float
        Power of the planted response over that of the noise, in dB.
    subject_variability : float
        Relative perturbation of each subject's maps.
    seed : int

    Returns
    -------
    recordings : list of Recording
    truth : ImageGroundTruth
    """
    features = np.asarray(features, dtype=np.float64)
    if features.ndim != 2 or len(features) != len(image_ids):
        raise ValueError(f"features must have shape (n_images={len(image_ids)}, n_features); "
                         f"got {features.shape}.")
    unknown = sorted(set(test_ids) - set(image_ids))
    if unknown:
        raise ValueError(f"test_ids {unknown[:5]} are not in image_ids.")
    for name, value in [("n_subjects", n_subjects), ("n_repetitions", n_repetitions),
                        ("n_test_repetitions", n_test_repetitions), ("sfreq", sfreq),
                        ("soa", soa), ("n_sources", n_sources)]:
        check_positive(name, value)
    rng = np.random.default_rng(seed)
    array = make_sensor_array("eeg64", sfreq)
    truth = _draw_truth(rng, features.shape[1], n_sources, array.pos, sfreq)
    latent = _latent(features, truth.projection)
    recordings = [
        _simulate_subject(rng, f"sim{s + 1:02d}", latent, image_ids, set(test_ids), truth, array,
                          n_repetitions=n_repetitions, n_test_repetitions=n_test_repetitions,
                          soa=soa, snr_db=snr_db, variability=subject_variability)
        for s in range(n_subjects)]
    return recordings, truth


def _latent(features: np.ndarray, projection: np.ndarray) -> np.ndarray:
    z = (features - features.mean(0)) / (features.std(0) + 1e-8)
    latent = z @ projection
    return (latent - latent.mean(0)) / (latent.std(0) + 1e-8)


def _draw_truth(rng: np.random.Generator, n_features: int, n_sources: int, pos: np.ndarray,
                sfreq: float) -> ImageGroundTruth:
    projection = rng.standard_normal((n_features, n_sources)) / np.sqrt(n_features)
    lags = np.arange(int(round(0.5 * sfreq))) / sfreq
    latency = rng.uniform(0.08, 0.35, n_sources)[:, None]
    width = rng.uniform(0.02, 0.06, n_sources)[:, None]
    sign = rng.choice([-1.0, 1.0], n_sources)[:, None]
    kernels = sign * np.exp(-((lags[None] - latency) ** 2) / (2 * width**2))
    return ImageGroundTruth(projection, kernels, _bump_maps(rng, pos, n_sources), sfreq)


def _bump_maps(rng: np.random.Generator, pos: np.ndarray, n_maps: int) -> np.ndarray:
    centres = pos[rng.integers(0, len(pos), n_maps)]
    radius = rng.uniform(0.02, 0.05, n_maps)
    dist2 = ((pos[:, None, :] - centres[None]) ** 2).sum(-1)
    return np.exp(-dist2 / (2 * radius**2))


def _schedule(rng, image_ids, test_ids, n_repetitions, n_test_repetitions) -> pd.DataFrame:
    shown = [(i, "test" if i in test_ids else "training") for i in image_ids
             for _ in range(n_test_repetitions if i in test_ids else n_repetitions)]
    order = rng.permutation(len(shown))
    return pd.DataFrame([shown[k] for k in order], columns=["stimulus", "condition"])


def _simulate_subject(rng, subject, latent, image_ids, test_ids, truth, array, *,
                      n_repetitions, n_test_repetitions, soa, snr_db, variability):
    from ..io.meeg import read_meeg

    table = _schedule(rng, image_ids, test_ids, n_repetitions, n_test_repetitions)
    sfreq = truth.sfreq
    onsets = 1.0 + soa * np.arange(len(table))
    n_times = int((onsets[-1] + 1.5) * sfreq)
    drive = np.zeros((latent.shape[1], n_times))
    index = {sid: k for k, sid in enumerate(image_ids)}
    samples = np.round(onsets * sfreq).astype(int)
    drive[:, samples] = latent[[index[s] for s in table["stimulus"]]].T
    sources = np.stack([np.convolve(d, k)[:n_times] for d, k in zip(drive, truth.kernels)])
    maps = truth.maps + variability * _bump_maps(rng, array.pos, truth.maps.shape[1])
    signal = maps @ sources
    noise = pink_noise(rng, len(array.ch_names), n_times, sfreq)
    noise *= np.sqrt(signal.var() / noise.var() / 10 ** (snr_db / 10))
    raw = mne.io.RawArray((signal + noise) * 1e-6, array.info.copy(), verbose="error")
    events = table.assign(onset=onsets, duration=0.1, kind="image", text=table["stimulus"],
                          block=table["condition"], value=np.arange(1, len(table) + 1))
    return read_meeg(raw, events=events, subject=subject, preload=True)


__all__ = ["ImageGroundTruth", "generated_images", "load_92_images", "simulate_image_eeg"]
