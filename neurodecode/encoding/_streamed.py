"""Time-lagged ridge without the lagged design: Gram matrices accumulated over chunks.

The lagged design of a long recording (n_times x n_features * n_delays) can be far
larger than memory (1 h at 100 Hz, 80 mel bands and 50 delays: 11.5 GB in float64).
Ridge in its primal form needs only ``X^T X`` and ``X^T Y``, which add up over trials
and over chunks of time; the validation predictions are computed chunk by chunk too.
The arithmetic is that of :mod:`neurodecode.encoding._solvers` (one eigendecomposition
per fold, every alpha from it), so the results agree to rounding.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np
from tqdm.auto import tqdm

from .._backend import get_backend
from ._lags import lagged_chunks
from ._solvers import _r2_from_sse, _select_alphas
from .laplacian import penalised_solve

_FOLD_BYTES = 1e9  # Gram matrices of the folds kept between passes


@dataclass
class _Moments:
    """Sums over the rows of a lagged design ``D`` and its targets ``Y`` (float64).

    ``gram = D^T D``, ``xty = D^T Y``, ``col = D^T 1``, ``ysum = Y^T 1`` and ``n`` rows:
    enough to centre ``D`` and ``Y`` by the means of any subset of trials afterwards.
    """

    gram: np.ndarray
    xty: np.ndarray
    col: np.ndarray
    ysum: np.ndarray
    n: float

    @classmethod
    def zeros(cls, k: int, n_outputs: int) -> _Moments:
        return cls(np.zeros((k, k)), np.zeros((k, n_outputs)), np.zeros(k),
                   np.zeros(n_outputs), 0.0)

    def add(self, other: _Moments, weight: float = 1.0) -> None:
        """Add ``weight`` times ``other`` in place."""
        self.gram += weight * other.gram
        self.xty += weight * other.xty
        self.col += weight * other.col
        self.ysum += weight * other.ysum
        self.n += weight * other.n

    def minus(self, other: _Moments) -> _Moments:
        return _Moments(self.gram - other.gram, self.xty - other.xty, self.col - other.col,
                        self.ysum - other.ysum, self.n - other.n)

    def centred(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Gram and cross moments of ``D`` and ``Y`` centred by their own means, and the means."""
        x_mean, y_mean = self.col / self.n, self.ysum / self.n
        gram = self.gram - self.n * np.outer(x_mean, x_mean)
        return gram, self.xty - self.n * np.outer(x_mean, y_mean), x_mean, y_mean


def _moments(x: np.ndarray, y: np.ndarray, lags: np.ndarray, chunk_rows: int) -> _Moments:
    """The :class:`_Moments` of one trial's lagged design, in float64."""
    out = _Moments.zeros(x.shape[1] * len(lags), y.shape[1])
    for start, stop, block in lagged_chunks(x, lags, chunk_rows):
        block64 = block.astype(np.float64, copy=False)
        out.gram += block64.T @ block64
        out.xty += block64.T @ y[start:stop]
        out.col += block64.sum(0)
    out.ysum += y.sum(0)
    out.n = float(y.shape[0])
    return out


def streamed_ridge_cv(
    inputs: list[np.ndarray],
    outputs: list[np.ndarray],
    lags: np.ndarray,
    alphas: np.ndarray,
    trial_splits: list[tuple[np.ndarray, np.ndarray]] | None,
    *,
    alpha_per_target: bool = True,
    fit_intercept: bool = True,
    chunk_rows: int = 4096,
    progress: bool = False,
    penalty: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, int]:
    """Time-lagged ridge by Gram matrices (the final fit without intercept: inputs and
    outputs come centred over all trials).

    Each fold's validation score is that of a ridge with intercept fitted on the
    training trials alone: the lagged design and the outputs are centred with the
    training rows' means (as :func:`~neurodecode.encoding.solve_ridge_cv` with
    ``fit_intercept=True``), so no validation output enters the fold's model.

    Parameters
    ----------
    inputs, outputs : lists of arrays of shape (n_times, n_inputs) and (n_times, n_outputs)
        Trials, centred by the caller.
    lags : array of int, shape (n_delays,)
    alphas : array of shape (n_alphas,)
    trial_splits : list of (train trials, validation trials) or None
        Folds over trial indices choosing the alphas; ``None`` with a single alpha.
    fit_intercept : bool
        Centre each fold by its training means (False: no centring in the folds).
    alpha_per_target, progress
        As in :func:`neurodecode.encoding._solvers.solve_ridge_cv`.
    chunk_rows : int
        Rows of the lagged design built at once.
    penalty : array of shape (k, k) or None
        Penalty matrix ``L`` of ``alpha w^T L w`` (e.g. a Laplacian,
        :func:`~neurodecode.encoding.laplacian.laplacian_penalty`); None: ridge
        (the identity, solved by eigendecomposition).

    Returns
    -------
    best_alphas : array of shape (n_outputs,)
    coef : array of shape (n_inputs * n_delays, n_outputs)
    cv_scores : array of shape (n_alphas, n_outputs) or None
    n_zero : int
        Targets with a constant validation fold (their R^2 there is 0).
    """
    n_trials = len(inputs)
    folds = trial_splits or []
    # a partition of the trials (K-fold): add each trial to the total and to its one
    # validation fold, training = total - validation; else add it to every training set
    partition = all(
        sorted(np.concatenate([train, val]).tolist()) == list(range(n_trials))
        for train, val in folds
    )
    # trial -> how many times it enters each fold's sum (a splitter may repeat a trial)
    members = [Counter(int(i) for i in (val if partition else train)) for train, val in folds]
    k, n_out = inputs[0].shape[1] * len(lags), outputs[0].shape[1]
    # one Gram matrix per fold kept from the first pass, unless they would take more than
    # _FOLD_BYTES (e.g. leave-one-trial-out over many trials): then recomputed per fold
    keep = len(folds) * k * k * 8 <= _FOLD_BYTES
    total = _Moments.zeros(k, n_out)
    fold_sums = [_Moments.zeros(k, n_out) for _ in folds] if keep else []
    for t in tqdm(range(n_trials), desc="TRF Gram matrices", disable=not progress):
        trial = _moments(inputs[t], outputs[t], lags, chunk_rows)
        total.add(trial)
        for f, counts in enumerate(members if keep else []):
            if counts[t]:
                fold_sums[f].add(trial, counts[t])
    if not folds:
        best = np.full(n_out, float(alphas[0]))
        return best, _solve(total.gram, total.xty, best, penalty), None, 0

    def training(f: int) -> _Moments:
        if keep:
            sums = fold_sums[f]
        else:
            sums = _Moments.zeros(k, n_out)
            for t, count in members[f].items():
                sums.add(_moments(inputs[t], outputs[t], lags, chunk_rows), count)
        return total.minus(sums) if partition else sums

    cv_scores = np.zeros((len(alphas), n_out))
    n_zero = 0
    for f, (_, val) in enumerate(tqdm(folds, desc="TRF folds", disable=not progress)):
        r2, zero = _fold_r2(training(f), fit_intercept, [inputs[t] for t in val],
                            [outputs[t] for t in val], lags, alphas, chunk_rows, penalty)
        cv_scores += r2
        n_zero = max(n_zero, zero)
    cv_scores /= len(folds)
    best = _select_alphas(cv_scores, np.asarray(alphas, dtype=float), alpha_per_target)
    return best, _solve(total.gram, total.xty, best, penalty), cv_scores, n_zero


