"""Representational dissimilarity matrices and layer x time similarity plots."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from scipy.spatial.distance import squareform
from scipy.stats import rankdata

from .._validation import check_finite, check_shape, check_type
from ._save import DEFAULT_DPI, auto_vlim, finish, new_figure


def as_square_rdm(rdm: np.ndarray, name: str = "rdm") -> np.ndarray:
    """Return ``rdm`` as a square symmetric matrix.

    Parameters
    ----------
    rdm : array of shape (n_pairs,) or (n_conditions, n_conditions)
        Condensed upper triangle (``scipy.spatial.distance.pdist`` order) or square.
    name : str
        Argument name for error messages.

    Returns
    -------
    square : array of shape (n_conditions, n_conditions)
        Off-diagonal entries must be finite; the diagonal is set to 0 when NaN.
    """
    arr = np.asarray(rdm, dtype=float)
    if arr.ndim == 1:
        n = (1 + math.isqrt(1 + 8 * arr.size)) // 2
        if n * (n - 1) // 2 != arr.size or arr.size == 0:
            raise ValueError(
                f"{name} of shape {arr.shape} is not a condensed RDM: its length must be "
                "n * (n - 1) / 2 for some n >= 2."
            )
        check_finite(name, arr, ("pair",))
        return squareform(arr, checks=False)
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1] or arr.shape[0] < 2:
        raise ValueError(
            f"{name} must have shape (n_pairs,) or (n_conditions, n_conditions); got {arr.shape}."
        )
    off = ~np.eye(len(arr), dtype=bool)
    check_finite(name + " (off-diagonal)", np.where(off, arr, 0.0), ("row", "column"))
    if not np.allclose(arr, arr.T, equal_nan=True):
        raise ValueError(f"{name} must be symmetric; max |rdm - rdm.T| = "
                         f"{np.nanmax(np.abs(arr - arr.T)):.3g}.")
    return np.where(off, arr, 0.0)


def rank_transform_rdm(square: np.ndarray) -> np.ndarray:
    """Rank the off-diagonal dissimilarities and scale them to [0, 1] (diagonal 0)."""
    iu = np.triu_indices(len(square), k=1)
    ranks = rankdata(square[iu])
    scaled = (ranks - 1) / max(ranks.max() - 1, 1)
    out = np.zeros_like(square)
    out[iu] = scaled
    return out + out.T


def _category_runs(categories: Sequence, n: int) -> list[tuple[object, int, int]]:
    """Contiguous runs ``(label, start, stop)`` of per-condition category labels."""
    cats = list(categories)
    if len(cats) != n:
        raise ValueError(f"categories has {len(cats)} labels; expected one per condition ({n}).")
    runs, start = [], 0
    for i in range(1, n + 1):
        if i == n or cats[i] != cats[start]:
            runs.append((cats[start], start, i))
            start = i
    return runs


def _draw_rdm(fig, ax, square, labels, categories, cmap, vlim, cbar_label):
    n = len(square)
    lo, hi = auto_vlim(square, vlim, symmetric=False)
    im = ax.imshow(square, cmap=cmap, vmin=lo, vmax=hi, interpolation="nearest")
    fig.colorbar(im, ax=ax, shrink=0.8, label=cbar_label)
    size = max(4.0, min(9.0, 400 / n))
    if labels is not None:
        labels = [str(lab) for lab in labels]
        if len(labels) != n:
            raise ValueError(f"labels has {len(labels)} entries; expected {n} (one per condition).")
        ax.set_yticks(range(n), labels, fontsize=size)
        if categories is None:
            ax.set_xticks(range(n), labels, rotation=90, fontsize=size)
    if categories is not None:
        runs = _category_runs(categories, n)
        for _, start, _stop in runs[1:]:
            ax.axhline(start - 0.5, color="white", lw=1.2)
            ax.axvline(start - 0.5, color="white", lw=1.2)
        centres = [(start + stop - 1) / 2 for _, start, stop in runs]
        names = [str(lab) for lab, _, _ in runs]
        ax.set_xticks(centres, names, rotation=45, ha="right", fontsize=9)
        if labels is None:
            ax.set_yticks(centres, names, fontsize=9)
    if labels is None and categories is None:
        ax.set_xlabel("condition")
        ax.set_ylabel("condition")


def plot_rdm(
    rdm: np.ndarray,
    *,
    labels: Sequence[str] | None = None,
    categories: Sequence | None = None,
    cmap: str = "viridis",
    rank_transform: bool = False,
    vlim: Sequence[float] | None = None,
    title: str | None = None,
    cbar_label: str | None = None,
    fname: str | Path | None = None,
    dpi: float = DEFAULT_DPI,
) -> Figure:
    """Draw an RDM as a heatmap, optionally with category boundaries.

    Parameters
    ----------
    rdm : array of shape (n_pairs,) or (n_conditions, n_conditions)
        Condensed (``pdist`` order) or square symmetric dissimilarities.
    labels : sequence of str or None
        One name per condition, used as tick labels (on the y axis only when
        ``categories`` is also given).
    categories : sequence or None
        One category label per condition, conditions sorted by category: boundary
        lines are drawn between categories and the categories label the ticks.
    cmap : str
        Colour map.
    rank_transform : bool
        Show the ranks of the dissimilarities scaled to [0, 1] (as in Kriegeskorte
        et al. 2008), which equalises contrast across RDMs.
    vlim : (vmin, vmax) or None
        Colour limits (default: data range; ``(0, 1)`` with ``rank_transform``).
    title, cbar_label : str or None
        Title and colour-bar label.
    fname, dpi :
        Save to this ``.png``, ``.svg`` or ``.pdf`` file at this resolution.

    Returns
    -------
    fig : matplotlib.figure.Figure
        The heatmap axes and its colour-bar axes.
    """
    square = as_square_rdm(rdm)
    if rank_transform:
        square = rank_transform_rdm(square)
        vlim = (0.0, 1.0) if vlim is None else vlim
    label = cbar_label or ("rank (scaled)" if rank_transform else "dissimilarity")
    fig = new_figure((5.2, 4.4))
    ax = fig.add_subplot()
    _draw_rdm(fig, ax, square, labels, categories, cmap, vlim, label)
    if title:
        ax.set_title(title)
    return finish(fig, fname, dpi)


def plot_rdms(
    rdms: Mapping[str, np.ndarray],
    *,
    categories: Sequence | None = None,
    n_cols: int = 4,
    cmap: str = "viridis",
    rank_transform: bool = True,
    title: str | None = None,
    fname: str | Path | None = None,
    dpi: float = DEFAULT_DPI,
) -> Figure:
    """Draw several RDMs side by side, one titled panel (with its colour bar) each.

    Parameters
    ----------
    rdms : mapping of str to array of shape (n_pairs,) or (n, n)
        Panel title -> RDM (e.g. ``{"IT": ..., "conv1": ...}``).
    categories : sequence or None
        Per-condition category labels shared by all RDMs (see :func:`plot_rdm`).
    n_cols : int
        Panels per row.
    cmap : str
        Colour map.
    rank_transform : bool
        Rank-transform each RDM (default True, so RDMs on different scales compare).
    title : str or None
        Figure title.
    fname, dpi :
        Save to this ``.png``, ``.svg`` or ``.pdf`` file at this resolution.

    Returns
    -------
    fig : matplotlib.figure.Figure
        One heatmap axes and one colour-bar axes per RDM.
    """
    check_type("rdms", rdms, Mapping)
    if not rdms:
        raise ValueError("rdms is empty; pass a mapping name -> RDM with at least one entry.")
    check_type("n_cols", n_cols, int)
    if n_cols < 1:
        raise ValueError(f"n_cols must be >= 1; got {n_cols}.")
    n_rows = math.ceil(len(rdms) / n_cols)
    n_c = min(n_cols, len(rdms))
    fig = new_figure((4.0 * n_c, 3.5 * n_rows), layout="constrained")
    axes = fig.subplots(n_rows, n_c, squeeze=False).ravel()
    for ax in axes[len(rdms):]:
        fig.delaxes(ax)
    for ax, (name, rdm) in zip(axes, rdms.items()):
        square = as_square_rdm(rdm, name=f"rdms[{name!r}]")
        if rank_transform:
            square = rank_transform_rdm(square)
        label = "rank (scaled)" if rank_transform else "dissimilarity"
        vlim = (0.0, 1.0) if rank_transform else None
        _draw_rdm(fig, ax, square, None, categories, cmap, vlim, label)
        ax.set_title(str(name))
    if title:
        fig.suptitle(title)
    return finish(fig, fname, dpi)


def _check_layers(values: np.ndarray, layer_names: Sequence[str] | None) -> list[str]:
    if layer_names is None:
        return [f"layer {k}" for k in range(len(values))]
    names = [str(n) for n in layer_names]
    if len(names) != len(values):
        raise ValueError(f"layer_names has {len(names)} names; expected {len(values)} (n_layers).")
    return names


def _ceiling_band(ceiling, n_times: int) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper ceiling bounds over time from a scalar, (n_times,) or (2, n_times)."""
    arr = np.asarray(ceiling, dtype=float)
    if arr.ndim == 0 or arr.shape == (n_times,):
        arr = np.broadcast_to(arr, (n_times,))
        return arr, arr
    if arr.shape == (2,):
        return np.full(n_times, arr[0]), np.full(n_times, arr[1])
    if arr.shape == (2, n_times):
        return arr[0], arr[1]
    raise ValueError(
        f"ceiling must be a number, (lower, upper), or of shape ({n_times},) or (2, {n_times}); "
        f"got shape {arr.shape}."
    )


