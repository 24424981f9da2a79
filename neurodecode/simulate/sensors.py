"""Sensor sets that ship with MNE, with 3-D positions, and smooth random fields over them.

MNE ships 2-D layouts for the MEG systems (no 3-D helmet geometry without a recording).
For MEG we back-project the 2-D layout onto a spherical helmet of radius 12 cm centred
on the origin, inverting the azimuthal-equidistant projection that MNE uses to draw
topomaps, so that ``mne.find_layout`` and MNE's topomap projection give back the
layout's arrangement. EEG sets use MNE's standard montages (real 3-D positions).

Neuromag triplets (a magnetometer and two orthogonal planar gradiometers) share one
position, as in real recordings. ``kit208`` is the 208-channel KIT system of NYU Abu Dhabi (MNE layout ``KIT-AD``, the
system of the Gwilliams et al. MEG-MASC study); its 3-D positions are synthetic
(back-projected as above), not the true KIT helmet.
"""

from __future__ import annotations

from dataclasses import dataclass

import mne
import numpy as np
from mne.io.constants import FIFF

from .._validation import check_option

HELMET_RADIUS = 0.12  # metres, synthetic MEG helmet
_MAX_POLAR = 0.62 * np.pi  # polar angle of the outermost layout sensor (about 112 degrees)

#: name -> (source, MNE name, coil type of the magnetometer/axial channels)
SENSORS: dict[str, tuple[str, str, int]] = {
    "kit208": ("layout", "KIT-AD", FIFF.FIFFV_COIL_KIT_GRAD),
    "kit157": ("layout", "KIT-157", FIFF.FIFFV_COIL_KIT_GRAD),
    "neuromag306": ("layout", "Vectorview-all", FIFF.FIFFV_COIL_VV_MAG_T3),
    "ctf275": ("layout", "CTF-275", FIFF.FIFFV_COIL_CTF_GRAD),
    "magnes248": ("layout", "magnesWH3600", FIFF.FIFFV_COIL_MAGNES_MAG),
    "eeg32": ("montage", "biosemi32", FIFF.FIFFV_COIL_EEG),
    "eeg64": ("montage", "biosemi64", FIFF.FIFFV_COIL_EEG),
    "eeg128": ("montage", "biosemi128", FIFF.FIFFV_COIL_EEG),
}


@dataclass
class SensorArray:
    """Channel names, types and geometry of a sensor set.

    Attributes
    ----------
    name : str
    ch_names : list of str
    ch_types : list of str
        ``"mag"``, ``"grad"`` or ``"eeg"``.
    pos : array of shape (n_channels, 3)
        Positions in metres (head frame; the MEG device frame equals the head frame).
    direction : array of shape (n_channels, 3)
        For planar gradiometers, the unit vector along which the gradient is measured;
        the radial normal otherwise.
    info : mne.Info
        With the positions set (``loc``); no sampling rate dependence beyond ``sfreq``.
    """

    name: str
    ch_names: list[str]
    ch_types: list[str]
    pos: np.ndarray
    direction: np.ndarray
    info: mne.Info


def make_sensor_array(name: str, sfreq: float) -> SensorArray:
    """Build the sensor set ``name`` (one of :data:`SENSORS`) sampled at ``sfreq`` Hz.

    Parameters
    ----------
    name : str
        One of :data:`SENSORS`.
    sfreq : float
        Sampling frequency in Hz.

    Returns
    -------
    sensors : SensorArray
        The channels, their positions and info.
    """
    check_option("sensors", name, SENSORS)
    source, mne_name, coil = SENSORS[name]
    if source == "montage":
        return _from_montage(name, mne_name, sfreq)
    return _from_layout(name, mne_name, coil, sfreq)


def _from_montage(name: str, montage_name: str, sfreq: float) -> SensorArray:
    montage = mne.channels.make_standard_montage(montage_name)
    ch_names = list(montage.ch_names)
    info = mne.create_info(ch_names, sfreq, ch_types="eeg")
    info.set_montage(montage, verbose="error")
    pos = np.array([ch["loc"][:3] for ch in info["chs"]])
    normal = pos / np.linalg.norm(pos, axis=1, keepdims=True)
    return SensorArray(name, ch_names, ["eeg"] * len(ch_names), pos, normal, info)


def _from_layout(name: str, layout_name: str, coil: int, sfreq: float) -> SensorArray:
    layout = mne.channels.read_layout(layout_name)
    xy = layout.pos[:, :2] + layout.pos[:, 2:4] / 2.0  # box centres
    if name == "neuromag306":
        ch_names = [n.replace(" ", "") for n in layout.names]
        ch_types = ["mag" if n.endswith("1") else "grad" for n in ch_names]
        xy = _share_triplet_positions(xy, ch_names)
    pos, normal, e_theta, e_phi = _back_project(xy)
    if name != "neuromag306":
        ch_names = list(layout.names)
        ch_types = ["mag"] * len(ch_names)
    direction = normal.copy()
    for k, (ch, kind) in enumerate(zip(ch_names, ch_types)):
        if kind == "grad":  # Neuromag pairs: ...2 along theta, ...3 along phi
            direction[k] = e_theta[k] if ch.endswith("2") else e_phi[k]
    info = mne.create_info(ch_names, sfreq, ch_types=ch_types)
    for k, ch in enumerate(info["chs"]):
        ex = direction[k] if ch_types[k] == "grad" else e_theta[k]
        ey = np.cross(normal[k], ex)
        ch["loc"][:] = np.concatenate([pos[k], ex, ey, normal[k]])
        if ch_types[k] == "mag":
            ch["coil_type"] = coil
        else:
            ch["coil_type"] = FIFF.FIFFV_COIL_VV_PLANAR_T1
    return SensorArray(name, ch_names, ch_types, pos, direction, info)


