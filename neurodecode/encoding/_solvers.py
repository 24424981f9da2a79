"""Plain ridge solvers: one eigendecomposition per fold, all alphas and targets by matmuls.

For a training set ``(X, Y)`` centred when ``fit_intercept``, ridge with penalty
``alpha`` has coefficients ``V diag(1 / (s + alpha)) V^T X^T Y`` where
``X^T X = V diag(s) V^T`` (primal, ``n_features <= n_samples``), or
``X^T U diag(1 / (s + alpha)) U^T Y`` where ``X X^T = U diag(s) U^T`` (dual).
Validation predictions for every alpha are ``A diag(1 / (s + alpha)) B`` with
``A = X_val V`` and ``B = V^T X^T Y`` (or ``A = X_val X^T U`` and ``B = U^T Y``), so the
alphas of a fold share one decomposition and one stacked matrix product per batch of
targets. The decomposition is computed in float64; the products in the working dtype.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
from tqdm.auto import tqdm

logger = logging.getLogger("neurodecode")


@dataclass
class _Decomposition:
    """Eigendecomposition of one training set (primal or dual)."""

    evals: Any  # (k,)
    evecs: Any  # (p, k) primal or (n_train, k) dual
    x_mean: Any  # (p,) or None
    dual: bool
    x_train: Any = None  # centred training X (dual only)


def _decompose(be, X_train, fit_intercept: bool) -> _Decomposition:
    x_mean = be.mean(X_train, 0) if fit_intercept else None
    Xc = X_train - x_mean if fit_intercept else X_train
    n_train, n_features = Xc.shape
    dual = n_features > n_train
    gram = Xc @ Xc.T if dual else Xc.T @ Xc
    evals, evecs = be.eigh64(gram)
    evals = evals.clip(min=0) if be.name == "torch" else np.clip(evals, 0, None)
    return _Decomposition(evals, evecs, x_mean, dual, Xc if dual else None)


def _project(be, dec: _Decomposition, X_train, Y_train, XtY=None):
    """Return ``B`` (k, n_targets) and the training mean of Y for one batch of targets."""
    y_mean = be.mean(Y_train, 0) if dec.x_mean is not None else None
    if dec.dual:
        Yc = Y_train - y_mean if y_mean is not None else Y_train
        return dec.evecs.T @ Yc, y_mean
    if XtY is None:
        XtY = X_train.T @ Y_train
    if y_mean is not None:
        XtY = XtY - X_train.shape[0] * (dec.x_mean[:, None] * y_mean[None, :])
    return dec.evecs.T @ XtY, y_mean


def _val_operator(be, dec: _Decomposition, X_val, alphas, low_rank: bool):
    """Stack ``A diag(w_r)`` over weight rows: shape (n_rows * n_val, k), and the mixing."""
    Xv = X_val - dec.x_mean if dec.x_mean is not None else X_val
    A = (Xv @ dec.x_train.T) @ dec.evecs if dec.dual else Xv @ dec.evecs
    return stack_weights(be, A, dec.evals, alphas, low_rank)


def stack_weights(be, A, evals, alphas, low_rank: bool):
    """Stack ``A diag(w_r)`` over the rows ``w_r`` of ``1 / (evals + alphas)``.

    The weights ``1 / (s + alpha)`` form a Cauchy matrix (n_alphas, k), numerically of
    low rank: in float32 (``low_rank``) it is factored as ``mix @ basis`` with rows
    scaled to unit norm and singular values kept above 1e-6 (relative), so that fewer
    than n_alphas large products are needed; ``mix`` is None when all rows are kept.

    Returns
    -------
    stacked : array of shape (n_rows * n_val, k)
    mix : array of shape (n_alphas, n_rows) or None
    """
    weights = 1.0 / (evals[None, :] + alphas[:, None])  # (n_alphas, k)
    mix = None
    if low_rank:
        w64 = be.to_numpy(weights).astype(np.float64)
        norms = np.linalg.norm(w64, axis=1)
        U, S, Vt = np.linalg.svd(w64 / norms[:, None], full_matrices=False)
        rank = int(np.sum(S > 1e-6 * S[0]))
        if rank < len(S):
            mix = be.asarray(norms[:, None] * U[:, :rank] * S[:rank])
            weights = be.asarray(Vt[:rank])
    stacked = A[None, :, :] * weights[:, None, :]
    return stacked.reshape(-1, A.shape[1]), mix


def _r2_from_sse(be, sse, Y_val):
    """R^2 per alpha and target; targets with a constant validation fold score 0."""
    centred = Y_val - be.mean(Y_val, 0)
    sst = be.sum(centred * centred, 0)
    # constant columns: their centred values are rounding errors, not exactly zero
    zero = (Y_val == Y_val[:1]).all(0) | (sst <= 0)
    safe = sst + zero * 1.0
    r2 = 1.0 - sse / safe[None, :]
    return r2 * (~zero)[None, :], int(zero.sum())


def _is_partition(train: np.ndarray, val: np.ndarray, n_samples: int) -> bool:
    return len(train) + len(val) == n_samples and len(np.union1d(train, val)) == n_samples


def solve_ridge(X, Y, alphas, *, fit_intercept: bool = True, backend=None):
    """Ridge with one penalty per target (or one for all).

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
    Y : array of shape (n_samples, n_targets)
    alphas : array of shape (n_targets,) or float
    fit_intercept : bool
    backend : backend instance from :func:`get_backend`

    Returns
    -------
    coef : array of shape (n_features, n_targets)
    intercept : array of shape (n_targets,)
    """
    be = backend
    n_targets = Y.shape[1]
    alphas = be.asarray(np.broadcast_to(np.asarray(alphas, dtype=float), (n_targets,)))
    dec = _decompose(be, X, fit_intercept)
    B, y_mean = _project(be, dec, X, Y)
    scaled = B / (dec.evals[:, None] + alphas[None, :])
    coef = dec.x_train.T @ (dec.evecs @ scaled) if dec.dual else dec.evecs @ scaled
    if fit_intercept:
        intercept = y_mean - dec.x_mean @ coef
    else:
        intercept = be.asarray(np.zeros(n_targets))
    return coef, intercept


def stacked_r2(be, operator, B, Y_val, y_mean, n_alphas: int, buffers):
    """Validation R^2 (n_alphas, n_targets) of the predictions ``operator @ B``.

    ``operator`` is ``(stacked, mix)`` from :func:`stack_weights`; ``y_mean`` (or None)
    is the training mean added back to the predictions; ``buffers`` are preallocated
    flat arrays large enough for the stacked predictions.
    """
    stacked, mix = operator
    n_val, n_b = Y_val.shape
    out = buffers[0][: stacked.shape[0] * n_b].reshape(stacked.shape[0], n_b)
    preds = be.matmul_out(stacked, B, out)
    if mix is not None:
        out2 = buffers[1][: n_alphas * n_val * n_b].reshape(n_alphas, -1)
        preds = be.matmul_out(mix, preds.reshape(mix.shape[1], -1), out2)
    preds = preds.reshape(n_alphas, n_val, n_b)
    preds -= (Y_val - y_mean if y_mean is not None else Y_val)[None]
    return _r2_from_sse(be, be.sq_sum1(preds), Y_val)


def _fold_scores(be, X, Y_b, folds, alphas, XtY_b, buffers):
    """Mean validation R^2 over folds, shape (n_alphas, n_targets_batch)."""
    total, n_zero = 0.0, 0
    for dec, (operator, mix), train, val, partition in folds:
        X_tr, Y_tr, Y_val = X[train], Y_b[train], Y_b[val]
        if partition and XtY_b is not None:
            XtY_tr = XtY_b - X[val].T @ Y_val
        else:
            XtY_tr = None
        B, y_mean = _project(be, dec, X_tr, Y_tr, XtY_tr)
        r2, zero = stacked_r2(be, (operator, mix), B, Y_val, y_mean, len(alphas), buffers)
        n_zero = max(n_zero, zero)
        total = total + r2
    return total / len(folds), n_zero


def solve_ridge_cv(
    X,
    Y,
    alphas,
    splits: list[tuple[np.ndarray, np.ndarray]],
    *,
    fit_intercept: bool = True,
    alpha_per_target: bool = True,
    n_targets_batch: int | None = None,
    backend=None,
    progress: bool = False,
    refit: bool = True,
):
    """Ridge with the penalty chosen by cross-validated R^2 (per target or shared).

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
    Y : array of shape (n_samples, n_targets)
    alphas : array of shape (n_alphas,)
        Candidate penalties, all > 0.
    splits : list of (train, val) index arrays
    fit_intercept : bool
        Centre X and Y with the training means of each fold (and of the refit).
    alpha_per_target : bool
        Choose one alpha per target (True) or the one with the best mean score.
    n_targets_batch : int or None
        Targets processed together; None picks a batch keeping the stacked
        predictions near 2**24 values (64 MB in float32).
    backend : backend instance from :func:`get_backend`
    progress : bool
        Show a tqdm bar over target batches.
    refit : bool
        Refit on all samples with the chosen alphas (False: ``coef`` and ``intercept``
        are None, for a caller refitting in its own way).

    Returns
    -------
    best_alphas : array of shape (n_targets,)
    coef : array of shape (n_features, n_targets) or None
    intercept : array of shape (n_targets,) or None
    cv_scores : array of shape (n_alphas, n_targets)
        Validation R^2 averaged over folds, for each alpha.
    """
    be = backend
    n_samples, n_targets = Y.shape
    alphas_t = be.asarray(alphas)
    folds = []
    low_rank = be.to_numpy(X[:1, :1]).dtype == np.float32
    for train, val in splits:
        dec = _decompose(be, X[be.index(train)], fit_intercept)
        operator = _val_operator(be, dec, X[be.index(val)], alphas_t, low_rank)
        folds.append((dec, operator, be.index(train), be.index(val),
                      _is_partition(train, val, n_samples)))
    max_val = max(len(val) for _, val in splits)
    if n_targets_batch is None:
        n_targets_batch = max(1, int(2**24 // (len(alphas) * max_val)))
    size = len(alphas) * max_val * min(n_targets_batch, n_targets)
    buffers = (be.empty((size,)), be.empty((size,)) if low_rank else None)
    use_xty = any(f[4] for f in folds) and not folds[0][0].dual
    cv_scores = np.empty((len(alphas), n_targets))
    starts = range(0, n_targets, n_targets_batch)
    n_zero = 0
    for start in tqdm(starts, desc="ridge CV (target batches)", disable=not progress):
        batch = slice(start, start + n_targets_batch)
        Y_b = be.asarray(Y[:, batch])
        XtY_b = X.T @ Y_b if use_xty else None
        scores_b, zero_b = _fold_scores(be, X, Y_b, folds, alphas_t, XtY_b, buffers)
        n_zero += zero_b
        cv_scores[:, batch] = be.to_numpy(scores_b)
    if n_zero:
        warn_zero_variance_folds(n_zero)
    best = _select_alphas(cv_scores, np.asarray(alphas, dtype=float), alpha_per_target)
    if not refit:
        return best, None, None, cv_scores
    coef, intercept = _refit(be, X, Y, best, fit_intercept, n_targets_batch)
    return best, coef, intercept, cv_scores


def warn_zero_variance_folds(n_zero: int, stacklevel: int = 4) -> None:
    """Warn that ``n_zero`` targets were constant in a validation fold (``stacklevel``
    counted from this function: 4 is the caller of an estimator's ``fit`` that called
    :func:`solve_ridge_cv`)."""
    warnings.warn(
        f"{n_zero} target(s) have zero variance in a validation fold; their R^2 there "
        "is set to 0 (not NaN).",
        UserWarning,
        stacklevel=stacklevel,
    )


def _select_alphas(cv_scores: np.ndarray, alphas: np.ndarray, per_target: bool) -> np.ndarray:
    if per_target:
        return alphas[np.argmax(cv_scores, axis=0)]
    return np.full(cv_scores.shape[1], alphas[np.argmax(cv_scores.mean(axis=1))])


def _refit(be, X, Y, best_alphas: np.ndarray, fit_intercept: bool, n_targets_batch: int):
    """Refit on all samples with each target's alpha, in batches of targets."""
    dec = _decompose(be, X, fit_intercept)
    n_targets = Y.shape[1]
    coef = np.empty((X.shape[1], n_targets), dtype=be.to_numpy(X[:1, :1]).dtype)
    intercept = np.zeros(n_targets, dtype=coef.dtype)
    for start in range(0, n_targets, n_targets_batch):
        batch = slice(start, start + n_targets_batch)
        Y_b = be.asarray(Y[:, batch])
        B, y_mean = _project(be, dec, X, Y_b)
        scaled = B / (dec.evals[:, None] + be.asarray(best_alphas[batch])[None, :])
        coef_b = dec.x_train.T @ (dec.evecs @ scaled) if dec.dual else dec.evecs @ scaled
        coef[:, batch] = be.to_numpy(coef_b)
        if fit_intercept:
            intercept[batch] = be.to_numpy(y_mean - dec.x_mean @ coef_b)
    return coef, intercept


#: Registry of ridge solvers used by the estimators.
RIDGE_SOLVERS = {"eigh": solve_ridge_cv}


__all__ = ["RIDGE_SOLVERS", "solve_ridge", "solve_ridge_cv", "stack_weights", "stacked_r2",
           "warn_zero_variance_folds"]
