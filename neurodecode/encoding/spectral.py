"""Stimulus-response spectra and coherence with surrogate null bands (multitaper).

Envelope-following responses are read in the frequency domain: the cross-spectral
density between a stimulus envelope and each channel, its magnitude-squared coherence,
and a null band from circularly shifted stimuli (which keep both spectra and break
only their alignment). Spectra are multitaper estimates with MNE's DPSS tapers and
MNE's taper weights, so the coherence equals that of
:func:`mne.time_frequency.csd_array_multitaper` (``adaptive=False``) on the same epochs.

References: Thomson (1982) Proc IEEE 70(9); for envelope-following coherence to speech
and music, e.g. Peelle, Gross & Davis (2013) Cereb Cortex 23(6) and Doelling & Poeppel
(2015) PNAS 112(45).

Example
-------
>>> import numpy as np
>>> from neurodecode.encoding import stimulus_response_coherence
>>> rng = np.random.default_rng(0)
>>> sfreq, t = 100.0, np.arange(12000) / 100.0
>>> stim = rng.standard_normal(t.size)
>>> eeg = rng.standard_normal((2, t.size))
>>> eeg[0] += np.convolve(stim, np.sin(2 * np.pi * 6 * t[:50]) * np.hanning(50), "same")
>>> res = stimulus_response_coherence(stim, eeg, sfreq, fmax=20, n_surrogates=20)
>>> res.coherence.shape == (2, res.freqs.size)
True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from mne.time_frequency import dpss_windows

from .._validation import check_finite, check_positive


@dataclass(frozen=True)
class CoherenceResult:
    """Result of :func:`stimulus_response_coherence`.

    Parameters
    ----------
    freqs : array of shape (n_freqs,)
        Frequencies in Hz (the Fourier frequencies of one epoch within the band).
    coherence : array of shape (n_channels, n_freqs)
        Magnitude-squared coherence between the stimulus and each channel, in [0, 1].
    null_low, null_high : arrays of shape (n_channels, n_freqs)
        Central ``ci`` percentile band (the ``(1 - ci) / 2`` and ``(1 + ci) / 2``
        quantiles) of the coherence under circularly shifted stimuli.
    pvalue : array of shape (n_channels, n_freqs)
        ``(1 + #{null >= observed}) / (1 + n_surrogates)``.
    null_max : array of shape (n_channels,)
        Upper ``ci`` quantile of the surrogates' maximum over frequencies: a coherence
        above it is significant with the family-wise error over frequencies controlled.
    stimulus_psd : array of shape (n_freqs,)
        Multitaper power spectral density of the stimulus (units^2 / Hz).
    response_psd : array of shape (n_channels, n_freqs)
        Multitaper power spectral density of each channel (units^2 / Hz).
    ch_names : list of str
        Channel names, length n_channels (``"ch0"``, ``"ch1"`` ... when none were given).
    """

    freqs: np.ndarray
    coherence: np.ndarray
    null_low: np.ndarray
    null_high: np.ndarray
    pvalue: np.ndarray
    null_max: np.ndarray
    stimulus_psd: np.ndarray
    response_psd: np.ndarray
    ch_names: list

    def dominant_frequency(self, significant_only: bool = True) -> np.ndarray:
        """Frequency of maximal coherence per channel.

        Parameters
        ----------
        significant_only : bool
            Give NaN for the channels whose peak coherence does not exceed ``null_max``.

        Returns
        -------
        freqs : array of shape (n_channels,)
            Peak frequency in Hz per channel (NaN where not significant).
        """
        freqs = dominant_frequencies(self.coherence, self.freqs)
        if significant_only:
            freqs = np.where(self.coherence.max(1) > self.null_max, freqs, np.nan)
        return freqs


def check_band(sfreq: float, fmin: float, fmax: float | None) -> tuple[float, float]:
    """Return ``(fmin, fmax)`` checked against the Nyquist frequency (``fmax=None``: Nyquist)."""
    check_positive("sfreq", sfreq)
    nyquist = sfreq / 2.0
    fmax = nyquist if fmax is None else fmax
    check_positive("fmin", fmin, strict=False)
    if not np.isfinite(fmax) or fmax > nyquist:
        raise ValueError(
            f"fmax={fmax!r} Hz is above the Nyquist frequency (sfreq / 2 = {nyquist:g} Hz); "
            "pass fmax <= sfreq / 2 or data sampled faster."
        )
    if fmin >= fmax:
        raise ValueError(f"fmin must be below fmax; got fmin={fmin!r} and fmax={fmax!r} Hz.")
    return float(fmin), float(fmax)


def _epochs(x: np.ndarray, n_per: int) -> np.ndarray:
    """(n_series, n_times) -> (n_epochs, n_series, n_per), dropping the remainder."""
    n_epochs = x.shape[-1] // n_per
    cut = x[:, : n_epochs * n_per].reshape(x.shape[0], n_epochs, n_per)
    return cut.transpose(1, 0, 2)


def _tapers(n_times: int, sfreq: float, bandwidth: float) -> tuple[np.ndarray, np.ndarray]:
    half_nbw = bandwidth * n_times / (2.0 * sfreq)
    if half_nbw < 0.5:
        raise ValueError(
            f"bandwidth={bandwidth!r} Hz is narrower than the frequency resolution of the "
            f"epochs ({sfreq / n_times:g} Hz); pass bandwidth >= {sfreq / n_times:g} or longer "
            "epochs."
        )
    windows, eigvals = dpss_windows(n_times, half_nbw, int(2 * half_nbw), sym=False,
                                    low_bias=True)
    return windows, np.sqrt(eigvals)


def multitaper_spectra(
    epochs: np.ndarray, sfreq: float, fmin: float, fmax: float, bandwidth: float
) -> tuple[np.ndarray, np.ndarray]:
    """Weighted tapered Fourier coefficients of epochs.

    Parameters
    ----------
    epochs : array of shape (n_epochs, n_series, n_times)
        Each epoch is centred first.
    sfreq, fmin, fmax, bandwidth : float
        Sampling rate, band (Hz) and multitaper bandwidth (Hz).

    Returns
    -------
    coefs : complex array of shape (n_epochs, n_series, n_tapers, n_freqs)
        Scaled so that ``mean over epochs of sum over tapers of |coefs|^2`` is the PSD
        in units^2 / Hz (as MNE's non-adaptive multitaper).
    freqs : array of shape (n_freqs,)
    """
    n_times = epochs.shape[-1]
    windows, weights = _tapers(n_times, sfreq, bandwidth)
    freqs = np.fft.rfftfreq(n_times, 1.0 / sfreq)
    keep = (freqs > 0) & (freqs >= fmin) & (freqs <= fmax)
    if not keep.any():
        raise ValueError(f"no Fourier frequency of {n_times}-sample epochs lies in "
                         f"[{fmin}, {fmax}] Hz; widen the band or lengthen the epochs.")
    centred = epochs - epochs.mean(-1, keepdims=True)  # per epoch, as MNE
    coefs = np.fft.rfft(centred[:, :, None, :] * windows[None, None], axis=-1)[..., keep]
    scale = np.sqrt(2.0 / (sfreq * np.sum(weights**2)))
    return coefs * (weights[:, None] * scale), freqs[keep]


def _cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cross-spectra mean over epochs, sum over tapers: (n_a, n_freqs) of a vs each b."""
    return np.einsum("eakf,ebkf->abf", a, np.conj(b)) / a.shape[0]


def _power(a: np.ndarray) -> np.ndarray:
    return np.einsum("eskf->sf", np.abs(a) ** 2) / a.shape[0]


def _coherence(stim: np.ndarray, resp: np.ndarray, resp_power: np.ndarray) -> np.ndarray:
    sxy = _cross(stim, resp)[0]
    return np.abs(sxy) ** 2 / (_power(stim)[0] * resp_power)


def _as_series(stimulus: Any, data: Any) -> tuple[np.ndarray, np.ndarray]:
    stim = np.asarray(stimulus, dtype=np.float64).ravel()
    resp = np.asarray(data, dtype=np.float64)
    resp = resp[None] if resp.ndim == 1 else resp
    if resp.ndim != 2 or resp.shape[1] != stim.size:
        raise ValueError(
            f"data must have shape (n_channels, n_times) with n_times = {stim.size} (the "
            f"stimulus length); got {resp.shape}."
        )
    check_finite("stimulus", stim, ("sample",))
    check_finite("data", resp, ("channel", "sample"))
    if np.ptp(stim) == 0:
        raise ValueError("stimulus is constant: its coherence with any channel is undefined; "
                         "pass the stimulus feature (e.g. an envelope or an event train).")
    flat = np.flatnonzero(np.ptp(resp, axis=1) == 0)
    if flat.size:
        raise ValueError(f"data has {flat.size} constant channel(s) (the first is channel "
                         f"{flat[0]}); drop them before computing coherence.")
    return stim - stim.mean(), resp - resp.mean(1, keepdims=True)


def stimulus_response_coherence(
    stimulus: Any,
    data: Any,
    sfreq: float,
    *,
    epoch_s: float = 4.0,
    fmin: float = 0.0,
    fmax: float | None = None,
    bandwidth: float | None = None,
    n_surrogates: int = 200,
    ci: float = 0.95,
    min_shift_s: float | None = None,
    ch_names: Any = None,
    seed: int | None = 0,
) -> CoherenceResult:
    """Coherence between a stimulus envelope and every channel, with a surrogate null.

    Parameters
    ----------
    stimulus : array of shape (n_times,)
        Stimulus feature (e.g. the speech envelope) on the brain's clock.
    data : array of shape (n_channels, n_times)
        Continuous brain data.
    sfreq : float
        Sampling rate in Hz.
    epoch_s : float
        Length of the non-overlapping epochs averaged (s); frequency resolution 1/epoch_s.
    fmin, fmax : float
        Band in Hz; ``fmax`` at most ``sfreq / 2`` (``None``: the Nyquist frequency).
    bandwidth : float or None
        Multitaper bandwidth in Hz; ``None``: ``3 / epoch_s`` (two tapers).
    n_surrogates : int
        Circular shifts of the stimulus for the null band.
    ci : float
        Coverage of the null band, in (0, 1).
    min_shift_s : float or None
        Smallest circular shift (s); ``None``: ``epoch_s``.
    ch_names : list of str or None
    seed : int or None

    Returns
    -------
    result : CoherenceResult
    """
    fmin, fmax = check_band(sfreq, fmin, fmax)
    check_positive("epoch_s", epoch_s)
    if not 0 < ci < 1:
        raise ValueError(f"ci must be in (0, 1); got {ci!r}.")
    stim, resp = _as_series(stimulus, data)
    n_per = int(round(epoch_s * sfreq))
    if stim.size < 2 * n_per:
        raise ValueError(f"the recording holds {stim.size} samples, fewer than two epochs of "
                         f"epoch_s={epoch_s} s ({n_per} samples); pass a shorter epoch_s.")
    bandwidth = 3.0 / epoch_s if bandwidth is None else bandwidth
    spectra = multitaper_spectra(_epochs(resp, n_per), sfreq, fmin, fmax, bandwidth)
    resp_mt, freqs = spectra
    resp_power = _power(resp_mt)

    def coherence_of(s: np.ndarray) -> np.ndarray:
        stim_mt = multitaper_spectra(_epochs(s[None], n_per), sfreq, fmin, fmax, bandwidth)[0]
        return _coherence(stim_mt, resp_mt, resp_power)

    observed = coherence_of(stim)
    rng = np.random.default_rng(seed)
    min_shift = n_per if min_shift_s is None else int(round(min_shift_s * sfreq))
    shifts = rng.integers(min_shift, max(stim.size - min_shift, min_shift + 1), n_surrogates)
    null = np.stack([coherence_of(np.roll(stim, int(s))) for s in shifts])
    low, high = np.quantile(null, [(1 - ci) / 2, (1 + ci) / 2], axis=0)
    pvalue = (1 + (null >= observed[None]).sum(0)) / (1 + n_surrogates)
    null_max = np.quantile(null.max(-1), ci, axis=0)
    stim_psd = _power(multitaper_spectra(_epochs(stim[None], n_per), sfreq, fmin, fmax,
                                         bandwidth)[0])[0]
    names = [f"ch{i}" for i in range(resp.shape[0])] if ch_names is None else list(ch_names)
    return CoherenceResult(freqs, observed, low, high, pvalue, null_max, stim_psd, resp_power,
                           names)


def channel_coherence(
    data: Any,
    sfreq: float,
    pairs: Any = None,
    *,
    epoch_s: float = 4.0,
    fmin: float = 0.0,
    fmax: float | None = None,
    bandwidth: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Magnitude-squared coherence between pairs of channels.

    Parameters
    ----------
    data : array of shape (n_channels, n_times)
    sfreq : float
    pairs : array of int of shape (n_pairs, 2) or None
        Channel index pairs; ``None``: every pair ``i < j``.
    epoch_s, fmin, fmax, bandwidth
        As in :func:`stimulus_response_coherence`.

    Returns
    -------
    coherence : array of shape (n_pairs, n_freqs)
    freqs : array of shape (n_freqs,)
    """
    fmin, fmax = check_band(sfreq, fmin, fmax)
    x = np.asarray(data, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 2:
        raise ValueError(f"data must have shape (n_channels >= 2, n_times); got {x.shape}.")
    check_finite("data", x, ("channel", "sample"))
    idx = np.array(np.triu_indices(x.shape[0], 1)).T if pairs is None else np.asarray(pairs)
    if idx.ndim != 2 or idx.shape[1] != 2 or idx.min() < 0 or idx.max() >= x.shape[0]:
        raise ValueError(f"pairs must be channel indices of shape (n_pairs, 2) in "
                         f"[0, {x.shape[0]}); got shape {idx.shape}.")
    n_per = int(round(check_positive("epoch_s", epoch_s) * sfreq))
    bandwidth = 3.0 / epoch_s if bandwidth is None else bandwidth
    mt, freqs = multitaper_spectra(_epochs(x - x.mean(1, keepdims=True), n_per), sfreq,
                                   fmin, fmax, bandwidth)
    power = _power(mt)
    a, b = mt[:, idx[:, 0]], mt[:, idx[:, 1]]
    sxy = np.einsum("epkf,epkf->pf", a, np.conj(b)) / mt.shape[0]
    return np.abs(sxy) ** 2 / (power[idx[:, 0]] * power[idx[:, 1]]), freqs


def dominant_frequencies(values: Any, freqs: Any) -> np.ndarray:
    """Frequency of the maximum of each spectrum.

    Parameters
    ----------
    values : array of shape (..., n_freqs)
        Spectra (coherence, PSD).
    freqs : array of shape (n_freqs,)

    Returns
    -------
    peak : array of shape (...)
    """
    v, f = np.asarray(values, dtype=np.float64), np.asarray(freqs, dtype=np.float64)
    if v.shape[-1] != f.size:
        raise ValueError(f"values must end with n_freqs = {f.size}; got shape {v.shape}.")
    return f[np.argmax(v, axis=-1)]


__all__ = ["CoherenceResult", "channel_coherence", "check_band", "dominant_frequencies",
           "multitaper_spectra", "stimulus_response_coherence"]
