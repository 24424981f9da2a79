"""Multi-target ridge with a cross-validated penalty per target (scikit-learn estimators)."""

from __future__ import annotations

import logging
import numbers
import warnings
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.model_selection import GroupKFold, KFold, LeaveOneGroupOut
from sklearn.utils.validation import check_is_fitted, validate_data

from .._backend import DTYPES, get_backend, resolve_dtype  # noqa: F401  (re-exported)
from .._validation import check_finite, check_option, check_shape
from ._solvers import RIDGE_SOLVERS
from .scoring import score_targets

logger = logging.getLogger("neurodecode")

DEFAULT_ALPHAS = tuple(np.logspace(-2, 10, 13))
def check_alphas(alphas: Any) -> np.ndarray:
    """Return ``alphas`` as a 1-D float array, raising if any is not finite and > 0."""
    arr = np.atleast_1d(np.asarray(alphas, dtype=float))
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"alphas must be a non-empty 1-D sequence of numbers; got {alphas!r}.")
    if not np.all(np.isfinite(arr)) or np.any(arr <= 0):
        raise ValueError(
            f"alphas must all be finite and > 0; got {arr.tolist()!r}. Use e.g. "
            "np.logspace(-2, 10, 13)."
        )
    return arr


def check_xy(X: Any, Y: Any, dtype: Any = np.float64) -> tuple[np.ndarray, np.ndarray, bool]:
    """Validate features and targets; return 2-D arrays and whether Y was 1-D."""
    X = check_shape("X", np.asarray(X, dtype=dtype), ("n_samples", "n_features"))
    Y = np.asarray(Y, dtype=dtype)
    y_1d = Y.ndim == 1
    Y = check_shape("Y", Y[:, None] if y_1d else Y, ("n_samples", "n_targets"))
    if X.shape[0] != Y.shape[0]:
        raise ValueError(
            f"X and Y must have the same number of samples; got X with {X.shape[0]} and Y "
            f"with {Y.shape[0]} rows."
        )
    check_finite("X", X, ("sample", "feature"))
    check_finite("Y", Y, ("sample", "target"))
    return X, Y, y_1d


def make_splits(cv: Any, n_samples: int, groups: Any = None) -> list[tuple[np.ndarray, np.ndarray]]:
    """Turn ``cv`` (int, ``"logo"`` or a splitter) into a list of (train, val) indices.

    An int gives ``KFold`` (contiguous folds) or, with ``groups``, ``GroupKFold``;
    ``"logo"`` gives leave-one-group-out (needs ``groups``).
    """
    dummy = np.zeros((n_samples, 1))
    if groups is not None:
        groups = np.asarray(groups)
        if groups.shape != (n_samples,):
            raise ValueError(
                f"groups must have shape ({n_samples},) (one label per sample); got "
                f"{groups.shape}."
            )
    if isinstance(cv, str):
        check_option("cv", cv, ["logo"])
        if groups is None:
            raise ValueError("cv='logo' (leave one group out) needs groups=; got None.")
        splitter = LeaveOneGroupOut()
        if len(np.unique(groups)) < 2:
            raise ValueError("cv='logo' needs at least 2 distinct groups; got 1.")
    elif isinstance(cv, numbers.Integral):
        n_folds = int(cv)
        if n_folds < 2:
            raise ValueError(f"cv must be >= 2 folds; got {n_folds}.")
        n_units = n_samples if groups is None else len(np.unique(groups))
        unit = "samples" if groups is None else "groups"
        if n_folds > n_units:
            raise ValueError(
                f"cv={n_folds} folds is more than the number of {unit} ({n_units}); use at "
                f"most {n_units} folds."
            )
        splitter = KFold(n_folds) if groups is None else GroupKFold(n_folds)
    elif hasattr(cv, "split"):
        splitter = cv
    else:
        raise TypeError(f"cv must be an int, 'logo' or a splitter with .split; got {cv!r}.")
    splits = [(np.asarray(tr), np.asarray(va)) for tr, va in splitter.split(dummy, None, groups)]
    for train, val in splits:
        if len(train) == 0 or len(val) == 0:
            raise ValueError(f"cv={cv!r} produced an empty train or validation set.")
        if len(val) < 2:
            raise ValueError(
                f"cv={cv!r} gives a validation fold of {len(val)} sample: R^2 (which chooses "
                "alpha) needs at least 2 samples per fold; use fewer folds (e.g. cv=5)."
            )
    return splits


