"""Multiple-kernel ridge by gradient descent on the log kernel weights (hyper-gradient).

As himalaya's ``solve_multiple_kernel_ridge_hyper_gradient``, the hyperparameters are
``deltas = log(gamma / alpha)`` (n_kernels, n_targets): the model kernel of a target is
``K(delta) = sum_i exp(delta_i) K_i`` with a unit penalty, dual weights
``w = (K(delta)_train + I)^-1 y_train`` and validation predictions ``K(delta)_val w``.
The cross-validated squared error is minimised over ``delta`` with its exact gradient
(implicit differentiation through the solve, one extra solve per fold):

    dL/d delta_i = exp(delta_i) (w . K_i,vt^T r  -  b . K_i,tt w),
    r = K_vt w - y_val,   b = (K_tt + I)^-1 K_vt^T r.

Unlike himalaya's (inexact inner conjugate gradients and Hessian-based steps), the
solves are direct (one Cholesky factorisation per target, fold and step serves both) and
the step is a per-target line search (accepted when the CV error decreases), so each
iteration never makes a target worse.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg.lapack

from .kernel import center_kernel


def _fold_data(Ks: np.ndarray, Y: np.ndarray, train, val, fit_intercept: bool):
    """Training and validation kernels (centred with training statistics) and targets."""
    K_tt, K_vt = Ks[:, train][:, :, train], Ks[:, val][:, :, train]
    y_tr, y_va = Y[train], Y[val]
    if fit_intercept:
        pairs = [center_kernel(a, b) for a, b in zip(K_tt, K_vt)]
        K_tt, K_vt = np.stack([p[0] for p in pairs]), np.stack([p[1] for p in pairs])
        mean = y_tr.mean(0)
        y_tr, y_va = y_tr - mean, y_va - mean
    return K_tt, K_vt, y_tr, y_va


def _loss_grad(folds, deltas: np.ndarray, n_samples: int, gradient: bool = True,
               work: np.ndarray | None = None):
    """CV loss (n_targets,), sum over folds of 0.5 * squared error weighted by n_val / n,
    its gradient (n_kernels, n_targets) and the mean validation R^2 (n_targets,).

    Fold by fold, targets go in blocks whose matrices fit in the cache
    (:func:`_fold_block`); ``work``, when given, is a buffer of at least
    ``_BLOCK_BYTES // 8 + n_tr**2`` floats reused from call to call (fresh memory costs
    page faults).
    """
    weights = np.exp(deltas)  # (n_kernels, n_targets)
    loss = np.zeros(deltas.shape[1])
    grad = np.zeros_like(deltas)
    r2 = np.zeros(deltas.shape[1])
    for fold in folds:
        share = fold[3].shape[0] / n_samples
        for cols in _target_blocks(deltas.shape[1], fold[0].shape[1]):
            half_sse, g, r = _fold_block(fold, cols, weights[:, cols], gradient, work)
            loss[cols] += share * half_sse
            grad[:, cols] += share * g
            r2[cols] += r
    return loss, grad, r2 / len(folds)


_BLOCK_BYTES = 4e6  # the matrices of a block of targets, factorised while in the cache


def _target_blocks(n_targets: int, n_tr: int) -> list:
    size = int(max(1, _BLOCK_BYTES // (8 * n_tr * n_tr)))
    return [slice(lo, min(lo + size, n_targets)) for lo in range(0, n_targets, size)]


def _fold_block(fold, cols: slice, weights: np.ndarray, gradient: bool, work):
    """Half squared validation error, its gradient (before the fold's share) and the
    validation R^2 of one block of targets in one fold: one Cholesky factorisation per
    target serves both solves (dual weights, then the adjoint); every other product is
    a matrix product over the block's targets."""
    K_tt, K_vt, y_tr, y_va = fold
    y_va = y_va[:, cols]
    W, solve = _factorised(K_tt, weights, y_tr[:, cols], work)  # (n_tr, t): dual weights
    KW = K_vt @ W  # (k, n_val, t): each kernel's validation prediction
    resid = np.einsum("kt,kvt->vt", weights, KW) - y_va  # (n_val, t)
    sse = (resid**2).sum(0)
    sst = ((y_va - y_va.mean(0)) ** 2).sum(0)
    r2 = np.where(sst > 0, 1 - sse / np.where(sst > 0, sst, 1), 0.0)
    if not gradient:
        return 0.5 * sse, 0.0, r2
    b = solve(np.einsum("kt,kjt->jt", weights, K_vt.swapaxes(1, 2) @ resid))
    direct = np.einsum("vt,kvt->kt", resid, KW)
    indirect = np.einsum("jt,kjt->kt", b, K_tt @ W)
    return 0.5 * sse, weights * (direct - indirect), r2


def _factorised(K_tt: np.ndarray, weights: np.ndarray, B: np.ndarray,
                work: np.ndarray | None = None):
    """Solve ``(sum_k weights[k, t] K_tt[k] + I) x_t = B[:, t]`` for every target t.

    The matrices are built in ``work`` (flat, when given), then each is factorised
    (LAPACK potrf, in place) and solved. Returns the solutions, of shape
    (n_tr, n_targets) as ``B``, and ``solve(C)`` doing the same for another right-hand
    side from the kept factors (an LU solve of the matrices where a precomputed kernel
    is not positive semi-definite).
    """
    n_kernels, n = K_tt.shape[:2]
    size = B.shape[1] * n * n
    M = (np.empty(size) if work is None else work[:size]).reshape(B.shape[1], n, n)
    np.matmul(weights.T, K_tt.reshape(n_kernels, -1), out=M.reshape(len(M), -1))
    M.reshape(len(M), -1)[:, :: n + 1] += 1.0
    for m in M:  # m.T: the same symmetric matrix, Fortran-ordered
        c, info = scipy.linalg.lapack.dpotrf(m.T, lower=False, overwrite_a=True, clean=False)
        if info != 0:  # not positive definite: LU of the matrices
            return _lu_solver(K_tt, weights, B)
        if not np.shares_memory(c, m):  # pragma: no cover - LAPACK copied its input
            m.T[...] = c

    def solve(C: np.ndarray) -> np.ndarray:
        out = np.empty((C.shape[1], n))
        for row, m, c in zip(out, M, C.T):
            row[:] = scipy.linalg.lapack.dpotrs(m.T, c, lower=False)[0]
        return out.T

    return solve(B), solve


def _lu_solver(K_tt: np.ndarray, weights: np.ndarray, B: np.ndarray):
    """:func:`_factorised`'s results by LU solves (any invertible matrices)."""
    M = np.tensordot(weights.T, K_tt, axes=1)
    M.reshape(len(M), -1)[:, :: K_tt.shape[1] + 1] += 1.0

    def solve(C: np.ndarray) -> np.ndarray:
        return np.linalg.solve(M, C.T[:, :, None])[..., 0].T

    return solve(B), solve


def solve_multiple_kernel_ridge_hyper_gradient(
    Ks: np.ndarray, Y: np.ndarray, initial_deltas: np.ndarray, splits, *,
    fit_intercept: bool = True, max_iter: int = 10, step: float = 1.0, tol: float = 1e-3,
):
    """Gradient descent on ``deltas`` from ``initial_deltas``, with a per-target line search.

    Parameters
    ----------
    Ks : array of shape (n_kernels, n_samples, n_samples)
    Y : array of shape (n_samples, n_targets)
    initial_deltas : array of shape (n_kernels, n_targets)
    splits : list of (train, val) index arrays
    fit_intercept : bool
    max_iter : int
        Gradient steps.
    step : float
        First step length (in log units, along the normalised gradient).
    tol : float
        Stop when every target's step length has shrunk below ``tol``.

    Returns
    -------
    deltas : array of shape (n_kernels, n_targets)
    cv_scores : array of shape (max_iter + 1, n_targets)
        Mean validation R^2 at the start and after each iteration (repeated once
        converged).
    """
    Ks, Y = np.asarray(Ks, dtype=np.float64), np.asarray(Y, dtype=np.float64)
    folds = [_fold_data(Ks, Y, tr, va, fit_intercept) for tr, va in splits]
    deltas = np.array(initial_deltas, dtype=np.float64)
    steps = np.full(deltas.shape[1], float(step))
    work = np.empty(int(_BLOCK_BYTES // 8) + max(len(tr) for tr, _ in splits) ** 2)
    loss, grad, r2 = _loss_grad(folds, deltas, Y.shape[0], work=work)
    cv_scores = np.empty((max_iter + 1, Y.shape[1]))
    cv_scores[0] = r2
    for it in range(1, max_iter + 1):
        norm = np.linalg.norm(grad, axis=0)
        move = -steps * grad / np.where(norm > 0, norm, 1.0)
        new_loss, new_grad, new_r2 = _loss_grad(folds, deltas + move, Y.shape[0],
                                                work=work)
        accept = new_loss < loss
        deltas[:, accept] += move[:, accept]
        loss[accept], grad[:, accept], r2[accept] = (new_loss[accept], new_grad[:, accept],
                                                     new_r2[accept])
        steps = np.where(accept, steps * 1.5, steps * 0.5)
        cv_scores[it] = r2
        if np.all(steps < tol):  # the line search found no better step for any target
            cv_scores[it + 1:] = r2
            break
    return deltas, cv_scores


def refit_weighted_kernel_ridge(Ks: np.ndarray, Y: np.ndarray, deltas: np.ndarray,
                                fit_intercept: bool) -> tuple[np.ndarray, np.ndarray]:
    """Dual weights ``(K(delta) + I)^-1 y`` per target on all samples, and intercepts."""
    Ks, Y = np.asarray(Ks, dtype=np.float64), np.asarray(Y, dtype=np.float64)
    weights = np.exp(deltas)
    col_means = Ks.mean(1)  # (n_kernels, n_samples)
    y_mean = Y.mean(0) if fit_intercept else np.zeros(Y.shape[1])
    K_c = np.stack([center_kernel(K)[0] for K in Ks]) if fit_intercept else Ks
    Y_c = Y - y_mean
    work = np.empty(int(_BLOCK_BYTES // 8) + Ks.shape[1] ** 2)
    dual = np.empty(Y.shape)  # (n_samples, n_targets)
    for cols in _target_blocks(Y.shape[1], Ks.shape[1]):
        dual[:, cols] = _factorised(K_c, weights[:, cols], Y_c[:, cols], work)[0]
    if not fit_intercept:
        return dual, np.zeros(Y.shape[1])
    # the dual weights sum to 0 (centred kernel and targets): the row means drop out
    return dual, y_mean - np.einsum("kt,ki,it->t", weights, col_means, dual)


__all__ = ["refit_weighted_kernel_ridge", "solve_multiple_kernel_ridge_hyper_gradient"]
