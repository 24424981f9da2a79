"""Topographic maps of per-sensor results (through :func:`mne.viz.plot_topomap`).

Any per-channel number (a decoding score, an encoding ``r``, a pattern weight) is drawn
on the scalp. Sensor geometry comes from an :class:`mne.Info` with positions (a
montage or MEG digitisation) or from a plain ``(n_channels, 2)`` array of 2-D positions.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import TypeAlias

import mne
import numpy as np
from matplotlib.figure import Figure

from .._validation import check_finite, check_shape, check_type
from ._save import DEFAULT_DPI, auto_vlim, finish, new_figure

# Array positions are centred and scaled to this radius, inside MNE's default head
# sphere (radius 0.095 m), so that the head outline frames them.
_HEAD_RADIUS = 0.095
_ARRAY_RADIUS = 0.085

Geometry: TypeAlias = mne.Info | np.ndarray


def _info_picks(info: mne.Info, ch_type: str | None) -> tuple[np.ndarray, str]:
    """Indices of the channels of ``ch_type`` in ``info`` (inferred when unique)."""
    types = np.array(info.get_channel_types())
    data_types = sorted(set(info.get_channel_types(picks="data")))
    if ch_type is None:
        if len(data_types) != 1:
            raise ValueError(
                f"ch_type=None is ambiguous: info holds data channels of types {data_types}; "
                "pass ch_type= one of them."
            )
        ch_type = data_types[0]
    if ch_type not in data_types:
        raise ValueError(
            f"ch_type={ch_type!r} is not valid for this info; expected one of {data_types}."
        )
    picks = np.flatnonzero(types == ch_type)
    locs = np.array([info["chs"][i]["loc"][:3] for i in picks])
    if not np.isfinite(locs).all() or np.allclose(locs, 0):
        raise ValueError(
            f"info has no sensor positions for ch_type={ch_type!r}; set a montage first "
            "(e.g. info.set_montage('standard_1020')) or pass positions of shape (n_channels, 2)."
        )
    return picks, ch_type


def _scale_positions(pos: np.ndarray) -> np.ndarray:
    """Centre 2-D positions and scale them to fit inside the head outline."""
    center = (pos.max(axis=0) + pos.min(axis=0)) / 2
    centred = pos - center
    radius = np.linalg.norm(centred, axis=1).max()
    return centred * (_ARRAY_RADIUS / radius) if radius > 0 else centred


def _resolve_geometry(
    values: np.ndarray, geometry: Geometry, ch_type: str | None
) -> tuple[np.ndarray, mne.Info | np.ndarray, str]:
    """Return (values restricted to the picked channels, pos for MNE, channel type).

    ``values`` has channels on axis 0.
    """
    if isinstance(geometry, mne.Info):
        picks, ch_type = _info_picks(geometry, ch_type)
        n = len(values)
        if n == geometry["nchan"] and n != len(picks):
            values = values[picks]
        elif n != len(picks):
            raise ValueError(
                f"values has {n} channels; expected {len(picks)} ({ch_type} channels in info) "
                f"or {geometry['nchan']} (all channels in info)."
            )
        return values, mne.pick_info(geometry, picks), ch_type
    try:
        pos = None if isinstance(geometry, str) else np.asarray(geometry, dtype=float)
    except (TypeError, ValueError):
        pos = None
    if pos is None or pos.ndim != 2 or pos.shape[1] != 2:
        raise TypeError(
            "info must be an mne.Info or an array of positions of shape (n_channels, 2); "
            f"got {type(geometry).__name__} {getattr(pos, 'shape', '')}."
        )
    check_finite("positions", pos, ("channel", "coordinate"))
    if len(pos) != len(values):
        raise ValueError(f"values has {len(values)} channels but positions has {len(pos)} rows.")
    return values, _scale_positions(pos), ch_type or "eeg"


def _map_vlim(values, vlim, ch_type, pos) -> tuple[float, float]:
    """Colour limits; gradiometer pairs drawn from an Info are merged by MNE as RMS
    (non-negative), so their default limits are ``(0, max |value|)``."""
    if vlim is None and ch_type == "grad" and isinstance(pos, mne.Info):
        top = float(np.abs(values).max())
        return 0.0, top if top > 0 else 1.0
    return auto_vlim(values, vlim)


def _draw_map(ax, values, pos, ch_type, cmap, vlim, sensors=True):
    """Draw one topomap on ``ax`` and return its image."""
    sphere = None if isinstance(pos, mne.Info) else (0.0, 0.0, 0.0, _HEAD_RADIUS)
    im, _ = mne.viz.plot_topomap(
        values, pos, ch_type=ch_type, axes=ax, cmap=cmap, vlim=vlim, sensors=sensors,
        sphere=sphere, show=False,
    )
    return im


def plot_topomap(
    values: np.ndarray,
    info: Geometry,
    *,
    ch_type: str | None = None,
    cmap: str = "RdBu_r",
    vlim: Sequence[float] | None = None,
    title: str | None = None,
    cbar_label: str | None = None,
    sensors: bool = True,
    fname: str | Path | None = None,
    dpi: float = DEFAULT_DPI,
) -> Figure:
    """Draw one per-sensor value on the scalp, with a colour bar.

    Parameters
    ----------
    values : array of shape (n_channels,)
        One value per channel: either every channel of ``info`` or only those of
        ``ch_type`` (in ``info`` order), or one per row of ``positions``.
    info : mne.Info or array of shape (n_channels, 2)
        Sensor geometry: an Info with positions (a montage or MEG digitisation), or
        2-D positions in any unit (centred and scaled to fit inside the head outline).
    ch_type : str or None
        Channel type to draw (``"eeg"``, ``"mag"``, ``"grad"``, ...); inferred when
        ``info`` holds a single data channel type. Gradiometer pairs are merged by MNE.
    cmap : str
        Matplotlib colour map.
    vlim : (vmin, vmax) or None
        Colour limits; ``None`` is symmetric around 0 for signed values, else min/max.
    title, cbar_label : str or None
        Axes title and colour-bar label.
    sensors : bool
        Mark sensor locations.
    fname : str or Path or None
        Save to this ``.png``, ``.svg`` or ``.pdf`` file.
    dpi : float
        Export resolution.

    Returns
    -------
    fig : matplotlib.figure.Figure
        Figure with the map axes and a colour-bar axes.
    """
    values = check_shape("values", values, ("n_channels",)).astype(float)
    check_finite("values", values, ("channel",))
    values, pos, ch_type = _resolve_geometry(values, info, ch_type)
    lims = _map_vlim(values, vlim, ch_type, pos)
    fig = new_figure((4.2, 3.6))
    ax = fig.add_subplot()
    im = _draw_map(ax, values, pos, ch_type, cmap, lims, sensors)
    fig.colorbar(im, ax=ax, shrink=0.8, label=cbar_label or "")
    if title:
        ax.set_title(title)
    return finish(fig, fname, dpi)


def _pick_times(
    times: np.ndarray, picks: Sequence[float] | None, tmin: float | None, tmax: float | None,
    n_maps: int,
) -> np.ndarray:
    """Sample indices of the maps to draw."""
    if picks is not None:
        if tmin is not None or tmax is not None:
            raise ValueError("pass either picks (times to draw) or tmin/tmax, not both.")
        wanted = np.atleast_1d(np.asarray(picks, dtype=float))
        outside = wanted[(wanted < times[0]) | (wanted > times[-1])]
        if outside.size:
            raise ValueError(
                f"picks {outside.tolist()} lie outside times [{times[0]:g}, {times[-1]:g}]."
            )
        return np.abs(times[None, :] - wanted[:, None]).argmin(axis=1)
    lo = times[0] if tmin is None else tmin
    hi = times[-1] if tmax is None else tmax
    if not lo < hi or lo > times[-1] or hi < times[0]:
        raise ValueError(
            f"tmin={tmin!r}, tmax={tmax!r} must satisfy tmin < tmax and overlap "
            f"times [{times[0]:g}, {times[-1]:g}]."
        )
    targets = np.linspace(lo, hi, n_maps)
    return np.unique(np.abs(times[None, :] - targets[:, None]).argmin(axis=1))


def plot_topomap_row(
    values: np.ndarray,
    info: Geometry,
    times: np.ndarray,
    *,
    picks: Sequence[float] | None = None,
    tmin: float | None = None,
    tmax: float | None = None,
    n_maps: int = 6,
    ch_type: str | None = None,
    cmap: str = "RdBu_r",
    vlim: Sequence[float] | None = None,
    title: str | None = None,
    cbar_label: str | None = None,
    time_unit: str = "ms",
    fname: str | Path | None = None,
    dpi: float = DEFAULT_DPI,
) -> Figure:
    """Draw a row of topomaps over time with one shared colour bar.

    Parameters
    ----------
    values : array of shape (n_channels, n_times)
        Time-resolved per-sensor values.
    info : mne.Info or array of shape (n_channels, 2)
        Sensor geometry (see :func:`plot_topomap`).
    times : array of shape (n_times,)
        Time of each column of ``values`` in seconds, increasing.
    picks : sequence of float or None
        Times (s) at which to draw a map (the nearest sample is used).
    tmin, tmax : float or None
        Without ``picks``: draw ``n_maps`` maps evenly spaced in ``[tmin, tmax]``
        (default: the whole epoch).
    n_maps : int
        Number of maps when ``picks`` is not given.
    ch_type, cmap, vlim, title, cbar_label : see :func:`plot_topomap`
        ``vlim`` defaults to limits over all drawn maps, so colours compare across time.
    time_unit : {"ms", "s"}
        Unit of the per-map time labels.
    fname, dpi : see :func:`plot_topomap`

    Returns
    -------
    fig : matplotlib.figure.Figure
        ``n`` map axes followed by one colour-bar axes.
    """
    values = check_shape("values", values, ("n_channels", "n_times")).astype(float)
    check_finite("values", values, ("channel", "time"))
    times = check_shape("times", times, (values.shape[1],)).astype(float)
    if np.any(np.diff(times) <= 0):
        raise ValueError("times must be strictly increasing.")
    check_type("n_maps", n_maps, int)
    if n_maps < 1:
        raise ValueError(f"n_maps must be >= 1; got {n_maps}.")
    if time_unit not in ("ms", "s"):
        raise ValueError(f"time_unit={time_unit!r} is not valid; expected one of 'ms', 's'.")
    idx = _pick_times(times, picks, tmin, tmax, n_maps)
    sub, pos, ch_type = _resolve_geometry(values[:, idx], info, ch_type)
    lims = _map_vlim(sub, vlim, ch_type, pos)
    fig = new_figure((2.0 * len(idx) + 0.8, 2.4))
    axes = fig.subplots(1, len(idx), squeeze=False)[0]
    for k, ax in enumerate(axes):
        im = _draw_map(ax, sub[:, k], pos, ch_type, cmap, lims)
        t = times[idx[k]]
        ax.set_title(f"{t * 1e3:.0f} ms" if time_unit == "ms" else f"{t:.3g} s", fontsize=9)
    fig.colorbar(im, ax=list(axes), shrink=0.8, label=cbar_label or "")
    if title:
        fig.suptitle(title)
    return finish(fig, fname, dpi)


def _top_maps(weights: np.ndarray, n_maps: int) -> np.ndarray:
    """Indices of the ``n_maps`` most spatially selective maps (largest variance)."""
    spread = weights.var(axis=1)
    return np.sort(np.argsort(-spread, kind="stable")[:n_maps])


def plot_spatial_attention(
    weights: np.ndarray,
    positions: Geometry,
    *,
    n_maps: int = 8,
    picks: Sequence[int] | None = None,
    ch_type: str | None = None,
    cmap: str = "viridis",
    n_cols: int = 4,
    title: str | None = "Spatial attention",
    fname: str | Path | None = None,
    dpi: float = DEFAULT_DPI,
) -> Figure:
    """Draw the spatial attention maps of a trained ConvEncoder.

    Each virtual channel of the spatial attention layer is a weighting of the sensors;
    its map shows where on the head it listens.

    Parameters
    ----------
    weights : array of shape (n_virtual, n_channels)
        Attention weights (e.g. the softmax over sensors of each virtual channel).
    positions : array of shape (n_channels, 2) or mne.Info
        Sensor positions (the 2-D layout the model was trained with, or an Info).
    n_maps : int
        Number of maps drawn when ``picks`` is not given: the ``n_maps`` virtual
        channels with the most spatially selective weights (largest variance over
        sensors), in index order.
    picks : sequence of int or None
        Virtual channels to draw, overriding ``n_maps``.
    ch_type : str or None
        Channel type when ``positions`` is an Info holding several types.
    cmap : str
        Colour map (one shared colour scale).
    n_cols : int
        Maps per row.
    title : str or None
        Figure title.
    fname, dpi : see :func:`plot_topomap`

    Returns
    -------
    fig : matplotlib.figure.Figure
        One axes per map (titled ``"virtual <k>"``) and one colour-bar axes.
    """
    weights = check_shape("weights", weights, ("n_virtual", "n_channels")).astype(float)
    check_finite("weights", weights, ("virtual channel", "channel"))
    if picks is None:
        check_type("n_maps", n_maps, int)
        if not 1 <= n_maps <= len(weights):
            raise ValueError(f"n_maps must be in [1, {len(weights)}] (n_virtual); got {n_maps}.")
        chosen = _top_maps(weights, n_maps)
    else:
        chosen = np.asarray(picks, dtype=int)
    if chosen.size == 0 or chosen.min() < 0 or chosen.max() >= len(weights):
        raise ValueError(f"picks must index virtual channels 0..{len(weights) - 1}; got {chosen.tolist()}.")
    check_type("n_cols", n_cols, int)
    if n_cols < 1:
        raise ValueError(f"n_cols must be >= 1; got {n_cols}.")
    maps, pos, ch_type = _resolve_geometry(weights[chosen].T, positions, ch_type)
    lims = auto_vlim(maps, None)
    n_rows = math.ceil(len(chosen) / n_cols)
    n_c = min(n_cols, len(chosen))
    fig = new_figure((2.0 * n_c + 0.8, 2.1 * n_rows + 0.3))
    grid = fig.subplots(n_rows, n_c, squeeze=False).ravel()
    for ax in grid[len(chosen):]:
        fig.delaxes(ax)
    for k, ax in enumerate(grid[: len(chosen)]):
        im = _draw_map(ax, maps[:, k], pos, ch_type, cmap, lims, sensors=False)
        ax.set_title(f"virtual {chosen[k]}", fontsize=9)
    fig.colorbar(im, ax=list(grid[: len(chosen)]), shrink=0.8, label="attention weight")
    if title:
        fig.suptitle(title)
    return finish(fig, fname, dpi)


__all__ = ["plot_spatial_attention", "plot_topomap", "plot_topomap_row"]
