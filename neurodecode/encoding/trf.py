"""Temporal receptive fields (TRFs) for M/EEG: time-lagged ridge on lists of trials."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.model_selection import KFold
from sklearn.utils.validation import check_array, check_is_fitted

from .._backend import get_backend
from .._validation import check_finite, check_option
from ._lags import lag_matrix, lagged_chunks, times_to_delays
from ._solvers import solve_ridge, solve_ridge_cv, warn_zero_variance_folds
from ._streamed import streamed_ridge_cv
from .laplacian import check_reg_type, laplacian_penalty
from .ridge import (
    DEFAULT_ALPHAS,
    check_alphas,
    check_predict_x,
    resolve_dtype,
    validate_fit_xy,
    warn_constant_targets,
)
from .scoring import score_targets

DIRECTIONS = ("forward", "backward")


def _is_trials(data: Any) -> bool:
    """Whether ``data`` is a list (or tuple) of trials rather than one array."""
    return isinstance(data, list | tuple)


def _as_trials(name: str, data: Any, dtype: Any) -> list[np.ndarray]:
    trials = list(data) if _is_trials(data) else [data]
    if len(trials) == 0:
        raise ValueError(f"{name} must hold at least one trial; got an empty list.")
    out = []
    for i, trial in enumerate(trials):
        arr = np.asarray(trial, dtype=dtype)
        arr = arr[:, None] if arr.ndim == 1 else arr
        if arr.ndim != 2:
            raise ValueError(
                f"{name}[{i}] must have shape (n_times, n_features); got {arr.shape}."
            )
        check_finite(f"{name}[{i}]", arr, ("time", "feature"))
        out.append(arr)
    if len({a.shape[1] for a in out}) != 1:
        raise ValueError(f"all trials of {name} must have the same number of columns; got "
                         f"{[a.shape[1] for a in out]}.")
    return out


def _check_pairs(X: list[np.ndarray], Y: list[np.ndarray], delays: np.ndarray) -> None:
    if len(X) != len(Y):
        raise ValueError(f"X and Y must hold the same number of trials; got {len(X)} and {len(Y)}.")
    span = int(np.abs(delays).max())
    for i, (x, y) in enumerate(zip(X, Y)):
        if x.shape[0] != y.shape[0]:
            raise ValueError(
                f"trial {i}: X and Y must have the same length; got {x.shape[0]} and "
                f"{y.shape[0]} samples."
            )
        if span >= x.shape[0]:
            raise ValueError(
                f"trial {i} has {x.shape[0]} samples but the delays reach {span} samples "
                "(tmin/tmax * sfreq); shorten tmin/tmax or use longer trials."
            )


def _sample_splits(
    sizes: list[int], trial_splits: list[tuple[np.ndarray, np.ndarray]]
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Folds over trials as sample indices of the concatenated trials."""
    bounds = np.concatenate([[0], np.cumsum(sizes)])
    samples = [np.arange(bounds[i], bounds[i + 1]) for i in range(len(sizes))]
    return [(np.concatenate([samples[i] for i in tr]), np.concatenate([samples[i] for i in va]))
            for tr, va in trial_splits]


