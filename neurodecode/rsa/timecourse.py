"""Time-resolved RSA: model similarity at every time point (or sliding window), per
subject, with temporal generalisation and group statistics."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.stats

from .._validation import check_finite, check_option, check_positive
from . import _backend as B
from ._kernels import gram_to_condensed
from .compare import compare_rdms
from .rdm import METRICS, _copy_blocked, compute_rdm, n_conditions_from_pairs

logger = logging.getLogger("neurodecode")


@dataclass(frozen=True)
class TimecourseResult:
    """Result of :func:`rsa_timecourse`.

    Parameters
    ----------
    times : array of shape (n_windows,)
        Centre time of each window in seconds (sample index if no ``sfreq``).
    similarity : array of shape (n_subjects, n_windows, n_models)
        Model similarity per subject and time.
    data_rdms : array of shape (n_subjects, n_windows, n_pairs)
        Condensed data RDMs.
    model_names : list of str
        Name of each model RDM, in the order of the last axis of ``similarity``.
    conditions : list
        Condition order of the RDMs.
    generalization : array of shape (n_subjects, n_windows, n_windows) or None
        Similarity of the data RDM at time t with the data RDM at time t'.
    group_mean, group_t, group_p : arrays of shape (n_windows, n_models)
        Mean over subjects, one-sample t and its one-sided p-value (NaN with one subject).
    """

    times: np.ndarray
    similarity: np.ndarray
    data_rdms: np.ndarray
    model_names: list
    conditions: list
    generalization: np.ndarray | None
    group_mean: np.ndarray
    group_t: np.ndarray
    group_p: np.ndarray

    def peak(self, model: int | str = 0) -> tuple[float, float]:
        """Time and value of the maximum group-mean similarity for one model.

        Parameters
        ----------
        model : int or str
            Index of the model, or its name in ``model_names``.

        Returns
        -------
        time : float
            Time (``times`` unit) of the largest ``group_mean`` of that model (NaNs
            skipped).
        value : float
            That group-mean similarity.
        """
        k = self.model_names.index(model) if isinstance(model, str) else model
        i = int(np.nanargmax(self.group_mean[:, k]))
        return float(self.times[i]), float(self.group_mean[i, k])


def as_model_matrix(model_rdms: Any, n_conditions: int | None = None) -> tuple[list, np.ndarray]:
    """Model RDMs as (names, array of shape (n_models, n_pairs)).

    ``model_rdms`` is a dict {name: condensed RDM}, an array (n_models, n_pairs) or one
    condensed RDM (n_pairs,).
    """
    if isinstance(model_rdms, dict):
        names = [str(k) for k in model_rdms]
        mats = [np.asarray(v, dtype=np.float64) for v in model_rdms.values()]
        lengths = {m.shape for m in mats}
        if len(lengths) != 1 or mats[0].ndim != 1:
            raise ValueError(
                f"model_rdms must all be condensed RDMs of one length (n_pairs,); got shapes "
                f"{sorted(lengths)}. Use scipy.spatial.distance.squareform on square RDMs."
            )
        arr = np.stack(mats)
    else:
        arr = np.atleast_2d(np.asarray(model_rdms, dtype=np.float64))
        names = [f"model{k}" for k in range(len(arr))]
    if arr.ndim != 2:
        raise ValueError(f"model_rdms must be condensed RDMs (n_models, n_pairs); got {arr.shape}.")
    n = n_conditions_from_pairs(arr.shape[-1], "model_rdms")
    if n_conditions is not None and n != n_conditions:
        raise ValueError(
            f"model_rdms describe {n} conditions (n_pairs={arr.shape[-1]}) but the data has "
            f"{n_conditions} conditions; expected n_pairs={n_conditions * (n_conditions - 1) // 2}."
        )
    return names, arr


def condition_means(
    data: Any, conditions: Any, condition_order: Any = None
) -> tuple[np.ndarray, list]:
    """Average trials per condition.

    Parameters
    ----------
    data : array of shape (n_trials, n_channels, n_times)
    conditions : array of shape (n_trials,)
        Condition label of each trial.
    condition_order : sequence or None
        Conditions to keep, in this order; ``None``: sorted unique labels.

    Returns
    -------
    means : array of shape (n_conditions, n_channels, n_times)
        Read-only (a view of ``data``) when ``data`` holds one trial per condition, in
        ``order``.
    order : list
    """
    x = np.asarray(data)
    labels = np.asarray(conditions)
    if x.ndim != 3:
        raise ValueError(f"data must have shape (n_trials, n_channels, n_times); got {x.shape}.")
    if labels.shape != (x.shape[0],):
        raise ValueError(
            f"conditions must have one label per trial, shape ({x.shape[0]},); got {labels.shape}."
        )
    if not np.isfinite(x.sum()):  # one pass, no temporary; NaN and Inf reach the sum
        check_finite("data", x, ("trial", "channel", "time"))
    order = list(np.unique(labels)) if condition_order is None else list(condition_order)
    empty = [c for c in order if not (labels == c).any()]
    if empty:
        raise ValueError(
            f"condition(s) {empty} have no trials; conditions present: "
            f"{sorted(set(labels.tolist()))}."
        )
    if len(order) < 3:
        raise ValueError(f"RSA needs at least 3 conditions; got {len(order)}: {order}.")
    return _means_by_label(x, labels, order), order


def _means_by_label(x: np.ndarray, labels: np.ndarray, order: list) -> np.ndarray:
    """``np.stack([x[labels == c].mean(0) for c in order])`` (the same sums, row after
    row), without copying each condition's trials first; a read-only view of ``x``
    when it holds one trial per condition in ``order`` already (the means themselves)."""
    single = len(labels) == len(order) == len(np.unique(labels))
    if single and np.issubdtype(x.dtype, np.floating) and all(
        np.array_equal(labels[k : k + 1], [c]) for k, c in enumerate(order)
    ):
        view = x.view()
        view.flags.writeable = False
        return view
    dtype = x.dtype if np.issubdtype(x.dtype, np.floating) else np.float64  # as mean's
    out = np.empty((len(order),) + x.shape[1:], dtype=dtype)
    for k, c in enumerate(order):
        idx = np.flatnonzero(labels == c)
        out[k] = x[idx[0]]
        for i in idx[1:]:
            out[k] += x[i]
        if len(idx) > 1:
            out[k] /= len(idx)
    return out


def _unpack(data: Any, conditions: Any, sfreq: float | None, tmin: float):
    if hasattr(data, "brain") and hasattr(data, "meta"):  # a Segments object
        cond = data.meta["condition"].to_numpy() if conditions is None else conditions
        return [np.asarray(data.brain)], [cond], getattr(data, "sfreq", sfreq), getattr(
            data, "tmin", tmin
        )
    if isinstance(data, list | tuple):
        if not isinstance(conditions, list | tuple) or len(conditions) != len(data):
            raise ValueError(
                f"with data given per subject (a list of {len(data)}), conditions must be a "
                f"list of the same length; got {type(conditions).__name__}."
            )
        return list(data), list(conditions), sfreq, tmin
    if conditions is None:
        raise ValueError("conditions is required (one label per trial) unless data is Segments.")
    return [data], [conditions], sfreq, tmin


def _windows(means: np.ndarray, window: int, step: int) -> np.ndarray:
    """(n_cond, n_ch, n_times) -> (n_windows, n_cond, n_ch * window); for one sample a
    view (:func:`compute_rdm` copies it chunk by chunk)."""
    if window == 1:
        return means[:, :, ::step].transpose(2, 0, 1)
    view = np.lib.stride_tricks.sliding_window_view(means, window, axis=-1)[:, :, ::step]
    n_cond, n_ch, n_win = view.shape[:3]
    return np.ascontiguousarray(view.transpose(2, 0, 1, 3)).reshape(n_win, n_cond, n_ch * window)


def rsa_timecourse(
    data: Any,
    conditions: Any = None,
    model_rdms: Any = None,
    *,
    metric: str = "correlation",
    method: str = "spearman",
    window: int = 1,
    step: int = 1,
    generalization: bool = False,
    condition_order: Any = None,
    sfreq: float | None = None,
    tmin: float = 0.0,
    backend: str = "numpy",
    device: str | None = None,
) -> TimecourseResult:
    """Time-resolved RSA of trials against model RDMs.

    Parameters
    ----------
    data : array of shape (n_trials, n_channels, n_times), list of them, or Segments
        One array per subject in a list; a ``Segments`` object (with ``.brain``,
        ``.meta["condition"]``, ``.sfreq``, ``.tmin``) is read directly.
    conditions : array of shape (n_trials,), list of them, or None
        Condition label of each trial (``None`` for Segments).
    model_rdms : dict, array of shape (n_models, n_pairs) or (n_pairs,)
        Condensed model RDMs over the conditions in ``condition_order``.
    metric : str
        Dissimilarity of the data RDMs (see :func:`compute_rdm`; not crossnobis).
    method : str
        Comparison method (see :func:`compare_rdms`).
    window : int
        Width of the sliding window in samples; channels x samples form the pattern.
        With the numpy backend and float64 data, the RDMs of windows wider than one
        sample come from the summed Gram matrices of their samples (each sample's
        computed once; equal to the windows' patterns' to rounding).
    step : int
        Hop between windows in samples.
    generalization : bool
        Also compare the data RDMs of every pair of windows.
    condition_order : sequence or None
        Conditions in the order of the model RDMs; ``None``: the sorted labels of all
        subjects (every subject must have trials of each).
    sfreq, tmin : float
        Sampling rate (Hz) and time of the first sample (s), for ``times``; without
        ``sfreq``, ``times`` are sample indices (window centres).
    backend, device
        Array library and torch device for the RDMs.

    Returns
    -------
    result : TimecourseResult
    """
    window, step = _check_window(window, step)
    check_option("metric", metric, [m for m in METRICS if m != "crossnobis"])
    subjects, labels, sfreq, tmin = _unpack(data, conditions, sfreq, tmin)
    if not sfreq and tmin:
        raise ValueError(
            f"tmin={tmin!r} (seconds) needs sfreq; without sfreq the times are sample indices."
        )
    if model_rdms is None:
        raise ValueError("model_rdms is required: a dict {name: condensed RDM} or an array.")
    if condition_order is None:  # one order for every subject: all labels, sorted
        condition_order = sorted(set().union(*(np.unique(lab).tolist() for lab in labels)))
    sims, rdms, gens = [], [], []
    for i, (x, lab) in enumerate(zip(subjects, labels)):
        means, order = _subject_means(x, lab, condition_order, i, subjects, window)
        names, models = as_model_matrix(model_rdms, len(order))
        rdm = _window_rdms(means, window, step, metric, backend, device)
        rdms.append(rdm)
        sims.append(compare_rdms(rdm, models, method))
        if generalization:
            gens.append(compare_rdms(rdm, rdm, method))
    logger.info("rsa_timecourse: %d subject(s), %d windows", len(sims), len(rdms[0]))
    sim = _stacked(sims)
    mean, t, p = _group_stats(sim)
    gen = _stacked(gens) if generalization else None
    times = _window_times(rdms[0].shape[0], window, step, sfreq, tmin)
    return TimecourseResult(times, sim, _stacked(rdms), names, order, gen, mean, t, p)


def _stacked(arrays: list) -> np.ndarray:
    """``np.stack(arrays)``, without copying a single array."""
    return arrays[0][None] if len(arrays) == 1 else np.stack(arrays)


def _check_window(window: Any, step: Any) -> tuple[int, int]:
    """``window`` and ``step`` as positive whole numbers of samples."""
    check_positive("window", window)
    check_positive("step", step)
    for name, value in (("window", window), ("step", step)):
        if int(value) != value:
            raise ValueError(f"{name} must be a whole number of samples; got {value!r}.")
    return int(window), int(step)


def _subject_means(
    x: Any, labels: Any, condition_order: Any, i: int, subjects: list, window: int
) -> tuple[np.ndarray, list]:
    """Condition means of subject ``i``, checked against subject 0 and the window."""
    try:
        means, order = condition_means(x, labels, condition_order)
    except ValueError as err:
        if len(subjects) == 1:
            raise
        raise ValueError(f"subject {i}: {err}") from None
    n_times = np.shape(subjects[0])[-1]
    if i and means.shape[-1] != n_times:
        raise ValueError(
            f"subject {i} has {means.shape[-1]} time samples; subject 0 has "
            f"{n_times}: crop or resample the subjects alike."
        )
    if window > means.shape[-1]:
        raise ValueError(f"window={window} exceeds the {means.shape[-1]} time samples.")
    return means, order


def _window_rdms(
    means: np.ndarray, window: int, step: int, metric: str, backend: str, device: str | None
) -> np.ndarray:
    """Condensed float64 RDMs of every window, (n_windows, n_pairs): from summed
    per-sample Gram matrices (:func:`_summed_window_rdms`) where it applies, else from
    the windows' patterns."""
    if window > 1 and backend == "numpy" and device is None and means.dtype == np.float64:
        rdm = _summed_window_rdms(means, window, step, metric)
        if rdm is not None:
            return rdm
    rdm = compute_rdm(_windows(means, window, step), metric, backend=backend, device=device)
    return np.asarray(rdm if isinstance(rdm, np.ndarray) else rdm.cpu().numpy(), float)


