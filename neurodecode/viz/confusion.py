"""Confusion matrices of cross-validated classifiers."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from .._validation import check_finite, check_shape
from ._save import DEFAULT_DPI, finish, new_figure


def plot_confusion(
    confusion: np.ndarray,
    classes: Sequence[str],
    *,
    normalize: bool = True,
    title: str | None = None,
    fname: str | Path | None = None,
    dpi: float = DEFAULT_DPI,
) -> Figure:
    """Draw a confusion matrix: true class in rows, predicted class in columns.

    Parameters
    ----------
    confusion : array of shape (n_classes, n_classes)
        Counts of cross-validated predictions (``sklearn.metrics.confusion_matrix``).
    classes : sequence of str, length n_classes
        Class names in the order of the rows.
    normalize : bool
        Colour by the fraction of each true class (rows sum to 1); the counts are written
        in the cells either way.
    title : str or None
    fname, dpi :
        Save to this ``.png``, ``.svg`` or ``.pdf`` file at this resolution.

    Returns
    -------
    fig : matplotlib.figure.Figure
        One axes with a labelled colour bar.
    """
    counts = check_shape("confusion", confusion, ("n_classes", "n_classes")).astype(float)
    check_finite("confusion", counts)
    if counts.shape[0] != counts.shape[1] or counts.shape[0] != len(classes):
        raise ValueError(f"confusion must be square with one row per class; got shape "
                         f"{counts.shape} for {len(classes)} classes.")
    totals = counts.sum(1, keepdims=True)
    shown = counts / np.where(totals > 0, totals, 1.0) if normalize else counts
    n = len(classes)
    size = min(8.0, 2.6 + 0.45 * n)
    fig = new_figure((size + 1.2, size), layout="constrained")
    ax = fig.add_subplot()
    im = ax.imshow(shown, cmap="Blues", vmin=0, vmax=1 if normalize else None)
    fig.colorbar(im, ax=ax, shrink=0.8, label="fraction of the true class" if normalize
                 else "number of trials")
    for i in range(n):
        for j in range(n):
            dark = shown[i, j] > (0.6 if normalize else 0.6 * shown.max())
            ax.text(j, i, f"{int(counts[i, j])}", ha="center", va="center", fontsize=8,
                    color="white" if dark else "black")
    ax.set_xticks(range(n), [str(c) for c in classes], rotation=45 if n > 3 else 0,
                  ha="right" if n > 3 else "center", fontsize=8)
    ax.set_yticks(range(n), [str(c) for c in classes], fontsize=8)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    if title:
        ax.set_title(title, fontsize=9)
    return finish(fig, fname, dpi)


__all__ = ["plot_confusion"]