def warn_constant_targets(Y: np.ndarray) -> np.ndarray:
    """Warn about targets with zero variance; return the boolean mask of them."""
    constant = np.ptp(Y, axis=0) == 0
    if constant.any():
        warnings.warn(
            f"{int(constant.sum())} target(s) have zero variance (e.g. index "
            f"{int(np.flatnonzero(constant)[0])}); they get zero coefficients and score 0.",
            UserWarning,
            stacklevel=3,
        )
    return constant


def check_predict_x(estimator: Any, X: Any) -> np.ndarray:
    """Validate ``X`` at predict time against the number of features seen in fit."""
    check_is_fitted(estimator, "coef_")
    X = validate_data(estimator, X, reset=False, dtype=estimator.coef_.dtype,
                      ensure_all_finite=False)
    check_finite("X", X, ("sample", "feature"))
    return X


def validate_fit_xy(estimator: Any, X: Any, Y: Any, dtype: Any):
    """scikit-learn's input validation, then neurodecode's messages for lengths and NaN."""
    n_x = X.shape[0] if hasattr(X, "shape") and len(X.shape) else None
    n_y = Y.shape[0] if hasattr(Y, "shape") and len(Y.shape) else None
    if n_x is not None and n_y is not None and n_x != n_y:
        raise ValueError(
            f"X and Y must have the same number of samples; got X with {n_x} and Y with "
            f"{n_y} rows."
        )
    for name, arr in (("X", X), ("Y", Y)):
        arr = arr if hasattr(arr, "dtype") else np.asarray(arr)
        if not hasattr(arr, "toarray") and arr.dtype.kind == "f":
            check_finite(name, np.asarray(arr))
    X, Y = validate_data(estimator, X, Y, multi_output=True, y_numeric=True, dtype=dtype,
                         ensure_all_finite=False, ensure_min_samples=2)
    return check_xy(X, Y, dtype)


class _LinearTargets:
    """``predict``, ``score_targets`` and ``score`` of a fitted linear model of many
    targets (``coef_`` of shape (n_targets, n_features), ``intercept_``), shared by
    :class:`RidgeCV` and :class:`~neurodecode.encoding.BandedRidgeCV`."""

    coef_: np.ndarray
    intercept_: np.ndarray
    _y_1d: bool

    def predict(self, X: Any) -> np.ndarray:
        """Predict targets.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)

        Returns
        -------
        Y_pred : array of shape (n_samples, n_targets) (or (n_samples,) if fit on 1-D Y)
        """
        X = check_predict_x(self, X)
        pred = X @ self.coef_.T + self.intercept_
        return pred[:, 0] if self._y_1d else pred

    def score_targets(self, X: Any, Y: Any, metric: str = "r") -> np.ndarray:
        """One score per target: Pearson ``"r"`` or ``"r2"``; constant targets score 0.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)
        Y : array of shape (n_samples, n_targets)
        metric : {"r", "r2"}

        Returns
        -------
        scores : array of shape (n_targets,)
        """
        pred = self.predict(X)
        return score_targets(np.asarray(Y), pred, metric=metric)

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """Mean R^2 over targets (scikit-learn's convention); y of shape (n_samples, n_targets).

        Parameters
        ----------
        X : array of shape (n_samples, n_features)
            The features.
        y : array of shape (n_samples, n_targets)
            The true targets.
        sample_weight : array of shape (n_samples,) or None
            Sample weights of scikit-learn's R^2 (then averaged uniformly over targets).

        Returns
        -------
        score : float
            The mean R^2 over targets.
        """
        if sample_weight is not None:  # scikit-learn's RegressorMixin.score
            from sklearn.metrics import r2_score

            return float(r2_score(y, self.predict(X), sample_weight=sample_weight))
        return float(np.mean(self.score_targets(X, y, metric="r2")))


