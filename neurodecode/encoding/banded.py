"""Banded ridge: one regularisation per feature space, chosen per target by CV.

The penalty of band ``b`` is ``alpha / gamma_b`` with ``gamma`` on the simplex; a
random search over ``gamma`` (Dirichlet draws, the first one uniform) combined with
the exact alpha grid of :func:`solve_ridge_cv` picks both per target, as in
himalaya's ``solve_group_ridge_random_search``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin

from .._backend import get_backend
from ._solvers import solve_ridge_cv
from .ridge import (
    DEFAULT_ALPHAS,
    _LinearTargets,
    check_alphas,
    make_splits,
    resolve_dtype,
    validate_fit_xy,
)


def _check_bands(bands: Any, n_features: int) -> list[slice]:
    sizes = [n_features] if bands is None else [int(b) for b in bands]
    if any(s <= 0 for s in sizes) or sum(sizes) != n_features:
        raise ValueError(
            f"bands must be positive sizes summing to n_features={n_features}; got {sizes}."
        )
    edges = np.concatenate([[0], np.cumsum(sizes)])
    return [slice(a, b) for a, b in zip(edges[:-1], edges[1:])]


class BandedRidgeCV(_LinearTargets, RegressorMixin, BaseEstimator):
    """Ridge with one penalty per feature space (band), chosen per target by CV.

    Parameters
    ----------
    bands : sequence of int or None
        Number of columns of each feature space, in the order of X's columns
        (e.g. ``[n_speech, n_text]``). ``None``: one band holding every column (then
        the model is :class:`RidgeCV`'s).
    alphas : sequence of float
        Global penalties tried for every band weighting.
    n_iter : int
        Band weightings tried (the first is uniform).
    concentration : float
        Dirichlet concentration of the random weightings.
    cv, fit_intercept, device, backend, dtype
        As in :class:`RidgeCV`.
    random_state : int or None

    Attributes
    ----------
    band_alphas_ : array of shape (n_bands, n_targets)
        Effective penalty of each band for each target (``alpha / gamma_b``).
    coef_ : array of shape (n_targets, n_features)
    intercept_ : array of shape (n_targets,)
    best_score_ : array of shape (n_targets,)
        Best mean validation R^2.
    """

    def __init__(
        self,
        bands: Any = None,
        alphas: Any = DEFAULT_ALPHAS,
        n_iter: int = 20,
        concentration: float = 1.0,
        cv: Any = 5,
        fit_intercept: bool = True,
        device: str = "cpu",
        backend: str | None = None,
        dtype: str | None = None,
        random_state: int | None = 0,
    ) -> None:
        self.bands = bands
        self.alphas = alphas
        self.n_iter = n_iter
        self.concentration = concentration
        self.cv = cv
        self.fit_intercept = fit_intercept
        self.device = device
        self.backend = backend
        self.dtype = dtype
        self.random_state = random_state

    def _gammas(self, n_bands: int) -> np.ndarray:
        if self.n_iter < 1:
            raise ValueError(f"n_iter must be >= 1; got {self.n_iter}.")
        rng = np.random.default_rng(self.random_state)
        gammas = rng.dirichlet(np.full(n_bands, self.concentration), size=self.n_iter)
        gammas[0] = 1.0 / n_bands
        return gammas

    def __sklearn_tags__(self):  # noqa: D105
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def fit(self, X: Any, Y: Any, groups: Any = None) -> BandedRidgeCV:
        """Fit the model.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)
            The feature spaces side by side.
        Y : array of shape (n_samples, n_targets)
        groups : array of shape (n_samples,) or None

        Returns
        -------
        self : BandedRidgeCV
        """
        dtype = resolve_dtype(self.dtype, X)
        alphas = check_alphas(self.alphas)
        X, Y, self._y_1d = validate_fit_xy(self, X, Y, dtype)
        slices = _check_bands(self.bands, X.shape[1])
        splits = make_splits(self.cv, X.shape[0], groups)
        be = get_backend(self.backend, self.device, dtype)
        n_targets = Y.shape[1]
        best = np.full(n_targets, -np.inf)
        coef = np.zeros((X.shape[1], n_targets), dtype=X.dtype)
        intercept = np.zeros(n_targets, dtype=X.dtype)
        band_alphas = np.zeros((len(slices), n_targets))
        for gamma in self._gammas(len(slices)):
            scale = np.concatenate([np.full(s.stop - s.start, np.sqrt(g))
                                    for s, g in zip(slices, gamma)]).astype(X.dtype)
            alpha_t, coef_g, icpt_g, cv_scores = solve_ridge_cv(
                be.asarray(X * scale), Y, alphas, splits, fit_intercept=self.fit_intercept,
                backend=be)
            score = cv_scores.max(axis=0)
            better = score > best
            best[better] = score[better]
            coef[:, better] = coef_g[:, better] * scale[:, None]
            intercept[better] = icpt_g[better]
            band_alphas[:, better] = alpha_t[better][None, :] / gamma[:, None]
        self.coef_, self.intercept_ = coef.T, intercept
        self.band_alphas_, self.best_score_ = band_alphas, best
        return self


__all__ = ["BandedRidgeCV"]