def _solve(gram: np.ndarray, xty: np.ndarray, alphas: np.ndarray,
           penalty: np.ndarray | None = None) -> np.ndarray:
    """Ridge coefficients (k, n_outputs) from the Gram matrix, one alpha per output."""
    if penalty is not None:
        return penalised_solve(gram, xty, alphas, penalty)
    evals, evecs = np.linalg.eigh(gram)
    evals = np.clip(evals, 0, None)
    return evecs @ ((evecs.T @ xty) / (evals[:, None] + alphas[None, :]))


def _fold_r2(
    train: _Moments, fit_intercept: bool, val_x: list[np.ndarray], val_y: list[np.ndarray],
    lags: np.ndarray, alphas: np.ndarray, chunk_rows: int, penalty: np.ndarray | None = None,
) -> tuple[np.ndarray, int]:
    """Validation R^2 (n_alphas, n_outputs) of one fold, centred with the training means:
    predictions chunk by chunk."""
    if fit_intercept:
        gram, xty, x_mean, y_mean = train.centred()
    else:
        gram, xty = train.gram, train.xty
        x_mean, y_mean = np.zeros(gram.shape[0]), np.zeros(xty.shape[1])
    if penalty is not None:
        return _penalised_fold_r2(gram, xty, x_mean, y_mean, val_x, val_y, lags, alphas,
                                  chunk_rows, penalty)
    evals, evecs = np.linalg.eigh(gram)
    evals = np.clip(evals, 0, None)
    proj = evecs.T @ xty  # (k, n_outputs)
    shift = x_mean @ evecs
    weights = 1.0 / (evals[None, :] + np.asarray(alphas, dtype=float)[:, None])
    sse = np.zeros((len(alphas), proj.shape[1]))
    for x, y in zip(val_x, val_y):
        for start, stop, block in lagged_chunks(x, lags, chunk_rows):
            a = block.astype(np.float64, copy=False) @ evecs
            a -= shift
            target = y[start:stop] - y_mean
            for i, w in enumerate(weights):
                resid = a @ (w[:, None] * proj) - target
                sse[i] += np.einsum("ij,ij->j", resid, resid)
    r2, zero = _r2_from_sse(get_backend("numpy"), sse, np.concatenate(val_y))
    return r2, zero


def _penalised_fold_r2(gram, xty, x_mean, y_mean, val_x, val_y, lags, alphas, chunk_rows,
                       penalty) -> tuple[np.ndarray, int]:
    """:func:`_fold_r2` with a penalty matrix: one solve per alpha."""
    coefs = [penalised_solve(gram, xty, np.full(xty.shape[1], a), penalty) for a in alphas]
    sse = np.zeros((len(alphas), xty.shape[1]))
    for x, y in zip(val_x, val_y):
        for start, stop, block in lagged_chunks(x, lags, chunk_rows):
            centred = block.astype(np.float64, copy=True)
            centred -= x_mean
            target = y[start:stop] - y_mean
            for i, coef in enumerate(coefs):
                resid = centred @ coef - target
                sse[i] += np.einsum("ij,ij->j", resid, resid)
    return _r2_from_sse(get_backend("numpy"), sse, np.concatenate(val_y))


__all__ = ["streamed_ridge_cv"]
