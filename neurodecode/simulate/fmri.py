"""Stimulus-driven fMRI in a small NIfTI volume with known voxel weights.

Model, for run ``r``, volume ``t`` and voxel ``v``::

    X_r(t)   = features, centred per feature and divided by their global SD
    D_r(t)   = X_r convolved with the SPM canonical HRF sampled at TR (within the run)
    y_r(t,v) = baseline(v) + sum_f D_r(t, f) weights[f, v] + e_r(t, v)
    e_r      = AR(1) noise, e(t) = rho e(t-1) + sqrt(1 - rho^2) w(t), unit variance

Voxel weights are smooth random fields over the voxel grid, non-zero only in a
contiguous "responsive" region holding ``responsive_fraction`` of the mask. SNR is the
signal power over the noise power summed over the responsive voxels.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import nibabel as nib
import numpy as np
import pandas as pd
from scipy.signal import lfilter
from scipy.stats import gamma

from .._validation import check_positive, check_type
from ..io.recording import EVENT_COLUMNS
from ._checks import check_features, check_snr
from .sensors import RandomField


@dataclass
class FmriGroundTruth:
    """What was planted in a simulated fMRI data set.

    Parameters
    ----------
    weights : array of shape (n_features, n_voxels)
        Voxel weights (zero outside the responsive voxels), in masker voxel order.
    responsive : array of shape (n_voxels,), bool
    hrf : array of shape (n_hrf,)
        The HRF sampled at TR (sums to 1).
    design : array of shape (n_volumes, n_features)
        HRF-convolved normalised features, all runs stacked.
    signal, noise : arrays of shape (n_volumes, n_voxels)
    baseline : array of shape (n_voxels,)
    snr : float
    rho : float
    """

    weights: np.ndarray
    responsive: np.ndarray
    hrf: np.ndarray
    design: np.ndarray
    signal: np.ndarray
    noise: np.ndarray
    baseline: np.ndarray
    snr: float
    rho: float


@dataclass
class SimulatedFmri:
    """Simulated fMRI runs.

    Parameters
    ----------
    images : list of nibabel.Nifti1Image
        One 4-D image (x, y, z, volumes) per run, float32.
    mask : nibabel.Nifti1Image
        3-D uint8 brain mask with ``n_voxels`` voxels.
    events : DataFrame
        Columns ``EVENT_COLUMNS``; onsets in seconds from the start of the run named in
        ``block`` (``"run-01"``, ...).
    runs : array of shape (n_volumes,)
        Run index of each volume (all runs stacked).
    tr : float
    ground_truth : FmriGroundTruth
    """

    images: list
    mask: nib.Nifti1Image
    events: pd.DataFrame
    runs: np.ndarray
    tr: float
    ground_truth: FmriGroundTruth

    def masked_data(self) -> np.ndarray:
        """Data in the mask, all runs stacked: array of shape (n_volumes, n_voxels).

        Returns
        -------
        data : array of shape (n_volumes, n_voxels)
            The BOLD data of every run in the mask.
        """
        inside = np.asarray(self.mask.dataobj).astype(bool)
        return np.concatenate([np.asarray(img.dataobj)[inside].T for img in self.images])


def spm_hrf(tr: float, length: float = 32.0) -> np.ndarray:
    """SPM canonical HRF (peak 6 s, undershoot 16 s, ratio 1/6) sampled every ``tr`` s.

    Returns an array of shape (n,) summing to 1.

    Parameters
    ----------
    tr : float
        Repetition time in seconds.
    length : float
        Length of the kernel in seconds.

    Returns
    -------
    hrf : array of shape (n,)
        The HRF, summing to 1.
    """
    check_positive("tr", tr)
    t = np.arange(0.0, length, tr)
    hrf = gamma.pdf(t, 6.0) - gamma.pdf(t, 16.0) / 6.0
    return hrf / hrf.sum()


def simulate_fmri(
    features: np.ndarray | Sequence[np.ndarray],
    tr: float,
    *,
    n_voxels: int = 500,
    responsive_fraction: float = 0.5,
    snr: float | None = None,
    snr_db: float | None = None,
    rho: float = 0.3,
    voxel_size: float = 3.0,
    events: pd.DataFrame | None = None,
    seed: int = 0,
) -> SimulatedFmri:
    """Simulate fMRI runs driven by ``features`` with planted voxel weights.

    Parameters
    ----------
    features : array of shape (n_features, n_volumes) or list of such arrays
        Stimulus features (or a design, e.g. from :func:`make_block_design`) sampled
        at each volume; one array per run.
    tr : float
        Repetition time in seconds.
    n_voxels : int
        Voxels in the mask (a ball in a small grid).
    responsive_fraction : float in (0, 1]
        Fraction of the mask voxels with non-zero weights.
    snr, snr_db : float, optional
        Signal power over noise power in the responsive voxels, as a ratio (> 0) or in
        decibels; at most one. Default ``snr=1``.
    rho : float in [0, 1)
        AR(1) coefficient of the noise.
    voxel_size : float
        Voxel edge in mm.
    events : DataFrame, optional
        Returned as ``events`` (e.g. from :func:`make_block_design`); by default one
        ``"block"`` event per run.
    seed : int

    Returns
    -------
    simulated : SimulatedFmri
    """
    runs_x = check_features(features)
    check_positive("tr", tr)
    check_type("n_voxels", n_voxels, int)
    if n_voxels < 2:
        raise ValueError(f"n_voxels must be an int >= 2; got {n_voxels}.")
    if not 0.0 < responsive_fraction <= 1.0:
        raise ValueError(f"responsive_fraction must be in (0, 1]; got {responsive_fraction}.")
    ratio = check_snr(snr, snr_db, default=1.0)
    if not 0.0 <= rho < 1.0:
        raise ValueError(f"rho must be in [0, 1) (AR(1) coefficient); got {rho}.")
    check_positive("voxel_size", voxel_size)
    check_type("seed", seed, int)
    if events is not None:
        check_type("events", events, pd.DataFrame)
    rng = np.random.default_rng(seed)
    mask, coords, affine = _ball_mask(n_voxels, voxel_size)
    hrf = spm_hrf(tr)
    design = np.concatenate(_convolve_runs(runs_x, hrf), axis=1).T
    runs = np.concatenate([np.full(x.shape[1], k) for k, x in enumerate(runs_x)])
    weights, responsive = _voxel_weights(rng, coords, design.shape[1], responsive_fraction,
                                         voxel_size)
    noise = np.concatenate([_ar1(rng, int((runs == k).sum()), n_voxels, rho)
                            for k in range(len(runs_x))])
    power = np.sum(np.var((design @ weights)[:, responsive], axis=0))
    weights *= np.sqrt(ratio * np.sum(np.var(noise[:, responsive], axis=0)) / power)
    signal = design @ weights
    baseline = 100.0 + 10.0 * rng.random(n_voxels)
    images = _images(baseline + signal + noise, runs, mask, affine, tr)
    truth = FmriGroundTruth(weights, responsive, hrf, design, signal, noise, baseline,
                            ratio, rho)
    table = events if events is not None else _run_events(runs_x, tr)
    return SimulatedFmri(images, nib.Nifti1Image(mask.astype(np.uint8), affine), table,
                         runs, float(tr), truth)


def _ball_mask(n_voxels: int, voxel_size: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The ``n_voxels`` voxels closest to the centre of a cubic grid; coords in mm."""
    side = int(np.ceil((n_voxels * 6 / np.pi) ** (1 / 3))) + 2
    grid = np.stack(np.meshgrid(*[np.arange(side)] * 3, indexing="ij"), axis=-1).reshape(-1, 3)
    dist = np.linalg.norm(grid - (side - 1) / 2.0, axis=1)
    chosen = np.sort(np.argsort(dist, kind="stable")[:n_voxels])
    mask = np.zeros(side**3, dtype=bool)
    mask[chosen] = True
    affine = np.diag([voxel_size] * 3 + [1.0])
    affine[:3, 3] = -voxel_size * (side - 1) / 2.0
    coords = grid[chosen] * voxel_size + affine[:3, 3]
    return mask.reshape((side,) * 3), coords, affine


