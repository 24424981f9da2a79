"""Haufe patterns: the forward model (activation patterns) of a linear backward model.

The weights ``W`` of a decoder (stimulus from brain data) are filters, not maps of
where the signal is: noise suppression puts weight on channels without signal. Haufe
et al. (2014, NeuroImage 87) turn them into patterns ``A = cov(X) W^T cov(Y)^-1``,
which MNE computes as ``LinearModel.patterns_`` and returns through
``get_coef(..., "patterns_", inverse_transform=True)``. These functions give the same
numbers for our estimators (any fitted model with ``coef_``, alone or ending a
scikit-learn pipeline).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import check_finite


def haufe_patterns(X: Any, coef: Any, Y: Any = None) -> np.ndarray:
    """Activation patterns of linear filters, as MNE's ``LinearModel.patterns_``.

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
        The data the filters were fitted on (e.g. sensors).
    coef : array of shape (n_targets, n_features) or (n_features,)
        The filters (``coef_`` of a linear model).
    Y : array of shape (n_samples, n_targets), (n_samples,) or None
        The targets the filters were fitted on, whose precision scales the patterns
        (MNE's choice); None uses the filters' outputs ``X @ coef.T`` (Haufe's
        estimated sources). With a single target no scaling is applied, as in MNE.

    Returns
    -------
    patterns : array of the shape of ``coef``
    """
    X = np.asarray(X, dtype=np.float64)
    W = np.asarray(coef, dtype=np.float64)
    one_d = W.ndim == 1
    W = W[None, :] if one_d else W
    if X.ndim != 2 or W.ndim != 2 or W.shape[1] != X.shape[1]:
        raise ValueError(
            f"X must have shape (n_samples, n_features) and coef (n_targets, n_features) "
            f"with the same n_features; got X {X.shape} and coef {np.shape(coef)}."
        )
    check_finite("X", X, ("sample", "feature"))
    Xc = X - X.mean(0)
    sources = Xc @ W.T if Y is None else np.asarray(Y, dtype=np.float64).reshape(len(X), -1)
    if sources.shape[1] != W.shape[0]:
        raise ValueError(
            f"Y must have one column per filter ({W.shape[0]}); got {sources.shape[1]}."
        )
    cov_x = Xc.T @ Xc / (len(X) - 1)
    patterns = cov_x @ W.T  # (n_features, n_targets)
    if W.shape[0] > 1:
        patterns = patterns @ np.linalg.pinv(np.cov(sources.T))
    return patterns.T[0] if one_d else patterns.T


def get_patterns(estimator: Any, X: Any, Y: Any = None, inverse_transform: bool = False):
    """Haufe patterns of a fitted linear estimator or of a pipeline ending in one.

    As MNE's ``get_coef(estimator, "patterns_", inverse_transform)`` on a
    ``LinearModel``: ``X`` goes through the pipeline's transformers, the patterns are
    computed on what the final estimator saw, and with ``inverse_transform`` they are
    mapped back through each transformer's ``inverse_transform`` (in reverse order),
    e.g. to sensor units through a ``StandardScaler``.

    Parameters
    ----------
    estimator : fitted estimator with ``coef_``, or a fitted ``Pipeline`` ending in one
    X : array of shape (n_samples, n_features)
        The data the estimator was fitted on.
    Y : array of shape (n_samples, n_targets), (n_samples,) or None
        Its targets (see :func:`haufe_patterns`).
    inverse_transform : bool

    Returns
    -------
    patterns : array of shape (n_targets, n_features), or (n_features,) for one target
    """
    steps = [s for _, s in estimator.steps] if hasattr(estimator, "steps") else [estimator]
    *transformers, final = steps
    if not hasattr(final, "coef_"):
        raise TypeError(
            f"estimator must end in a fitted linear model with coef_; got "
            f"{type(final).__name__} without coef_."
        )
    for step in transformers:
        X = step.transform(X)
    coef = np.asarray(final.coef_)
    single = coef.ndim == 1 or (coef.shape[0] == 1 and (Y is None or np.ndim(Y) == 1))
    patterns = haufe_patterns(X, coef.reshape(-1, coef.shape[-1]), Y)
    if inverse_transform:
        if not transformers:
            raise ValueError(
                "inverse_transform=True needs a pipeline with transformers before the "
                f"linear model; got a bare {type(final).__name__}."
            )
        for step in transformers[::-1]:
            patterns = step.inverse_transform(patterns)
    return patterns[0] if single else patterns


def trf_patterns(trf: Any, X: Any, Y: Any) -> np.ndarray:
    """Haufe patterns of a fitted :class:`~neurodecode.encoding.TemporalReceptiveField`.

    ``cov(lagged inputs) W cov(outputs)^-1``, as MNE's ``ReceptiveField(patterns=True)``
    with a ``TimeDelayingRidge``: the inputs centred with their means over all trials
    and zero-padded at trial edges, the covariance accumulated over chunks of time (the
    lagged design is never built). A single output is scaled by ``1 / (n - 1)``, as
    MNE. With several outputs MNE reshapes its ``(n_outputs, n_inputs, n_delays)``
    coefficients to ``(n_inputs * n_delays, n_outputs)`` without transposing; here they
    are transposed, which is Haufe's formula (so the two differ there).

    Parameters
    ----------
    trf : fitted TemporalReceptiveField
    X, Y : lists of arrays of shape (n_times, n_features) and (n_times, n_channels)
        The trials it was fitted on (stimulus and response, whatever its direction).

    Returns
    -------
    patterns : array of the shape of ``trf.coef_``
    """
    from ._streamed import _moments
    from .trf import _as_trials

    if not hasattr(trf, "coef_"):
        raise TypeError(f"trf must be a fitted TemporalReceptiveField; got {type(trf).__name__}.")
    inputs, outputs = trf._inputs_outputs(_as_trials("X", X, np.float64),
                                          _as_trials("Y", Y, np.float64))
    lags = trf._lags()
    x_mean = np.concatenate(inputs).mean(0) if trf.fit_intercept else 0.0
    cat_out = np.concatenate(outputs)
    n = len(cat_out)
    gram = sum(_moments(x - x_mean, y, lags, 4096).gram for x, y in zip(inputs, outputs))
    coef = trf.coef_ if trf.direction == "forward" else trf.coef_[:, :, ::-1]
    W = coef.reshape(coef.shape[0], -1).T  # (n_inputs * n_delays, n_outputs), design order
    if W.shape[1] > 1:
        precision = np.linalg.pinv(np.cov((cat_out - cat_out.mean(0)).T))
    else:
        precision = np.full((1, 1), 1.0 / (n - 1))
    patterns = (gram / (n - 1) @ W @ precision).T.reshape(coef.shape)
    return patterns if trf.direction == "forward" else patterns[:, :, ::-1]


__all__ = ["get_patterns", "haufe_patterns", "trf_patterns"]