def _share_triplet_positions(xy: np.ndarray, ch_names: list[str]) -> np.ndarray:
    """Put the magnetometer and two gradiometers of each Neuromag triplet at one place."""
    groups = np.array([n[:-1] for n in ch_names])
    out = xy.copy()
    for group in np.unique(groups):
        rows = groups == group
        out[rows] = xy[rows].mean(axis=0)
    return out


def _back_project(xy: np.ndarray) -> tuple[np.ndarray, ...]:
    """Invert MNE's azimuthal-equidistant topomap projection onto a helmet sphere.

    Returns positions, radial normals and the two tangent unit vectors, each (n, 3).
    """
    centre = (xy.max(axis=0) + xy.min(axis=0)) / 2.0
    rel = xy - centre
    radius = np.linalg.norm(rel, axis=1)
    polar = radius / radius.max() * _MAX_POLAR
    azimuth = np.arctan2(rel[:, 1], rel[:, 0])
    st, ct = np.sin(polar), np.cos(polar)
    sa, ca = np.sin(azimuth), np.cos(azimuth)
    normal = np.stack([st * ca, st * sa, ct], axis=1)
    e_theta = np.stack([ct * ca, ct * sa, -st], axis=1)
    e_phi = np.stack([-sa, ca, np.zeros_like(sa)], axis=1)
    return HELMET_RADIUS * normal, normal, e_theta, e_phi


@dataclass
class RandomField:
    """A smooth random scalar field on 3-D space (random Fourier features, RBF kernel).

    ``f(x) = envelope(x) * sum_k a_k cos(w_k . x + b_k)`` with ``w_k ~ N(0, I / l^2)``,
    an approximate Gaussian process with squared-exponential covariance of length
    scale ``l``; ``envelope`` is a Gaussian bump (``centre``, ``width``) or 1.
    """

    w: np.ndarray  # (n_components, 3)
    b: np.ndarray  # (n_components,)
    a: np.ndarray  # (n_components,)
    centre: np.ndarray | None = None
    width: float = np.inf

    @classmethod
    def draw(cls, rng: np.random.Generator, length: float, n_components: int = 128,
             centre: np.ndarray | None = None, width: float = np.inf) -> RandomField:
        """Draw a unit-variance field of length scale ``length`` (metres)."""
        w = rng.standard_normal((n_components, 3)) / length
        b = rng.uniform(0, 2 * np.pi, n_components)
        a = rng.standard_normal(n_components) * np.sqrt(2.0 / n_components)
        return cls(w, b, a, centre, width)

    def mix(self, other: RandomField, weight: float) -> RandomField:
        """``sqrt(1 - weight) * self + sqrt(weight) * other`` (same envelope as ``self``)."""
        a = np.concatenate([np.sqrt(1 - weight) * self.a, np.sqrt(weight) * other.a])
        return RandomField(np.concatenate([self.w, other.w]), np.concatenate([self.b, other.b]),
                           a, self.centre, self.width)

    def evaluate(self, pos: np.ndarray, direction: np.ndarray,
                 is_grad: np.ndarray) -> np.ndarray:
        """Field value at ``pos`` (n, 3), or its derivative along ``direction`` where ``is_grad``."""
        phase = pos @ self.w.T + self.b
        value = np.cos(phase) @ self.a
        grad = -(np.sin(phase) * self.a) @ self.w
        if self.centre is not None:
            diff = pos - self.centre
            env = np.exp(-np.sum(diff**2, axis=1) / (2 * self.width**2))
            grad = env[:, None] * (grad - value[:, None] * diff / self.width**2)
            value = env * value
        deriv = np.sum(grad * direction, axis=1)
        return np.where(is_grad, deriv, value)


def random_rotation(rng: np.random.Generator, sd_deg: float) -> np.ndarray:
    """A rotation matrix about a random axis by an angle drawn from N(0, sd_deg) degrees."""
    axis = rng.standard_normal(3)
    axis /= np.linalg.norm(axis)
    angle = np.deg2rad(rng.normal(0.0, sd_deg)) if sd_deg > 0 else 0.0
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return np.eye(3) + np.sin(angle) * k + (1 - np.cos(angle)) * (k @ k)


__all__ = ["SENSORS", "RandomField", "SensorArray", "make_sensor_array", "random_rotation"]
