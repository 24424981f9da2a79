"""The encoding job: predict brain activity from the experimental conditions.

fMRI: the voxelwise model of HRF-convolved condition regressors, leave-one-run-out
(``neurodecode.encoding.fit_recording``) -> ``brainmap_r.nii.gz``, median / max r and the
fraction of voxels significant after FDR (circular-shift permutations within runs).
M/EEG: a temporal receptive field from condition impulses to every sensor, scored on
contiguous held-out chunks -> ``topomap_r.npy`` (+ ``info.fif``) and the kernels' root
mean square over sensors per condition (``timecourse.npy`` over lags, ``times.npy``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd

from ..build import build_recordings
from ..config import Recipe
from ..exceptions import ConfigError
from ..io.recording import Recording
from .classification import bandpass, stage, write_background, write_info
from .common import finish_run, write_metrics

logger = logging.getLogger("neurodecode")


def condition_impulses(events: pd.DataFrame, conditions: Sequence[str], n_times: int,
                       sfreq: float) -> np.ndarray:
    """One unit impulse per event at its onset, one column per condition.

    Parameters
    ----------
    events : DataFrame with columns onset (s) and condition
    conditions : sequence of str
    n_times : int
    sfreq : float

    Returns
    -------
    X : array of shape (n_times, n_conditions)
    """
    X = np.zeros((n_times, len(conditions)))
    for k, cond in enumerate(conditions):
        onsets = events.loc[events["condition"].astype(str) == cond, "onset"].to_numpy(float)
        idx = np.round(onsets * sfreq).astype(int)
        X[idx[(idx >= 0) & (idx < n_times)], k] = 1.0
    return X


def fit_trf_cv(X: np.ndarray, Y: np.ndarray, *, sfreq: float, tmin: float, tmax: float,
               alphas: Sequence[float], n_folds: int = 5, n_permutations: int = 0,
               seed: int = 0, progress: bool = False) -> dict:
    """Cross-validated TRF: fit on all but one contiguous chunk, predict it, score r.

    Parameters
    ----------
    X : array of shape (n_times, n_features)
        Stimulus (condition impulses).
    Y : array of shape (n_times, n_channels)
        Response, z-scored per channel.
    sfreq : float
    tmin, tmax : float
        Lags in seconds.
    alphas : sequence of float
    n_folds : int
        Contiguous chunks (at least 3: alpha is chosen by CV over the training chunks).
    n_permutations : int
        Circular shifts of the held-out predictions for p-values (0: none).
    progress : bool
        Show a progress bar over the folds.

    Returns
    -------
    result : dict
        ``r`` (n_channels,), ``kernels`` (n_channels, n_features, n_delays) of the TRF
        fitted on all chunks, ``lags`` (n_delays,) in seconds, ``significant`` (bool,
        n_channels) or None.
    """
    from tqdm import tqdm

    from ..encoding import TemporalReceptiveField, permutation_test, score_targets

    if n_folds < 3:
        raise ConfigError(f"analysis.n_folds={n_folds}: the M/EEG encoding needs at least 3 "
                          "contiguous chunks (outer and inner cross-validation).")
    bounds = np.linspace(0, len(X), n_folds + 1).astype(int)
    chunks = [slice(a, b) for a, b in zip(bounds[:-1], bounds[1:])]
    pred = np.zeros_like(Y)

    def trf():
        return TemporalReceptiveField(tmin, tmax, sfreq, alphas=list(alphas), cv=n_folds - 1)

    for k, test in enumerate(tqdm(chunks, desc="encoding CV (TRF folds)", disable=not progress)):
        train = [c for j, c in enumerate(chunks) if j != k]
        model = trf().fit([X[c] for c in train], [Y[c] for c in train])
        pred[test] = model.predict(X[test])
    r = score_targets(Y, pred, "r")
    significant = None
    if n_permutations > 0:
        groups = np.repeat(np.arange(n_folds), np.diff(bounds))
        significant = permutation_test(Y, pred, metric="r", n_permutations=n_permutations,
                                       groups=groups, method="shift",
                                       seed=seed, progress=progress)["significant"]
    full = trf().fit([X[c] for c in chunks], [Y[c] for c in chunks])
    return {"r": r, "kernels": full.coef_, "lags": full.delays_ / sfreq,
            "significant": significant}


def _resampled(recording: Recording, sfreq: float | None) -> tuple[np.ndarray, float]:
    """Channels-first data at ``sfreq`` (polyphase), and the rate obtained."""
    from scipy.signal import resample_poly

    data = np.asarray(recording.channels_first(), np.float64)
    if sfreq is None or np.isclose(sfreq, recording.sfreq):
        return data, recording.sfreq
    ratio = Fraction(float(sfreq) / recording.sfreq).limit_denominator(1000)
    out = resample_poly(data, ratio.numerator, ratio.denominator, axis=1)
    return out, recording.sfreq * ratio.numerator / ratio.denominator


def meeg_encoding(recording: Recording, conditions: Sequence[str], recipe: Recipe, *,
                  progress: bool = False) -> dict:
    """TRF of the condition impulses of one M/EEG recording (see :func:`fit_trf_cv`)."""
    ana = recipe.analysis
    data, sfreq = _resampled(recording, recipe.segments.sfreq)
    Y = data.T
    Y = (Y - Y.mean(0)) / np.where(Y.std(0) > 0, Y.std(0), 1.0)
    X = condition_impulses(recording.events, conditions, len(Y), sfreq)
    if not X.any():
        raise ConfigError(f"no event of conditions {list(conditions)} lies in the recording of "
                          f"subject {recording.subject!r}.")
    return fit_trf_cv(X, Y, sfreq=sfreq, tmin=ana.trf_tmin, tmax=ana.trf_tmax,
                      alphas=ana.alphas, n_folds=ana.n_folds,
                      n_permutations=ana.n_permutations, seed=recipe.seed, progress=progress)


def fmri_encoding(recording: Recording, conditions: Sequence[str], recipe: Recipe, *,
                  progress: bool = False) -> dict:
    """Voxelwise HRF model of one fMRI recording, with permutation significance."""
    from ..encoding import fit_recording, permutation_test

    ana = recipe.analysis
    result, img = fit_recording(recording, hrf_model=ana.hrf_model, conditions=list(conditions),
                                alphas=list(ana.alphas), progress=progress)
    significant = None
    if ana.n_permutations > 0:
        significant = permutation_test(np.asarray(recording.data).T, result.predictions,
                                       metric="r", n_permutations=ana.n_permutations,
                                       groups=recording.runs, method="shift",
                                       seed=recipe.seed, progress=progress)["significant"]
    return {"r": result.scores, "img": img, "significant": significant}


def _summary(r: np.ndarray, significant: np.ndarray | None) -> dict:
    out = {"median_r": float(np.nanmedian(r)), "max_r": float(np.nanmax(r)),
           "mean_r": float(np.nanmean(r)), "n_targets": int(len(r))}
    if significant is not None:
        out["fraction_significant_fdr"] = float(np.mean(significant))
    return out


def run_encoding(recipe: Recipe, run_dir: Path, *, progress: bool = True) -> dict:
    """Run an encoding recipe end to end and write its run directory."""
    ana = recipe.analysis
    recordings, _ = build_recordings(recipe, progress=progress)
    recordings = [bandpass(r, ana.l_freq, ana.h_freq) for r in recordings]
    present = sorted({str(c) for r in recordings for c in r.events["condition"]})
    conditions = list(ana.conditions) or present
    absent = [c for c in conditions if c not in present]
    if absent:
        raise ConfigError(f"analysis.conditions {absent} are not in the events; the data has "
                          f"conditions {present}.")
    per_subject = {}
    for k, rec in enumerate(recordings):
        key = f"{rec.subject}" + (f"_{rec.session}" if rec.session else "")
        with stage(f"encoding model of subject {rec.subject}: {rec.n_channels} targets x "
                   f"{rec.n_times} samples"):
            res = (fmri_encoding(rec, conditions, recipe, progress=progress)
                   if rec.modality == "fmri" else
                   meeg_encoding(rec, conditions, recipe, progress=progress))
        if k == 0 and rec.modality == "fmri":
            res["img"].to_filename(run_dir / "brainmap_r.nii.gz")
            write_background(run_dir, recipe)
        elif k == 0:
            _write_meeg(run_dir, rec, res, conditions)
        per_subject[key] = _summary(res["r"], res["significant"])
    first = next(iter(per_subject.values()))
    metrics = {"encoding": {**first, "modality": recordings[0].modality,
                            "conditions": conditions}, "per_recording": per_subject}
    write_metrics(run_dir, metrics)
    finish_run(run_dir, recipe)
    return metrics


def _write_meeg(run_dir: Path, recording: Recording, res: dict,
                conditions: Sequence[str]) -> None:
    """r per sensor, kernel RMS per condition, and the TRFs as MNE Evokeds (``trf-ave.fif``,
    one per condition, in z-scored response units per impulse)."""
    from ..io.export import maps_to_evoked, write_evokeds

    np.save(run_dir / "topomap_r.npy", np.asarray(res["r"], float))
    if recording.info is not None:
        write_info(run_dir, recording.info)
        lags = np.asarray(res["lags"], float)
        sfreq = 1.0 / float(np.diff(lags)[0]) if len(lags) > 1 else recording.sfreq
        write_evokeds(run_dir / "trf-ave.fif", [
            maps_to_evoked(res["kernels"][:, j], recording.info, tmin=float(lags[0]),
                           sfreq=sfreq, comment=f"TRF {c}") for j, c in enumerate(conditions)])
    rms = np.sqrt((res["kernels"] ** 2).mean(0))  # (n_conditions, n_delays)
    np.save(run_dir / "timecourse.npy", rms)
    np.save(run_dir / "times.npy", res["lags"])