class TemporalReceptiveField(RegressorMixin, BaseEstimator):
    """Time-lagged ridge (TRF) fit on lists of trials, alpha chosen per target by CV.

    With ``fit_intercept`` the stimulus and response are centred with their means
    over all trials and zero-padded at trial edges, exactly as
    :class:`mne.decoding.TimeDelayingRidge`, so a single alpha reproduces
    :class:`mne.decoding.ReceptiveField` with that ridge.

    Parameters
    ----------
    tmin, tmax : float
        First and last lag in seconds (response at ``t`` from stimulus at ``t - lag``).
    sfreq : float
        Sampling frequency in Hz.
    alphas : sequence of float
        Candidate penalties (> 0); several are chosen between by CV over trials.
    direction : {"forward", "backward"}
        ``"forward"`` (encoding) predicts the response from the lagged stimulus;
        ``"backward"`` (decoding, stimulus reconstruction) predicts the stimulus from
        the response at the same lags (the response follows the stimulus).
    cv : int or splitter
        Folds over trials (an int gives contiguous K-fold over trials).
    alpha_per_target : bool
    fit_intercept : bool
    device, backend, dtype, verbose
        As in :class:`RidgeCV` (``dtype=None``: float32 when the trials of ``X`` are).
    stream : bool or None
        Never build the lagged design (n_times x n_inputs * n_delays): accumulate its
        Gram matrices over chunks of time (float64, numpy, CPU) and compute the
        validation predictions chunk by chunk. Same result to rounding, in a fraction
        of the memory and time (``benchmarks/trf_memory.py``: 20 min of 32 features x
        41 delays, 420 MB and 15 s instead of 13.7 GB and 57 s). Needs no more lagged
        columns than training samples in each fold. ``None``: stream when that holds
        and the fit runs with numpy on the CPU; ``False``: build the design (the
        torch/GPU path).
    reg_type : "ridge", "laplacian" or (time, features)
        The penalty, as MNE's ``TimeDelayingRidge(reg_type=...)``: ``"laplacian"``
        penalises differences between neighbouring delays (first) and between
        neighbouring input features at one delay (second) instead of the weights'
        size, for smooth TRFs; equal to MNE's ``ReceptiveField`` with that estimator
        for a single alpha. A Laplacian is fitted from Gram matrices (numpy, CPU, as
        ``stream=True``), one solve per alpha.

    Attributes
    ----------
    delays_ : array of int, shape (n_delays,)
    coef_ : array of shape (n_outputs, n_inputs, n_delays)
        Forward: (n_channels, n_features, n_delays); backward: (n_features,
        n_channels, n_delays).
    intercept_ : array of shape (n_outputs,)
    alpha_ : array of shape (n_outputs,)
    cv_scores_ : array of shape (n_alphas, n_outputs) or None
        Validation R^2 averaged over folds. Each fold's model is a ridge fitted on the
        training trials alone (with ``fit_intercept``, its lagged design and outputs are
        centred with the training rows' means), so the validation outputs never enter
        it; the final model is then refitted on all trials as described above.
    n_features_in_ : int
        Number of columns of ``X`` in ``fit``.

    Notes
    -----
    The estimator follows scikit-learn's contract (``parametrize_with_checks``) except
    for the checks in :attr:`CONTRACT_EXCEPTIONS`, which contradict what a TRF is.

    Examples
    --------
    >>> import numpy as np
    >>> from neurodecode.encoding import TemporalReceptiveField
    >>> x = np.random.default_rng(0).standard_normal((1000, 1))
    >>> y = np.roll(x, 2, axis=0)  # the response lags the stimulus by 2 samples (20 ms)
    >>> trf = TemporalReceptiveField(0.0, 0.05, 100.0, alphas=[1e-3]).fit(x, y)
    >>> trf.coef_.shape, int(np.argmax(trf.coef_[0, 0]))  # (n_targets, n_features, n_delays)
    ((1, 1, 6), 2)
    """

    #: scikit-learn checks that contradict the TRF's contract, with the reason.
    CONTRACT_EXCEPTIONS = {
        "check_methods_sample_order_invariance": "a prediction at time t depends on the "
        "stimulus at t - lag: reordering samples changes it (time lags)",
        "check_methods_subset_invariance": "a prediction at time t depends on the "
        "neighbouring samples (time lags), so a subset predicts differently",
        "check_fit1d": "a 1-D X is documented as one feature over time, (n_times,)",
        "check_regressors_train": "a list X is a list of trials (as MNE's ReceptiveField), "
        "so X.tolist() is a list of one-sample trials",
        "check_regressors_train(readonly_memmap=True)": "as check_regressors_train",
        "check_regressors_train(readonly_memmap=True,X_dtype=float32)": "as "
        "check_regressors_train",
    }

    def __init__(
        self,
        tmin: float,
        tmax: float,
        sfreq: float,
        alphas: Any = DEFAULT_ALPHAS,
        direction: str = "forward",
        cv: Any = 5,
        alpha_per_target: bool = True,
        fit_intercept: bool = True,
        device: str = "cpu",
        backend: str | None = None,
        dtype: str | None = None,
        verbose: bool = False,
        stream: bool | None = None,
        reg_type: Any = "ridge",
    ) -> None:
        self.tmin = tmin
        self.tmax = tmax
        self.sfreq = sfreq
        self.alphas = alphas
        self.direction = direction
        self.cv = cv
        self.alpha_per_target = alpha_per_target
        self.fit_intercept = fit_intercept
        self.device = device
        self.backend = backend
        self.dtype = dtype
        self.verbose = verbose
        self.stream = stream
        self.reg_type = reg_type

    def _inputs_outputs(self, X, Y):
        return (X, Y) if self.direction == "forward" else (Y, X)

    def _lags(self) -> np.ndarray:
        return self.delays_ if self.direction == "forward" else -self.delays_[::-1]

    def _design(self, trials: list[np.ndarray], offset: np.ndarray) -> np.ndarray:
        lags = self._lags()
        sizes = [t.shape[0] for t in trials]
        out = np.empty((sum(sizes), trials[0].shape[1] * len(lags)), dtype=trials[0].dtype)
        start = 0
        for trial, size in zip(trials, sizes):
            lag_matrix(trial - offset, lags, out[start:start + size])
            start += size
        return out

    def fit(self, X: Any, Y: Any) -> TemporalReceptiveField:
        """Fit the TRF.

        Parameters
        ----------
        X : list (or tuple) of arrays of shape (n_times, n_features), or one such array
            Stimulus features per trial. One array is one trial, validated as
            scikit-learn does (a 1-D array is one feature).
        Y : list of arrays of shape (n_times, n_channels), or one such array
            Responses per trial (same lengths as ``X``); with one array, a 1-D ``Y``
            (one output) gives 1-D predictions.

        Returns
        -------
        self : TemporalReceptiveField
        """
        check_option("direction", self.direction, DIRECTIONS)
        dtype = resolve_dtype(self.dtype, *(X if _is_trials(X) else [X]))
        alphas = check_alphas(self.alphas)
        self.delays_ = times_to_delays(self.tmin, self.tmax, self.sfreq)
        self._y_1d = False
        if _is_trials(X):
            X, Y = _as_trials("X", X, dtype), _as_trials("Y", Y, dtype)
            self.n_features_in_ = X[0].shape[1]
        else:  # one trial: scikit-learn's validation (sets n_features_in_)
            X = X[:, None] if getattr(X, "ndim", None) == 1 else X
            X, Y, self._y_1d = validate_fit_xy(self, X, Y, dtype)
            X, Y = [X], [Y]
        _check_pairs(X, Y, self.delays_)
        inputs, outputs = self._inputs_outputs(X, Y)
        self.n_inputs_, n_out = inputs[0].shape[1], outputs[0].shape[1]
        cat_in, cat_out = np.concatenate(inputs), np.concatenate(outputs)
        x_mean = cat_in.mean(0) if self.fit_intercept else np.zeros(self.n_inputs_, dtype)
        y_mean = cat_out.mean(0) if self.fit_intercept else np.zeros(n_out, dtype)
        constant = warn_constant_targets(cat_out)
        sizes = [t.shape[0] for t in inputs]
        trial_splits = None if len(alphas) == 1 else self._trial_splits(len(sizes))
        splits = None if trial_splits is None else _sample_splits(sizes, trial_splits)
        penalty = self._penalty()
        if penalty is not None or self._streamed(sizes, splits, dtype):
            best, coef, self.cv_scores_, n_zero = streamed_ridge_cv(
                [t - x_mean for t in inputs], [t - y_mean for t in outputs], self._lags(),
                alphas, trial_splits, alpha_per_target=self.alpha_per_target,
                fit_intercept=self.fit_intercept, progress=self.verbose, penalty=penalty)
            coef = coef.astype(dtype, copy=False)
            if n_zero:
                warn_zero_variance_folds(n_zero, stacklevel=3)
        else:
            design = self._design(inputs, x_mean)
            be = get_backend(self.backend, self.device, dtype)
            if splits is None:
                coef, _ = solve_ridge(be.asarray(design), be.asarray(cat_out - y_mean),
                                      alphas[0], fit_intercept=False, backend=be)
                coef, best, self.cv_scores_ = be.to_numpy(coef), np.full(n_out, alphas[0]), None
            else:  # each fold centred by its training means (no validation data in its model)
                best, _, _, self.cv_scores_ = solve_ridge_cv(
                    be.asarray(design), cat_out - y_mean, alphas, splits, fit_intercept=self.fit_intercept,
                    alpha_per_target=self.alpha_per_target, backend=be, progress=self.verbose,
                    refit=False)
                coef, _ = solve_ridge(be.asarray(design), be.asarray(cat_out - y_mean), best,
                                      fit_intercept=False, backend=be)
                coef = be.to_numpy(coef)
        n_delays = len(self.delays_)
        coef[:, constant] = 0.0
        coef = coef.T.reshape(n_out, self.n_inputs_, n_delays)
        self.alpha_ = best
        self.intercept_ = y_mean - x_mean @ coef.sum(-1).T
        self.coef_ = coef if self.direction == "forward" else coef[:, :, ::-1]
        return self

    def _penalty(self) -> np.ndarray | None:
        """The Laplacian penalty over the lagged columns, or None for ridge."""
        if check_reg_type(self.reg_type) == ("ridge", "ridge"):
            return None
        if self.stream is False:
            raise ValueError(
                f"reg_type={self.reg_type!r} is fitted from Gram matrices (stream=True); "
                "got stream=False. Pass stream=None."
            )
        return laplacian_penalty(self.n_inputs_, len(self.delays_), self.reg_type)

    def _streamed(self, sizes: list[int], splits: list | None, dtype: Any) -> bool:
        """Whether to fit from Gram matrices accumulated by chunks (see ``stream``)."""
        n_cols = self.n_inputs_ * len(self.delays_)
        n_train = min(len(train) for train, _ in splits) if splits else sum(sizes)
        if self.stream is False:
            return False
        if self.stream and n_cols > n_train:
            raise ValueError(
                f"stream=True needs no more lagged columns ({self.n_inputs_} inputs x "
                f"{len(self.delays_)} delays = {n_cols}) than training samples per fold "
                f"({n_train}); pass stream=None or False."
            )
        numpy_cpu = get_backend(self.backend, self.device, dtype).name == "numpy"
        return bool(self.stream) or (numpy_cpu and n_cols <= n_train)

    def _trial_splits(self, n_trials: int) -> list[tuple[np.ndarray, np.ndarray]]:
        """Folds over trial indices (train, validation), drawn once per fit."""
        return list(self._splitter(n_trials).split(np.zeros((n_trials, 1))))

    def _splitter(self, n_trials: int) -> Any:
        if isinstance(self.cv, int | np.integer):
            if self.cv < 2 or self.cv > n_trials:
                raise ValueError(
                    f"cv={self.cv} folds over {n_trials} trial(s): need 2 <= cv <= n_trials to "
                    "choose alpha; pass more trials (e.g. cut a long one) or a single alpha."
                )
            return KFold(self.cv)
        if hasattr(self.cv, "split") and not isinstance(self.cv, str):
            return self.cv
        raise TypeError(f"cv must be an int or a splitter with .split; got {self.cv!r}.")

    def __sklearn_tags__(self):  # noqa: D105
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def predict(self, X: Any) -> list[np.ndarray] | np.ndarray:
        """Predict the outputs of each trial.

        Parameters
        ----------
        X : list of arrays of shape (n_times, n_inputs), or one such array
            The stimulus (forward) or the response (backward).

        Returns
        -------
        Y_pred : list of arrays of shape (n_times, n_outputs) (an array if X was one)
        """
        check_is_fitted(self, "coef_")
        single = not _is_trials(X)
        if single and self.direction == "forward":
            X = check_predict_x(self, X)  # scikit-learn's checks and messages
        elif single:  # the response: not the features seen in fit
            X = check_array(X, dtype=self.intercept_.dtype, ensure_all_finite=False)
        trials = _as_trials("X", X, self.intercept_.dtype)
        if trials[0].shape[1] != self.n_inputs_:
            raise ValueError(
                f"X must have {self.n_inputs_} columns (as in fit); got {trials[0].shape[1]}."
            )
        coef = self.coef_ if self.direction == "forward" else self.coef_[:, :, ::-1]
        flat = coef.reshape(coef.shape[0], -1).T
        preds = []
        for trial in trials:  # by chunks of time: the lagged design is never whole
            pred = np.empty((trial.shape[0], flat.shape[1]), dtype=flat.dtype)
            for start, stop, block in lagged_chunks(trial, self._lags(), 4096):
                np.matmul(block, flat, out=pred[start:stop])
            preds.append(pred + self.intercept_)
        if single:
            return preds[0][:, 0] if self._y_1d else preds[0]
        return preds

    def score_targets(self, X: Any, Y: Any, metric: str = "r") -> np.ndarray:
        """Score per output over the concatenated trials (``"r"`` or ``"r2"``).

        For ``direction="backward"``, ``X`` is the response and ``Y`` the stimulus.

        Parameters
        ----------
        X : array of shape (n_times, n_features) or list of them
            The inputs (one array per trial).
        Y : array of shape (n_times, n_outputs) or list of them
            The true outputs.
        metric : {"r", "r2"}
            Pearson correlation or coefficient of determination.

        Returns
        -------
        scores : array of shape (n_outputs,)
            One score per output.
        """
        pred = self.predict(X)
        pred = [pred] if isinstance(pred, np.ndarray) else pred
        Y = _as_trials("Y", Y, self.intercept_.dtype)
        return score_targets(np.concatenate(Y), np.concatenate(pred), metric)

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """Mean R^2 over outputs.

        Parameters
        ----------
        X : array of shape (n_times, n_features) or list of them
            The inputs (one array per trial).
        y : array of shape (n_times, n_outputs) or list of them
            The true outputs.
        sample_weight : None
            Not supported: a value other than ``None`` raises ``ValueError``.

        Returns
        -------
        score : float
            The mean R^2 over outputs.
        """
        if sample_weight is not None:
            raise ValueError("sample_weight is not supported by TemporalReceptiveField.score "
                             f"(got an array of shape {np.shape(sample_weight)}); pass None.")
        return float(np.mean(self.score_targets(X, y, metric="r2")))


__all__ = ["DIRECTIONS", "TemporalReceptiveField"]
