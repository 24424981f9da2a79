"""Noise with a 1/f^alpha spectrum and a smooth spatial covariance over sensors.

The sensor noise is the sum of two parts, both with power spectrum ``1 / f**exponent``:

* ``n_noise_sources`` latent "brain and environment" sources, each projected onto the
  sensors through its own broad smooth random field (length scale ``length``): this
  gives a spatial covariance with strong correlations between neighbouring sensors;
* independent noise on each sensor, holding ``sensor_fraction`` of the total power.

So the covariance is ``M M^T + s^2 I`` (low rank plus diagonal), as for measured MEG
empty-room plus brain noise, and the spectrum is 1/f at every sensor.
"""

from __future__ import annotations

import numpy as np

from .._backend import single_threaded_blas
from .sensors import RandomField, SensorArray

#: Noise RMS per channel type, in SI units (T, T/m, V); typical of raw recordings.
NOISE_RMS: dict[str, float] = {"mag": 2e-13, "grad": 4e-12, "eeg": 1e-5}


def pink_noise(rng: np.random.Generator, n_signals: int, n_times: int, sfreq: float,
               exponent: float = 1.0, fmin: float = 0.1) -> np.ndarray:
    """Gaussian noise with power spectral density proportional to ``1 / f**exponent``.

    Parameters
    ----------
    rng : numpy Generator
    n_signals, n_times : int
    sfreq : float
        Sampling frequency in Hz.
    exponent : float
        Spectral exponent ``alpha`` (0 white, 1 pink, 2 brown).
    fmin : float
        Below ``fmin`` Hz the spectrum is flat (keeps the variance finite); the mean is 0.

    Returns
    -------
    noise : array of shape (n_signals, n_times), float32
        Unit variance per signal on average.
    """
    freqs = np.fft.rfftfreq(n_times, 1.0 / sfreq)
    gain = np.maximum(freqs, fmin) ** (-exponent / 2.0)
    gain[0] = 0.0
    gain /= np.sqrt(np.mean(gain[1:] ** 2))
    gain *= np.sqrt(n_times / 2.0)
    draws = rng.standard_normal((n_signals, 2 * freqs.size), dtype=np.float32)
    spec = draws.view(np.complex64)
    spec *= gain.astype(np.float32)
    return np.fft.irfft(spec, n=n_times, axis=1)


def sensor_noise(rng: np.random.Generator, sensors: SensorArray, n_times: int, sfreq: float,
                 *, exponent: float = 1.0, n_noise_sources: int = 40,
                 sensor_fraction: float = 0.1, length: float = 0.08) -> np.ndarray:
    """Spatially correlated 1/f noise on ``sensors``.

    Parameters
    ----------
    rng : numpy Generator
    sensors : SensorArray
    n_times : int
    sfreq : float
    exponent : float
        Spectral exponent of every component.
    n_noise_sources : int
        Number of latent noise sources with broad spatial patterns.
    sensor_fraction : float in [0, 1]
        Fraction of the noise power that is independent between sensors.
    length : float
        Length scale (metres) of the noise sources' spatial patterns.

    Returns
    -------
    noise : array of shape (n_channels, n_times)
        RMS over the channels of each type equal to :data:`NOISE_RMS` of that type.
    """
    is_grad = np.array([t == "grad" for t in sensors.ch_types])
    mixing = np.stack([
        RandomField.draw(rng, length).evaluate(sensors.pos, sensors.direction, is_grad)
        for _ in range(n_noise_sources)
    ], axis=1)
    mixing = _unit_rms_per_type(mixing, sensors.ch_types)
    mixing *= np.sqrt((1 - sensor_fraction) / n_noise_sources)
    latent = pink_noise(rng, n_noise_sources, n_times, sfreq, exponent)
    with single_threaded_blas():  # the same bits whatever BLAS's thread count
        noise = mixing.astype(np.float32) @ latent
    if sensor_fraction > 0:
        own = pink_noise(rng, len(sensors.ch_names), n_times, sfreq, exponent)
        own *= np.float32(np.sqrt(sensor_fraction))
        noise += own
    return scale_per_type(noise, sensors.ch_types, NOISE_RMS)


def _unit_rms_per_type(matrix: np.ndarray, ch_types: list[str]) -> np.ndarray:
    """Scale rows of each channel type so that the type's entries have unit RMS."""
    out = matrix.copy()
    types = np.asarray(ch_types)
    for kind in np.unique(types):
        rows = types == kind
        out[rows] /= np.sqrt(np.mean(out[rows] ** 2))
    return out


def scale_per_type(data: np.ndarray, ch_types: list[str], rms: dict[str, float]) -> np.ndarray:
    """Scale ``data`` (n_channels, n_times) in place so each type's RMS is ``rms[type]``.

    The RMS is taken over the channels of that type and time; returns ``data``.
    """
    types = np.asarray(ch_types)
    power = np.einsum("ct,ct->c", data, data, dtype=np.float64) / data.shape[1]
    factor = np.empty(len(types))
    for kind in np.unique(types):
        rows = types == kind
        factor[rows] = rms[kind] / np.sqrt(np.mean(power[rows]))
    data *= factor[:, None].astype(data.dtype)
    return data


__all__ = ["NOISE_RMS", "pink_noise", "scale_per_type", "sensor_noise"]
