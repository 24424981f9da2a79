"""Model-comparison tests of Schütt et al. (2023), as rsatoolbox's ``extract_variances``,
``t_tests`` and ``t_test_0``: t-tests of model evaluations and of their pairwise
differences, with variances from a bootstrap (one factor) or from the three bootstraps
of a dual bootstrap (subjects and conditions, subjects only, conditions only), corrected
for the double counting of variance."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.stats


def evaluation_variances(
    covariance: Any, *, n_subjects: int | None = None, n_conditions: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Variances of model evaluations and of their pairwise differences.

    Parameters
    ----------
    covariance : array of shape (n_models, n_models) or (3, n_models, n_models)
        Covariance of the bootstrapped evaluations (``np.cov(samples.T)``), or the three
        covariances of a dual bootstrap: both factors, subjects only, conditions only.
    n_subjects, n_conditions : int or None
        Give the number of each factor bootstrapped for the small-sample corrections
        (``n / (n - 1)``, and the dual-bootstrap formula of Schütt et al. 2023).

    Returns
    -------
    model_var : array of shape (n_models,) (or (3, ...) collapsed to (n_models,))
    diff_var : array of shape (n_models * (n_models - 1) / 2,)
        Variance of ``eval_i - eval_j`` for the pairs i < j in condensed order.
    """
    cov = np.asarray(covariance, dtype=np.float64)
    if cov.ndim not in (2, 3) or cov.shape[-1] != cov.shape[-2] or (cov.ndim == 3
                                                                     and len(cov) != 3):
        raise ValueError(
            f"covariance must have shape (n_models, n_models) or (3, n_models, n_models); "
            f"got {cov.shape}."
        )
    contrast = _pairwise_contrast(cov.shape[-1])
    model_var = np.diagonal(cov, axis1=-2, axis2=-1)
    diff_var = np.einsum("ij,...jl,il->...i", contrast, cov, contrast)
    if cov.ndim == 2:
        n = _small_sample_n(n_subjects, n_conditions)
        scale = 1.0 if n is None else n / (n - 1)
        return model_var * scale, diff_var * scale
    return (_dual_bootstrap(model_var, n_subjects, n_conditions),
            _dual_bootstrap(diff_var, n_subjects, n_conditions))


def t_test_pairs(evaluations: Any, diff_var: Any, dof: int = 1) -> np.ndarray:
    """Two-sided t-tests of every pairwise difference of mean model evaluations.

    Parameters
    ----------
    evaluations : array of shape (n_samples, n_models, ...)
        Evaluations (e.g. bootstrap samples x models x folds); averaged over all but
        the model axis, ignoring NaN.
    diff_var : array of shape (n_models * (n_models - 1) / 2,)
        From :func:`evaluation_variances`.
    dof : int
        Degrees of freedom of the t distribution.

    Returns
    -------
    p : array of shape (n_models, n_models)
        1 on the diagonal.
    """
    means = _model_means(evaluations)
    n = len(means)
    iu = np.triu_indices(n, 1)
    t = (means[iu[0]] - means[iu[1]]) / np.sqrt(np.maximum(diff_var, np.finfo(float).eps))
    t_mat = np.zeros((n, n))
    t_mat[iu], t_mat[iu[::-1]] = t, t
    return 2 * (1 - scipy.stats.t.cdf(np.abs(t_mat), dof))


def t_test_zero(evaluations: Any, model_var: Any, dof: int = 1) -> np.ndarray:
    """One-sided t-tests of each mean model evaluation against 0 (array (n_models,)).

    Parameters
    ----------
    evaluations : array of shape (n_samples, n_models)
        Model evaluations (bootstrap samples or subjects).
    model_var : array of shape (n_models,)
        Variance of each model's mean evaluation.
    dof : int
        Degrees of freedom of the t distribution.

    Returns
    -------
    p_values : array of shape (n_models,)
        One-sided p-values.
    """
    t = _model_means(evaluations) / np.sqrt(np.maximum(model_var, np.finfo(float).eps))
    return 1 - scipy.stats.t.cdf(t, dof)


def _model_means(evaluations: Any) -> np.ndarray:
    x = np.asarray(evaluations, dtype=np.float64)
    if x.ndim < 2:
        raise ValueError(
            f"evaluations must have shape (n_samples, n_models, ...); got {x.shape}."
        )
    x = np.nanmean(x, 0)
    while x.ndim > 1:
        x = np.nanmean(x, -1)
    return x


def _pairwise_contrast(n: int) -> np.ndarray:
    iu = np.triu_indices(n, 1)
    c = np.zeros((len(iu[0]), n))
    c[np.arange(len(iu[0])), iu[0]] = 1.0
    c[np.arange(len(iu[0])), iu[1]] = -1.0
    return c


def _small_sample_n(n_subjects: int | None, n_conditions: int | None) -> int | None:
    given = [n for n in (n_subjects, n_conditions) if n is not None]
    return min(given) if given else None


def _dual_bootstrap(v: np.ndarray, n_rdm: int | None, n_pattern: int | None) -> np.ndarray:
    """Variance from the double (v[0]), subject (v[1]) and condition (v[2]) bootstraps."""
    if n_rdm is None or n_pattern is None:
        out = np.maximum(np.maximum(2 * (v[1] + v[2]) - v[0], v[1]), v[2])
        return np.minimum(out, v[0])
    a, b = n_rdm / (n_rdm - 1), n_pattern / (n_pattern - 1)
    out = a * v[1] + b * v[2] - a * b * (v[0] - v[1] - v[2])
    return np.minimum(np.maximum(np.maximum(out, a * v[1]), b * v[2]), v[0])


__all__ = ["evaluation_variances", "t_test_pairs", "t_test_zero"]