def plot_layer_time(
    similarity: np.ndarray,
    layer_names: Sequence[str] | None,
    times: np.ndarray,
    *,
    ceiling: float | np.ndarray | None = None,
    cmap: str = "viridis",
    vlim: Sequence[float] | None = None,
    cbar_label: str = "similarity",
    title: str | None = None,
    fname: str | Path | None = None,
    dpi: float = DEFAULT_DPI,
) -> Figure:
    """Heatmap of brain-model similarity for each model layer over time.

    Parameters
    ----------
    similarity : array of shape (n_layers, n_times)
        E.g. the Spearman correlation between each layer's RDM and the brain RDM at
        each time point.
    layer_names : sequence of str or None
        One name per layer (first layer at the bottom).
    times : array of shape (n_times,)
        Time of each column in seconds, increasing.
    ceiling : float, (lower, upper), array of shape (n_times,) or (2, n_times), or None
        Noise ceiling. When given, a panel above the heatmap shows the ceiling band
        and the best layer's similarity at each time.
    cmap, vlim, cbar_label, title :
        Colour map, colour limits, colour-bar label and title.
    fname, dpi :
        Save to this ``.png``, ``.svg`` or ``.pdf`` file at this resolution.

    Returns
    -------
    fig : matplotlib.figure.Figure
        Heatmap axes and colour-bar axes (plus the ceiling panel when ``ceiling``).
    """
    sim = check_shape("similarity", similarity, ("n_layers", "n_times")).astype(float)
    check_finite("similarity", sim, ("layer", "time"))
    times = check_shape("times", times, (sim.shape[1],)).astype(float)
    if np.any(np.diff(times) <= 0):
        raise ValueError("times must be strictly increasing.")
    names = _check_layers(sim, layer_names)
    fig = new_figure((7.0, 1.0 + 0.35 * len(names) + (1.6 if ceiling is not None else 0)),
                     layout="constrained")
    if ceiling is not None:
        lower, upper = _ceiling_band(ceiling, len(times))
        top, ax = fig.subplots(2, 1, sharex=True, height_ratios=[1, 2])
        top.fill_between(times, lower, upper, color="0.8", label="noise ceiling")
        top.plot(times, sim.max(axis=0), color="k", lw=1.2, label="best layer")
        top.set_ylabel(cbar_label)
        top.legend(fontsize=8, loc="upper right")
    else:
        ax = fig.add_subplot()
    step = np.median(np.diff(times)) if len(times) > 1 else 1.0
    extent = (times[0] - step / 2, times[-1] + step / 2, -0.5, len(names) - 0.5)
    lo, hi = auto_vlim(sim, vlim, symmetric=False)
    im = ax.imshow(sim, origin="lower", aspect="auto", extent=extent, cmap=cmap,
                   vmin=lo, vmax=hi, interpolation="nearest")
    ax.set_yticks(range(len(names)), names)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("layer")
    fig.colorbar(im, ax=ax, label=cbar_label)
    if title:
        fig.suptitle(title)
    return finish(fig, fname, dpi)


