"""Voxelwise fMRI encoding: HRF or FIR designs, leave-one-run-out CV, score maps as NIfTI."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from .._validation import check_finite, check_option, check_positive
from ..io.events import _check_runs
from ._lags import lag_matrix
from .ridge import DEFAULT_ALPHAS, RidgeCV, check_xy, resolve_dtype
from .scoring import score_targets

logger = logging.getLogger("neurodecode")

HRF_MODELS = ("glover", "spm")


def make_hrf_regressors(
    events: pd.DataFrame,
    n_volumes: int,
    tr: float,
    runs: Any = None,
    conditions: list[str] | None = None,
    hrf_model: str = "glover",
    oversampling: int = 16,
) -> tuple[np.ndarray, list[str]]:
    """One HRF-convolved regressor per condition, convolved within each run.

    Parameters
    ----------
    events : DataFrame with columns onset, duration, condition
        Onsets in seconds from the first volume of the (concatenated) recording.
    n_volumes : int
    tr : float
        Repetition time in seconds.
    runs : array of shape (n_volumes,) or None
        Run of each volume; events only feed the run they fall in.
    conditions : list of str or None
        Conditions to model (default: all, sorted).
    hrf_model : {"glover", "spm"}
    oversampling : int

    Returns
    -------
    regressors : array of shape (n_volumes, n_conditions)
    conditions : list of str
    """
    from nilearn.glm.first_level import compute_regressor

    check_option("hrf_model", hrf_model, HRF_MODELS)
    check_positive("tr", tr)
    missing = {"onset", "duration", "condition"} - set(events.columns)
    if missing:
        raise ValueError(f"events must have columns onset, duration, condition; missing "
                         f"{sorted(missing)}.")
    runs = _check_runs(runs, n_volumes)
    conditions = sorted(events["condition"].unique()) if conditions is None else conditions
    frame_times = np.arange(n_volumes) * tr
    out = np.zeros((n_volumes, len(conditions)))
    for run in np.unique(runs):
        vols = np.flatnonzero(runs == run)
        start, stop = frame_times[vols[0]], frame_times[vols[-1]] + tr
        in_run = events[(events.onset >= start) & (events.onset < stop)]
        for k, cond in enumerate(conditions):
            ev = in_run[in_run.condition == cond]
            if len(ev) == 0:
                continue
            triplet = np.vstack([ev.onset - start, ev.duration, np.ones(len(ev))])
            reg, _ = compute_regressor(triplet, hrf_model, frame_times[vols] - start,
                                       oversampling=oversampling)
            out[vols, k] = reg[:, 0]
    return out, list(conditions)


def make_fir_design(X: Any, delays: Any = (1, 2, 3, 4), runs: Any = None) -> np.ndarray:
    """Finite-impulse-response design: features delayed by whole volumes within each run.

    Parameters
    ----------
    X : array of shape (n_volumes, n_features)
    delays : sequence of int
        Delays in volumes (TRs), e.g. 1-4 for a 2 s TR.
    runs : array of shape (n_volumes,) or None
        Delays never cross a run boundary (zeros at each run start).

    Returns
    -------
    design : array of shape (n_volumes, n_features * n_delays)
    """
    X = np.asarray(X, dtype=float)
    X = X[:, None] if X.ndim == 1 else X
    check_finite("X", X, ("volume", "feature"))
    delays = np.asarray(delays, dtype=int)
    runs = _check_runs(runs, X.shape[0])
    out = np.zeros((X.shape[0], X.shape[1] * len(delays)))
    for run in np.unique(runs):
        vols = np.flatnonzero(runs == run)
        if np.abs(delays).max() >= len(vols):
            raise ValueError(f"delays {delays.tolist()} reach beyond run {run!r} of "
                             f"{len(vols)} volumes; use shorter delays.")
        out[vols] = lag_matrix(X[vols], delays)
    return out


@dataclass
class VoxelwiseResult:
    """Cross-validated voxelwise encoding results.

    Parameters
    ----------
    scores : array of shape (n_voxels,)
        Score (``metric``) of the held-out-run predictions, all runs concatenated.
    scores_per_run : array of shape (n_runs, n_voxels)
    predictions : array of shape (n_volumes, n_voxels)
        Held-out predictions.
    alphas : array of shape (n_runs, n_voxels)
        Alpha chosen (by inner leave-one-run-out) in each outer fold.
    metric : str
    """

    scores: np.ndarray
    scores_per_run: np.ndarray
    predictions: np.ndarray
    alphas: np.ndarray
    metric: str


def fit_voxelwise(
    X: Any,
    Y: Any,
    runs: Any,
    *,
    alphas: Any = DEFAULT_ALPHAS,
    metric: str = "r",
    dtype: str | None = None,
    device: str = "cpu",
    n_targets_batch: int | None = None,
    progress: bool = False,
) -> VoxelwiseResult:
    """Leave-one-run-out encoding model of every voxel (alpha by inner leave-one-run-out).

    Parameters
    ----------
    X : array of shape (n_volumes, n_features)
        Design (HRF-convolved or FIR-delayed features).
    Y : array of shape (n_volumes, n_voxels)
    runs : array of shape (n_volumes,)
        At least 3 runs (outer and inner leave-one-run-out).
    alphas : sequence of float
    metric : {"r", "r2"}
    dtype, device, n_targets_batch
        As in :class:`RidgeCV`.
    progress : bool
        Show a progress bar over the held-out runs.

    Returns
    -------
    result : VoxelwiseResult
    """
    check_option("metric", metric, ["r", "r2"])
    X, Y, _ = check_xy(X, Y, resolve_dtype(dtype, X))
    runs = _check_runs(runs, X.shape[0])
    labels = np.unique(runs)
    if len(labels) < 3:
        raise ValueError(f"leave-one-run-out needs at least 3 runs; got {len(labels)}.")
    predictions = np.zeros_like(Y)
    chosen = np.zeros((len(labels), Y.shape[1]))
    per_run = np.zeros((len(labels), Y.shape[1]))
    steps = tqdm(labels, desc="encoding CV (leave one run out)", unit="run", disable=not progress)
    for k, run in enumerate(steps):
        test = runs == run
        model = RidgeCV(alphas=alphas, cv="logo", dtype=dtype, device=device,
                        n_targets_batch=n_targets_batch)
        model.fit(X[~test], Y[~test], groups=runs[~test])
        predictions[test] = model.predict(X[test])
        chosen[k] = model.alpha_
        per_run[k] = score_targets(Y[test], predictions[test], metric)
        logger.info("run %s: median %s %.3f", run, metric, np.median(per_run[k]))
    scores = score_targets(Y, predictions, metric)
    return VoxelwiseResult(scores, per_run, predictions, chosen, metric)


def scores_to_nifti(scores: Any, masker: Any) -> Any:
    """Map per-voxel values back to a NIfTI image through a fitted masker (or a Recording).

    Parameters
    ----------
    scores : array of shape (n_voxels,) or (n_maps, n_voxels)
    masker : fitted nilearn masker, or an object with ``.masker`` (a Recording)

    Returns
    -------
    img : nibabel Nifti1Image
    """
    masker = getattr(masker, "masker", masker)
    if not hasattr(masker, "inverse_transform"):
        raise TypeError(f"masker must be a fitted nilearn masker or a Recording with one; got "
                        f"{type(masker).__name__}.")
    return masker.inverse_transform(np.asarray(scores))


def fit_recording(
    recording: Any,
    *,
    hrf_model: str = "glover",
    conditions: list[str] | None = None,
    alphas: Any = DEFAULT_ALPHAS,
    metric: str = "r",
    progress: bool = False,
) -> tuple[VoxelwiseResult, Any]:
    """Voxelwise model of a fMRI Recording from its HRF-convolved condition regressors.

    Parameters
    ----------
    recording : Recording-like
        Needs ``data`` (n_voxels, n_volumes), ``runs`` (n_volumes,), ``events``
        (onset, duration, condition), ``sfreq`` (1 / TR) and ``masker``.
    hrf_model, conditions, alphas, metric
        HRF of the regressors, conditions modelled (default: all), ridge penalties and
        score (as in :func:`fit_voxelwise`).
    progress : bool
        Show a progress bar over the held-out runs.

    Returns
    -------
    result : VoxelwiseResult
    img : Nifti1Image of the per-voxel scores
    """
    data = np.asarray(recording.data).T  # (n_volumes, n_voxels), as the design
    design, _ = make_hrf_regressors(recording.events, data.shape[0], 1.0 / recording.sfreq,
                                    recording.runs, conditions, hrf_model)
    result = fit_voxelwise(design, data, recording.runs, alphas=alphas, metric=metric,
                           progress=progress)
    return result, scores_to_nifti(result.scores, recording)


__all__ = ["HRF_MODELS", "fit_recording", "fit_voxelwise", "make_fir_design",
           "make_hrf_regressors", "scores_to_nifti", "VoxelwiseResult"]
