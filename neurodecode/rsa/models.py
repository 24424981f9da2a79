"""Model RDMs with parameters: weighted combinations of component RDMs fitted to data
(rsatoolbox's ``ModelWeighted`` with ``fit_regress`` / ``fit_regress_nn``), selection of
the best of a set (``ModelSelect``), and cross-validated evaluation over folds of
conditions (rsatoolbox's ``crossval``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import scipy.optimize

from .._compat import renamed_kwargs
from .._validation import check_option
from .ceiling import pool_rdms
from .compare import compare_rdms
from .rdm import n_conditions_from_pairs
from .transforms import subsample_rdms, subset_rdms

FIT_METHODS = ("cosine", "pearson")
FITS = ("fixed", "weighted", "weighted_nn", "select", "interpolate")


def category_rdm(conditions: Sequence[str], categories: Mapping[str, Any]) -> np.ndarray:
    """Model RDM of categories: 0 for two conditions of one category, 1 otherwise.

    Parameters
    ----------
    conditions : sequence of str
        The RDM's conditions, in order.
    categories : mapping
        Condition -> category (every condition must be mapped).

    Returns
    -------
    rdm : array of shape (n_pairs,)
        Condensed, ``n_pairs = n * (n - 1) / 2``.

    Raises
    ------
    ValueError
        If a condition has no category, or every condition has the same one.

    Examples
    --------
    >>> from neurodecode.rsa import category_rdm
    >>> category_rdm(["a", "b", "c"], {"a": "x", "b": "x", "c": "y"}).tolist()
    [0.0, 1.0, 1.0]
    """
    from scipy.spatial.distance import squareform

    missing = [c for c in conditions if c not in categories]
    if missing:
        raise ValueError(f"categories does not map condition(s) {missing}; expected "
                         "a category for every condition of the RDM.")
    labels = np.array([str(categories[c]) for c in conditions])
    if len(set(labels)) < 2:
        raise ValueError(f"categories puts every condition in {str(labels[0])!r}; a "
                         "category RDM needs at least two categories.")
    return squareform((labels[:, None] != labels[None]).astype(float), checks=False)


def weighted_rdm(model_rdms: Any, theta: Any, *, allow_negative: bool = False) -> np.ndarray:
    """The RDM predicted by a weighted model: sum over k of ``theta[k] * model_rdms[k]``.

    Parameters
    ----------
    model_rdms : array of shape (n_components, ..., n_pairs)
    theta : array of shape (n_components,)
    allow_negative : bool
        Accept negative weights (a difference of RDMs, which can hold negative
        "dissimilarities"); by default a negative weight is an error.

    Returns
    -------
    rdm : array of shape (..., n_pairs)
    """
    comps = np.asarray(model_rdms, dtype=np.float64)
    w = np.asarray(theta, dtype=np.float64)
    if w.shape != comps.shape[:1]:
        raise ValueError(
            f"theta must hold one weight per component RDM, shape ({comps.shape[0]},); got "
            f"{w.shape}."
        )
    if not allow_negative and (w < 0).any():
        raise ValueError(
            f"theta holds negative weights {w[w < 0].tolist()} (components "
            f"{np.flatnonzero(w < 0).tolist()}); a weighted model needs weights >= 0: fit "
            "with nonnegative=True, or pass allow_negative=True."
        )
    return np.tensordot(w, comps, axes=1)


def fit_weights(
    data_rdms: Any,
    model_rdms: Any,
    method: str = "cosine",
    *,
    nonnegative: bool = False,
    ridge: float = 0.0,
    normalize: bool = True,
) -> np.ndarray:
    """Fit the weights of a weighted model to data RDMs by least squares.

    The data RDMs are pooled for ``method`` (:func:`pool_rdms`), then the weights
    minimise ``||y - X theta||^2 + ridge ||theta||^2`` (model RDMs centred for
    ``"pearson"``); equal to rsatoolbox's ``fit_regress`` and, with
    ``nonnegative=True``, its ``fit_regress_nn`` (NNLS).

    Parameters
    ----------
    data_rdms : array of shape (n_rdms, n_pairs) or (n_pairs,)
    model_rdms : array of shape (n_components, n_pairs)
    method : {"cosine", "pearson"}
    nonnegative : bool
        Constrain the weights to be >= 0 (non-negative least squares).
    ridge : float
        Ridge penalty on the weights (>= 0).
    normalize : bool
        Scale the weights to unit norm (the similarity does not depend on it).

    Returns
    -------
    theta : array of shape (n_components,)
    """
    check_option("method", method, FIT_METHODS)
    if not ridge >= 0:
        raise ValueError(f"ridge must be >= 0; got {ridge!r}.")
    data = np.atleast_2d(np.asarray(data_rdms, dtype=np.float64))
    comps = np.atleast_2d(np.asarray(model_rdms, dtype=np.float64))
    y = pool_rdms(data, method)
    keep = ~(np.isnan(y) | np.isnan(comps).any(0))
    x, y = comps[:, keep].T, y[keep]
    if method == "pearson":
        x = x - x.mean(0)
    if nonnegative:
        aug_x = np.vstack([x, np.sqrt(ridge) * np.eye(x.shape[1])])
        theta = scipy.optimize.nnls(aug_x, np.concatenate([y, np.zeros(x.shape[1])]))[0]
    else:
        theta = np.linalg.solve(x.T @ x + ridge * np.eye(x.shape[1]), x.T @ y)
    norm = np.sqrt(np.sum(theta**2))
    return theta / norm if normalize and norm > 0 else theta


def select_model(data_rdms: Any, model_rdms: Any, method: str = "cosine") -> int:
    """Index of the model RDM with the highest mean similarity to the data RDMs
    (rsatoolbox's ``ModelSelect`` with ``fit_select``).

    Parameters
    ----------
    data_rdms : array of shape (n_subjects, n_pairs)
        Data RDMs.
    model_rdms : array of shape (n_models, n_pairs)
        Candidate model RDMs.
    method : str
        A comparison method of ``METHODS``.

    Returns
    -------
    index : int
        The row of ``model_rdms`` that fits best.
    """
    sims = compare_rdms(np.atleast_2d(np.asarray(data_rdms, float)), model_rdms, method)
    return int(np.argmax(np.nanmean(sims, 0)))


def fit_interpolation(data_rdms: Any, model_rdms: Any, method: str = "cosine") -> np.ndarray:
    """Weights of the best linear interpolation between two adjacent model RDMs.

    For each pair (k, k + 1) of the ordered model RDMs, ``w`` in [0, 1] maximises the
    mean similarity of ``w * rdm_k + (1 - w) * rdm_k+1`` with the data (bounded Brent
    search); the best pair wins. Equal to rsatoolbox's ``ModelInterpolate`` fitted by
    ``fit_interpolate``.

    Parameters
    ----------
    data_rdms : array of shape (n_rdms, n_pairs) or (n_pairs,)
    model_rdms : array of shape (n_components >= 2, n_pairs)
        RDMs in the order along which to interpolate.
    method : str
        Comparison method.

    Returns
    -------
    theta : array of shape (n_components,)
        Zero but for ``w`` and ``1 - w`` at the best pair.
    """
    data = np.atleast_2d(np.asarray(data_rdms, dtype=np.float64))
    comps = np.atleast_2d(np.asarray(model_rdms, dtype=np.float64))
    if len(comps) < 2:
        raise ValueError(f"model_rdms must hold at least 2 RDMs to interpolate; got {len(comps)}.")

    def loss(w: float, k: int) -> float:
        pred = w * comps[k] + (1 - w) * comps[k + 1]
        return -float(np.mean(compare_rdms(data, pred, method)))

    fits = [scipy.optimize.minimize_scalar(loss, np.array([0.5]), args=(k,), method="bounded",
                                           bounds=(0, 1)) for k in range(len(comps) - 1)]
    best = int(np.argmin([f.fun for f in fits]))
    theta = np.zeros(len(comps))
    theta[best], theta[best + 1] = fits[best].x, 1 - fits[best].x
    return theta


def crossval_models(
    subject_rdms: Any,
    models: list[Any],
    folds: list[Any],
    method: str = "cosine",
    *,
    fit: str | list[str] = "fixed",
) -> np.ndarray:
    """Cross-validated evaluation of models over folds of conditions.

    For each fold, every model is fitted on the RDMs of the other conditions and
    evaluated on the RDMs of the fold's conditions (the mean similarity over subject
    RDMs), as rsatoolbox's ``crossval``.

    Parameters
    ----------
    subject_rdms : array of shape (n_subjects, n_pairs)
    models : list of arrays
        Each a fixed RDM (n_pairs,) or component RDMs (n_components, n_pairs) for
        ``"weighted"``/``"weighted_nn"``/``"select"``.
    folds : list of arrays of int
        The test conditions of each fold (at least 3 each; the training conditions are
        the others, at least 3).
    method : str
        Comparison method (fitting needs ``"cosine"`` or ``"pearson"``).
    fit : str or list of str
        ``"fixed"``, ``"weighted"`` (least squares), ``"weighted_nn"`` (non-negative),
        ``"select"`` or ``"interpolate"``, one for all models or one per model.

    Returns
    -------
    evaluations : array of shape (n_folds, n_models)
    """
    data = np.atleast_2d(np.asarray(subject_rdms, dtype=np.float64))
    n = n_conditions_from_pairs(data.shape[-1], "subject_rdms")
    fits = [fit] * len(models) if isinstance(fit, str) else list(fit)
    if len(fits) != len(models):
        raise ValueError(f"fit must be one name or one per model ({len(models)}); got {len(fits)}.")
    for f in fits:
        check_option("fit", f, FITS)
    out = np.empty((len(folds), len(models)))
    for i, fold in enumerate(folds):
        test, train = _split(fold, n, i)
        for k, (model, f) in enumerate(zip(models, fits)):
            pred = _fitted(np.asarray(model, float), f, subset_rdms(data, train), train, method)
            out[i, k] = np.mean(compare_rdms(subset_rdms(data, test), subset_rdms(pred, test),
                                             method))
    return out


def _split(fold: Any, n: int, i: int) -> tuple[np.ndarray, np.ndarray]:
    test = np.unique(np.asarray(fold, dtype=int))
    train = np.setdiff1d(np.arange(n), test)
    if len(test) < 3 or len(train) < 3:
        raise ValueError(
            f"fold {i} leaves {len(test)} test and {len(train)} training condition(s) of {n}; "
            "each side needs at least 3 (an RDM of at least 3 conditions)."
        )
    return test, train


def _fitted(model: np.ndarray, fit: str, train_rdms: np.ndarray, train: np.ndarray,
            method: str) -> np.ndarray:
    """The full predicted RDM of a model fitted on the training conditions."""
    if fit == "fixed":
        return model
    comps = np.atleast_2d(model)
    train_comps = subset_rdms(comps, train)
    if fit == "select":
        return comps[select_model(train_rdms, train_comps, method)]
    if fit == "interpolate":
        return weighted_rdm(comps, fit_interpolation(train_rdms, train_comps, method))
    theta = fit_weights(train_rdms, train_comps, method, nonnegative=fit == "weighted_nn")
    return weighted_rdm(comps, theta, allow_negative=fit == "weighted")


@renamed_kwargs(n_bootstrap="n_bootstraps")
def bootstrap_crossval_models(
    subject_rdms: Any,
    models: list[Any],
    method: str = "cosine",
    *,
    fit: str | list[str] = "fixed",
    n_folds: int = 2,
    n_bootstraps: int = 100,
    seed: int | np.random.Generator | None = 0,
) -> np.ndarray:
    """Cross-validated model evaluations on bootstrap resamples of subjects and
    conditions (rsatoolbox's ``bootstrap_crossval``, Schütt et al. 2023).

    Each resample draws subjects and conditions with replacement, splits the distinct
    drawn conditions at random into ``n_folds`` folds (all copies of a condition in
    one fold) and runs :func:`crossval_models` on the resampled RDMs. A resample with
    fewer than ``3 * n_folds`` distinct conditions is left out (NaN). Feed the
    covariance of the fold means to :func:`evaluation_variances` and
    :func:`t_test_pairs` for the t-tests.

    Parameters
    ----------
    subject_rdms : array of shape (n_subjects >= 2, n_pairs)
    models, method, fit
        As in :func:`crossval_models`.
    n_folds : int
        Folds of conditions per resample (>= 2, at most n_conditions / 3).
    n_bootstraps : int
        Number of resamples (``n_bootstrap``, the earlier name, warns).
    seed : int, Generator or None

    Returns
    -------
    evaluations : array of shape (n_bootstraps, n_models, n_folds)
    """
    data = np.atleast_2d(np.asarray(subject_rdms, dtype=np.float64))
    n = n_conditions_from_pairs(data.shape[-1], "subject_rdms")
    if int(n_folds) != n_folds or not 2 <= n_folds <= n // 3 or len(data) < 2:
        raise ValueError(
            f"n_folds={n_folds!r} with {n} conditions and {len(data)} subject RDM(s): each fold "
            f"needs at least 3 conditions, so 2 <= n_folds <= {n // 3}, and at least 2 subjects."
        )
    rng = np.random.default_rng(seed)
    out = np.full((n_bootstraps, len(models), int(n_folds)), np.nan)
    for b in range(n_bootstraps):
        subj = data[rng.integers(0, len(data), len(data))]
        pick = np.sort(rng.integers(0, n, n))
        distinct = np.unique(pick)
        if len(distinct) < 3 * n_folds:
            continue
        groups = np.array_split(rng.permutation(distinct), int(n_folds))
        folds = [np.flatnonzero(np.isin(pick, g)) for g in groups]
        resampled = [subsample_rdms(np.asarray(m, float), pick) for m in models]
        out[b] = crossval_models(subsample_rdms(subj, pick), resampled, folds, method,
                                 fit=fit).T
    return out


__all__ = ["FITS", "FIT_METHODS", "bootstrap_crossval_models", "category_rdm", "crossval_models",
           "fit_interpolation", "fit_weights", "select_model", "weighted_rdm"]
