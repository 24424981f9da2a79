"""Figure creation and export shared by every plotting function.

Figures are created with :class:`matplotlib.figure.Figure` directly (not through
``pyplot``): nothing is registered in a global figure manager, nothing is shown, and
a figure is freed as soon as the caller drops it. Export uses the Agg-based canvases.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from .._validation import check_positive, check_type

#: Export formats chosen from the file suffix.
FORMATS = {".png": "png", ".svg": "svg", ".pdf": "pdf"}

#: Default export resolution (dots per inch), suitable for print.
DEFAULT_DPI = 300


def new_figure(figsize: tuple[float, float], **kwargs) -> Figure:
    """Return a new figure that is not managed by ``pyplot`` (so never shown)."""
    return Figure(figsize=figsize, layout=kwargs.pop("layout", None), **kwargs)


def check_fname(fname: str | Path) -> Path:
    """Return ``fname`` as a Path if its suffix names a known export format.

    Raises
    ------
    ValueError
        If the suffix is not one of ``.png``, ``.svg``, ``.pdf``.
    """
    check_type("fname", fname, (str, Path))
    path = Path(fname)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        valid = ", ".join(FORMATS)
        raise ValueError(
            f"fname={str(fname)!r} has suffix {suffix!r}; expected one of {valid} "
            "(the format is chosen from the suffix)."
        )
    return path


def save_figure(fig: Figure, fname: str | Path, *, dpi: float = DEFAULT_DPI) -> Path:
    """Save ``fig`` to ``fname`` as PNG, SVG or PDF (chosen from the suffix).

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure to save.
    fname : str or Path
        Output file; its suffix (``.png``, ``.svg`` or ``.pdf``) picks the format.
        Missing parent folders are created.
    dpi : float
        Resolution in dots per inch (raster parts of SVG/PDF use it too).

    Returns
    -------
    path : Path
        The file written.
    """
    path = check_fname(fname)
    check_positive("dpi", dpi)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format=FORMATS[path.suffix.lower()], dpi=dpi, bbox_inches="tight")
    return path


def finish(fig: Figure, fname: str | Path | None, dpi: float) -> Figure:
    """Save ``fig`` when ``fname`` is given, then return it."""
    if fname is not None:
        save_figure(fig, fname, dpi=dpi)
    return fig


def auto_vlim(
    values: np.ndarray, vlim: Sequence[float] | None, *, symmetric: bool | None = None
) -> tuple[float, float]:
    """Colour limits: ``vlim`` if given, else symmetric around 0 for signed data.

    Parameters
    ----------
    values : array
        Finite values to be colour-coded.
    vlim : (vmin, vmax) or None
        Explicit limits; checked for ``vmin < vmax``.
    symmetric : bool or None
        Force (True) or forbid (False) symmetric limits; ``None`` chooses symmetric
        limits when ``values`` has both signs.
    """
    if vlim is not None:
        lo, hi = (float(v) for v in vlim)
        if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
            raise ValueError(f"vlim={tuple(vlim)!r} must be two finite numbers with vmin < vmax.")
        return lo, hi
    lo, hi = float(np.nanmin(values)), float(np.nanmax(values))
    if symmetric is None:
        symmetric = lo < 0 < hi
    if symmetric:
        bound = max(abs(lo), abs(hi))
        lo, hi = -bound, bound
    if lo == hi:  # a constant map: widen so the colour bar is drawable
        lo, hi = lo - 0.5, hi + 0.5
    return lo, hi


__all__ = ["DEFAULT_DPI", "FORMATS", "auto_vlim", "check_fname", "finish", "new_figure",
           "save_figure"]
