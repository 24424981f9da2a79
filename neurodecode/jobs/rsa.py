"""The RSA job: condition-average patterns -> RDMs compared with a model RDM.

M/EEG: time-resolved RSA against the model (``timecourse.npy``), its peak latency, the
brain RDM at the peak and a sensor searchlight at the peak (``topomap_searchlight.npy``).
fMRI: the RDM of the masked patterns and a volume searchlight
(``brainmap_searchlight.nii.gz``). Both write ``rdm_brain.npy``, ``rdm_model.npy`` and
``conditions.csv``.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
from scipy.spatial.distance import squareform

from .._progress import stage
from .common import finish, write_background, write_conditions, write_info, write_metrics
from .inputs import RSAInputs

logger = logging.getLogger("neurodecode")


def run_rsa(inputs: RSAInputs, run_dir: Path, *, progress: bool = True) -> dict:
    """Run an RSA end to end and write its run directory; returns the metrics.

    Parameters
    ----------
    inputs : RSAInputs
        The data and settings, built from a recipe by ``neurodecode.build.rsa_inputs``.
    run_dir : Path
        Where it writes rdm_brain.npy, rdm_model.npy, conditions.csv, the time course and sensor
        searchlight (M/EEG) or the volume searchlight (fMRI), metrics.json and the report.
    progress : bool
        Show progress bars.

    Returns
    -------
    metrics : dict
        ``rsa`` (similarity, peak and p-value), ``searchlight`` when drawn, ``data``.
    """
    segments, order, model = inputs.segments, inputs.conditions, inputs.model
    labels = segments.meta["condition"].astype(str).to_numpy()
    kw: dict[str, Any] = dict(metric=inputs.metric, method=inputs.method, radius=inputs.radius,
              n_permutations=inputs.n_permutations, seed=inputs.seed, run_dir=run_dir,
              progress=progress)
    if segments.modality == "meeg":
        with stage(f"time-resolved RSA of {len(order)} conditions, {inputs.n_permutations} "
                   "permutations, sensor searchlight"):
            metrics = meeg_rsa(segments.brain, labels, order, model, info=segments.info,
                               sfreq=segments.sfreq, tmin=segments.tmin,
                               window=inputs.window, **kw)
    else:
        masker = inputs.recordings[0].masker if len(inputs.recordings) == 1 else None
        with stage(f"RSA of {len(order)} conditions over {segments.brain.shape[1]} voxels, "
                   f"{inputs.n_permutations} permutations, volume searchlight"):
            metrics = fmri_rsa(segments.brain.mean(2), labels, order, model, masker=masker,
                               **kw)
        if masker is not None:
            write_background(run_dir, inputs.background)
    np.save(run_dir / "rdm_model.npy", squareform(model))
    write_conditions(run_dir, order, inputs.categories)
    metrics["data"] = {"n_samples": len(segments), "n_conditions": len(order),
                       "conditions": order, "modality": segments.modality}
    write_metrics(run_dir, metrics)
    finish(run_dir, inputs.title)
    return metrics


def _max_test(rdms: np.ndarray, model: np.ndarray, method: str, n_permutations: int,
              seed: int, progress: bool = False) -> float | None:
    """p-value of the best similarity of ``rdms`` (n_windows, n_pairs) with ``model``
    against the permutation null of the best over the same windows (family-wise over
    the windows searched; with one window, the plain permutation p-value): each
    relabelling of the model's conditions is compared with every window."""
    null = _null(rdms, model, method, n_permutations, seed, progress)
    return None if null is None else _max_p(null, rdms, model, method)


def _null(rdms: np.ndarray, model: np.ndarray, method: str, n_permutations: int,
          seed: int, progress: bool = False) -> np.ndarray | None:
    """Similarities of each window under relabellings, shape (n_permutations, n_windows)."""
    from ..rsa import permutation_test

    if n_permutations < 1:
        return None
    result = permutation_test(np.atleast_2d(rdms), model, method,
                              n_permutations=n_permutations, seed=seed, progress=progress)
    return result.null.reshape(n_permutations, -1)


def _max_p(null: np.ndarray, rdms: np.ndarray, model: np.ndarray, method: str) -> float:
    from ..rsa import compare_rdms

    observed = np.nanmax(np.ravel(compare_rdms(np.atleast_2d(rdms), model[None], method)))
    best = np.nanmax(null, axis=1)
    return float((1 + np.sum(best >= observed)) / (1 + len(null)))


def _null_band(curve: np.ndarray, times: np.ndarray, null: np.ndarray | None,
               searched: np.ndarray, run_dir: Path) -> dict:
    """``timecourse_null.npy`` (2, n_times): the 2.5-97.5 % pointwise null band, and
    ``timecourse_sig.npy``: windows above the 95th percentile of the null maximum."""
    if null is None:
        return {}
    band = np.full((2, len(curve)), np.nan)
    band[:, searched] = np.nanpercentile(null, [2.5, 97.5], axis=0)
    threshold = float(np.nanpercentile(np.nanmax(null, axis=1), 95))
    np.save(run_dir / "timecourse_null.npy", band)
    np.save(run_dir / "timecourse_sig.npy", searched & (curve > threshold))
    return {"null_band": "2.5-97.5 % of the label-permutation null at each time",
            "significance": "above the 95th percentile of the permutation null of the "
                            "maximum over the times searched (family-wise p < 0.05)",
            "threshold": threshold}


