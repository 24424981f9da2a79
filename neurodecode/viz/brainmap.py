"""Brain maps of per-voxel results through nilearn: stat map, glass brain, surface.

``kind="surface"`` projects the volume onto the fsaverage5 mesh that ships inside
nilearn (:func:`nilearn.datasets.load_fsaverage` reads it from the package, with no
network access) using :meth:`nilearn.surface.SurfaceImage.from_volume`
(``vol_to_surf``), and draws the lateral and medial views of both hemispheres.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nibabel as nib
import numpy as np
from matplotlib import colors
from matplotlib.cm import ScalarMappable
from matplotlib.figure import Figure

from .._validation import check_option, check_positive, check_type
from ..exceptions import DataNotFoundError
from ._save import DEFAULT_DPI, finish, new_figure

KINDS = ("stat", "glass", "surface")
_SURFACE_VIEWS = (("left", "lateral"), ("left", "medial"), ("right", "lateral"), ("right", "medial"))


def _load_img(img: Any) -> nib.spatialimages.SpatialImage:
    """A 3-D NIfTI image from an image or a path (a single-volume 4-D image is squeezed)."""
    if isinstance(img, (str, Path)):
        if not Path(img).is_file():
            raise DataNotFoundError(f"img={str(img)!r} does not exist; pass a NIfTI file or image.")
        img = nib.load(img)
    check_type("img", img, nib.spatialimages.SpatialImage)
    shape = img.shape
    if len(shape) == 4 and shape[3] == 1:
        img = nib.Nifti1Image(np.asarray(img.dataobj)[..., 0], img.affine, img.header)
    elif len(shape) != 3:
        raise ValueError(
            f"img must be a 3-D volume (one map); got shape {shape}. "
            "Select one volume first (e.g. nilearn.image.index_img(img, 0))."
        )
    data = np.asarray(img.dataobj, dtype=float)
    if not np.isfinite(data).all():
        raise ValueError("img contains NaN or Inf voxels; replace them (e.g. by 0) first.")
    return img


def load_fsaverage5() -> dict:
    """The fsaverage5 meshes and sulcal depth shipped inside nilearn (no download).

    Returns
    -------
    surf : dict
        ``{"pial": PolyMesh, "inflated": PolyMesh, "sulc_left": array, "sulc_right": array}``.

    Raises
    ------
    DataNotFoundError
        If this nilearn installation does not ship fsaverage5 (it would need a download).
    """
    from nilearn import datasets

    try:
        meshes = datasets.load_fsaverage("fsaverage5")
        files = datasets.fetch_surf_fsaverage("fsaverage5")
    except Exception as err:  # nilearn raises OSError, URLError, ValueError, ...
        raise DataNotFoundError(
            "kind='surface' needs the fsaverage5 mesh shipped with nilearn, which this "
            f"installation cannot load offline ({type(err).__name__}: {err}). Use "
            "kind='stat' or kind='glass', or install a nilearn release that ships it."
        ) from err
    from nilearn import surface

    return {
        "pial": meshes["pial"],
        "inflated": meshes["inflated"],
        "sulc_left": surface.load_surf_data(files["sulc_left"]),
        "sulc_right": surface.load_surf_data(files["sulc_right"]),
    }


def _surface_limits(texture: np.ndarray, vmax: float | None) -> float:
    top = float(np.abs(texture).max()) if vmax is None else float(vmax)
    return top if top > 0 else 1.0


def _plot_surface(img, threshold, title, cmap, vmax) -> Figure:
    """Lateral and medial views of both hemispheres with one shared colour bar."""
    from nilearn import plotting
    from nilearn.surface import SurfaceImage

    surf = load_fsaverage5()
    texture = SurfaceImage.from_volume(mesh=surf["pial"], volume_img=img)
    top = _surface_limits(np.concatenate([np.ravel(v) for v in texture.data.parts.values()]), vmax)
    fig = new_figure((8.0, 6.0))
    axes = [fig.add_subplot(2, 2, k + 1, projection="3d") for k in range(4)]
    for ax, (hemi, view) in zip(axes, _SURFACE_VIEWS):
        plotting.plot_surf_stat_map(
            surf_mesh=surf["inflated"], stat_map=texture, hemi=hemi, view=view,
            bg_map=surf[f"sulc_{hemi}"], threshold=threshold, cmap=cmap, colorbar=False,
            vmin=-top, vmax=top, axes=ax, figure=fig, engine="matplotlib",
        )
        ax.set_title(f"{hemi} {view}", fontsize=9)
    fig.subplots_adjust(left=0.0, right=0.85, bottom=0.0, top=0.9, wspace=0.0, hspace=0.0)
    mappable = ScalarMappable(norm=colors.Normalize(-top, top), cmap=cmap)
    fig.colorbar(mappable, ax=axes, shrink=0.6)
    if title:
        fig.suptitle(title)
    return fig


_NONZERO = 1e-12  # the threshold that hides only exact zeros (outside the mask)


def plot_brain_map(
    img: Any,
    *,
    kind: str = "stat",
    threshold: float | None = None,
    bg_img: Any = None,
    title: str | None = None,
    cmap: str = "RdBu_r",
    vmax: float | None = None,
    display_mode: str | None = None,
    cut_coords: Any = None,
    fname: str | Path | None = None,
    dpi: float = DEFAULT_DPI,
    cbar_label: str | None = None,
) -> Figure:
    """Draw a per-voxel result (a statistic, an encoding ``r``, a decoding score).

    Parameters
    ----------
    img : NIfTI image or str or Path
        A 3-D map in MNI space (a 4-D image with a single volume is accepted).
    kind : {"stat", "glass", "surface"}
        ``"stat"``: orthogonal slices over ``bg_img`` (:func:`nilearn.plotting.plot_stat_map`);
        ``"glass"``: glass-brain projections (:func:`nilearn.plotting.plot_glass_brain`);
        ``"surface"``: projection onto the fsaverage5 surface (lateral and medial views
        of both hemispheres).
    threshold : float or None
        Voxels with ``|value| < threshold`` are not drawn; ``None`` draws every
        non-zero voxel, for every kind.
    bg_img : NIfTI image or str or Path or None
        Anatomical background for ``kind="stat"``; default the MNI152 template that
        ships with nilearn. Ignored by the other kinds (an error if given).
    title : str or None
        Figure title.
    cmap : str
        Diverging colour map.
    vmax : float or None
        Colour limit (symmetric ``[-vmax, vmax]``); default ``max |img|``.
    display_mode, cut_coords : optional
        Passed to nilearn for ``kind="stat"`` and ``"glass"`` (e.g. ``display_mode="z"``
        with ``cut_coords=[0]`` for a single axial slice); nilearn's defaults otherwise.
    fname, dpi :
        Save to this ``.png``, ``.svg`` or ``.pdf`` file at this resolution.
    cbar_label : str or None
        Label of the colour bar: the quantity and its unit.

    Returns
    -------
    fig : matplotlib.figure.Figure
        The figure, with a colour bar.

    Raises
    ------
    DataNotFoundError
        ``img`` is a missing file, or ``kind="surface"`` and the fsaverage5 mesh cannot
        be loaded offline.
    """
    check_option("kind", kind, KINDS)
    img = _load_img(img)
    if threshold is not None:
        check_positive("threshold", threshold, strict=False)
    if vmax is not None:
        check_positive("vmax", vmax)
    if bg_img is not None and kind != "stat":
        raise ValueError(f"bg_img is only used by kind='stat'; got kind={kind!r}.")
    if kind == "surface":
        return finish(_plot_surface(img, threshold, title, cmap, vmax), fname, dpi)
    from nilearn import datasets, plotting

    fig = new_figure((8.0, 3.2))
    # None: every non-zero voxel (nilearn's glass brain would hide 80 % of them: "auto")
    common = dict(figure=fig, title=title, cmap=cmap, colorbar=True, vmax=vmax,
                  threshold=_NONZERO if threshold is None else threshold)
    if display_mode is not None:
        common["display_mode"] = display_mode
    if cut_coords is not None:
        common["cut_coords"] = cut_coords
    if kind == "stat":
        bg = datasets.load_mni152_template() if bg_img is None else _load_img(bg_img)
        display = plotting.plot_stat_map(img, bg_img=bg, **common)
    else:
        display = plotting.plot_glass_brain(img, plot_abs=False, **common)
    _label_colorbar(display, cbar_label)
    return finish(fig, fname, dpi)


def _label_colorbar(display: Any, label: str | None) -> None:
    """Label nilearn's colour bar (kept in ``display._cbar``) with the quantity and unit."""
    cbar = getattr(display, "_cbar", None)
    if label and cbar is not None:
        colour = "w" if getattr(display, "_black_bg", False) else "k"
        cbar.ax.yaxis.set_label_position("left")
        cbar.ax.set_ylabel(label, color=colour, fontsize=7, labelpad=2)


__all__ = ["KINDS", "load_fsaverage5", "plot_brain_map"]
