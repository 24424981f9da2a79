"""Kernel ridge regression with the penalty chosen per target by cross-validation.

The dual form of ridge: with a kernel ``K`` (n_samples x n_samples) the dual
coefficients are ``(K + alpha I)^-1 Y`` and predictions ``K(X_new, X_fit) @ dual``.
One eigendecomposition of each training fold's kernel gives every alpha by matrix
products (as :func:`~neurodecode.encoding.solve_ridge_cv` does in the primal), with
targets in batches sized from ``max_memory``. The arithmetic and the selection
(mean validation R^2 over folds) are those of himalaya's ``KernelRidgeCV`` with
``solver_params={"score_func": himalaya.scoring.r2_score}``.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.metrics.pairwise import pairwise_kernels
from sklearn.utils.validation import check_is_fitted, validate_data
from tqdm.auto import tqdm

from .._backend import get_backend
from .._validation import check_finite, check_option, check_positive
from ._solvers import _select_alphas, stack_weights, stacked_r2, warn_zero_variance_folds
from .ridge import (
    DEFAULT_ALPHAS,
    check_alphas,
    make_splits,
    resolve_dtype,
    validate_fit_xy,
)
from .scoring import score_targets

logger = logging.getLogger("neurodecode")

#: Kernels by name (scikit-learn's ``pairwise_kernels`` metrics, as himalaya's).
KERNELS = ("linear", "polynomial", "poly", "rbf", "sigmoid", "cosine", "precomputed")
DEFAULT_MAX_MEMORY = 2**28  # bytes of stacked validation predictions per target batch


def center_kernel(K_train: Any, K_test: Any = None) -> tuple[Any, Any]:
    """Centre a kernel in feature space with the training samples' mean.

    Parameters
    ----------
    K_train : array of shape (n_train, n_train)
    K_test : array of shape (n_test, n_train) or None

    Returns
    -------
    K_train_c : array of shape (n_train, n_train)
    K_test_c : array of shape (n_test, n_train) or None
        ``(phi(x) - mu) . (phi(x_j) - mu)`` with ``mu`` the training mean, as
        scikit-learn's ``KernelCenterer``.
    """
    col = K_train.mean(0)
    total = col.mean()
    train = K_train - col[None, :] - col[:, None] + total
    if K_test is None:
        return train, None
    return train, K_test - K_test.mean(1)[:, None] - col[None, :] + total


def targets_batch(n_rows: int, n_targets: int, itemsize: int, max_memory: float) -> int:
    """Targets per batch so that ``n_rows`` stacked predictions per target fit in
    ``max_memory`` bytes; at least 1 (a target larger than the limit runs alone)."""
    return int(min(n_targets, max(1, max_memory // (n_rows * itemsize))))


def solve_kernel_ridge_cv(
    K, Y, alphas, splits, *, fit_intercept: bool = True, alpha_per_target: bool = True,
    max_memory: float = DEFAULT_MAX_MEMORY, backend=None, progress: bool = False,
):
    """Kernel ridge with the penalty chosen by cross-validated R^2.

    Parameters
    ----------
    K : array of shape (n_samples, n_samples)
        Kernel of the training samples (uncentred).
    Y : array of shape (n_samples, n_targets)
    alphas : array of shape (n_alphas,)
    splits : list of (train, val) index arrays
    fit_intercept : bool
        Centre the kernel and the targets with each fold's training means.
    alpha_per_target : bool
    max_memory : float
        Bytes of stacked validation predictions held at once; targets are processed
        in batches to stay under it (never refused: a batch has at least 1 target).
    backend : backend instance from :func:`~neurodecode.encoding._backend.get_backend`
    progress : bool

    Returns
    -------
    best_alphas : array of shape (n_targets,)
    dual_coef : array of shape (n_samples, n_targets)
    intercept : array of shape (n_targets,)
    cv_scores : array of shape (n_alphas, n_targets)
    """
    be = backend
    cv_scores, batch_size = kernel_cv_scores(K, Y, alphas, splits, fit_intercept, max_memory,
                                             be, progress)
    best = _select_alphas(cv_scores, np.asarray(alphas, dtype=float), alpha_per_target)
    dual, intercept = refit_kernel_ridge(be, K, Y, best, fit_intercept, batch_size)
    return best, dual, intercept, cv_scores


def kernel_cv_scores(K, Y, alphas, splits, fit_intercept: bool, max_memory: float, be,
                     progress: bool = False) -> tuple[np.ndarray, int]:
    """Validation R^2 (n_alphas, n_targets) averaged over folds, and the target batch
    size used (see :func:`solve_kernel_ridge_cv`)."""
    n_targets = Y.shape[1]
    alphas_t = be.asarray(alphas)
    low_rank = be.to_numpy(K[:1, :1]).dtype == np.float32
    folds = [_fold(be, K, be.index(tr), be.index(va), alphas_t, fit_intercept, low_rank)
             for tr, va in splits]
    rows = len(alphas) * max(len(va) for _, va in splits)
    batch_size = targets_batch(rows, n_targets, be.to_numpy(K[:1, :1]).itemsize, max_memory)
    buffers = (be.empty((rows * batch_size,)),
               be.empty((rows * batch_size,)) if low_rank else None)
    cv_scores, n_zero = np.empty((len(alphas), n_targets)), 0
    starts = range(0, n_targets, batch_size)
    for start in tqdm(starts, desc="kernel ridge CV (target batches)", disable=not progress):
        batch = slice(start, start + batch_size)
        Y_b = be.asarray(Y[:, batch])
        total = 0.0
        for train, val, evecs, operator, (mask, penalty) in folds:
            Y_tr = Y_b[train]
            y_mean = be.mean(Y_tr, 0) if fit_intercept else None
            B = evecs.T @ (Y_tr - y_mean if fit_intercept else Y_tr)
            r2, zero = stacked_r2(be, operator, B, Y_b[val], y_mean, len(alphas), buffers)
            total, n_zero = total + r2 * mask + penalty, max(n_zero, zero)
        cv_scores[:, batch] = be.to_numpy(total / len(folds))
    if n_zero:
        warn_zero_variance_folds(n_zero, stacklevel=5)
    return cv_scores, batch_size


def _fold(be, K, train, val, alphas, fit_intercept: bool, low_rank: bool):
    """One fold's eigenvectors, stacked validation operator and per-alpha validity.

    A kernel that is not positive semi-definite (e.g. sigmoid) has negative
    eigenvalues ``s``: an alpha below ``-2 min(s)`` would make ``K + alpha I`` (nearly)
    singular, and is scored -1e5 in that fold so that it is never chosen (as himalaya).
    """
    K_tr, K_va = K[train][:, train], K[val][:, train]
    if fit_intercept:
        K_tr, K_va = center_kernel(K_tr, K_va)
    evals, evecs = be.eigh64(K_tr)
    lowest, alphas_np = min(float(be.to_numpy(evals).min()), 0.0), be.to_numpy(alphas)
    valid = alphas_np >= -2 * lowest
    # the operator of an excluded alpha is computed with a safe one (its score is replaced)
    safe = be.asarray(np.where(valid, alphas_np, alphas_np.max() - 4 * lowest))
    penalty = be.asarray(np.where(valid, 0.0, -1e5))[:, None]
    mask = be.asarray(valid.astype(float))[:, None]
    operator = stack_weights(be, K_va @ evecs, evals, safe, low_rank)
    return train, val, evecs, operator, (mask, penalty)


def refit_kernel_ridge(be, K, Y, best: np.ndarray, fit_intercept: bool, batch_size: int):
    """Dual coefficients on all samples, one alpha per target, and the intercept."""
    K_c = center_kernel(K)[0] if fit_intercept else K
    evals, evecs = be.eigh64(K_c)  # not clipped: (K + alpha I)^-1 Y, exactly
    n_targets = Y.shape[1]
    dual = np.empty((K.shape[0], n_targets), dtype=be.to_numpy(K[:1, :1]).dtype)
    intercept = np.zeros(n_targets, dtype=dual.dtype)
    col_mean = K.mean(0)
    for start in range(0, n_targets, batch_size):
        batch = slice(start, start + batch_size)
        Y_b = be.asarray(Y[:, batch])
        y_mean = be.mean(Y_b, 0) if fit_intercept else None
        proj = evecs.T @ (Y_b - y_mean if fit_intercept else Y_b)
        dual_b = evecs @ (proj / (evals[:, None] + be.asarray(best[batch])[None, :]))
        if fit_intercept:
            # exactly, the dual coefficients sum to 0 (K_new's row means then drop out);
            # in float32 the centred kernel's null vector leaks in (weighted 1 / alpha)
            dual_b = dual_b - be.mean(dual_b, 0)
            intercept[batch] = be.to_numpy(y_mean - col_mean @ dual_b)
        dual[:, batch] = be.to_numpy(dual_b)
    return dual, intercept


class KernelRidgeCV(RegressorMixin, BaseEstimator):
    """Kernel ridge regression choosing the penalty by K-fold CV, per target.

    Parameters
    ----------
    alphas : sequence of float
        Candidate penalties (> 0).
    kernel : {"linear", "polynomial", "poly", "rbf", "sigmoid", "cosine", "precomputed"}
        With ``"precomputed"``, ``X`` is the kernel: (n_samples, n_samples) in ``fit``,
        (n_new, n_samples) in ``predict``.
    kernel_params : dict or None
        Keyword arguments of the kernel (e.g. ``{"gamma": 0.1}``), as in
        :func:`sklearn.metrics.pairwise.pairwise_kernels`.
    cv : int, "logo" or splitter
        As in :class:`~neurodecode.encoding.RidgeCV`.
    alpha_per_target : bool
    fit_intercept : bool
        Centre the kernel (in feature space) and the targets with training means.
    max_memory : float
        Bytes of stacked validation predictions (n_alphas x n_val x batch of targets)
        held at once; more targets than fit are processed in batches.
    device, backend, dtype, verbose
        As in :class:`~neurodecode.encoding.RidgeCV`.

    Attributes
    ----------
    dual_coef_ : array of shape (n_samples, n_targets)
    intercept_ : array of shape (n_targets,)
    alpha_ : array of shape (n_targets,)
    cv_scores_ : array of shape (n_alphas, n_targets)
        Validation R^2 averaged over folds, for every alpha.
    best_score_ : array of shape (n_targets,)
    X_fit_ : array of shape (n_samples, n_features) or None (precomputed kernel)
    """

    def __init__(
        self,
        alphas: Any = DEFAULT_ALPHAS,
        kernel: str = "linear",
        kernel_params: dict | None = None,
        cv: Any = 5,
        alpha_per_target: bool = True,
        fit_intercept: bool = True,
        max_memory: float = DEFAULT_MAX_MEMORY,
        device: str = "cpu",
        backend: str | None = None,
        dtype: str | None = None,
        verbose: bool = False,
    ) -> None:
        self.alphas = alphas
        self.kernel = kernel
        self.kernel_params = kernel_params
        self.cv = cv
        self.alpha_per_target = alpha_per_target
        self.fit_intercept = fit_intercept
        self.max_memory = max_memory
        self.device = device
        self.backend = backend
        self.dtype = dtype
        self.verbose = verbose

    def _kernel(self, X: np.ndarray, X_fit: np.ndarray | None) -> np.ndarray:
        if self.kernel == "precomputed":
            return X
        out = pairwise_kernels(X, X_fit, metric=self.kernel, **(self.kernel_params or {}))
        return out.astype(X.dtype, copy=False)

    def fit(self, X: Any, Y: Any, groups: Any = None) -> KernelRidgeCV:
        """Fit the model.

        Parameters
        ----------
        X : array of shape (n_samples, n_features), or (n_samples, n_samples) with
            ``kernel="precomputed"``
        Y : array of shape (n_samples, n_targets) or (n_samples,)
        groups : array of shape (n_samples,) or None

        Returns
        -------
        self : KernelRidgeCV
        """
        check_option("kernel", self.kernel, KERNELS)
        check_positive("max_memory", self.max_memory)
        dtype = resolve_dtype(self.dtype, X)
        alphas = check_alphas(self.alphas)
        X, Y, self._y_1d = validate_fit_xy(self, X, Y, dtype)
        if self.kernel == "precomputed" and X.shape[0] != X.shape[1]:
            raise ValueError(
                f"kernel='precomputed' needs X of shape (n_samples, n_samples); got {X.shape}."
            )
        splits = make_splits(self.cv, X.shape[0], groups)
        be = get_backend(self.backend, self.device, dtype)
        K = be.asarray(self._kernel(X, None))
        best, dual, intercept, cv_scores = solve_kernel_ridge_cv(
            K, Y, alphas, splits, fit_intercept=self.fit_intercept,
            alpha_per_target=self.alpha_per_target, max_memory=self.max_memory,
            backend=be, progress=self.verbose)
        self.X_fit_ = None if self.kernel == "precomputed" else X
        self.alpha_, self.dual_coef_, self.intercept_ = best, dual, intercept
        self.cv_scores_ = cv_scores
        self.best_score_ = cv_scores.max(0) if self.alpha_per_target else (
            cv_scores[np.argmax(cv_scores.mean(1))])
        logger.info("KernelRidgeCV: %d targets, median alpha %.3g", Y.shape[1], np.median(best))
        return self

    def __sklearn_tags__(self):  # noqa: D105
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.input_tags.pairwise = self.kernel == "precomputed"
        return tags

    def predict(self, X: Any) -> np.ndarray:
        """Predict targets.

        Parameters
        ----------
        X : array of shape (n_new, n_features), or (n_new, n_samples) precomputed

        Returns
        -------
        Y_pred : array of shape (n_new, n_targets) (or (n_new,) if fit on 1-D Y)
        """
        check_is_fitted(self, "dual_coef_")
        X = validate_data(self, X, reset=False, dtype=self.dual_coef_.dtype,
                          ensure_all_finite=False)
        check_finite("X", X, ("sample", "feature"))
        pred = self._kernel(X, self.X_fit_) @ self.dual_coef_ + self.intercept_
        return pred[:, 0] if self._y_1d else pred

    def score_targets(self, X: Any, Y: Any, metric: str = "r") -> np.ndarray:
        """One score per target of the prediction on ``X``.

        Parameters
        ----------
        X : array of shape (n_new, n_features), or (n_new, n_samples) precomputed
            Held-out stimulus features (or their kernel with the training samples).
        Y : array of shape (n_new, n_targets) or (n_new,)
            Held-out brain responses.
        metric : {"r", "r2"}
            Pearson correlation or coefficient of determination.

        Returns
        -------
        scores : array of shape (n_targets,)
            Score of each target.
        """
        return score_targets(np.asarray(Y), self.predict(X), metric)

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """Mean R^2 over targets (scikit-learn's ``score``).

        Parameters
        ----------
        X : array of shape (n_new, n_features), or (n_new, n_samples) precomputed
            Held-out stimulus features (or their kernel with the training samples).
        y : array of shape (n_new, n_targets) or (n_new,)
            Held-out brain responses.
        sample_weight : array of shape (n_new,) or None
            Weights of the samples; when given, scikit-learn's weighted R^2 (uniform
            average over targets) is returned.

        Returns
        -------
        score : float
            R^2 averaged over targets.
        """
        if sample_weight is not None:
            return super().score(X, y, sample_weight=sample_weight)
        return float(np.mean(self.score_targets(X, y, metric="r2")))


__all__ = ["DEFAULT_MAX_MEMORY", "KERNELS", "center_kernel", "kernel_cv_scores", "KernelRidgeCV",
           "refit_kernel_ridge", "solve_kernel_ridge_cv", "targets_batch"]
