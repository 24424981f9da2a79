"""RDMs of spike counts: the symmetrised Kullback-Leibler divergence of Poisson rates
(rsatoolbox's ``calc_rdm(method="poisson")``), vectorised over leading axes."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import check_finite
from .rdm import to_condensed


def compute_poisson_rdm(
    patterns: Any, *, prior_lambda: float = 1.0, prior_weight: float = 0.1
) -> np.ndarray:
    """Symmetrised KL divergences between Poisson rates of conditions.

    ``d_ij = mean over features of (r_i - r_j) (log r_i - log r_j)``, with the rates
    ``r = (x + prior_lambda * prior_weight) / (1 + prior_weight)`` shrunk towards
    ``prior_lambda`` so that zero counts have a finite logarithm (rsatoolbox's
    defaults and formula).

    Parameters
    ----------
    patterns : array of shape (..., n_conditions, n_features)
        Mean counts (or rates) per condition, >= 0.
    prior_lambda, prior_weight : float
        Prior rate (> 0) and its weight (>= 0) in the shrinkage.

    Returns
    -------
    rdms : array of shape (..., n_pairs)
    """
    x = np.asarray(patterns, dtype=np.float64)
    if x.ndim < 2 or x.shape[-2] < 3:
        raise ValueError(
            f"patterns must have shape (..., n_conditions >= 3, n_features); got {x.shape}."
        )
    check_finite("patterns", x)
    if (x < 0).any():
        raise ValueError(
            f"patterns must be counts or rates >= 0 for Poisson divergences; got "
            f"{int((x < 0).sum())} negative value(s) (min {x.min():.3g})."
        )
    if not prior_lambda > 0 or not prior_weight >= 0:
        raise ValueError(
            f"prior_lambda must be > 0 and prior_weight >= 0; got {prior_lambda!r} and "
            f"{prior_weight!r}."
        )
    rates = (x + prior_lambda * prior_weight) / (1 + prior_weight)
    if (rates == 0).any():
        raise ValueError("zero rates have no logarithm: use prior_weight > 0 with zero counts.")
    kernel = rates @ np.swapaxes(np.log(rates), -1, -2)
    diag = np.diagonal(kernel, axis1=-2, axis2=-1)
    d = diag[..., :, None] + diag[..., None, :] - kernel - np.swapaxes(kernel, -1, -2)
    return to_condensed(d) / x.shape[-1]


__all__ = ["compute_poisson_rdm"]
