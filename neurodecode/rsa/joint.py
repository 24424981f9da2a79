"""Comparisons of a data RDM with several model RDMs at once (mne-rsa's ``regression``,
``partial`` and ``partial-spearman`` metrics), vectorised over the data RDMs.

Unlike the pairwise methods of :data:`neurodecode.rsa.METHODS`, the value for one model
depends on the other models: a regression weight, or a correlation with the other
models partialled out.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import check_option
from ._ranks import _ranks
from .compare import _nan_groups, _prepare

JOINT_METHODS = ("regression", "partial", "partial_spearman")


def compare_rdms_jointly(rdm_a: Any, rdm_b: Any, method: str = "regression") -> np.ndarray:
    """Compare data RDMs with a set of model RDMs jointly.

    Parameters
    ----------
    rdm_a : array of shape (..., n_pairs)
        Condensed data RDMs (any leading axes).
    rdm_b : array of shape (n_models, n_pairs)
        Condensed model RDMs (at least 2 for the partial correlations).
    method : {"regression", "partial", "partial_spearman"}
        ``"regression"``: least-squares weights of the centred models predicting the
        centred data RDM; ``"partial"``: Pearson correlation of the data with each
        model, the other models partialled out; ``"partial_spearman"``: the same on
        ranks. Equal to mne-rsa's ``rsa(metric=...)``.

    Returns
    -------
    values : array of shape (..., n_models)
        Each data RDM uses the pairs defined (not NaN) in it and in every model.
    """
    check_option("method", method, JOINT_METHODS)
    a, b, lead, _ = _prepare(rdm_a, rdm_b)
    if method != "regression" and len(b) < 2:
        raise ValueError(
            f"method={method!r} needs at least 2 model RDMs (one to partial out); got "
            f"{len(b)}. Use compare_rdms for one model."
        )
    out = np.full((len(a), len(b)), np.nan)
    model_nan = np.isnan(b).any(0)
    for rows, nan in _nan_groups(a):
        keep = ~(nan | model_nan)
        if keep.sum() <= len(b):
            continue  # fewer pairs than weights: undefined
        y, x = a[rows][:, keep], b[:, keep].T
        if method == "partial_spearman":
            y, x = _ranks(y), _ranks(np.ascontiguousarray(x.T)).T
        out[rows] = _regression(y, x) if method == "regression" else _partial(y, x)
    return out.reshape(lead + (len(b),))


def _regression(y: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Least-squares weights (n_rdms, n_models) of the centred models x (n_pairs, n_models)
    for each centred row of y (minimum-norm, as ``lstsq``, for collinear models)."""
    xc = x - x.mean(0)
    return (y - y.mean(-1, keepdims=True)) @ np.linalg.pinv(xc).T


def _partial(y: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Partial correlation of each row of y with each column of x given the others: the
    residual of model k on the others, against the data's residual on them."""
    yc = y - y.mean(-1, keepdims=True)
    xc = x - x.mean(0)
    yy = np.einsum("ij,ij->i", yc, yc)
    out = np.empty((len(y), x.shape[1]))
    for k in range(x.shape[1]):
        others = np.linalg.qr(np.delete(xc, k, axis=1))[0]  # orthonormal basis
        e_k = xc[:, k] - others @ (others.T @ xc[:, k])
        proj = yc @ others
        with np.errstate(divide="ignore", invalid="ignore"):
            resid = np.sqrt(np.maximum(yy - np.einsum("ij,ij->i", proj, proj), 0.0))
            out[:, k] = (yc @ e_k) / (np.linalg.norm(e_k) * resid)
    return out


__all__ = ["JOINT_METHODS", "compare_rdms_jointly"]