class RidgeCV(_LinearTargets, RegressorMixin, BaseEstimator):
    """Multi-target ridge regression choosing the penalty by K-fold CV, per target.

    One eigendecomposition per fold; every alpha and target is evaluated with matrix
    products, targets in batches, on numpy or torch (CPU or GPU).

    Parameters
    ----------
    alphas : sequence of float
        Candidate penalties (> 0).
    cv : int, "logo" or splitter
        Folds: an int gives contiguous K-fold (grouped K-fold when ``groups`` is
        passed to ``fit``); ``"logo"`` leaves one group out; or any scikit-learn
        splitter.
    alpha_per_target : bool
        Choose one alpha per target (True) or one shared alpha.
    fit_intercept : bool
        Fit an intercept (centre X and Y with training means).
    device : str
        Torch device (``"cpu"``, ``"cuda"``); anything but ``"cpu"`` uses torch.
    backend : {"numpy", "torch"} or None
        None picks numpy on the CPU and torch elsewhere.
    dtype : {"float64", "float32"} or None
        Working precision (the decompositions are always in float64). None (default)
        keeps the input's: float32 ``X`` is fitted in float32 (about twice as fast),
        anything else in float64.
    n_targets_batch : int or None
        Targets processed together (memory); None chooses automatically.
    verbose : bool
        Show a progress bar over target batches.

    Attributes
    ----------
    alpha_ : array of shape (n_targets,)
    coef_ : array of shape (n_targets, n_features)
    intercept_ : array of shape (n_targets,)
    cv_scores_ : array of shape (n_alphas, n_targets)
        Validation R^2 averaged over folds for every alpha.
    best_score_ : array of shape (n_targets,)
        Validation R^2 at the chosen alpha.

    Examples
    --------
    >>> import numpy as np
    >>> from neurodecode.encoding import RidgeCV
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((100, 5))
    >>> Y = X @ rng.standard_normal((5, 3))
    >>> RidgeCV(alphas=[0.1, 1.0]).fit(X, Y).predict(X).shape
    (100, 3)
    """

    def __init__(
        self,
        alphas: Any = DEFAULT_ALPHAS,
        cv: Any = 5,
        alpha_per_target: bool = True,
        fit_intercept: bool = True,
        device: str = "cpu",
        backend: str | None = None,
        dtype: str | None = None,
        n_targets_batch: int | None = None,
        verbose: bool = False,
    ) -> None:
        self.alphas = alphas
        self.cv = cv
        self.alpha_per_target = alpha_per_target
        self.fit_intercept = fit_intercept
        self.device = device
        self.backend = backend
        self.dtype = dtype
        self.n_targets_batch = n_targets_batch
        self.verbose = verbose

    def fit(self, X: Any, Y: Any, groups: Any = None) -> RidgeCV:
        """Fit the model.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)
        Y : array of shape (n_samples, n_targets) or (n_samples,)
        groups : array of shape (n_samples,) or None
            Group (e.g. run) of each sample, for grouped or leave-one-group-out CV.

        Returns
        -------
        self : RidgeCV
        """
        dtype = resolve_dtype(self.dtype, X)
        alphas = check_alphas(self.alphas)
        X, Y, self._y_1d = validate_fit_xy(self, X, Y, dtype)
        splits = make_splits(self.cv, X.shape[0], groups)
        constant = warn_constant_targets(Y)
        be = get_backend(self.backend, self.device, dtype)
        best, coef, intercept, cv_scores = RIDGE_SOLVERS["eigh"](
            be.asarray(X), Y, alphas, splits,
            fit_intercept=self.fit_intercept, alpha_per_target=self.alpha_per_target,
            n_targets_batch=self.n_targets_batch, backend=be, progress=self.verbose,
        )
        coef[:, constant], intercept[constant] = 0.0, Y[0, constant]
        self.alpha_ = best
        self.coef_ = coef.T
        self.intercept_ = intercept
        self.cv_scores_ = cv_scores
        self.best_score_ = cv_scores.max(axis=0) if self.alpha_per_target else (
            cv_scores[np.argmax(cv_scores.mean(1))])
        logger.info("RidgeCV: %d targets, median alpha %.3g", Y.shape[1], np.median(best))
        return self

    def __sklearn_tags__(self):  # noqa: D105
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags


__all__ = ["DEFAULT_ALPHAS", "DTYPES", "check_alphas", "check_predict_x", "check_xy",
           "make_splits", "resolve_dtype", "RidgeCV", "validate_fit_xy", "warn_constant_targets"]
