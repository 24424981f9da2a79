"""Per-subject results: one point per subject, their mean and the chance level."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from .._validation import check_finite
from ._save import DEFAULT_DPI, finish, new_figure


def plot_per_subject(
    values: Mapping[str, float],
    *,
    ylabel: str,
    chance: float | None = None,
    title: str | None = None,
    fname: str | Path | None = None,
    dpi: float = DEFAULT_DPI,
) -> Figure:
    """Draw one value per subject as a bar, with the mean over subjects and chance.

    Parameters
    ----------
    values : mapping of str to float, length n_subjects
        Subject name -> its score (e.g. top-10 accuracy, median r).
    ylabel : str
        The quantity and its unit, e.g. ``"top-10 accuracy (fraction)"``.
    chance : float or None
        Chance level, drawn as a dashed line.
    title : str or None
    fname, dpi :
        Save to this ``.png``, ``.svg`` or ``.pdf`` file at this resolution.

    Returns
    -------
    fig : matplotlib.figure.Figure
        One axes, one bar per subject in the order of ``values``.
    """
    if not values:
        raise ValueError("values is empty; give one score per subject (a mapping name -> float).")
    names = [str(k) for k in values]
    scores = np.asarray([float(v) for v in values.values()])
    check_finite("values", scores)
    fig = new_figure((max(5.5, 3.2 + 0.45 * len(names)), 3.4), layout="constrained")
    ax = fig.add_subplot()
    ax.bar(np.arange(len(names)), scores, color="#4477aa", label="subject")
    ax.axhline(scores.mean(), color="k", lw=1.2,
               label=f"mean over {len(names)} subjects ({scores.mean():.3g})")
    if chance is not None:
        ax.axhline(chance, color="0.4", ls="--", lw=1, label=f"chance ({chance:.3g})")
    ax.set_xticks(np.arange(len(names)), names, rotation=45 if len(names) > 8 else 0)
    ax.set_xlabel("subject")
    ax.set_ylabel(ylabel)
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    if title:
        ax.set_title(title)
    return finish(fig, fname, dpi)


__all__ = ["plot_per_subject"]
