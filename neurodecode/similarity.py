"""Brain-model similarity maps in one call: layers (of one or many models) x time or space.

``similarity_map`` scores every layer of every model against a recording, by RSA or by
a cross-validated encoding model, over time (M/EEG latency), sensors or voxels (a map
per layer) or as one profile over layers, with noise-ceiling normalisation, bootstrap
confidence intervals and the peak layer and latency per region, as in the brain-model
convergence studies (e.g. "Disentangling the factors of convergence between brains and
vision models", the DINOv3 study; Kriegeskorte et al. 2008 Front Syst Neurosci 2:4 for
RSA; Naselaris et al. 2011 NeuroImage 56(2) for encoding).

It composes :mod:`neurodecode.rsa` (``compute_rdm``, ``compare_rdms``, ``noise_ceiling``,
``bootstrap_ci``, ``layer_rdms``) and :mod:`neurodecode.encoding` (``RidgeCV``,
``lag_matrix``, ``correlation_per_target``, ``noise_ceiling``); it implements neither.

Example
-------
>>> import numpy as np
>>> import neurodecode
>>> rng = np.random.default_rng(0)
>>> layers = {"conv1": rng.standard_normal((12, 8)), "conv2": rng.standard_normal((12, 8))}
>>> brain = layers["conv2"] @ rng.standard_normal((8, 30))  # 12 conditions x 30 voxels
>>> res = neurodecode.similarity_map(brain, layers, method="rsa", over="layers", n_bootstrap=50)
>>> res.peak()["layer"]
'conv2'
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._validation import check_option, check_positive

METHODS = ("rsa", "encoding")
OVER = ("time", "sensors", "voxels", "layers")


@dataclass(frozen=True)
class SimilarityMapResult:
    """A labelled (model/layer) x (time | sensor | voxel | region) similarity array.

    Attributes
    ----------
    values : array of shape (n_rows, n_cols)
        Similarity of each model layer (row) at each time point, sensor or voxel
        (column); ``over="layers"`` has one column.
    models, layers : list of str, length n_rows
        The model and the layer of each row.
    coords : array of shape (n_cols,)
        Times in seconds, or sensor / voxel names.
    over, method : str
    ci_low, ci_high : array of shape (n_rows, n_cols)
        Bootstrap percentile interval of ``values``.
    ceiling : array of shape (n_cols,) or None
        Noise ceiling (RSA: upper bound over subjects; encoding: from repeats).
    normalized : array of shape (n_rows, n_cols) or None
        ``values / ceiling`` (and its interval in ``normalized_ci``).
    normalized_ci : tuple of two arrays of shape (n_rows, n_cols) or None
    """

    values: np.ndarray
    models: list
    layers: list
    coords: np.ndarray
    over: str
    method: str
    ci_low: np.ndarray
    ci_high: np.ndarray
    ceiling: np.ndarray | None = None
    normalized: np.ndarray | None = None
    normalized_ci: tuple | None = None

    @property
    def labels(self) -> list[str]:
        """``"model/layer"`` per row (just the layer when there is one model)."""
        if len(set(self.models)) == 1:
            return list(self.layers)
        return [f"{m}/{layer}" for m, layer in zip(self.models, self.layers)]

    def scores(self, normalized: bool = True) -> np.ndarray:
        """``normalized`` when available (and asked), else ``values``."""
        return self.normalized if normalized and self.normalized is not None else self.values

    def peak(self, normalized: bool = True) -> dict:
        """The best row and column: ``{"model", "layer", "coord", "value"}``."""
        s = self.scores(normalized)
        row, col = np.unravel_index(np.nanargmax(s), s.shape)
        return {"model": self.models[row], "layer": self.layers[row],
                "coord": self.coords[col], "value": float(s[row, col])}

    def best_layer(self, normalized: bool = True) -> list[str]:
        """Label of the best row for each column (the peak layer per time / region)."""
        s = self.scores(normalized)
        return [self.labels[i] for i in np.nanargmax(s, axis=0)]

    def grid(self, normalized: bool = True, reduce: str = "max") -> tuple[list, list, np.ndarray]:
        """Models x layers table of each row's ``"max"`` or ``"mean"`` over columns.

        Returns
        -------
        models : list of str
        layers : list of str (the union, in first-seen order)
        table : array of shape (n_models, n_layers), NaN where a model lacks a layer
        """
        check_option("reduce", reduce, ("max", "mean"))
        s = self.scores(normalized)
        per_row = np.nanmax(s, 1) if reduce == "max" else np.nanmean(s, 1)
        models = list(dict.fromkeys(self.models))
        layers = list(dict.fromkeys(self.layers))
        table = np.full((len(models), len(layers)), np.nan)
        for m, layer, v in zip(self.models, self.layers, per_row):
            table[models.index(m), layers.index(layer)] = v
        return models, layers, table

    def to_frame(self) -> Any:
        """A long pandas DataFrame: model, layer, coord, value, ci_low, ci_high, normalized."""
        import pandas as pd

        n_rows, n_cols = self.values.shape
        frame = pd.DataFrame({
            "model": np.repeat(self.models, n_cols), "layer": np.repeat(self.layers, n_cols),
            "coord": np.tile(self.coords, n_rows), "value": self.values.ravel(),
            "ci_low": self.ci_low.ravel(), "ci_high": self.ci_high.ravel()})
        if self.normalized is not None:
            frame["normalized"] = self.normalized.ravel()
        return frame


def _flatten_models(model_features: Any) -> tuple[list, list, list]:
    """{layer: X} or {model: {layer: X}} -> (models, layers, arrays)."""
    if not isinstance(model_features, dict) or not model_features:
        raise TypeError("model_features must be a non-empty dict {layer: features} or "
                        f"{{model: {{layer: features}}}}; got {type(model_features).__name__}.")
    nested = all(isinstance(v, dict) for v in model_features.values())
    items = model_features.items() if nested else [("model", model_features)]
    models, layers, arrays = [], [], []
    for model, layer_dict in items:
        if not layer_dict:
            raise ValueError(f"model {model!r} has no layers.")
        for layer, x in layer_dict.items():
            models.append(str(model))
            layers.append(str(layer))
            arrays.append(np.asarray(x, dtype=np.float64))
    sizes = {a.shape[0] for a in arrays}
    if len(sizes) != 1:
        raise ValueError(f"every layer must have the same number of samples (axis 0); got "
                         f"{sorted(sizes)}.")
    return models, layers, arrays


def similarity_map(
    brain: Any,
    model_features: dict,
    *,
    method: str = "rsa",
    over: str = "time",
    times: Any = None,
    names: Any = None,
    neighbors: Any = None,
    metric: str = "correlation",
    compare: str = "spearman",
    subjects: bool = False,
    repeats: Any = None,
    delays: Any = None,
    groups: Any = None,
    cv: Any = 5,
    alphas: Any = (1e-2, 1e0, 1e2, 1e4),
    n_bootstrap: int = 200,
    ci: float = 0.95,
    seed: int | None = 0,
) -> SimilarityMapResult:
    """Similarity of every model layer with a recording over time, sensors, voxels or layers.

    Parameters
    ----------
    brain : array
        ``method="rsa"``: condition patterns, shape (n_conditions, n_channels, n_times)
        for ``over="time"``, (n_conditions, n_sensors_or_voxels) for ``"sensors"``,
        ``"voxels"`` and ``"layers"``; with ``subjects=True`` a leading n_subjects axis.
        ``method="encoding"``: responses, shape (n_samples, n_channels, n_times) for
        ``over="time"``, else (n_samples, n_targets).
    model_features : dict of {layer: array of shape (n_conditions_or_samples, ...)}
        Or ``{model: {layer: array}}`` for several models (trailing axes are flattened).
    method : {"rsa", "encoding"}
    over : {"time", "sensors", "voxels", "layers"}
        Columns of the map: time points, sensors/voxels (RSA: the ``neighbors``
        searchlights; encoding: each target) or one column (a whole-region profile).
    times : array of shape (n_times,) or None
        Column coordinates for ``over="time"`` (s); ``None``: sample indices.
    names : sequence of str or None
        Column names for sensors or voxels.
    neighbors : list of arrays of int or None
        RSA over sensors/voxels: the features of each searchlight (required).
    metric, compare : str
        RSA dissimilarity (:func:`neurodecode.rsa.compute_rdm`) and comparison
        (:func:`neurodecode.rsa.compare_rdms`).
    subjects : bool
        RSA: ``brain`` has a leading subjects axis; the map is the mean over subjects,
        the CI a bootstrap over subjects and the ceiling the subjects' noise ceiling.
    repeats : array of shape (n_repeats, n_samples, ...) or None
        Encoding: repeated responses (trailing axes as ``brain``) for the noise ceiling.
    delays : sequence of int or None
        Encoding of continuous data: lags in samples applied to every layer's features
        (:func:`neurodecode.encoding.lag_matrix`, within each group).
    groups : array of shape (n_samples,) or None
        Encoding: run or trial of each sample; folds keep groups whole.
    cv : int or splitter
        Encoding: outer folds for the out-of-fold predictions (as :class:`RidgeCV`).
    alphas : sequence of float
        Encoding: ridge penalties (chosen per target by inner CV).
    n_bootstrap : int
        Bootstrap draws for the CIs: RSA resamples subjects (else conditions); encoding
        resamples samples, or whole groups when there are >= 10, else 50 contiguous
        blocks within the groups (out-of-fold predictions are not refit).
    ci : float
        Coverage of the intervals, in (0, 1).
    seed : int or None

    Returns
    -------
    result : SimilarityMapResult
    """
    check_option("method", method, METHODS)
    check_option("over", over, OVER)
    check_positive("n_bootstrap", n_bootstrap)
    if not 0 < ci < 1:
        raise ValueError(f"ci must be in (0, 1); got {ci!r}.")
    models, layers, arrays = _flatten_models(model_features)
    x = np.asarray(brain, dtype=np.float64)
    rng = np.random.default_rng(seed)
    if method == "rsa":
        out = _rsa_map(x, arrays, over, neighbors, metric, compare, subjects,
                       n_bootstrap, ci, rng)
    else:
        out = _encoding_map(x, arrays, over, repeats, delays, groups, cv, alphas,
                            n_bootstrap, ci, rng)
    values, low, high, ceiling = out
    coords = _coords(over, values.shape[1], times, names)
    normalized = normalized_ci = None
    if ceiling is not None:
        with np.errstate(divide="ignore", invalid="ignore"):
            safe = np.where(ceiling > 0, ceiling, np.nan)
            normalized = values / safe
            normalized_ci = (low / safe, high / safe)
    return SimilarityMapResult(values, models, layers, coords, over, method, low, high,
                               ceiling, normalized, normalized_ci)


def _coords(over: str, n_cols: int, times: Any, names: Any) -> np.ndarray:
    given = times if over == "time" else names
    if over == "layers":
        return np.array(["all"])
    if given is None:
        return np.arange(n_cols)
    coords = np.asarray(given)
    if coords.shape != (n_cols,):
        which = "times" if over == "time" else "names"
        raise ValueError(f"{which} must have shape ({n_cols},) (one per column of the map); "
                         f"got {coords.shape}.")
    return coords


def percentile_ci(samples: np.ndarray, ci: float) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval over axis 0, ignoring NaN draws."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        low, high = np.nanquantile(samples, [(1 - ci) / 2, (1 + ci) / 2], axis=0)
    return low, high


# --- RSA ---------------------------------------------------------------------------


def _brain_rdms(x: np.ndarray, over: str, neighbors: Any, metric: str) -> np.ndarray:
    """(n_subjects, n_conditions, ...) patterns -> (n_subjects, n_cols, n_pairs) RDMs."""
    from .rsa import compute_rdm

    if over == "time":
        if x.ndim != 4:
            raise ValueError("brain must have shape (n_conditions, n_channels, n_times) for "
                             f"RSA over time (a leading n_subjects with subjects=True); got "
                             f"{x.shape[1:] if x.shape[0] == 1 else x.shape}.")
        return compute_rdm(np.moveaxis(x, -1, 1), metric)  # (subj, time, cond, chan)
    if x.ndim != 3:
        raise ValueError(f"brain must have shape (n_conditions, n_features) for RSA over "
                         f"{over} (a leading n_subjects with subjects=True); got "
                         f"{x.shape[1:] if x.shape[0] == 1 else x.shape}.")
    if over == "layers":
        return compute_rdm(x, metric)[:, None]
    if neighbors is None:
        raise ValueError(f"RSA over {over} needs neighbors= (the {over} of each searchlight, "
                         "e.g. from neurodecode.rsa.sensor_neighbors); got None. Use "
                         "method='encoding' for one score per sensor or voxel.")
    return np.stack([compute_rdm(x[:, :, np.asarray(nb)], metric) for nb in neighbors], 1)


def _rsa_map(x, arrays, over, neighbors, metric, compare, subjects, n_boot, ci, rng):
    from .rsa import bootstrap_ci, compare_rdms, layer_rdms, noise_ceiling

    x = x if subjects else x[None]
    if x.shape[1] != arrays[0].shape[0]:
        raise ValueError(f"brain has {x.shape[1]} conditions but the model features have "
                         f"{arrays[0].shape[0]}; give both the same conditions in one order.")
    brain = _brain_rdms(x, over, neighbors, metric)  # (n_subj, n_cols, n_pairs)
    _, models = layer_rdms({str(i): a for i, a in enumerate(arrays)}, metric)
    per_subject = compare_rdms(brain, models, compare)  # (n_subj, n_cols, n_rows)
    values = per_subject.mean(0).T
    n_subj = brain.shape[0]
    if n_subj >= 2:
        draws = rng.integers(0, n_subj, (n_boot, n_subj))
        low, high = percentile_ci(per_subject[draws].mean(1), ci)
        ceiling = np.atleast_1d(noise_ceiling(brain, compare)[1])
        return values, low.T, high.T, ceiling
    low, high = np.empty_like(values), np.empty_like(values)
    seed = int(rng.integers(2**31))
    for col in range(brain.shape[1]):  # bootstrap over conditions, one column at a time
        res = bootstrap_ci(brain[0, col], models, compare, over="conditions",
                           n_bootstrap=n_boot, ci=ci, seed=seed)
        low[:, col], high[:, col] = res.ci_low, res.ci_high
    return values, low, high, None


# --- encoding ------------------------------------------------------------------------


def _targets(x: np.ndarray, over: str) -> np.ndarray:
    """Responses -> (n_samples, n_targets); over time, targets are (channel, time) pairs."""
    if over == "time" and x.ndim != 3:
        raise ValueError(f"brain must have shape (n_samples, n_channels, n_times) for encoding "
                         f"over time; got {x.shape}.")
    if over != "time" and x.ndim != 2:
        raise ValueError(f"brain must have shape (n_samples, n_targets) for encoding over "
                         f"{over}; got {x.shape}.")
    return x.reshape(len(x), -1)


def _design(a: np.ndarray, delays: Any, groups: np.ndarray | None) -> np.ndarray:
    from .encoding import lag_matrix

    feats = a.reshape(len(a), -1)
    if delays is None:
        return feats
    lags = np.asarray(delays, dtype=int)
    labels = np.zeros(len(a), int) if groups is None else groups
    out = np.empty((len(a), feats.shape[1] * len(lags)))
    for g in np.unique(labels):
        rows = np.flatnonzero(labels == g)
        out[rows] = lag_matrix(feats[rows], lags)
    return out


def _out_of_fold(design: np.ndarray, y: np.ndarray, splits: list, alphas: Any) -> np.ndarray:
    from .encoding import RidgeCV

    pred = np.zeros_like(y)
    for train, test in splits:
        inner = max(2, min(5, len(train) // 2))  # inner folds choose alpha per target
        model = RidgeCV(alphas=alphas, cv=inner).fit(design[train], y[train])
        pred[test] = model.predict(design[test])
    return pred


def _column_means(scores: np.ndarray, over: str, n_cols: int) -> np.ndarray:
    """Per-target scores (..., n_targets) -> per-column (..., n_cols)."""
    if over == "layers":
        return scores.mean(-1, keepdims=True)
    if over == "time":
        return scores.reshape(scores.shape[:-1] + (-1, n_cols)).mean(-2)
    return scores


def _bootstrap_units(n: int, groups: np.ndarray | None, min_units: int = 10) -> np.ndarray:
    """Resampling unit of each sample: its group when there are >= ``min_units`` groups,
    else one of 50 contiguous blocks inside its group (keeps the autocorrelation)."""
    if groups is None:
        return np.arange(n)
    _, labels = np.unique(groups, return_inverse=True)
    if labels.max() + 1 >= min_units:
        return labels
    block = max(1, n // 50)
    within = np.concatenate([np.arange(c) for c in np.bincount(labels)])[np.argsort(
        np.argsort(labels, kind="stable"), kind="stable")]
    return labels * (n // block + 1) + within // block


def _encoding_map(x, arrays, over, repeats, delays, groups, cv, alphas, n_boot, ci, rng):
    from .encoding import correlation_per_target, noise_ceiling
    from .encoding.ridge import make_splits

    y = _targets(x, over)
    if y.shape[0] != arrays[0].shape[0]:
        raise ValueError(f"brain has {y.shape[0]} samples but the model features have "
                         f"{arrays[0].shape[0]}; align them on one clock first.")
    labels = None if groups is None else np.asarray(groups)
    splits = make_splits(cv, len(y), labels)
    n_cols = x.shape[-1] if over == "time" else (1 if over == "layers" else y.shape[1])
    units = _bootstrap_units(len(y), labels)
    unique = np.unique(units)
    draws = [np.concatenate([np.flatnonzero(units == u) for u in rng.choice(unique, unique.size)])
             for _ in range(n_boot)]
    values, low, high = [], [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # constant targets in a resample
        for a in arrays:
            pred = _out_of_fold(_design(a, delays, labels), y, splits, alphas)
            values.append(_column_means(correlation_per_target(y, pred), over, n_cols))
            boot = np.stack([_column_means(correlation_per_target(y[d], pred[d]), over, n_cols)
                             for d in draws])
            lo, hi = percentile_ci(boot, ci)
            low.append(lo)
            high.append(hi)
    ceiling = None
    if repeats is not None:
        reps = np.asarray(repeats, dtype=np.float64)
        if reps.ndim != x.ndim + 1 or reps.shape[1:] != x.shape:
            raise ValueError(f"repeats must have shape (n_repeats,) + {x.shape} (the brain's "
                             f"shape); got {reps.shape}.")
        ceiling = _column_means(noise_ceiling(reps.reshape(len(reps), len(y), -1)), over, n_cols)
    return np.stack(values), np.stack(low), np.stack(high), ceiling


__all__ = ["METHODS", "OVER", "SimilarityMapResult", "similarity_map"]
