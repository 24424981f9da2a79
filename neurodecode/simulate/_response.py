"""Temporal response functions: planted kernels, their convolution with features, nonlinearity."""

from __future__ import annotations

import numpy as np

#: Components of the planted kernels, as fractions of ``trf_length``: latency, width,
#: sign and amplitude (an M50 / M100 / M200-like sequence for ``trf_length=0.5``).
_LATENCY = np.array([0.1, 0.2, 0.4])
_WIDTH = np.array([0.04, 0.06, 0.1])
_SIGN = np.array([1.0, -1.0, 0.7])

#: Slope of the softplus output nonlinearity of ``response="nonlinear"``.
NONLINEAR_GAIN = 3.0


def smooth_profile(rng: np.random.Generator, n_items: int, length: float) -> np.ndarray:
    """Smooth random profile over ``n_items`` (Gaussian-smoothed noise, unit RMS)."""
    idx = np.arange(n_items)
    kernel = np.exp(-((idx[:, None] - idx[None, :]) ** 2) / (2 * max(length, 1e-3) ** 2))
    prof = kernel @ rng.standard_normal(n_items)
    return prof / np.sqrt(np.mean(prof**2))


def draw_kernel_params(rng: np.random.Generator, n_sources: int, n_features: int) -> dict:
    """Group-level parameters: component latencies (fractions) and spectral weights."""
    n_comp = _LATENCY.size
    latency = _LATENCY[None, :] * np.exp(rng.normal(0, 0.15, (n_sources, n_comp)))
    weights = np.stack([
        np.stack([1.0 + 0.5 * smooth_profile(rng, n_features, n_features / 6)
                  for _ in range(n_comp)]) for _ in range(n_sources)
    ])  # (n_sources, n_comp, n_features)
    return {"latency": latency, "weights": weights}


def perturb_kernel_params(rng: np.random.Generator, params: dict, variability: float) -> dict:
    """One subject's parameters: jittered latencies, scaled amplitudes, mixed spectral weights."""
    latency = params["latency"] + rng.normal(0, 0.05 * variability, params["latency"].shape)
    own = 1.0 + 0.5 * rng.standard_normal(params["weights"].shape)
    weights = np.sqrt(1 - variability) * params["weights"] + np.sqrt(variability) * own
    amp = np.exp(rng.normal(0, 0.5 * variability, params["latency"].shape))
    return {"latency": np.clip(latency, 0.02, 0.8), "weights": weights * amp[..., None]}


def build_kernels(params: dict, n_lags: int) -> np.ndarray:
    """Kernels of shape (n_sources, n_features, n_lags) from component parameters.

    Each kernel is a sum of Gaussian bumps in time; each bump has its own weight per
    feature, so kernels are not separable in feature and time.
    """
    t = np.linspace(0.0, 1.0, n_lags)  # lag / trf_length
    width = _WIDTH[None, :, None]
    bumps = np.exp(-((t[None, None, :] - params["latency"][..., None]) ** 2) / (2 * width**2))
    bumps *= _SIGN[None, :, None]  # (n_sources, n_comp, n_lags)
    return np.einsum("scf,scl->sfl", params["weights"], bumps)


def convolve_kernels(features: np.ndarray, kernels: np.ndarray) -> np.ndarray:
    """Causal convolution summed over features: ``out[s, t] = sum_f sum_l k[s, f, l] x[f, t - l]``.

    Parameters
    ----------
    features : array of shape (n_features, n_times)
    kernels : array of shape (n_sources, n_features, n_lags)

    Returns
    -------
    sources : array of shape (n_sources, n_times)
    """
    n_times = features.shape[1]
    n_fft = _next_fast_len(n_times + kernels.shape[2] - 1)
    spec_x = np.fft.rfft(features, n=n_fft, axis=1)
    spec_k = np.fft.rfft(kernels, n=n_fft, axis=2)
    out = np.fft.irfft(np.einsum("sfk,fk->sk", spec_k, spec_x), n=n_fft, axis=1)
    return out[:, :n_times]


def nonlinear(linear: np.ndarray) -> np.ndarray:
    """Softplus rectification of each standardised source, re-centred to zero mean.

    ``y = softplus(g z) / g`` with ``z`` the source divided by its SD and ``g`` =
    :data:`NONLINEAR_GAIN`: increases of the drive pass, decreases are flattened.
    """
    z = linear / np.std(linear, axis=1, keepdims=True)
    y = np.logaddexp(0.0, NONLINEAR_GAIN * z) / NONLINEAR_GAIN
    return y - y.mean(axis=1, keepdims=True)


def _next_fast_len(n: int) -> int:
    from scipy.fft import next_fast_len

    return int(next_fast_len(n, real=True))
