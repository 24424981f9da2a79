"""Sensor positions of an ``mne.Info``: 2-D in the unit square (MNE's topomap projection).

The one home of the scaling rule shared by the readers (:func:`sensor_positions`, stored
on a :class:`~neurodecode.io.recording.Recording`) and the models
(:func:`positions_from_info`, the input of spatial attention): positions are scaled to
``[0, 1]`` over every data channel of the ``info`` that has a location, so a sensor keeps
its place whichever channels are picked, and a model trained on positions from one
function sees the same positions from the other.
"""

from __future__ import annotations

import logging
from typing import Any

import mne
import numpy as np

logger = logging.getLogger("neurodecode")

MONTAGE_HINT = (
    "Set a montage on the recording first: raw.set_montage(NAME) with a built-in montage "
    "(mne.channels.get_builtin_montages(), e.g. 'biosemi64' or 'easycap-M1') or a "
    "digitisation file (mne.channels.read_custom_montage / read_dig_fif), then "
    "compute positions with neurodecode.models.positions_from_info(raw.info)."
)


def _picks_to_idx(info: mne.Info, picks: Any) -> np.ndarray:
    try:
        from mne._fiff.pick import _picks_to_idx as to_idx
    except ImportError:  # mne < 1.6
        from mne.io.pick import _picks_to_idx as to_idx
    return np.asarray(to_idx(info, picks, "data", exclude=()), dtype=int)


def _located(info: mne.Info, idx: np.ndarray) -> np.ndarray:
    """Which channels ``idx`` carry a location (finite and not all zero)."""
    locs = np.array([info["chs"][i]["loc"][:3] for i in idx], dtype=float).reshape(-1, 3)
    return np.isfinite(locs).all(1) & (np.abs(np.nan_to_num(locs)) > 0).any(1)


def _topomap_coords(info: mne.Info, idx: np.ndarray) -> np.ndarray:
    """MNE's 2-D topomap projection of channels ``idx``; x, y of the 3-D positions when
    MNE cannot project the sensor set."""
    from mne.channels.layout import _find_topomap_coords

    try:
        return np.asarray(_find_topomap_coords(info, idx, ignore_overlap=True), dtype=float)
    except Exception as err:  # noqa: BLE001  MNE cannot project some sensor sets
        logger.warning("2-D sensor positions unavailable (%s); using a 3-D projection.", err)
        return np.array([info["chs"][i]["loc"][:2] for i in idx], dtype=float)


def _unit_square(info: mne.Info, picks: Any) -> np.ndarray:
    """Float64 2-D positions of ``picks``, scaled over every located data channel."""
    idx = _picks_to_idx(info, picks)
    located = _located(info, idx)
    if not located.any():
        raise ValueError(f"info has no sensor positions for the picked channels. {MONTAGE_HINT}")
    if not located.all():
        missing = [info["ch_names"][i] for i in idx[~located]]
        raise ValueError(f"info has no sensor positions for channels {missing}. {MONTAGE_HINT}")
    every = np.union1d(_picks_to_idx(info, None), idx)
    placed = every[_located(info, every)]
    coords = _topomap_coords(info, placed)
    lo, hi = coords.min(axis=0), coords.max(axis=0)
    scaled = (coords - lo) / np.where(hi > lo, hi - lo, 1.0)
    return scaled[np.searchsorted(placed, idx)]


def positions_from_info(info: mne.Info, picks: Any = None) -> np.ndarray:
    """2-D sensor positions in ``[0, 1]`` from an ``mne.Info`` (topomap projection).

    Parameters
    ----------
    info : mne.Info
        Measurement info with sensor locations (a montage or MEG geometry).
    picks : str, list of int or None
        Channels to use (``None``: all data channels, as ``mne.pick_types``).

    Returns
    -------
    positions : array of shape (n_channels, 2), float32
        Positions in the order of ``picks``, scaled to the unit square over all the data
        channels of ``info``: a sensor has the same position whichever channels are
        picked.

    Raises
    ------
    ValueError
        If a picked channel has no location (with how to set a montage).
    """
    return _unit_square(info, picks).astype(np.float32)


def sensor_positions(info: mne.Info) -> tuple[np.ndarray | None, np.ndarray | None]:
    """2-D positions in [0, 1] and 3-D positions in metres of every channel of ``info``.

    The 2-D positions follow the rule of :func:`positions_from_info` (in float64).

    Parameters
    ----------
    info : mne.Info
        Measurement info.

    Returns
    -------
    pos_2d : array of shape (n_channels, 2) or None
    pos_3d : array of shape (n_channels, 3) or None
        Both ``None`` when a channel carries no location (no montage set).
    """
    pos_3d = np.array([ch["loc"][:3] for ch in info["chs"]], dtype=float)
    if not np.isfinite(pos_3d).all() or np.allclose(pos_3d, 0):
        return None, None
    picks = np.arange(len(info["ch_names"]))
    if not _located(info, picks).all():
        logger.warning("some channels carry no location; no 2-D sensor positions.")
        return None, pos_3d
    return _unit_square(info, picks), pos_3d


__all__ = ["MONTAGE_HINT", "positions_from_info", "sensor_positions"]
