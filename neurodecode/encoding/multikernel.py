"""Multiple-kernel ridge: one kernel per feature space, weighted per target (random search).

With kernels ``K_1..K_m`` (one per feature space, e.g. speech-model and word
features), the model's kernel is ``sum_i gamma_i K_i`` with ``gamma`` on the simplex,
and the penalty ``alpha``. Kernel weightings are drawn from a Dirichlet distribution
(the first uniform); for each, every alpha is scored by cross-validated R^2 with
:func:`~neurodecode.encoding.kernel.kernel_cv_scores`; each target keeps its best
(gamma, alpha). As himalaya's ``MultipleKernelRidgeCV(solver="random_search")``, whose
``deltas_ = log(gamma / alpha)`` and ``dual_coef_`` (scaled by alpha) are given too.
Predictions split into one part per feature space, and so does R^2
(:func:`r2_score_split`, the product measure).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.metrics.pairwise import pairwise_kernels
from sklearn.utils.validation import check_is_fitted, validate_data

from .._backend import get_backend
from .._validation import check_finite, check_option, check_positive
from .banded import _check_bands
from .hypergradient import refit_weighted_kernel_ridge, solve_multiple_kernel_ridge_hyper_gradient
from .kernel import DEFAULT_MAX_MEMORY, KERNELS, kernel_cv_scores, refit_kernel_ridge
from .ridge import DEFAULT_ALPHAS, check_alphas, make_splits, resolve_dtype, validate_fit_xy

SOLVERS = ("random_search", "hyper_gradient")


def r2_score_split(y_true: Any, y_pred: Any) -> np.ndarray:
    """R^2 of each part of a sum of predictions (product measure), as himalaya's.

    ``R2_i = sum_t (2 y_t yhat_i,t - yhat_i,t * yhat_t) / sum_t y_t^2`` with ``yhat``
    the sum of the parts: the parts' scores add up to the R^2 of the sum when
    ``y_true`` has zero mean.

    Parameters
    ----------
    y_true : array of shape (n_samples, n_targets)
        Zero-mean targets (subtract the intercept first).
    y_pred : array of shape (n_parts, n_samples, n_targets)

    Returns
    -------
    r2 : array of shape (n_parts, n_targets)
    """
    y_true, y_pred = np.asarray(y_true, float), np.asarray(y_pred, float)
    if y_pred.ndim != 3 or y_pred.shape[1:] != y_true.shape:
        raise ValueError(
            f"y_pred must have shape (n_parts, {', '.join(map(str, y_true.shape))}); got "
            f"{y_pred.shape}."
        )
    total = y_pred.sum(0)
    sst = (y_true**2).sum(0)
    return ((2 * y_true[None] - total[None]) * y_pred).sum(1) / sst


def _gammas(n_iter: Any, n_kernels: int, concentration: float, seed: int | None) -> np.ndarray:
    """Kernel weightings (n_iter, n_kernels): given rows, or Dirichlet draws (first uniform)."""
    if not isinstance(n_iter, int | np.integer):
        gammas = np.asarray(n_iter, dtype=float)
        if gammas.ndim != 2 or gammas.shape[1] != n_kernels or np.any(gammas < 0):
            raise ValueError(
                f"n_iter must be an int or an array (n_iter, {n_kernels}) of non-negative "
                f"kernel weights; got shape {gammas.shape}."
            )
        return gammas
    if n_iter < 1:
        raise ValueError(f"n_iter must be >= 1; got {n_iter}.")
    rng = np.random.default_rng(seed)
    gammas = rng.dirichlet(np.full(n_kernels, concentration), size=int(n_iter))
    gammas[0] = 1.0 / n_kernels
    return gammas


def solve_multiple_kernel_ridge_random_search(
    Ks, Y, gammas, alphas, splits, *, fit_intercept: bool = True,
    max_memory: float = DEFAULT_MAX_MEMORY, backend=None,
):
    """Best kernel weighting and alpha per target, then the refit.

    Parameters
    ----------
    Ks : array of shape (n_kernels, n_samples, n_samples)
    Y : array of shape (n_samples, n_targets)
    gammas : array of shape (n_iter, n_kernels)
    alphas : array of shape (n_alphas,)
    splits : list of (train, val) index arrays
    fit_intercept, max_memory, backend
        As in :func:`~neurodecode.encoding.kernel.solve_kernel_ridge_cv`.

    Returns
    -------
    best_gammas : array of shape (n_kernels, n_targets)
    best_alphas : array of shape (n_targets,)
    dual : array of shape (n_samples, n_targets)
        ``(sum_i gamma_i K_i + alpha I)^-1 Y`` (centred with ``fit_intercept``).
    intercept : array of shape (n_targets,)
    cv_scores : array of shape (n_iter, n_targets)
        Best validation R^2 over alphas, for each weighting.
    """
    be = backend
    n_targets = Y.shape[1]
    alphas = np.asarray(alphas, dtype=float)
    eps = np.finfo(be.to_numpy(Ks[0][:1, :1]).dtype).eps
    best_score, choice = np.full(n_targets, -np.inf), np.zeros(n_targets, int)
    best_alphas = np.ones(n_targets)
    cv_scores = np.empty((len(gammas), n_targets))
    for i, gamma in enumerate(gammas):
        K = sum(float(g) * Ks[k] for k, g in enumerate(gamma))
        scores, batch_size = kernel_cv_scores(K, Y, alphas, splits, fit_intercept, max_memory,
                                              be)
        cv_scores[i] = scores.max(0)
        better = cv_scores[i] > best_score + eps
        best_score[better], choice[better] = cv_scores[i][better], i
        best_alphas[better] = alphas[np.argmax(scores, axis=0)][better]
    dual = np.empty((Y.shape[0], n_targets), dtype=be.to_numpy(Ks[0][:1, :1]).dtype)
    intercept = np.empty(n_targets, dtype=dual.dtype)
    for i in np.unique(choice):
        cols = np.flatnonzero(choice == i)
        K = sum(float(g) * Ks[k] for k, g in enumerate(gammas[i]))
        dual[:, cols], intercept[cols] = refit_kernel_ridge(
            be, K, Y[:, cols], best_alphas[cols], fit_intercept, batch_size)
    return gammas[choice].T, best_alphas, dual, intercept, cv_scores


class MultipleKernelRidgeCV(RegressorMixin, BaseEstimator):
    """Kernel ridge with one kernel per feature space, weighted per target by CV.

    Parameters
    ----------
    bands : sequence of int, or None
        Columns of each feature space in ``X`` (side by side); None: one feature space
        of all columns. Unused with ``kernel="precomputed"`` (``X`` then has shape
        (n_kernels, n_samples, n_samples)).
    kernel : str
        Kernel of every feature space (see :data:`~neurodecode.encoding.KERNELS`).
    alphas : sequence of float
    n_iter : int or array of shape (n_iter, n_kernels)
        Kernel weightings tried: that many Dirichlet draws (the first uniform), or
        the weightings themselves.
    concentration : float
        Dirichlet concentration.
    solver : {"random_search", "hyper_gradient"}
        ``"hyper_gradient"`` starts from the random search's choice and descends the
        CV squared error's exact gradient in the log kernel weights for ``max_iter``
        steps (:mod:`~neurodecode.encoding.hypergradient`): weightings between the
        random draws, at one linear solve per target, fold and step (float64, CPU;
        targets in batches under ``max_memory``).
    max_iter : int
        Gradient steps of ``"hyper_gradient"``.
    cv, fit_intercept, max_memory, device, backend, dtype
        As in :class:`~neurodecode.encoding.KernelRidgeCV`.
    random_state : int or None

    Attributes
    ----------
    kernel_weights_ : array of shape (n_kernels, n_targets)
        Chosen ``gamma`` (on the simplex) of each target.
    alpha_ : array of shape (n_targets,)
    deltas_ : array of shape (n_kernels, n_targets)
        ``log(gamma / alpha)``, himalaya's parametrisation.
    dual_coef_ : array of shape (n_samples, n_targets)
        ``(sum_i gamma_i K_i + alpha I)^-1 Y``.
    intercept_ : array of shape (n_targets,)
    n_iter_ : int
        Weightings tried (random search) or gradient steps (hyper-gradient).
    cv_scores_ : array of shape (n_iter, n_targets) or (max_iter + 1, n_targets)
        Random search: best validation R^2 of each weighting; hyper-gradient: mean
        validation R^2 at the start and after each step.
    """

    def __init__(
        self,
        bands: Any = None,
        kernel: str = "linear",
        alphas: Any = DEFAULT_ALPHAS,
        n_iter: Any = 20,
        concentration: float = 1.0,
        solver: str = "random_search",
        max_iter: int = 10,
        cv: Any = 5,
        fit_intercept: bool = True,
        max_memory: float = DEFAULT_MAX_MEMORY,
        device: str = "cpu",
        backend: str | None = None,
        dtype: str | None = None,
        random_state: int | None = 0,
    ) -> None:
        self.bands = bands
        self.kernel = kernel
        self.alphas = alphas
        self.n_iter = n_iter
        self.concentration = concentration
        self.solver = solver
        self.max_iter = max_iter
        self.cv = cv
        self.fit_intercept = fit_intercept
        self.max_memory = max_memory
        self.device = device
        self.backend = backend
        self.dtype = dtype
        self.random_state = random_state

    def _kernels(self, X: np.ndarray, X_fit: np.ndarray | None) -> np.ndarray:
        if self.kernel == "precomputed":
            return X
        return np.stack([pairwise_kernels(X[:, s], None if X_fit is None else X_fit[:, s],
                                          metric=self.kernel).astype(X.dtype, copy=False)
                         for s in self._slices])

    def _check_input(self, X: Any) -> Any:
        """A precomputed kernel as a 3-D array; other ``X`` as given (validated later)."""
        if self.kernel != "precomputed":
            return X
        X = np.asarray(X)
        if X.ndim != 3:
            raise ValueError(
                "kernel='precomputed' needs X of shape (n_kernels, n_samples, n_samples) "
                f"(fit) or (n_kernels, n_new, n_samples) (predict); got {X.shape}."
            )
        return X

    def fit(self, X: Any, Y: Any, groups: Any = None) -> MultipleKernelRidgeCV:
        """Fit the model.

        Parameters
        ----------
        X : array of shape (n_samples, n_features), the feature spaces side by side,
            or (n_kernels, n_samples, n_samples) with ``kernel="precomputed"``
        Y : array of shape (n_samples, n_targets) or (n_samples,)
        groups : array of shape (n_samples,) or None

        Returns
        -------
        self : MultipleKernelRidgeCV
        """
        check_option("kernel", self.kernel, KERNELS)
        check_option("solver", self.solver, SOLVERS)
        check_positive("max_memory", self.max_memory)
        alphas = check_alphas(self.alphas)
        dtype = resolve_dtype(self.dtype, X)
        X = self._check_input(X)
        precomputed = self.kernel == "precomputed"
        flat = X[0] if precomputed else X
        flat, Y, self._y_1d = validate_fit_xy(self, flat, Y, dtype)
        if not precomputed:
            bands = [flat.shape[1]] if self.bands is None else self.bands
            self._slices = _check_bands(bands, flat.shape[1])
        Ks = self._kernels(X.astype(dtype) if precomputed else flat, None)
        gammas = _gammas(self.n_iter, len(Ks), self.concentration, self.random_state)
        be = get_backend(self.backend, self.device, dtype)
        splits = make_splits(self.cv, Y.shape[0], groups)
        weights, best, dual, intercept, cv_scores = solve_multiple_kernel_ridge_random_search(
            be.asarray(Ks), Y, gammas, alphas, splits, fit_intercept=self.fit_intercept,
            max_memory=self.max_memory, backend=be)
        if self.solver == "hyper_gradient":
            weights, best, dual, intercept, cv_scores = self._descend(
                Ks, Y, np.log(weights / best[None, :]), splits)
        self.X_fit_ = None if self.kernel == "precomputed" else flat
        self.kernel_weights_, self.alpha_ = weights, best
        self.deltas_ = np.log(weights / best[None, :])
        self.dual_coef_, self.intercept_, self.cv_scores_ = dual, intercept, cv_scores
        self.n_iter_ = len(gammas) if self.solver == "random_search" else self.max_iter
        return self

    def __sklearn_tags__(self):  # noqa: D105
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def _descend(self, Ks, Y, deltas, splits):
        """Hyper-gradient refinement of ``deltas`` by batches of targets; our parameters."""
        if self.max_iter < 1:
            raise ValueError(f"max_iter must be >= 1; got {self.max_iter}.")
        n = Ks.shape[1]
        size = int(max(1, min(Y.shape[1], self.max_memory // (4 * n * n * 8))))
        dual, intercept = np.empty(Y.shape), np.empty(Y.shape[1])
        cv_scores = np.empty((self.max_iter + 1, Y.shape[1]))
        for start in range(0, Y.shape[1], size):
            b = slice(start, start + size)
            deltas[:, b], cv_scores[:, b] = solve_multiple_kernel_ridge_hyper_gradient(
                Ks, Y[:, b], deltas[:, b], splits, fit_intercept=self.fit_intercept,
                max_iter=self.max_iter)
            dual[:, b], intercept[b] = refit_weighted_kernel_ridge(
                Ks, Y[:, b], deltas[:, b], self.fit_intercept)
        alpha = 1.0 / np.exp(deltas).sum(0)
        dtype = np.asarray(Ks).dtype
        return (np.exp(deltas) * alpha, alpha, (dual / alpha).astype(dtype),
                intercept.astype(dtype), cv_scores)

    def predict(self, X: Any, split: bool = False) -> np.ndarray:
        """Predict targets, or each feature space's part of the prediction.

        Parameters
        ----------
        X : array of shape (n_new, n_features), or (n_kernels, n_new, n_samples)
        split : bool
            Return the parts ``gamma_i K_i(X, X_fit) @ dual`` (without the intercept).

        Returns
        -------
        Y_pred : array of shape (n_new, n_targets), or (n_kernels, n_new, n_targets)
            with ``split`` (a target axis dropped if fit on 1-D Y)
        """
        check_is_fitted(self, "dual_coef_")
        if self.kernel == "precomputed":
            X = self._check_input(X).astype(self.dual_coef_.dtype, copy=False)
            if X.shape[0] != len(self.kernel_weights_) or X.shape[2] != len(self.dual_coef_):
                raise ValueError(
                    f"X must have shape ({len(self.kernel_weights_)}, n_new, "
                    f"{len(self.dual_coef_)}) (kernels against the fitted samples); got "
                    f"{X.shape}."
                )
        else:
            X = validate_data(self, X, reset=False, dtype=self.dual_coef_.dtype,
                              ensure_all_finite=False)
            check_finite("X", X, ("sample", "feature"))
        Ks = self._kernels(X, self.X_fit_)
        parts = self.kernel_weights_[:, None, :] * (Ks @ self.dual_coef_)
        out = parts if split else parts.sum(0) + self.intercept_
        return out[..., 0] if self._y_1d else out

    def score_split(self, X: Any, Y: Any) -> np.ndarray:
        """R^2 of each feature space (product measure, summing to the joint R^2).

        As himalaya's ``score(X, y, split=True)``: the intercept is subtracted from
        ``Y`` and the parts scored with :func:`r2_score_split`.

        Parameters
        ----------
        X : array of shape (n_new, n_features), or (n_kernels, n_new, n_samples)
            Held-out stimulus features (or each space's kernel with the training samples).
        Y : array of shape (n_new, n_targets) or (n_new,)
            Held-out brain responses.

        Returns
        -------
        r2 : array of shape (n_kernels, n_targets)
            Each feature space's share of the joint R^2 of each target.
        """
        parts = self.predict(X, split=True)
        Y = np.asarray(Y, dtype=float)
        if self._y_1d:
            parts, Y = parts[..., None], Y[:, None]
        return r2_score_split(Y - self.intercept_, parts)


__all__ = ["SOLVERS", "MultipleKernelRidgeCV", "r2_score_split",
           "solve_multiple_kernel_ridge_random_search"]