def meeg_rsa(brain: np.ndarray, labels: np.ndarray, order: list[str], model: np.ndarray, *,
             info, sfreq: float, tmin: float, metric: str, method: str,
             radius: float | None, window: int = 1, n_permutations: int, seed: int,
             run_dir: Path, progress: bool = False) -> dict:
    """Time-resolved RSA, peak latency, brain RDM and sensor searchlight at the peak.

    Parameters
    ----------
    brain : array of shape (n_trials, n_channels, n_times)
    labels : array of shape (n_trials,)
    order : list of str
        Conditions of the RDMs.
    model : array of shape (n_pairs,)
    window : int
        Samples per pattern (sliding window, step 1); the searchlight uses the window
        centred on the peak.

    Returns
    -------
    metrics : dict
    """
    from ..decoding import peak_index
    from ..rsa import condition_means, rsa_timecourse, sensor_searchlight

    res = rsa_timecourse(brain, labels, {"model": model}, metric=metric, method=method,
                         condition_order=order, sfreq=sfreq, tmin=tmin, window=window)
    curve = res.group_mean[:, 0]
    post = res.times >= 0
    i = peak_index(curve, res.times)
    np.save(run_dir / "timecourse.npy", curve)
    np.save(run_dir / "times.npy", res.times)
    rdm = res.data_rdms[0, i]
    np.save(run_dir / "rdm_brain.npy", squareform(rdm))
    searched = post if post.any() else np.ones_like(post)
    null = _null(res.data_rdms[0, searched], model, method, n_permutations, seed, progress)
    _write_curve(run_dir, curve, res.times, method)
    out = {"rsa": {"peak_similarity": float(curve[i]), "peak_latency": float(res.times[i]),
                   "mean_similarity_post": float(np.nanmean(curve[post])) if post.any()
                   else float("nan"), "method": method, "metric": metric,
                   "p_value_at_peak": None if null is None else _max_p(
                       null, res.data_rdms[0, searched], model, method),
                   "p_value_correction": "maximum over the windows searched for the peak",
                   "window": [float(res.times[0]), float(res.times[-1])],
                   **_null_band(curve, res.times, null, searched, run_dir)}}
    if info is not None:
        means, _ = condition_means(brain, labels, order)
        maps = sensor_searchlight(means[:, :, i:i + window], {"model": model}, info,
                                  radius=radius, metric=metric, method=method,
                                  verbose=progress)
        values = maps["model"].data.mean(1)
        np.save(run_dir / "topomap_searchlight.npy", values)
        write_info(run_dir, info)
        _write_map(run_dir, values, info, float(res.times[i]))
        out["searchlight"] = {"max": float(np.nanmax(values)),
                              "best_channel": info["ch_names"][int(np.nanargmax(values))]}
    return out


def _write_curve(run_dir: Path, curve: np.ndarray, times: np.ndarray, method: str) -> None:
    """The RSA time course as an MNE Evoked (``timecourse-ave.fif``, one misc channel)."""
    from ..io.export import timecourse_to_evoked, write_evokeds

    values = np.where(np.isfinite(curve), curve, 0.0)  # an undefined window: 0 in the FIF
    write_evokeds(run_dir / "timecourse-ave.fif", [timecourse_to_evoked(
        values, times, "similarity", comment=f"model similarity ({method})")])


def _write_map(run_dir: Path, values: np.ndarray, info, peak: float) -> None:
    """The sensor searchlight at the peak as an MNE Evoked (``searchlight-ave.fif``)."""
    from ..io.export import maps_to_evoked, write_evokeds

    write_evokeds(run_dir / "searchlight-ave.fif", [maps_to_evoked(
        np.nan_to_num(values), info, tmin=peak, comment="searchlight at the peak")])


def fmri_rsa(patterns: np.ndarray, labels: np.ndarray, order: list[str], model: np.ndarray, *,
             masker, metric: str, method: str, radius: float | None, n_permutations: int,
             seed: int, run_dir: Path, progress: bool = False) -> dict:
    """RDM of the condition means of the masked voxels and a volume searchlight.

    Parameters
    ----------
    patterns : array of shape (n_samples, n_voxels)
    labels : array of shape (n_samples,)
    order : list of str
    model : array of shape (n_pairs,)
    masker : fitted nilearn masker or None
        Needed for the searchlight (its ``mask_img_``).

    Returns
    -------
    metrics : dict
    """
    from ..rsa import compare_rdms, compute_rdm, volume_searchlight

    means = np.stack([patterns[labels == c].mean(0) for c in order])
    rdm = np.asarray(compute_rdm(means, metric), float)
    np.save(run_dir / "rdm_brain.npy", squareform(rdm))
    out = {"rsa": {"similarity": float(np.ravel(compare_rdms(rdm, model[None], method))[0]),
                   "method": method, "metric": metric,
                   "p_value": _max_test(rdm, model, method, n_permutations, seed,
                                        progress)}}
    if masker is not None:
        mask_img = masker.mask_img_
        zooms = mask_img.header.get_zooms()[:3]
        r = radius if radius is not None else 2.0 * float(max(zooms))
        maps = volume_searchlight(means, model, mask_img, r, metric=metric, method=method,
                                  verbose=progress)
        img = next(iter(maps.values()))
        img.to_filename(run_dir / "brainmap_searchlight.nii.gz")
        values = np.asarray(img.dataobj)[np.asarray(mask_img.dataobj).astype(bool)]
        out["searchlight"] = {"radius_mm": r, "max": float(np.nanmax(values)),
                              "median": float(np.nanmedian(values))}
    return out


__all__ = ["fmri_rsa", "meeg_rsa", "run_rsa"]
