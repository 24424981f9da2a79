"""Curves: retrieval accuracy vs k, training histories, time courses with significance."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from .._validation import check_finite, check_positive, check_shape, check_type
from ._save import DEFAULT_DPI, finish, new_figure


def _as_named(name: str, value, shape: tuple) -> dict[str, np.ndarray]:
    """``{label: array}`` from one array (label "") or a mapping of arrays."""
    items = value.items() if isinstance(value, Mapping) else [("", value)]
    out = {}
    for label, arr in items:
        key = f"{name}[{label!r}]" if label else name
        out[str(label)] = check_shape(key, arr, shape).astype(float)
        check_finite(key, out[str(label)])
    if not out:
        raise ValueError(f"{name} is empty; pass an array or a non-empty mapping name -> array.")
    return out


def chance_top_k(ks: np.ndarray, n_candidates: int) -> np.ndarray:
    """Chance top-k accuracy when the target is one of ``n_candidates``: ``min(k / n, 1)``."""
    check_type("n_candidates", n_candidates, (int, np.integer))
    if n_candidates < 1:
        raise ValueError(f"n_candidates must be >= 1; got {n_candidates}.")
    return np.minimum(np.asarray(ks, dtype=float) / n_candidates, 1.0)


def _chance_curve(ks: np.ndarray, chance, n_candidates) -> np.ndarray | None:
    if chance is not None and n_candidates is not None:
        raise ValueError("pass either chance or n_candidates, not both.")
    if n_candidates is not None:
        return chance_top_k(ks, n_candidates)
    if chance is None:
        return None
    if callable(chance):
        curve = np.asarray(chance(ks), dtype=float)
    elif np.ndim(chance) == 0:
        curve = np.full(len(ks), float(chance))
    else:
        curve = np.asarray(chance, dtype=float)
    curve = check_shape("chance", curve, (len(ks),))
    if not np.all((curve >= 0) & (curve <= 1)):
        raise ValueError("chance must lie in [0, 1] (a fraction, not a percentage).")
    return curve


def plot_retrieval_curve(
    ks: Sequence[int] | np.ndarray,
    accuracy: np.ndarray | Mapping[str, np.ndarray],
    chance: np.ndarray | float | Callable[[np.ndarray], np.ndarray] | None = None,
    ci: np.ndarray | Mapping[str, np.ndarray] | None = None,
    *,
    n_candidates: int | None = None,
    log_x: bool | None = None,
    title: str | None = None,
    fname: str | Path | None = None,
    dpi: float = DEFAULT_DPI,
    baselines: Mapping[str, tuple[np.ndarray, np.ndarray]] | None = None,
) -> Figure:
    """Top-k retrieval accuracy against k, with the chance level.

    Parameters
    ----------
    ks : sequence of int, shape (n_k,)
        Increasing positive k values.
    accuracy : array of shape (n_k,) or mapping of str to such arrays
        Top-k accuracy as a fraction in [0, 1], one curve per model when a mapping.
    chance : array of shape (n_k,), float, callable, or None
        Chance accuracy at each k, a constant, or a function ``ks -> (n_k,)``.
    ci : array of shape (2, n_k) or mapping of str to such arrays, or None
        Lower and upper confidence bounds drawn as bands (keys match ``accuracy``).
    n_candidates : int or None
        Instead of ``chance``: the number of candidates, giving chance ``k / n``.
    log_x : bool or None
        Log-scaled k axis; default when ``max(ks) / min(ks) >= 10``.
    title : str or None
        Axes title.
    fname, dpi :
        Save to this ``.png``, ``.svg`` or ``.pdf`` file at this resolution.
    baselines : mapping of str to (ks, accuracy), optional
        Curves scored at other ks than ``ks`` (e.g. a baseline evaluated at k = 1, 5, 10
        only), drawn as dashed lines with markers.

    Returns
    -------
    fig : matplotlib.figure.Figure
        One axes.
    """
    ks = check_shape("ks", ks, ("n_k",)).astype(float)
    if ks.size == 0 or np.any(ks < 1) or np.any(np.diff(ks) <= 0):
        raise ValueError(f"ks must be increasing values >= 1; got {ks.tolist()}.")
    curves = _as_named("accuracy", accuracy, (len(ks),))
    for label, acc in curves.items():
        if np.any((acc < 0) | (acc > 1)):
            raise ValueError(f"accuracy {label!r} must lie in [0, 1] (a fraction, not a percentage).")
    bands = {} if ci is None else _as_named("ci", ci, (2, len(ks)))
    unknown = set(bands) - set(curves)
    if unknown:
        raise ValueError(f"ci has keys {sorted(unknown)} not in accuracy ({sorted(curves)}).")
    fig = new_figure((4.8, 3.6), layout="constrained")
    ax = fig.add_subplot()
    for label, acc in curves.items():
        (line,) = ax.plot(ks, acc, marker="o", ms=3, label=label or "model")
        if label in bands:
            ax.fill_between(ks, bands[label][0], bands[label][1], color=line.get_color(), alpha=0.25)
    for label, (bks, acc) in (baselines or {}).items():
        ax.plot(np.asarray(bks, float), np.asarray(acc, float), marker="s", ms=3, ls="-.",
                label=label)
    level = _chance_curve(ks, chance, n_candidates)
    if level is not None:
        ax.plot(ks, level, color="0.4", ls="--", label="chance")
    if log_x if log_x is not None else ks[-1] / ks[0] >= 10:
        ax.set_xscale("log")
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("k (rank cut-off)")
    ax.set_ylabel("top-k accuracy (fraction)")
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title)
    return finish(fig, fname, dpi)


def _history_frame(history) -> pd.DataFrame:
    if isinstance(history, pd.DataFrame):
        frame = history.copy()
    elif isinstance(history, Sequence) and not isinstance(history, str):
        frame = pd.DataFrame(list(history))
    else:
        raise TypeError(
            f"history must be a list of dicts or a pandas DataFrame; got {type(history).__name__}."
        )
    if frame.empty:
        raise ValueError("history is empty; it needs one row per epoch.")
    if "epoch" not in frame.columns:
        raise ValueError(f"history has no 'epoch' column; columns are {list(frame.columns)}.")
    return frame.sort_values("epoch")


def plot_training_curves(
    history: Sequence[Mapping] | pd.DataFrame,
    *,
    title: str | None = None,
    fname: str | Path | None = None,
    dpi: float = DEFAULT_DPI,
) -> Figure:
    """Per-epoch losses (left panel) and other metrics (right panel, when any).

    Parameters
    ----------
    history : list of dict or DataFrame
        One row per epoch with an ``epoch`` column; numeric columns whose name ends in
        ``loss`` (``train_loss``, ``valid_loss``) go to the loss panel, other numeric
        columns (``valid_top10``, ``lr``, ...) to the metrics panel. The epoch with the
        highest ``valid_score`` (when present: it chose the epoch) or else the lowest
        ``valid_loss`` is marked.
    title : str or None
        Figure title.
    fname, dpi :
        Save to this ``.png``, ``.svg`` or ``.pdf`` file at this resolution.

    Returns
    -------
    fig : matplotlib.figure.Figure
        One or two axes.
    """
    frame = _history_frame(history)
    numeric = [c for c in frame.select_dtypes("number").columns if c != "epoch"]
    losses = [c for c in numeric if c.endswith("loss")]
    others = [c for c in numeric if c not in losses]
    if not losses:
        raise ValueError(f"history has no numeric '*loss' column; columns are {list(frame.columns)}.")
    fig = new_figure((4.2 * (1 + bool(others)), 3.4), layout="constrained")
    axes = fig.subplots(1, 1 + bool(others), squeeze=False)[0]
    epoch = frame["epoch"].to_numpy()
    for col in losses:
        axes[0].plot(epoch, frame[col].to_numpy(dtype=float), marker=".", label=col)
    best = _best_epoch(frame)
    if best is not None:
        for ax in axes:
            ax.axvline(best, color="0.5", ls=":", lw=1, label=f"best epoch ({best})")
    axes[0].set_ylabel("loss")
    for col in others:
        axes[1].plot(epoch, frame[col].to_numpy(dtype=float), marker=".", label=col)
    for ax in axes:
        ax.set_xlabel("epoch")
        ax.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    return finish(fig, fname, dpi)


def _best_epoch(frame):
    """The epoch of the highest ``valid_score`` (it chose the epoch) or lowest ``valid_loss``."""
    for column, pick in (("valid_score", np.nanargmax), ("valid_loss", np.nanargmin)):
        if column in frame and frame[column].notna().any():
            return frame["epoch"].to_numpy()[int(pick(frame[column].to_numpy(dtype=float)))]
    return None


def significance_runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """Contiguous ``True`` runs of a boolean mask as ``(start, stop)`` index pairs."""
    padded = np.concatenate([[False], np.asarray(mask, dtype=bool), [False]])
    edges = np.flatnonzero(np.diff(padded.astype(int)))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist()))


def _timecourse_inputs(values, times, ci, sig_mask, labels):
    values = np.asarray(values, dtype=float)
    single = values.ndim == 1
    values = check_shape("values", np.atleast_2d(values), ("n_models", "n_times"))
    check_finite("values", np.where(np.isnan(values), 0.0, values), ("model", "time"))  # NaN: gaps
    n_models, n_times = values.shape
    times = check_shape("times", times, (n_times,)).astype(float)
    if ci is not None:
        ci = np.asarray(ci, dtype=float)
        ci = check_shape("ci", ci[None] if single else ci, (n_models, 2, n_times))
    if sig_mask is not None:
        sig = np.asarray(sig_mask)
        sig_mask = check_shape("sig_mask", sig[None] if single else sig, (n_models, n_times))
        if sig_mask.dtype != bool:
            raise TypeError(f"sig_mask must be boolean; got dtype {sig_mask.dtype}.")
    if labels is None:
        labels = [""] if single else [f"model {k}" for k in range(n_models)]
    if len(labels) != n_models:
        raise ValueError(f"labels has {len(labels)} entries; expected {n_models} (n_models).")
    return values, times, ci, sig_mask, [str(x) for x in labels]


def plot_timecourse(
    values: np.ndarray,
    times: np.ndarray,
    ci: np.ndarray | None = None,
    sig_mask: np.ndarray | None = None,
    *,
    labels: Sequence[str] | None = None,
    chance: float | None = None,
    ylabel: str = "score",
    title: str | None = None,
    fname: str | Path | None = None,
    dpi: float = DEFAULT_DPI,
    xlabel: str = "time (s)",
    null_band: np.ndarray | None = None,
    sig_label: str = "significant",
    ci_label: str | None = None,
) -> Figure:
    """Score over time (decoding accuracy, RSA correlation) with significance bars.

    Parameters
    ----------
    values : array of shape (n_times,) or (n_models, n_times)
        One curve per model; NaN (an undefined window) is drawn as a gap.
    times : array of shape (n_times,)
        Time of each sample in seconds.
    ci : array of shape (2, n_times) or (n_models, 2, n_times), or None
        Lower and upper confidence bounds drawn as bands.
    sig_mask : bool array of shape (n_times,) or (n_models, n_times), or None
        Significant time points, drawn as bars below the curves (one row per model,
        in the model's colour).
    labels : sequence of str or None
        One legend label per model.
    chance : float or None
        Chance level drawn as a dashed horizontal line.
    ylabel, title, xlabel :
        Axis labels and title.
    fname, dpi :
        Save to this ``.png``, ``.svg`` or ``.pdf`` file at this resolution.
    null_band : array of shape (2, n_times) or None
        Lower and upper bounds of a null distribution (e.g. 2.5-97.5 % of a permutation
        null), drawn as a grey band; NaN where no null was computed.
    sig_label, ci_label : str
        Legend entries of the significance bars (what test, what correction) and of the
        confidence band.

    Returns
    -------
    fig : matplotlib.figure.Figure
        One axes.
    """
    values, times, ci, sig_mask, labels = _timecourse_inputs(values, times, ci, sig_mask, labels)
    if null_band is not None:
        null_band = check_shape("null_band", np.asarray(null_band, float), (2, len(times)))
    fig = new_figure((6.0, 3.4), layout="constrained")
    ax = fig.add_subplot()
    lows = [np.nanmin(values)] + ([np.nanmin(ci[:, 0])] if ci is not None else [])
    highs = [np.nanmax(values)] + ([np.nanmax(ci[:, 1])] if ci is not None else [])
    if null_band is not None and np.isfinite(null_band).any():
        lows.append(np.nanmin(null_band[0]))
        highs.append(np.nanmax(null_band[1]))
        ax.fill_between(times, null_band[0], null_band[1], color="0.75", alpha=0.6, lw=0,
                        label="null (2.5-97.5 %)")
    if chance is not None:
        lows.append(chance)
    span = max(max(highs) - min(lows), 1e-12)
    for k, (curve, label) in enumerate(zip(values, labels)):
        (line,) = ax.plot(times, curve, lw=1.5, label=label or None)
        if ci is not None:
            ax.fill_between(times, ci[k, 0], ci[k, 1], color=line.get_color(), alpha=0.25,
                            lw=0, label=ci_label if k == 0 else None)
        if sig_mask is not None:
            _sig_bars(ax, times, sig_mask[k], min(lows) - span * (0.06 + 0.05 * k),
                      line.get_color(), sig_label if k == 0 else None)
    if chance is not None:
        check_positive("chance", chance, strict=False)
        ax.axhline(chance, color="0.4", ls="--", lw=1, label="chance")
    if times[0] < 0 < times[-1]:
        ax.axvline(0, color="0.6", lw=0.8)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7, loc="best")
    if title:
        ax.set_title(title, fontsize=9)
    return finish(fig, fname, dpi)


def _sig_bars(ax, times: np.ndarray, mask: np.ndarray, y: float, color, label: str | None):
    """Bars under the curve over the significant spans (one legend entry)."""
    step = np.median(np.diff(times)) if len(times) > 1 else 1.0
    for start, stop in significance_runs(mask):
        ax.plot([times[start] - step / 2, times[stop - 1] + step / 2], [y, y], color=color,
                lw=3, solid_capstyle="butt", label=label)
        label = None


__all__ = ["chance_top_k", "plot_retrieval_curve", "plot_timecourse", "plot_training_curves",
           "significance_runs"]
