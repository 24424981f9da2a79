"""Noise covariance and precision estimates with shrinkage, to whiten Mahalanobis and
crossnobis distances (the estimators of rsatoolbox)."""

from __future__ import annotations

import numpy as np

from .._validation import check_finite, check_option

SHRINKAGE = ("shrinkage_diag", "shrinkage_eye", "diag", "full")


def noise_precision(
    residuals: np.ndarray, method: str = "shrinkage_diag", dof: int | None = None
) -> np.ndarray:
    """Estimate a noise precision matrix from residuals, with shrinkage.

    Parameters
    ----------
    residuals : array of shape (n_observations, n_features)
        Residuals (e.g. trials minus their condition mean); they are demeaned here.
    method : {"shrinkage_diag", "shrinkage_eye", "diag", "full"}
        Covariance estimator: shrinkage towards the diagonal (Schäfer & Strimmer 2005),
        towards a multiple of the identity (Ledoit & Wolf 2004), the diagonal only, or
        the sample covariance; the same estimators as rsatoolbox.
    dof : int or None
        Degrees of freedom; ``None`` uses n_observations - 1.

    Returns
    -------
    precision : array of shape (n_features, n_features)
        Inverse of the estimated covariance, for ``compute_rdm(..., noise=precision)``.
    """
    return np.linalg.inv(noise_covariance(residuals, method, dof))


def noise_covariance(
    residuals: np.ndarray, method: str = "shrinkage_diag", dof: int | None = None
) -> np.ndarray:
    """Estimate a noise covariance matrix; see :func:`noise_precision` for the arguments.

    Parameters
    ----------
    residuals : array of shape (n_samples, n_features)
        Residuals of a first-level model.
    method : str
        The estimator (see :func:`noise_precision`).
    dof : int or None
        Degrees of freedom of the residuals; ``None``: ``n_samples - 1``.

    Returns
    -------
    covariance : array of shape (n_features, n_features)
    """
    check_option("method", method, SHRINKAGE)
    res = np.asarray(residuals, dtype=np.float64)
    if res.ndim != 2 or res.shape[0] < 2:
        raise ValueError(
            f"residuals must have shape (n_observations >= 2, n_features); got {res.shape}."
        )
    check_finite("residuals", res, ("observation", "feature"))
    res = res - res.mean(0, keepdims=True)
    n_obs = res.shape[0]
    dof = n_obs - 1 if dof is None else dof
    s_sum = res.T @ res
    if method == "full":
        return s_sum / dof
    if method == "diag":
        return np.diag(np.diag(s_sum) / dof)
    s2_sum = (res**2).T @ (res**2)
    if method == "shrinkage_eye":
        return _shrink_eye(s_sum, s2_sum, n_obs, dof)
    return _shrink_diag(s_sum, s2_sum, n_obs, dof)


def _shrink_eye(s_sum: np.ndarray, s2_sum: np.ndarray, n_obs: int, dof: int) -> np.ndarray:
    s = s_sum / n_obs
    b2 = np.sum(s2_sum / n_obs - s * s) / n_obs
    m = np.trace(s) / s.shape[0]
    eye = np.eye(s.shape[0])
    d2 = np.sum((s - m * eye) ** 2)
    b2 = min(d2, b2)
    return (b2 / d2 * m * eye + (d2 - b2) / d2 * s) * n_obs / dof


def _shrink_diag(s_sum: np.ndarray, s2_sum: np.ndarray, n_obs: int, dof: int) -> np.ndarray:
    s = s_sum / dof
    var = np.diag(s)
    std = np.sqrt(var)
    s_mean = s_sum / std[None, :] / std[:, None] / (n_obs - 1)
    s2_mean = s2_sum / var[None, :] / var[:, None] / (n_obs - 1)
    var_hat = n_obs / dof**2 * (s2_mean - s_mean**2)
    mask = ~np.eye(s.shape[0], dtype=bool)
    lamb = float(np.clip(np.sum(var_hat[mask]) / np.sum(s_mean[mask] ** 2), 0, 1))
    return s * (np.eye(s.shape[0]) + (1 - lamb) * mask)


__all__ = ["SHRINKAGE", "noise_covariance", "noise_precision"]