_SUMMED_BYTES = 512e6  # the per-sample and per-window Gram matrices held at once
_SUMMED_KIND = {"correlation": 0, "cosine": 0, "sqeuclidean": 1, "euclidean": 2}


def _summed_window_rdms(
    means: np.ndarray, window: int, step: int, metric: str
) -> np.ndarray | None:
    """RDMs of sliding windows from the Gram matrices of single samples.

    A window's pattern is its samples' patterns side by side, so its Gram matrix is the
    sum of theirs: each sample's Gram is computed once (not ``window`` times) and the
    windows' are differences of their cumulative sum (a rounding of about
    ``n_times / window`` ulps of the Gram entries; 1e-14 relative on the benchmark's
    700 samples, far below the 1e-10 the tests ask). Correlation centres each window
    pattern on its mean: with ``y_s`` the sample's patterns centred on their own means
    ``m_s`` and ``d_s = m_s - mean over the window of m_s``, the centred window Gram is
    ``sum_s y_s y_s^T + n_channels * sum_s d_s d_s^T`` (the cross terms vanish as
    ``y_s`` sums to zero), a sum of positive terms that loses no digits; the euclidean
    metrics centre each feature on its mean over conditions, sample by sample, as
    :func:`compute_rdm` does. ``None`` (the caller computes the windows' patterns) for
    metrics not built from one Gram matrix, a pattern constant over the channels at one
    sample, non-finite distances or more than ``_SUMMED_BYTES`` of Gram matrices.
    """
    n, p, n_times = means.shape
    starts = np.arange(0, n_times - window + 1, step)
    if metric not in _SUMMED_KIND or (n_times + 1 + len(starts)) * n * n * 8 > _SUMMED_BYTES:
        return None
    x = np.empty((n_times, n, p))
    _copy_blocked(means.transpose(2, 0, 1), x)  # cache line by cache line
    if metric == "correlation":
        if (x == x[..., :1]).all(-1).any():  # a flat sample pattern: NaN-aware path
            return None
        sample_means = x.mean(-1)  # (n_times, n)
        x -= sample_means[..., None]
    elif metric != "cosine":
        x -= x.mean(1, keepdims=True)
    with B.single_threaded_blas():
        cum = np.zeros((n_times + 1, n, n))
        np.cumsum(np.matmul(x, x.swapaxes(1, 2)), axis=0, out=cum[1:])
        gram = cum[starts + window] - cum[starts]
        if metric == "correlation":
            d = np.lib.stride_tricks.sliding_window_view(sample_means.T, window, axis=-1)
            d = d[:, starts].transpose(1, 0, 2)  # (n_windows, n, window)
            d = d - d.mean(-1, keepdims=True)
            gram += p * np.matmul(d, d.swapaxes(1, 2))
    out = np.empty((len(starts), n * (n - 1) // 2))
    return out if gram_to_condensed(gram, _SUMMED_KIND[metric], out) else None


def _window_times(
    n_windows: int, window: int, step: int, sfreq: float | None, tmin: float
) -> np.ndarray:
    """Centre of each window: seconds with ``sfreq``, else sample indices."""
    times = np.arange(n_windows) * step + (window - 1) / 2
    return times / sfreq + tmin if sfreq else times


def _group_stats(sim: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    mean = sim.mean(0)
    if sim.shape[0] < 2:
        nan = np.full(mean.shape, np.nan)
        return mean, nan, nan
    t, p = scipy.stats.ttest_1samp(sim, 0.0, axis=0, alternative="greater")
    return mean, np.asarray(t), np.asarray(p)


__all__ = ["as_model_matrix", "condition_means", "rsa_timecourse", "TimecourseResult"]
