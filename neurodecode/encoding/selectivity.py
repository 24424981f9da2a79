"""Voxel (or sensor) selectivity from a fitted encoding model (BrainDiVE / BrainSCUBA).

Two readings of an encoding model ``y_v = x @ w_v + b_v`` fit on model features:

- rank a stimulus set by each voxel's predicted response and keep its preferred
  stimuli (the "top images" of BrainDiVE, Luo et al. 2023, NeurIPS, and of the
  encoding-model selectivity studies it builds on);
- project each voxel's weight vector into the feature space of a candidate set (images,
  captions) and read its nearest candidates: BrainSCUBA (Luo et al. 2024, ICLR) projects
  the weights onto the manifold of natural embeddings with a softmax over cosine
  similarities, then decodes the nearest caption.

Example
-------
>>> import numpy as np
>>> from neurodecode.encoding import preferred_stimuli
>>> features = np.eye(4)
>>> coef = np.array([[0, 0, 2.0, 0], [1.0, 0, 0, 0]])  # voxel 0 likes stimulus 2
>>> preferred_stimuli(coef, features, top_k=1).indices[:, 0].tolist()
[2, 0]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .._validation import check_finite, check_positive


@dataclass(frozen=True)
class Selectivity:
    """Preferred stimuli (or candidates) of each voxel.

    Parameters
    ----------
    indices : array of int, shape (n_voxels, top_k)
        Stimuli in decreasing order of preference.
    scores : array of shape (n_voxels, top_k)
        Their predicted responses (:func:`preferred_stimuli`) or cosine similarities
        (:func:`project_weights`).
    labels : array of shape (n_voxels, top_k) or None
        Names of those stimuli, when given.
    projected : array of shape (n_voxels, n_features) or None
        Softmax projection of the weights onto the candidates: the softmax-weighted mean
        of the unit-norm candidate features (:func:`project_weights`; None from
        :func:`preferred_stimuli`).
    """

    indices: np.ndarray
    scores: np.ndarray
    labels: np.ndarray | None
    projected: np.ndarray | None = None


def _weights(model: Any) -> tuple[np.ndarray, np.ndarray]:
    """(coef (n_voxels, n_features), intercept (n_voxels,)) of an estimator or array."""
    if hasattr(model, "coef_"):
        coef = np.atleast_2d(np.asarray(model.coef_, dtype=np.float64))
        intercept = np.broadcast_to(np.asarray(getattr(model, "intercept_", 0.0), float),
                                    (coef.shape[0],))
        return coef, np.array(intercept)
    coef = np.asarray(model, dtype=np.float64)
    if coef.ndim != 2:
        raise ValueError(f"model must be a fitted linear encoding model (with coef_) or weights "
                         f"of shape (n_voxels, n_features); got shape {coef.shape}.")
    return coef, np.zeros(coef.shape[0])


def _stimulus_features(features: Any, n_features: int, name: str) -> np.ndarray:
    if features is None:
        raise ValueError(f"{name} is None: a stimulus set needs its model features, shape "
                         f"(n_stimuli, {n_features}); extract them with the encoding model's "
                         "feature first.")
    x = np.asarray(features, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] == 0 or x.shape[1] != n_features:
        raise ValueError(f"{name} must have shape (n_stimuli >= 1, {n_features}) (the "
                         f"encoding model's features); got {x.shape}.")
    check_finite(name, x, ("stimulus", "feature"))
    return x


def _top(values: np.ndarray, top_k: int, labels: Any) -> Selectivity:
    if not isinstance(top_k, int | np.integer) or not 1 <= top_k <= values.shape[1]:
        raise ValueError(f"top_k must be an int in [1, {values.shape[1]}] (the number of "
                         f"stimuli); got {top_k!r}.")
    idx = np.argsort(-values, axis=1, kind="stable")[:, :top_k]
    names = None
    if labels is not None:
        names = np.asarray(labels)
        if names.shape != (values.shape[1],):
            raise ValueError(f"labels must hold one name per stimulus ({values.shape[1]}); got "
                             f"shape {names.shape}.")
        names = names[idx]
    return Selectivity(idx, np.take_along_axis(values, idx, 1), names)


def preferred_stimuli(
    model: Any, stimulus_features: Any, *, top_k: int = 5, labels: Any = None
) -> Selectivity:
    """Rank a stimulus set by each voxel's predicted response.

    Parameters
    ----------
    model : fitted estimator with ``coef_`` (n_voxels, n_features) or such an array
        A linear encoding model, e.g. :class:`RidgeCV` fit on (features -> voxels).
    stimulus_features : array of shape (n_stimuli, n_features)
        Model features of the candidate stimuli (need not be the training stimuli).
    top_k : int
    labels : sequence of str of length n_stimuli or None

    Returns
    -------
    result : Selectivity
        ``scores`` are predicted responses.
    """
    coef, intercept = _weights(model)
    x = _stimulus_features(stimulus_features, coef.shape[1], "stimulus_features")
    return _top(coef @ x.T + intercept[:, None], top_k, labels)


def project_weights(
    model: Any,
    candidate_features: Any,
    *,
    top_k: int = 5,
    temperature: float = 0.01,
    labels: Any = None,
) -> Selectivity:
    """Nearest candidates to each voxel's weights in feature space (BrainSCUBA).

    Parameters
    ----------
    model : fitted estimator with ``coef_`` or array of shape (n_voxels, n_features)
    candidate_features : array of shape (n_candidates, n_features)
        Embeddings of candidate stimuli or captions in the encoding model's feature space.
    top_k : int
    temperature : float
        Softmax temperature over cosine similarities for the projection (> 0; small:
        the nearest candidate, large: their mean).
    labels : sequence of str or None

    Returns
    -------
    result : Selectivity
        ``scores`` are cosine similarities; ``projected`` the softmax-weighted mean of
        the unit-norm candidates, shape (n_voxels, n_features).
    """
    coef, _ = _weights(model)
    x = _stimulus_features(candidate_features, coef.shape[1], "candidate_features")
    check_positive("temperature", temperature)
    unit = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    w = coef / np.maximum(np.linalg.norm(coef, axis=1, keepdims=True), 1e-12)
    cos = w @ unit.T
    logits = (cos - cos.max(1, keepdims=True)) / temperature
    soft = np.exp(logits)
    soft /= soft.sum(1, keepdims=True)
    top = _top(cos, top_k, labels)
    return Selectivity(top.indices, top.scores, top.labels, soft @ unit)


__all__ = ["Selectivity", "preferred_stimuli", "project_weights"]
