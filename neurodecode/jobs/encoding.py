"""The encoding job: predict brain activity from the experimental conditions.

fMRI: the voxelwise model of HRF-convolved condition regressors, leave-one-run-out
(``neurodecode.encoding.fit_recording``) -> ``brainmap_r.nii.gz``, median / max r and the
fraction of voxels significant after FDR (circular-shift permutations within runs).
M/EEG: a temporal receptive field from condition impulses to every sensor, scored on
contiguous held-out chunks -> ``topomap_r.npy`` (+ ``info.fif``) and the kernels' root
mean square over sensors per condition (``timecourse.npy`` over lags, ``times.npy``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .._progress import stage
from ..encoding import fit_trf_cv, resample_channels
from ..exceptions import ConfigError
from ..io.events import condition_impulses
from ..io.recording import Recording
from .common import finish, write_background, write_info, write_metrics
from .inputs import EncodingInputs


def meeg_encoding(recording: Recording, inputs: EncodingInputs, *,
                  progress: bool = False) -> dict:
    """TRF of the condition impulses of one M/EEG recording (see :func:`fit_trf_cv`)."""
    data, sfreq = resample_channels(recording.channels_first(), recording.sfreq, inputs.sfreq)
    Y = data.T
    Y = (Y - Y.mean(0)) / np.where(Y.std(0) > 0, Y.std(0), 1.0)
    X = condition_impulses(recording.events, inputs.conditions, len(Y), sfreq)
    if not X.any():
        raise ConfigError(f"no event of conditions {list(inputs.conditions)} lies in the "
                          f"recording of subject {recording.subject!r}.")
    return fit_trf_cv(X, Y, sfreq=sfreq, tmin=inputs.tmin, tmax=inputs.tmax,
                      alphas=inputs.alphas, n_folds=inputs.n_folds,
                      n_permutations=inputs.n_permutations, seed=inputs.seed, progress=progress)


def fmri_encoding(recording: Recording, inputs: EncodingInputs, *,
                  progress: bool = False) -> dict:
    """Voxelwise HRF model of one fMRI recording, with permutation significance."""
    from ..encoding import fit_recording, permutation_test

    result, img = fit_recording(recording, hrf_model=inputs.hrf_model,
                                conditions=list(inputs.conditions), alphas=list(inputs.alphas))
    significant = None
    if inputs.n_permutations > 0:
        # recording.data is (n_voxels, n_volumes); the predictions are (n_volumes, n_voxels)
        significant = permutation_test(np.asarray(recording.data).T, result.predictions,
                                       metric="r", n_permutations=inputs.n_permutations,
                                       groups=recording.runs, method="shift",
                                       seed=inputs.seed, progress=progress)["significant"]
    return {"r": result.scores, "img": img, "significant": significant}


def _summary(r: np.ndarray, significant: np.ndarray | None) -> dict:
    out = {"median_r": float(np.nanmedian(r)), "max_r": float(np.nanmax(r)),
           "mean_r": float(np.nanmean(r)), "n_targets": int(len(r))}
    if significant is not None:
        out["fraction_significant_fdr"] = float(np.mean(significant))
    return out


def run_encoding(inputs: EncodingInputs, run_dir: Path, *, progress: bool = True) -> dict:
    """Run an encoding analysis end to end and write its run directory; returns the metrics.

    Parameters
    ----------
    inputs : EncodingInputs
        The data and settings, built from a recipe by ``neurodecode.build.encoding_inputs``.
    run_dir : Path
        Where it writes brainmap_r.nii.gz (fMRI) or topomap_r.npy and trf-ave.fif (M/EEG),
        metrics.json and the report.
    progress : bool
        Show progress bars.

    Returns
    -------
    metrics : dict
        ``encoding`` (median, max and mean r of the first recording) and
        ``per_recording``.
    """
    per_subject = {}
    recordings, conditions = inputs.recordings, inputs.conditions
    for k, rec in enumerate(recordings):
        key = f"{rec.subject}" + (f"_{rec.session}" if rec.session else "")
        with stage(f"encoding model of subject {rec.subject}: {rec.n_channels} targets x "
                   f"{rec.n_times} samples"):
            res = (fmri_encoding(rec, inputs, progress=progress) if rec.modality == "fmri" else
                   meeg_encoding(rec, inputs, progress=progress))
        if k == 0 and rec.modality == "fmri":
            res["img"].to_filename(run_dir / "brainmap_r.nii.gz")
            write_background(run_dir, inputs.background)
        elif k == 0:
            _write_meeg(run_dir, rec, res, conditions)
        per_subject[key] = _summary(res["r"], res["significant"])
    first = next(iter(per_subject.values()))
    metrics = {"encoding": {**first, "modality": recordings[0].modality,
                            "conditions": conditions}, "per_recording": per_subject}
    write_metrics(run_dir, metrics)
    finish(run_dir, inputs.title)
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


__all__ = ["fmri_encoding", "meeg_encoding", "run_encoding"]
