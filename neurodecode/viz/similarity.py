"""Figures of the seed papers' analyses: similarity maps, models x layers grids,
stimulus-response coherence with null bands, attention accuracy vs window length."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from ._save import DEFAULT_DPI, auto_vlim, finish, new_figure
from .rdm import plot_layer_time


def plot_similarity_map(
    result: Any,
    *,
    normalized: bool = True,
    cmap: str = "viridis",
    title: str | None = None,
    fname: str | Path | None = None,
    dpi: float = DEFAULT_DPI,
) -> Figure:
    """Draw a :class:`~neurodecode.similarity.SimilarityMapResult`.

    ``over="time"``: a layer x time heatmap with the noise-ceiling panel (via
    :func:`plot_layer_time`); ``over="layers"``: a models x layers grid with each cell's
    score and CI; ``over="sensors"`` / ``"voxels"``: a layer x sensor (voxel) heatmap.
    The peak is marked.

    Parameters
    ----------
    result : SimilarityMapResult
    normalized : bool
        Draw noise-ceiling-normalised scores when the result has them.
    cmap, title, fname, dpi
        Colour map, title, output file and resolution.

    Returns
    -------
    fig : matplotlib.figure.Figure
    """
    scores = result.scores(normalized)
    label = "score / noise ceiling" if scores is result.normalized else "similarity"
    if result.over == "layers":
        return plot_models_by_layers(result, normalized=normalized, cmap=cmap, title=title,
                                     fname=fname, dpi=dpi)
    if result.over == "time":
        fig = plot_layer_time(scores, result.labels, np.asarray(result.coords, float),
                              ceiling=None if scores is result.normalized else result.ceiling,
                              cmap=cmap, cbar_label=label, title=title)
        return finish(fig, fname, dpi)
    fig = new_figure((7.0, 1.2 + 0.35 * len(result.labels)), layout="constrained")
    ax = fig.add_subplot()
    lo, hi = auto_vlim(np.nan_to_num(scores), None, symmetric=False)
    im = ax.imshow(scores, aspect="auto", origin="lower", cmap=cmap, vmin=lo, vmax=hi,
                   interpolation="nearest")
    row, col = np.unravel_index(np.nanargmax(scores), scores.shape)
    ax.plot(col, row, marker="*", color="w", ms=12, mec="k")
    ax.set_yticks(range(len(result.labels)), result.labels)
    ax.set_xlabel(result.over)
    fig.colorbar(im, ax=ax, label=label)
    if title:
        ax.set_title(title)
    return finish(fig, fname, dpi)


def plot_layer_maps(
    result: Any,
    *,
    info: Any = None,
    masker: Any = None,
    normalized: bool = True,
    cmap: str = "viridis",
    fname: str | Path | None = None,
    dpi: float = DEFAULT_DPI,
) -> Figure | dict:
    """Per-layer maps of a sensor or voxel similarity map.

    Parameters
    ----------
    result : SimilarityMapResult
        With ``over="sensors"`` (one value per channel of ``info``) or ``"voxels"``.
    info : mne.Info or None
        Sensors: one scalp map per layer in a row, one shared colour scale.
    masker : fitted nilearn masker or None
        Voxels: one brain map per layer (:func:`plot_brain_map`).
    normalized, cmap, fname, dpi
        As in :func:`plot_similarity_map`; for voxels ``fname`` gets the row index
        appended to its stem.

    Returns
    -------
    fig : Figure (sensors) or dict of {label: Figure} (voxels)
    """
    import mne

    from .brainmap import plot_brain_map

    scores = result.scores(normalized)
    if (info is None) == (masker is None) or result.over not in ("sensors", "voxels"):
        raise ValueError(f"plot_layer_maps needs a map over sensors (with info=) or voxels "
                         f"(with masker=) and exactly one of them; got over={result.over!r}, "
                         f"info={'set' if info is not None else None}, "
                         f"masker={'set' if masker is not None else None}.")
    if masker is not None:
        figs = {}
        for k, label in enumerate(result.labels):
            out = None if fname is None else Path(fname).with_stem(f"{Path(fname).stem}_{k}")
            figs[label] = plot_brain_map(masker.inverse_transform(scores[k]), title=label,
                                         fname=out, dpi=dpi)
        return figs
    lo, hi = auto_vlim(np.nan_to_num(scores), None, symmetric=False)
    fig = new_figure((2.2 * len(result.labels) + 0.8, 2.6), layout="constrained")
    axes = fig.subplots(1, len(result.labels), squeeze=False)[0]
    for ax, row, label in zip(axes, scores, result.labels):
        im, _ = mne.viz.plot_topomap(np.nan_to_num(row), info, axes=ax, cmap=cmap,
                                     vlim=(lo, hi), show=False)
        ax.set_title(label, fontsize=9)
    fig.colorbar(im, ax=list(axes), shrink=0.8,
                 label="score / noise ceiling" if scores is result.normalized else "similarity")
    return finish(fig, fname, dpi)


def plot_models_by_layers(
    result: Any,
    *,
    normalized: bool = True,
    cmap: str = "viridis",
    title: str | None = None,
    fname: str | Path | None = None,
    dpi: float = DEFAULT_DPI,
) -> Figure:
    """Models x layers heatmap of a one-column (or column-maximum) similarity map.

    Each cell shows its score and, for one-column maps, its CI; the best cell is boxed.

    Parameters
    ----------
    result : SimilarityMapResult
        A :class:`~neurodecode.similarity.SimilarityMapResult`; with more than one column
        each row's maximum over the columns is drawn (see its ``grid``).
    normalized : bool
        Draw noise-ceiling-normalised scores (and intervals) when the result has them.
    cmap : str
        Matplotlib colour map.
    title : str or None
        Figure title.
    fname : str, Path or None
        Save the figure there when given (``.png``, ``.svg`` or ``.pdf``, from the suffix).
    dpi : float
        Resolution of the saved figure, in dots per inch.

    Returns
    -------
    fig : matplotlib.figure.Figure
    """
    models, layers, table = result.grid(normalized)
    low: np.ndarray | None = None
    high: np.ndarray | None = None
    if result.values.shape[1] == 1:
        lo_all, hi_all = result.normalized_ci if (normalized and result.normalized_ci) else (
            result.ci_low, result.ci_high)
        low, high = np.full(table.shape, np.nan), np.full(table.shape, np.nan)
        for m, layer, a, b in zip(result.models, result.layers, lo_all[:, 0], hi_all[:, 0]):
            low[models.index(m), layers.index(layer)] = a
            high[models.index(m), layers.index(layer)] = b
    fig = new_figure((1.6 + 1.1 * len(layers), 1.2 + 0.7 * len(models)), layout="constrained")
    ax = fig.add_subplot()
    vmin, vmax = auto_vlim(np.nan_to_num(table), None, symmetric=False)
    im = ax.imshow(table, cmap=cmap, vmin=vmin, vmax=vmax, aspect="auto")
    for (i, j), v in np.ndenumerate(table):
        if np.isnan(v):
            continue
        text = f"{v:.2f}"
        if low is not None and high is not None:
            text += f"\n[{low[i, j]:.2f}, {high[i, j]:.2f}]"
        ax.text(j, i, text, ha="center", va="center", fontsize=7,
                color="w" if v < (vmin + vmax) / 2 else "k")
    bi, bj = np.unravel_index(np.nanargmax(table), table.shape)
    ax.add_patch(_box(float(bj), float(bi)))
    ax.set_xticks(range(len(layers)), layers, rotation=45, ha="right")
    ax.set_yticks(range(len(models)), models)
    ax.set_xlabel("layer")
    ax.set_ylabel("model")
    label = "score / noise ceiling" if (normalized and result.normalized is not None) else "score"
    fig.colorbar(im, ax=ax, label=label)
    if title:
        ax.set_title(title)
    return finish(fig, fname, dpi)


def _box(x: float, y: float) -> Any:
    from matplotlib.patches import Rectangle

    return Rectangle((x - 0.5, y - 0.5), 1, 1, fill=False, ec="r", lw=2)


def plot_coherence(
    result: Any,
    channels: Sequence[int] | None = None,
    *,
    title: str | None = None,
    fname: str | Path | None = None,
    dpi: float = DEFAULT_DPI,
) -> Figure:
    """Stimulus-response coherence spectra with their surrogate null bands.

    Parameters
    ----------
    result : CoherenceResult
    channels : sequence of int or None
        Channels to draw (default: the 4 with the highest peak coherence).
    title : str or None
        Figure title.
    fname : str, Path or None
        Save the figure there when given (``.png``, ``.svg`` or ``.pdf``, from the suffix).
    dpi : float
        Resolution of the saved figure, in dots per inch.

    Returns
    -------
    fig : matplotlib.figure.Figure
    """
    coh = result.coherence
    picks = list(np.argsort(-coh.max(1))[:4]) if channels is None else list(channels)
    fig = new_figure((6.5, 3.6), layout="constrained")
    ax = fig.add_subplot()
    for k, ch in enumerate(picks):
        color = f"C{k}"
        ax.fill_between(result.freqs, result.null_low[ch], result.null_high[ch], color=color,
                        alpha=0.2, lw=0)
        ax.plot(result.freqs, coh[ch], color=color, label=result.ch_names[ch])
        peak = result.freqs[np.argmax(coh[ch])]
        ax.axvline(peak, color=color, ls=":", lw=0.8)
    ax.set_xlabel("frequency (Hz)")
    ax.set_ylabel("coherence with the stimulus")
    ax.legend(fontsize=8, title="shaded: shifted-stimulus null", title_fontsize=7)
    if title:
        ax.set_title(title)
    return finish(fig, fname, dpi)


def plot_canonical_correlations(
    result: Any,
    *,
    title: str | None = None,
    fname: str | Path | None = None,
    dpi: float = DEFAULT_DPI,
) -> Figure:
    """Held-out canonical correlations per component, folds as dots, with the null band.

    Parameters
    ----------
    result : CCAResult
        From :func:`neurodecode.encoding.cross_validated_cca`; the null band (the 2.5 and
        97.5 percentiles of ``result.null``) is drawn when it has one.
    title : str or None
        Figure title.
    fname : str, Path or None
        Save the figure there when given (``.png``, ``.svg`` or ``.pdf``, from the suffix).
    dpi : float
        Resolution of the saved figure, in dots per inch.

    Returns
    -------
    fig : matplotlib.figure.Figure
    """
    k = np.arange(1, result.correlations.size + 1)
    fig = new_figure((1.8 + 0.6 * k.size, 3.4), layout="constrained")
    ax = fig.add_subplot()
    if result.null is not None:
        low, high = np.quantile(result.null, [0.025, 0.975], axis=0)
        ax.bar(k, high - low, bottom=low, width=0.6, color="0.85",
               label="permutation null (95 %)")
    folds = result.fold_correlations
    jitter = np.linspace(-0.15, 0.15, folds.shape[0])[:, None]
    ax.plot((k[None] + jitter).ravel(), folds.ravel(), ".", color="0.4", label="folds")
    ax.plot(k, result.correlations, "o-", color="k", label="mean held-out")
    if result.pvalue is not None:
        for x, y, p in zip(k, result.correlations, result.pvalue):
            ax.annotate(f"p={p:.3f}", (x, y), textcoords="offset points", xytext=(0, 6),
                        ha="center", fontsize=7)
    ax.axhline(0, color="k", lw=0.6)
    ax.set_xticks(k)
    ax.set_xlabel("canonical component")
    ax.set_ylabel("held-out canonical correlation")
    ax.legend(fontsize=7)
    if title:
        ax.set_title(title)
    return finish(fig, fname, dpi)


def plot_attention_accuracy(
    result: Any,
    *,
    title: str | None = None,
    fname: str | Path | None = None,
    dpi: float = DEFAULT_DPI,
) -> Figure:
    """Attention decoding accuracy vs decision window, chance bound and the MESD.

    Parameters
    ----------
    result : AttentionResult
        From :func:`neurodecode.encoding.decode_attention`; accuracy is drawn in percent
        against the window length in seconds (log axis), the MESD in the axes title.
    title : str or None
        Figure title.
    fname : str, Path or None
        Save the figure there when given (``.png``, ``.svg`` or ``.pdf``, from the suffix).
    dpi : float
        Resolution of the saved figure, in dots per inch.

    Returns
    -------
    fig : matplotlib.figure.Figure
    """
    fig = new_figure((5.0, 3.6), layout="constrained")
    ax = fig.add_subplot()
    ax.plot(result.window_s, 100 * result.accuracy, "o-", color="k", label="accuracy")
    ax.plot(result.window_s, 100 * result.chance_upper, "--", color="0.5",
            label="chance (95 % bound)")
    ax.set_xscale("log")
    ax.set_xticks(result.window_s, [f"{w:g}" for w in result.window_s])
    ax.set_xlabel("decision window (s)")
    ax.set_ylabel("accuracy (%)")
    if result.mesd is not None:
        ax.set_title(f"MESD {result.mesd.mesd:.1f} s (at {result.mesd.window_s:.1f} s windows)",
                     fontsize=9)
    ax.legend(fontsize=8, loc="lower right")
    if title:
        fig.suptitle(title)
    return finish(fig, fname, dpi)


__all__ = ["plot_attention_accuracy", "plot_canonical_correlations", "plot_coherence", "plot_layer_maps", "plot_models_by_layers",
           "plot_similarity_map"]