def _convolve_runs(runs_x: list[np.ndarray], hrf: np.ndarray) -> list[np.ndarray]:
    joined = np.concatenate(runs_x, axis=1)
    mean = joined.mean(axis=1, keepdims=True)
    scale = np.sqrt(np.mean((joined - mean) ** 2))
    if scale == 0:
        raise ValueError("features are constant over time; expected a design or features "
                         "that vary across volumes.")
    return [lfilter(hrf, [1.0], (x - mean) / scale, axis=1) for x in runs_x]


def _voxel_weights(rng, coords, n_features, fraction, voxel_size):
    length = 2.0 * voxel_size
    support = RandomField.draw(rng, 3 * length).evaluate(coords, coords, np.zeros(len(coords),
                                                                                  bool))
    responsive = support >= np.quantile(support, 1.0 - fraction)
    weights = np.stack([
        RandomField.draw(rng, length).evaluate(coords, coords, np.zeros(len(coords), bool))
        for _ in range(n_features)])
    weights[:, ~responsive] = 0.0
    return weights, responsive


def _ar1(rng: np.random.Generator, n_volumes: int, n_voxels: int, rho: float) -> np.ndarray:
    """Stationary unit-variance AR(1) noise of shape (n_volumes, n_voxels)."""
    white = rng.standard_normal((n_volumes, n_voxels))
    start = white[:1]
    out, _ = lfilter([np.sqrt(1 - rho**2)], [1.0, -rho], white[1:], axis=0, zi=rho * start)
    return np.concatenate([start, out])


