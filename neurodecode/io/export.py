"""Results back to MNE: time courses, sensor maps and TRFs as ``mne.EvokedArray``.

MNE users plot, average and save Evoked objects (``plot_topomap``, ``plot_joint``,
``mne.grand_average``, ``mne.write_evokeds``). A time course that is not a sensor map
(a decoding score, an RSA similarity) becomes a one-channel ``misc`` Evoked.
"""

from __future__ import annotations

from typing import Any

import mne
import numpy as np


def info_at(info: mne.Info, sfreq: float) -> mne.Info:
    """A copy of ``info`` at ``sfreq`` (its low-pass kept at most at the new Nyquist)."""
    info = info.copy()
    with info._unlock():
        info["sfreq"] = float(sfreq)
        info["lowpass"] = min(float(info["lowpass"]), float(sfreq) / 2.0)
    return info


def timecourse_to_evoked(values: np.ndarray, times: np.ndarray, name: str, *,
                         comment: str = "", nave: int = 1) -> mne.EvokedArray:
    """A time course (decoding accuracy, RSA similarity) as a ``misc``-channel Evoked.

    Parameters
    ----------
    values : array of shape (n_times,) or (n_curves, n_times)
    times : array of shape (n_times,)
        Regularly spaced times in seconds.
    name : str or list of str
        Channel name (one per curve), e.g. ``"accuracy"``.
    comment : str
        The Evoked's comment (its condition).
    nave : int
        Number of averaged units (folds, subjects).

    Returns
    -------
    evoked : mne.EvokedArray
    """
    values = np.atleast_2d(np.asarray(values, float))
    names = [name] if isinstance(name, str) else list(name)
    times = np.asarray(times, float)
    if values.shape != (len(names), len(times)):
        raise ValueError(f"values must have shape ({len(names)}, {len(times)}) for names "
                         f"{names} and {len(times)} times; got {values.shape}.")
    info = mne.create_info(names, _sfreq(times), "misc")
    return mne.EvokedArray(values, info, tmin=float(times[0]), comment=comment, nave=nave,
                           verbose="error")


def maps_to_evoked(maps: np.ndarray, info: mne.Info, *, tmin: float, sfreq: float | None = None,
                   comment: str = "", nave: int = 1) -> mne.EvokedArray:
    """Sensor maps over time (patterns, TRF kernels, searchlights) as an Evoked.

    Parameters
    ----------
    maps : array of shape (n_channels,) or (n_channels, n_times)
        One value per channel of ``info`` (and time).
    info : mne.Info
        The channels of the maps, in order.
    tmin : float
        Time of the first column in seconds (the peak time for a single map).
    sfreq : float, optional
        Sampling frequency of the columns; ``info["sfreq"]`` when not given.

    Returns
    -------
    evoked : mne.EvokedArray
    """
    maps = np.asarray(maps, float)
    maps = maps[:, None] if maps.ndim == 1 else maps
    if maps.ndim != 2 or maps.shape[0] != len(info["ch_names"]):
        raise ValueError(f"maps must have shape (n_channels={len(info['ch_names'])}, n_times); "
                         f"got {maps.shape}.")
    info = info if sfreq is None else info_at(info, sfreq)
    return mne.EvokedArray(maps, info, tmin=float(tmin), comment=comment, nave=nave,
                           verbose="error")


def write_evokeds(path: Any, evokeds: list[mne.Evoked]) -> None:
    """Write Evoked objects to a FIF file (``*-ave.fif``), overwriting it."""
    mne.write_evokeds(path, evokeds, overwrite=True, verbose="error")


def _sfreq(times: np.ndarray) -> float:
    if len(times) < 2:
        return 1.0
    steps = np.diff(times)
    if not np.allclose(steps, steps[0], rtol=1e-3):
        raise ValueError(f"times must be regularly spaced to make an Evoked; got steps from "
                         f"{steps.min():g} to {steps.max():g} s.")
    return float(1.0 / steps[0])


__all__ = ["info_at", "maps_to_evoked", "timecourse_to_evoked", "write_evokeds"]
