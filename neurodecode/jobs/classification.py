"""The classification job: linear decoding of conditions with group cross-validation.

For M/EEG the decoder is also fitted at every time point of the epochs (accuracy time
course) and its spatial pattern at the peak is written as a topomap; for fMRI the pattern
becomes a brain map. The science is in :mod:`neurodecode.decoding`; the inputs are built
from the recipe by :func:`neurodecode.build.classification_inputs`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .._progress import stage
from ..align import Segments
from ..decoding import (
    above_chance,
    accuracy_over_time,
    cross_validate,
    fold_ci,
    peak_index,
    spatial_pattern,
    window_features,
)
from .common import finish, write_background, write_info, write_metrics
from .inputs import ClassificationInputs


def run_classification(inputs: ClassificationInputs, run_dir: Path, *,
                       progress: bool = True) -> dict:
    """Run a classification end to end and write its run directory; returns the metrics.

    Parameters
    ----------
    inputs : ClassificationInputs
        The data and settings, built from a recipe by ``neurodecode.build.classification_inputs``.
    run_dir : Path
        Where it writes timecourse*.npy, topomap_pattern.npy and pattern-ave.fif (M/EEG) or
        brainmap_pattern.nii.gz (fMRI), metrics.json and the report.
    progress : bool
        Show progress bars.

    Returns
    -------
    metrics : dict
        ``classification`` (accuracy, folds, confusion, p-value), ``data`` and, for
        M/EEG, ``time_resolved`` (peak, CI, significance).
    """
    segments, y, groups = inputs.segments, inputs.labels, inputs.groups
    kw: dict[str, Any] = dict(classifier=inputs.classifier, n_folds=inputs.n_folds, seed=inputs.seed)
    flat = window_features(segments.brain, segments.modality)
    with stage(f"cross-validated decoding of {flat.shape[0]} samples x {flat.shape[1]} "
               f"features ({inputs.n_permutations} permutations)"):
        metrics: dict = {"classification": cross_validate(
            flat, y, groups, n_permutations=inputs.n_permutations, **kw)}
    metrics["data"] = {"n_samples": len(segments), "n_channels": len(segments.ch_names),
                       "n_times": int(segments.brain.shape[2]), "modality": segments.modality,
                       "n_subjects": len(segments.subjects)}
    if segments.modality == "meeg":
        with stage(f"time-resolved decoding over {segments.brain.shape[2]} time points"):
            metrics["time_resolved"] = _time_resolved(segments, y, groups, run_dir, progress,
                                                      kw)
    else:
        pattern = spatial_pattern(flat, y, inputs.classifier, inputs.seed)
        recordings = inputs.recordings
        if len(recordings) == 1 and recordings[0].masker is not None:
            recordings[0].to_nifti(pattern).to_filename(run_dir / "brainmap_pattern.nii.gz")
            write_background(run_dir, inputs.background)
    write_metrics(run_dir, metrics)
    finish(run_dir, inputs.title)
    return metrics


def _patterns_over_time(brain: np.ndarray, y: np.ndarray, kw: dict,
                        progress: bool) -> np.ndarray:
    """The Haufe pattern at each time point, shape (n_channels, n_times)."""
    from tqdm.auto import tqdm

    steps = tqdm(range(brain.shape[2]), desc="patterns over time (time points)",
                 disable=not progress)
    return np.stack([spatial_pattern(brain[:, :, t], y, kw["classifier"], kw["seed"])
                     for t in steps], axis=1)


def _time_resolved(segments: Segments, y: np.ndarray, groups: np.ndarray, run_dir: Path,
                   progress: bool, kw: dict) -> dict:
    """Accuracy over time with its CI over folds and clusters above chance, written as
    ``timecourse*.npy`` and ``timecourse-ave.fif``; the pattern at the peak as
    ``topomap_pattern.npy`` and ``pattern-ave.fif`` (MNE Evoked), and at every time as
    ``topomap_pattern_time.npy`` (n_channels, n_times: the report's slider)."""
    from ..io.export import maps_to_evoked, timecourse_to_evoked, write_evokeds

    folds = accuracy_over_time(segments.brain, y, groups, progress=progress, per_fold=True,
                               **kw)
    acc = folds.mean(0)
    times = segments.tmin + np.arange(len(acc)) / segments.sfreq
    post = times >= 0
    i = peak_index(acc, times)
    counts = np.unique(y, return_counts=True)[1]
    chance = float(counts.max() / counts.sum())
    significant, p_fdr = above_chance(acc, len(y), chance)
    np.save(run_dir / "timecourse.npy", acc)
    np.save(run_dir / "times.npy", times)
    np.save(run_dir / "timecourse_ci.npy", fold_ci(folds))
    np.save(run_dir / "timecourse_sig.npy", significant)
    write_evokeds(run_dir / "timecourse-ave.fif", [timecourse_to_evoked(
        acc, times, "accuracy", comment="decoding accuracy", nave=len(folds))])
    if segments.info is not None:
        over_time = _patterns_over_time(segments.brain, y, kw, progress)
        pattern = over_time[:, i]
        np.save(run_dir / "topomap_pattern.npy", pattern)
        np.save(run_dir / "topomap_pattern_time.npy", over_time)
        write_info(run_dir, segments.info)
        write_evokeds(run_dir / "pattern-ave.fif", [maps_to_evoked(
            pattern, segments.info, tmin=float(times[i]), comment="Haufe pattern at the peak")])
    return {"peak_accuracy": float(acc[i]), "peak_time": float(times[i]),
            "mean_accuracy_post": float(acc[post].mean()) if post.any() else float("nan"),
            "chance": chance, "n_folds": len(folds), "window": [float(times[0]),
                                                                 float(times[-1])],
            "ci": "95 % t interval of the mean over folds",
            "significance": "binomial test of the correct predictions against chance at each "
                            "time, one-sided, FDR-corrected over time (p < 0.05)",
            "p_value_at_peak_fdr": float(p_fdr[i]), "n_significant_times": int(significant.sum())}


__all__ = ["run_classification"]