def _images(data, runs, mask, affine, tr) -> list:
    images = []
    for k in np.unique(runs):
        vol = np.zeros(mask.shape + (int((runs == k).sum()),), dtype=np.float32)
        vol[mask] = data[runs == k].T
        img = nib.Nifti1Image(vol, affine)
        img.header.set_zooms(img.header.get_zooms()[:3] + (float(tr),))
        images.append(img)
    return images


def _run_events(runs_x: list[np.ndarray], tr: float) -> pd.DataFrame:
    n = len(runs_x)
    table = pd.DataFrame({
        "onset": 0.0, "duration": [x.shape[1] * tr for x in runs_x], "kind": "block",
        "condition": "run", "stimulus": "", "text": "",
        "block": [f"run-{k + 1:02d}" for k in range(n)], "value": np.arange(1, n + 1)})
    return table[list(EVENT_COLUMNS)]


def make_block_design(n_conditions: int, tr: float, *, n_repeats: int = 3,
                      block_duration: float = 12.0, rest_duration: float = 8.0,
                      n_runs: int = 1, seed: int = 0) -> tuple[list[np.ndarray], pd.DataFrame]:
    """A block design: each condition ``n_repeats`` times per run, in random order.

    Parameters
    ----------
    n_conditions : int
    tr : float
        Repetition time in seconds.
    n_repeats : int
        Blocks per condition and run.
    block_duration, rest_duration : float
        Seconds of each block and of the rest after it (a rest also starts each run).
    n_runs : int
    seed : int

    Returns
    -------
    designs : list of arrays of shape (n_conditions, n_volumes)
        Boxcar indicators per run (the fraction of each volume inside the block).
    events : DataFrame
        One ``"block"`` event per block, condition ``"cond01"``, ...; ``block`` is the
        run (``"run-01"``, ...) and onsets count from the start of that run.
    """
    for name, count in (("n_conditions", n_conditions), ("n_repeats", n_repeats),
                        ("n_runs", n_runs), ("seed", seed)):
        check_type(name, count, int)
    for name, value in (("n_conditions", n_conditions), ("n_repeats", n_repeats),
                        ("n_runs", n_runs), ("tr", tr), ("block_duration", block_duration),
                        ("rest_duration", rest_duration)):
        check_positive(name, value)
    rng = np.random.default_rng(seed)
    period = block_duration + rest_duration
    n_blocks = n_conditions * n_repeats
    n_volumes = int(np.ceil((rest_duration + n_blocks * period) / tr))
    t = np.arange(n_volumes) * tr
    designs, rows = [], []
    for run in range(n_runs):
        order = rng.permutation(np.repeat(np.arange(n_conditions), n_repeats))
        design = np.zeros((n_conditions, n_volumes))
        for k, cond in enumerate(order):
            onset = rest_duration + k * period
            overlap = np.clip(np.minimum(t + tr, onset + block_duration)
                              - np.maximum(t, onset), 0.0, None)
            design[cond] += overlap / tr
            rows.append((onset, block_duration, "block", f"cond{cond + 1:02d}",
                         f"cond{cond + 1:02d}", "", f"run-{run + 1:02d}", int(cond) + 1))
        designs.append(design)
    return designs, pd.DataFrame(rows, columns=list(EVENT_COLUMNS))


__all__ = ["FmriGroundTruth", "SimulatedFmri", "make_block_design", "simulate_fmri", "spm_hrf"]
