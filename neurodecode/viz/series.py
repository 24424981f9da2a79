"""Figures of a run that the report shows as a series or per subject: a slider of
topomaps over time for each time-resolved sensor map, and the per-subject figure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ._save import save_figure
from .report import ReportFigure
from .subjects import plot_per_subject
from .summary import headline_k
from .topomap import plot_topomap

#: Per-subject columns drawn first when present: column -> (y label, chance key).
_SUBJECT_SCORES = {"accuracy": ("decoding accuracy (fraction)", "classification.chance"),
                   "median_r": ("median encoding r over targets (Pearson)", None)}
MAX_FRAMES = 24


def _lookup(metrics: Mapping[str, Any], dotted: str | None) -> float | None:
    """The number at a dotted key of ``metrics`` (``"classification.chance"``), or None."""
    if dotted is None:
        return None
    value: Any = metrics
    for part in dotted.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _score_column(rows: Sequence[Mapping[str, Any]], metrics: Mapping[str, Any]) -> str | None:
    """The column drawn: the summary's top-k for decoding, else a known score, else the
    first numeric column."""
    numeric = [c for c, v in rows[0].items()
               if isinstance(v, (int, float)) and not isinstance(v, bool)]
    k = headline_k(metrics)
    preferred = [f"top{k}"] if f"top{k}" in numeric else []
    preferred += [c for c in _SUBJECT_SCORES if c in numeric]
    candidates = preferred or numeric
    return candidates[0] if candidates else None


def _label(column: str) -> tuple[str, str | None]:
    """Y label (quantity and unit) and the dotted metrics key of its chance level."""
    if column.startswith("top") and column[3:].isdigit():
        return f"top-{column[3:]} retrieval accuracy (fraction)", f"chance_{column}"
    return _SUBJECT_SCORES.get(column, (column.replace("_", " "), None))


def per_subject_figure(rows: Sequence[Mapping[str, Any]], metrics: Mapping[str, Any],
                       out_dir: Path, dpi: float) -> ReportFigure | None:
    """``out_dir/per_subject.png``: the main score of each subject, their mean and chance;
    ``None`` when fewer than two subjects have a numeric score."""
    column = _score_column(rows, metrics) if rows else None
    if column is None or len(rows) < 2:
        return None
    label, chance_key = _label(column)
    values = {str(r["subject"]): float(r[column]) for r in rows}
    fig = plot_per_subject(values, ylabel=label, chance=_lookup(metrics, chance_key),
                           title=f"{label.split(' (')[0].capitalize()}, per subject")
    path = save_figure(fig, out_dir / "per_subject.png", dpi=dpi)
    return ReportFigure((path,), "Per-subject figure",
                        (f"{label} of each of the {len(rows)} subjects, their mean and "
                         "chance",))


def topomap_slider(values: np.ndarray, info: Any, times: np.ndarray, *, stem: str,
                   title: str, cbar_label: str, ch_type: str | None, out_dir: Path,
                   dpi: float) -> ReportFigure:
    """One topomap per time (at most :data:`MAX_FRAMES`, evenly spaced) with shared colour
    limits, saved as ``out_dir/slides/<stem>_<i>.png``: a slider in the report."""
    picks = np.unique(np.linspace(0, len(times) - 1, min(MAX_FRAMES, len(times))).round()
                      .astype(int))
    finite = values[np.isfinite(values)]
    top = float(np.abs(finite).max()) if finite.size else 1.0
    vlim = (-top, top) if finite.size and finite.min() < 0 else (0.0, top or 1.0)
    paths, captions = [], []
    for n, i in enumerate(picks):
        fig = plot_topomap(values[:, i], info, ch_type=ch_type, vlim=vlim, cbar_label=cbar_label,
                           title=f"{title}, {1000 * times[i]:+.0f} ms")
        paths.append(save_figure(fig, out_dir / "slides" / f"{stem}_{n:02d}.png", dpi=dpi))
        captions.append(f"{title} at {1000 * times[i]:+.0f} ms ({n + 1} of {len(picks)})")
    return ReportFigure(tuple(paths), f"{title} over time (slider)", tuple(captions))


__all__ = ["MAX_FRAMES", "per_subject_figure", "topomap_slider"]
