"""Laplacian (smoothness) penalties for temporal receptive fields, as MNE's
``TimeDelayingRidge(reg_type="laplacian")``.

Ridge penalises ``alpha ||w||^2``; a Laplacian penalty ``alpha w^T L w`` penalises the
differences between neighbouring delays (``L_t``, the path graph's Laplacian) and/or
between neighbouring input features at the same delay (``L_f``), giving smooth TRFs
(Crosse et al. 2016, mTRF). Coefficients are ``(X^T X + alpha L)^-1 X^T Y``, solved per
alpha from the Gram matrices of :mod:`neurodecode.encoding._streamed`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import linalg

from .._validation import check_option

REG_TYPES = ("ridge", "laplacian")


def check_reg_type(reg_type: Any) -> tuple[str, str]:
    """``(time, features)`` regularisation from a string or a pair of strings."""
    pair = (reg_type, reg_type) if isinstance(reg_type, str) else tuple(reg_type)
    if len(pair) != 2:
        raise ValueError(
            f"reg_type must be 'ridge', 'laplacian' or a pair (time, features) of them; "
            f"got {reg_type!r}."
        )
    for value in pair:
        check_option("reg_type", value, REG_TYPES)
    return pair


def _path_laplacian(n: int) -> np.ndarray:
    """Laplacian of a path graph of ``n`` nodes: degrees on the diagonal, -1 to neighbours."""
    lap = np.diag(np.r_[1.0, np.full(max(n - 2, 0), 2.0), 1.0][:n])
    idx = np.arange(n - 1)
    lap[idx, idx + 1] = lap[idx + 1, idx] = -1.0
    return lap


def laplacian_penalty(n_features: int, n_delays: int, reg_type: Any = "laplacian") -> np.ndarray:
    """Penalty matrix over the lagged columns (column ``f * n_delays + j``).

    Parameters
    ----------
    n_features : int
        Input features (each lagged over the delays).
    n_delays : int
    reg_type : "ridge", "laplacian" or (time, features)
        Laplacian over delays and/or over neighbouring features; ``"ridge"`` on both
        (or a Laplacian over a single delay or feature) gives the identity.

    Returns
    -------
    penalty : array of shape (n_features * n_delays, n_features * n_delays)
        Equal to MNE's ``_compute_reg_neighbors(n_features, n_delays, reg_type)``.
    """
    time, features = check_reg_type(reg_type)
    reg_time = time == "laplacian" and n_delays > 1
    reg_features = features == "laplacian" and n_features > 1
    if not reg_time and not reg_features:
        return np.eye(n_features * n_delays)
    penalty = np.zeros((n_features * n_delays,) * 2)
    if reg_time:
        penalty += np.kron(np.eye(n_features), _path_laplacian(n_delays))
    if reg_features:
        penalty += np.kron(_path_laplacian(n_features), np.eye(n_delays))
    return penalty


def penalised_solve(gram: np.ndarray, xty: np.ndarray, alphas: np.ndarray,
                    penalty: np.ndarray) -> np.ndarray:
    """``(gram + alpha_t penalty)^-1 xty[:, t]`` for each output ``t``: (k, n_outputs)."""
    coef = np.empty_like(xty)
    for alpha in np.unique(alphas):
        cols = alphas == alpha
        coef[:, cols] = linalg.solve(gram + alpha * penalty, xty[:, cols], assume_a="pos")
    return coef


__all__ = ["REG_TYPES", "check_reg_type", "laplacian_penalty", "penalised_solve"]
