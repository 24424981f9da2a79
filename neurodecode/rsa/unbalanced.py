"""RDMs from single trials with unequal trial counts per condition (and per run),
rsatoolbox's ``calc_rdm_unbalanced`` with its default ``weighting="number"``."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import check_finite
from .rdm import _checked_noise, to_condensed


def compute_unbalanced_rdm(
    trials: Any,
    conditions: Any,
    *,
    runs: Any = None,
    noise: Any = None,
    condition_order: Any = None,
) -> tuple[np.ndarray, list]:
    """Squared (Mahalanobis) distances between conditions from single trials.

    Every pair of trials (i of condition a, j of condition b) contributes its product
    ``x_i' P x_j / n_features`` (P the noise precision, identity by default), weighted
    by number: ``s_ab`` is the mean over the pairs, and ``d_ab = s_aa + s_bb - 2 s_ab``.
    Without ``runs`` all pairs count (the squared distance of the condition means over
    n_features); with ``runs``, pairs from the same run are left out, which makes the
    distances unbiased by the noise (crossnobis when ``noise`` is given).

    Parameters
    ----------
    trials : array of shape (n_trials, n_features)
    conditions : array of shape (n_trials,)
        Condition of each trial (any number of trials each).
    runs : array of shape (n_trials,) or None
        Run (cross-validation fold) of each trial.
    noise : array of shape (n_features, n_features) or None
        Noise precision.
    condition_order : sequence or None
        Conditions in the order of the RDM; ``None``: sorted labels.

    Returns
    -------
    rdm : array of shape (n_pairs,)
    order : list
        The conditions of the RDM.
    """
    x = np.asarray(trials, dtype=np.float64)
    labels = np.asarray(conditions)
    if x.ndim != 2 or labels.shape != (x.shape[0],):
        raise ValueError(
            f"trials must have shape (n_trials, n_features) and conditions (n_trials,); got "
            f"{x.shape} and {labels.shape}."
        )
    check_finite("trials", x, ("trial", "feature"))
    order = list(np.unique(labels)) if condition_order is None else list(condition_order)
    if len(order) < 3:
        raise ValueError(f"an RDM needs at least 3 conditions; got {len(order)}: {order}.")
    prec = np.eye(x.shape[1]) if noise is None else _checked_noise(noise, x.shape[1])
    folds = np.zeros(len(x), int) if runs is None else np.unique(runs, return_inverse=True)[1]
    if runs is not None and np.shape(runs) != (len(x),):
        raise ValueError(f"runs must have one label per trial, shape ({len(x)},); got {np.shape(runs)}.")
    member = np.stack([labels == c for c in order]).astype(float)  # (n_cond, n_trials)
    if not member.any(1).all():
        raise ValueError(f"condition(s) {[c for c, m in zip(order, member) if not m.any()]} have no trials.")
    sums, counts = member @ x, member.sum(1)
    num = sums @ prec @ sums.T
    den = np.outer(counts, counts)
    if runs is not None:  # leave out the pairs of trials from one run
        for k in range(folds.max() + 1):
            in_k = member * (folds == k)
            s_k = in_k @ x
            num -= s_k @ prec @ s_k.T
            den -= np.outer(in_k.sum(1), in_k.sum(1))
    if (den <= 0).any():
        a, b = np.argwhere(den <= 0)[0]
        raise ValueError(
            f"conditions {order[a]!r} and {order[b]!r} have no pair of trials from different "
            "runs: their cross-validated distance is undefined."
        )
    s = num / den / x.shape[1]
    d = np.diag(s)[:, None] + np.diag(s)[None, :] - 2 * s
    return to_condensed(d), order


__all__ = ["compute_unbalanced_rdm"]
