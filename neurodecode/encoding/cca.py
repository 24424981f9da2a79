"""Canonical correlation analysis between brain and model features, cross-validated.

CCA finds weight pairs ``(a_k, b_k)`` maximising ``corr(X a_k, Y b_k)`` with each
component uncorrelated with the earlier ones (Hotelling 1936, Biometrika 28(3/4)).
It is solved in closed form by the SVD of the whitened cross-covariance, with optional
shrinkage of each covariance towards its mean variance (regularised CCA, Vinod 1976;
as used to align brain signals with language-model features, e.g. the MTAM study,
"Can Brain Signals Reveal Inner Alignment with Human Languages?"). Cross-validated
canonical correlations are computed on held-out samples and tested against a null of
permuted (or circularly shifted) pairings.

Example
-------
>>> import numpy as np
>>> from neurodecode.encoding import CCA
>>> rng = np.random.default_rng(0)
>>> z = rng.standard_normal((500, 1))
>>> X = np.c_[z, rng.standard_normal((500, 4))]
>>> Y = np.c_[rng.standard_normal((500, 3)), z + 0.5 * rng.standard_normal((500, 1))]
>>> round(float(CCA(n_components=1).fit(X, Y).correlations_[0]), 1)
0.9
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from .._validation import check_finite
from .ridge import make_splits


def _check_xy(X: Any, Y: Any) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(X, dtype=np.float64)
    y = np.asarray(Y, dtype=np.float64)
    x = x[:, None] if x.ndim == 1 else x
    y = y[:, None] if y.ndim == 1 else y
    if x.ndim != 2 or y.ndim != 2 or x.shape[0] != y.shape[0]:
        raise ValueError(
            "X and Y must have shapes (n_samples, n_features_x) and (n_samples, n_features_y) "
            f"with the same n_samples; got {x.shape} and {y.shape}."
        )
    check_finite("X", x, ("sample", "feature"))
    check_finite("Y", y, ("sample", "feature"))
    return x, y


def _check_components(n_components: int, n_samples: int, n_x: int, n_y: int) -> int:
    limit = min(n_samples - 1, n_x, n_y)
    if not isinstance(n_components, int | np.integer) or n_components < 1:
        raise ValueError(f"n_components must be a positive int; got {n_components!r}.")
    if n_components > limit:
        raise ValueError(
            f"n_components={n_components} is more than CCA can estimate from {n_samples} "
            f"samples, {n_x} X features and {n_y} Y features (at most min(n_samples - 1, "
            f"n_features_x, n_features_y) = {limit}); pass n_components <= {limit}."
        )
    return int(n_components)


def _inv_sqrt(cov: np.ndarray, reg: float) -> np.ndarray:
    """(Shrunk) covariance to the power -1/2; null directions get 0."""
    if not 0.0 <= reg <= 1.0:
        raise ValueError(f"reg must be in [0, 1] (shrinkage towards the mean variance); got {reg!r}.")
    shrunk = (1 - reg) * cov + reg * np.mean(np.diag(cov)) * np.eye(len(cov))
    vals, vecs = np.linalg.eigh(shrunk)
    keep = vals > vals.max() * 1e-10
    return (vecs[:, keep] / np.sqrt(vals[keep])) @ vecs[:, keep].T


class CCA(TransformerMixin, BaseEstimator):
    """Regularised canonical correlation analysis, solved in closed form.

    Parameters
    ----------
    n_components : int
        Number of canonical pairs, at most ``min(n_samples - 1, n_features_x,
        n_features_y)``.
    reg_x, reg_y : float
        Shrinkage in [0, 1] of the X and Y covariances towards their mean variance
        (0: classical CCA; needed when features outnumber samples).

    Attributes
    ----------
    x_weights_ : array of shape (n_features_x, n_components)
    y_weights_ : array of shape (n_features_y, n_components)
    x_mean_, y_mean_ : arrays of shape (n_features_x,) and (n_features_y,)
    correlations_ : array of shape (n_components,)
        In-sample canonical correlations, decreasing.
    """

    def __init__(self, n_components: int = 1, reg_x: float = 0.0, reg_y: float = 0.0) -> None:
        self.n_components = n_components
        self.reg_x = reg_x
        self.reg_y = reg_y

    def fit(self, X: Any, Y: Any) -> CCA:
        """Fit the canonical weights.

        Parameters
        ----------
        X : array of shape (n_samples, n_features_x)
        Y : array of shape (n_samples, n_features_y)

        Returns
        -------
        self : CCA
        """
        x, y = _check_xy(X, Y)
        k = _check_components(self.n_components, x.shape[0], x.shape[1], y.shape[1])
        self.x_mean_, self.y_mean_ = x.mean(0), y.mean(0)
        xc, yc = x - self.x_mean_, y - self.y_mean_
        n = x.shape[0] - 1
        wx = _inv_sqrt(xc.T @ xc / n, self.reg_x)
        wy = _inv_sqrt(yc.T @ yc / n, self.reg_y)
        u, s, vt = np.linalg.svd(wx @ (xc.T @ yc / n) @ wy, full_matrices=False)
        self.x_weights_, self.y_weights_ = wx @ u[:, :k], wy @ vt[:k].T
        self.correlations_ = s[:k]
        return self

    def transform(self, X: Any, Y: Any = None) -> Any:
        """Canonical variates ``X a`` (and ``Y b`` when ``Y`` is given).

        Parameters
        ----------
        X : array of shape (n_samples, n_features_x)
            Centred with the training mean ``x_mean_`` before projection.
        Y : array of shape (n_samples, n_features_y) or None
            Centred with ``y_mean_``; ``None`` returns the X variates only.

        Returns
        -------
        x_scores : array of shape (n_samples, n_components)
        y_scores : array of shape (n_samples, n_components)
            Only when ``Y`` is given (then a tuple ``(x_scores, y_scores)`` is returned).
        """
        check_is_fitted(self, "x_weights_")
        x = np.asarray(X, dtype=np.float64)
        x_scores = (x[:, None] if x.ndim == 1 else x) - self.x_mean_
        x_scores = x_scores @ self.x_weights_
        if Y is None:
            return x_scores
        y = np.asarray(Y, dtype=np.float64)
        return x_scores, ((y[:, None] if y.ndim == 1 else y) - self.y_mean_) @ self.y_weights_

    def score(self, X: Any, Y: Any) -> np.ndarray:
        """Correlation of each pair of canonical variates on (held-out) data.

        Parameters
        ----------
        X : array of shape (n_samples, n_features_x)
        Y : array of shape (n_samples, n_features_y)

        Returns
        -------
        correlations : array of shape (n_components,)
            Pearson correlation of ``X a_k`` with ``Y b_k`` per component (0 where a
            variate is constant).
        """
        xs, ys = self.transform(X, Y)
        xs, ys = xs - xs.mean(0), ys - ys.mean(0)
        denom = np.sqrt((xs**2).sum(0) * (ys**2).sum(0))
        return np.where(denom > 0, (xs * ys).sum(0) / np.where(denom > 0, denom, 1), 0.0)


@dataclass(frozen=True)
class CCAResult:
    """Result of :func:`cross_validated_cca`.

    Parameters
    ----------
    fold_correlations : array of shape (n_folds, n_components)
        Held-out correlation of each canonical pair in each fold.
    correlations : array of shape (n_components,)
        Mean over folds.
    null : array of shape (n_permutations, n_components) or None
        Mean held-out correlations with the pairing of X and Y broken.
    pvalue : array of shape (n_components,) or None
        ``(1 + #{null >= observed}) / (1 + n_permutations)``.
    """

    fold_correlations: np.ndarray
    correlations: np.ndarray
    null: np.ndarray | None
    pvalue: np.ndarray | None


def _cv_scores(x: np.ndarray, y: np.ndarray, splits: list, model: CCA) -> np.ndarray:
    return np.stack([CCA(model.n_components, model.reg_x, model.reg_y).fit(x[tr], y[tr])
                     .score(x[te], y[te]) for tr, te in splits])


def cross_validated_cca(
    X: Any,
    Y: Any,
    n_components: int = 1,
    *,
    reg_x: float = 0.0,
    reg_y: float = 0.0,
    cv: Any = 5,
    groups: Any = None,
    n_permutations: int = 0,
    null: str = "shift",
    seed: int | None = 0,
) -> CCAResult:
    """Held-out canonical correlations, with a permutation test.

    Parameters
    ----------
    X : array of shape (n_samples, n_features_x)
        E.g. brain responses (trials or time points x channels/voxels).
    Y : array of shape (n_samples, n_features_y)
        E.g. model features for the same samples.
    n_components : int
    reg_x, reg_y : float
        Shrinkage (see :class:`CCA`).
    cv : int, "logo" or splitter
        Folds as :class:`RidgeCV` (an int: contiguous K-fold).
    groups : array of shape (n_samples,) or None
        Group of each sample (e.g. run), for grouped folds.
    n_permutations : int
        Null draws; 0 skips the test.
    null : {"shift", "shuffle"}
        ``"shift"`` circularly shifts the rows of Y (keeps autocorrelation: time series);
        ``"shuffle"`` permutes them (independent trials).
    seed : int or None

    Returns
    -------
    result : CCAResult
    """
    x, y = _check_xy(X, Y)
    model = CCA(n_components, reg_x, reg_y)
    splits = make_splits(cv, x.shape[0], groups)
    _check_components(n_components, min(len(tr) for tr, _ in splits), x.shape[1], y.shape[1])
    folds = _cv_scores(x, y, splits, model)
    observed = folds.mean(0)
    if n_permutations < 1:
        return CCAResult(folds, observed, None, None)
    if null not in ("shift", "shuffle"):
        raise ValueError(f"null={null!r} is not valid; expected 'shift' or 'shuffle'.")
    rng = np.random.default_rng(seed)
    n = x.shape[0]
    draws = np.empty((n_permutations, len(observed)))
    for k in range(n_permutations):
        order = np.roll(np.arange(n), rng.integers(1, n)) if null == "shift" else rng.permutation(n)
        draws[k] = _cv_scores(x, y[order], splits, model).mean(0)
    pvalue = (1 + (draws >= observed[None]).sum(0)) / (1 + n_permutations)
    return CCAResult(folds, observed, draws, pvalue)


__all__ = ["CCA", "CCAResult", "cross_validated_cca"]
