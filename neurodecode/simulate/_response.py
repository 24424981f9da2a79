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


def _bumps(params: dict, n_lags: int) -> np.ndarray:
    """Signed Gaussian bumps of shape (n_sources, n_comp, n_lags)."""
    t = np.linspace(0.0, 1.0, n_lags)  # lag / trf_length
    width = _WIDTH[None, :, None]
    bumps = np.exp(-((t[None, None, :] - params["latency"][..., None]) ** 2) / (2 * width**2))
    return bumps * _SIGN[None, :, None]


def build_kernels(params: dict, n_lags: int) -> np.ndarray:
    """Kernels of shape (n_sources, n_features, n_lags) from component parameters.

    Each kernel is a sum of Gaussian bumps in time; each bump has its own weight per
    feature, so kernels are not separable in feature and time.
    """
    return np.einsum("scf,scl->sfl", params["weights"], _bumps(params, n_lags))


def convolve_components(features: np.ndarray, params: dict, n_lags: int) -> np.ndarray:
    """Sources ``out[s, t] = sum_f sum_l k[s, f, l] x[f, t - l]`` for ``build_kernels(params)``.

    Uses the structure of the kernels (a few bumps, each with weights over features):
    the features are first mixed per bump, then each mix is convolved with its bump,
    which is much cheaper than one convolution per source and feature.

    Parameters
    ----------
    features : array of shape (n_features, n_times)
    params : dict
        From :func:`draw_kernel_params` or :func:`perturb_kernel_params`.
    n_lags : int

    Returns
    -------
    sources : array of shape (n_sources, n_times)
    """
    from scipy.fft import irfft, next_fast_len, rfft

    n_times = features.shape[1]
    mixed = np.einsum("scf,ft->sct", params["weights"], features)
    n_fft = next_fast_len(n_times + n_lags - 1, real=True)
    spec = rfft(mixed, n=n_fft, axis=-1) * rfft(_bumps(params, n_lags), n=n_fft, axis=-1)
    return irfft(spec.sum(axis=1), n=n_fft, axis=-1)[:, :n_times]


def nonlinear(linear: np.ndarray) -> np.ndarray:
    """Softplus rectification of each standardised source, re-centred to zero mean.

    ``y = softplus(g z) / g`` with ``z`` the source divided by its SD and ``g`` =
    :data:`NONLINEAR_GAIN`: increases of the drive pass, decreases are flattened.
    """
    z = linear / np.std(linear, axis=1, keepdims=True)
    y = np.logaddexp(0.0, NONLINEAR_GAIN * z) / NONLINEAR_GAIN
    return y - y.mean(axis=1, keepdims=True)


__all__ = ["NONLINEAR_GAIN", "build_kernels", "convolve_components", "draw_kernel_params",
           "nonlinear", "perturb_kernel_params", "smooth_profile"]