def plot_layer_profile(
    values: np.ndarray,
    ci: np.ndarray | None,
    layer_names: Sequence[str] | None,
    *,
    ceiling: Sequence[float] | None = None,
    ylabel: str = "similarity",
    title: str | None = None,
    color: str = "tab:blue",
    fname: str | Path | None = None,
    dpi: float = DEFAULT_DPI,
) -> Figure:
    """Bar plot of brain-model similarity per layer, with confidence intervals.

    Parameters
    ----------
    values : array of shape (n_layers,)
        Similarity of each layer.
    ci : array of shape (2, n_layers) or None
        Lower and upper confidence bounds (absolute values, containing ``values``).
    layer_names : sequence of str or None
        One name per layer.
    ceiling : (lower, upper) or None
        Noise ceiling, drawn as a grey band.
    ylabel, title, color :
        Axis label, title and bar colour.
    fname, dpi :
        Save to this ``.png``, ``.svg`` or ``.pdf`` file at this resolution.

    Returns
    -------
    fig : matplotlib.figure.Figure
        One axes.
    """
    values = check_shape("values", values, ("n_layers",)).astype(float)
    check_finite("values", values, ("layer",))
    names = _check_layers(values, layer_names)
    yerr = None
    if ci is not None:
        ci = check_shape("ci", ci, (2, len(values))).astype(float)
        if np.any(ci[0] > values + 1e-12) or np.any(ci[1] < values - 1e-12):
            raise ValueError("ci must hold (lower, upper) bounds with lower <= values <= upper.")
        yerr = np.stack([values - ci[0], ci[1] - values])
    fig = new_figure((1.0 + 0.6 * len(values), 3.6), layout="constrained")
    ax = fig.add_subplot()
    x = np.arange(len(values))
    if ceiling is not None:
        lo, hi = (float(c) for c in ceiling)
        if lo > hi:
            raise ValueError(f"ceiling=({lo}, {hi}) must be (lower, upper) with lower <= upper.")
        ax.axhspan(lo, hi, color="0.85", zorder=0, label="noise ceiling")
        ax.legend(fontsize=8, loc="upper left")
    ax.bar(x, values, yerr=yerr, color=color, capsize=3, zorder=2)
    ax.axhline(0, color="k", lw=0.8)
    ax.set_xticks(x, names, rotation=45, ha="right")
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    return finish(fig, fname, dpi)


__all__ = ["as_square_rdm", "plot_layer_profile", "plot_layer_time", "plot_rdm", "plot_rdms",
           "rank_transform_rdm"]
