"""Per-target scores, noise ceilings and permutation significance with FDR.

:func:`permutation_test_scores` and :func:`repeat_noise_ceiling` were called
``permutation_test`` and ``noise_ceiling``; those names still work. The RSA counterparts
are :func:`neurodecode.rsa.permutation_test_rdms` (permuting condition labels) and
:func:`neurodecode.rsa.rdm_noise_ceiling` (bounds for model RDMs).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from .._compat import renamed_kwargs
from .._stats import fdr_correction, permutation_p_value
from .._validation import check_finite, check_option

METRICS = ("r", "r2")


def _as_2d(name: str, y: Any) -> np.ndarray:
    arr = np.asarray(y, dtype=float)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise ValueError(f"{name} must have shape (n_samples, n_targets); got {arr.shape}.")
    return arr


def _warn_zero(n_zero: int, what: str) -> None:
    if n_zero:
        warnings.warn(
            f"{n_zero} target(s) have zero variance in {what}; their score is set to 0.",
            UserWarning,
            stacklevel=3,
        )


def correlation_per_target(y_true: Any, y_pred: Any) -> np.ndarray:
    """Pearson r per column; columns with zero variance score 0 with a warning.

    Parameters
    ----------
    y_true, y_pred : array of shape (n_samples, n_targets)

    Returns
    -------
    r : array of shape (n_targets,)
    """
    a, b = _as_2d("y_true", y_true), _as_2d("y_pred", y_pred)
    flat = _constant(a) | _constant(b)
    a = a - a.mean(0)
    b = b - b.mean(0)
    norm = np.sqrt((a * a).sum(0) * (b * b).sum(0))
    zero = flat | (norm <= 0)
    _warn_zero(int(zero.sum()), "y_true or y_pred")
    return np.where(zero, 0.0, (a * b).sum(0) / np.where(zero, 1.0, norm))


def r2_per_target(y_true: Any, y_pred: Any) -> np.ndarray:
    """Coefficient of determination per column (scikit-learn's formula).

    Columns where ``y_true`` has zero variance score 0 with a warning.

    Parameters
    ----------
    y_true : array of shape (n_samples, n_targets)
        The true targets.
    y_pred : array of shape (n_samples, n_targets)
        The predictions.

    Returns
    -------
    r2 : array of shape (n_targets,)
        The coefficient of determination of each column.
    """
    a, b = _as_2d("y_true", y_true), _as_2d("y_pred", y_pred)
    sse = ((a - b) ** 2).sum(0)
    sst = ((a - a.mean(0)) ** 2).sum(0)
    zero = _constant(a) | (sst <= 0)
    _warn_zero(int(zero.sum()), "y_true")
    return np.where(zero, 0.0, 1.0 - sse / np.where(zero, 1.0, sst))


def _constant(x: np.ndarray) -> np.ndarray:
    """Columns holding one value (centring leaves rounding errors there, not zeros)."""
    return (x == x[:1]).all(0)


SCORERS = {"r": correlation_per_target, "r2": r2_per_target}


def score_targets(y_true: Any, y_pred: Any, metric: str = "r") -> np.ndarray:
    """Score each target: ``"r"`` (Pearson) or ``"r2"``.

    Parameters
    ----------
    y_true, y_pred : array of shape (n_samples, n_targets)
    metric : {"r", "r2"}

    Returns
    -------
    scores : array of shape (n_targets,)
    """
    check_option("metric", metric, SCORERS)
    a, b = _as_2d("y_true", y_true), _as_2d("y_pred", y_pred)
    if a.shape != b.shape:
        raise ValueError(f"y_true and y_pred must have the same shape; got {a.shape} and {b.shape}.")
    check_finite("y_true", a, ("sample", "target"))
    check_finite("y_pred", b, ("sample", "target"))
    return SCORERS[metric](a, b)


@renamed_kwargs(random_state="seed")
def permutation_test_scores(
    y_true: Any,
    y_pred: Any,
    *,
    metric: str = "r",
    n_permutations: int = 1000,
    groups: Any = None,
    method: str = "shift",
    alpha: float = 0.05,
    seed: int | np.random.Generator | None = 0,
    plus_one: bool = True,
    progress: bool = False,
) -> dict[str, np.ndarray]:
    """Permutation significance of each target's score, FDR-corrected across targets.

    The null breaks the pairing of predictions and data while keeping their
    autocorrelation: ``"shift"`` circularly shifts the predictions (within each group
    when ``groups`` is given), ``"groups"`` permutes whole groups (e.g. runs) of equal
    length, ``"shuffle"`` permutes samples (only for independent samples).

    Parameters
    ----------
    y_true, y_pred : array of shape (n_samples, n_targets)
    metric : {"r", "r2"}
    n_permutations : int
    groups : array of shape (n_samples,) or None
    method : {"shift", "groups", "shuffle"}
    alpha : float
        FDR level.
    seed : int, Generator or None
        Seed of the permutations (``random_state``, the earlier name, warns).
    plus_one : bool
        Count the observed score as one of the null draws,
        ``p = (1 + #{null >= observed}) / (n_permutations + 1)`` (Phipson & Smyth
        2010): never exactly 0 and a valid test. False gives the plain fraction
        ``#{null >= observed} / n_permutations``, which can be 0.
    progress : bool
        Show a progress bar over the permutations.

    Returns
    -------
    result : dict
        ``score`` (n_targets,), ``pvalue`` (n_targets,),
        ``pvalue_fdr`` (n_targets,), ``significant`` (bool, n_targets), ``null``
        (n_permutations, n_targets).
    """
    check_option("method", method, ["shift", "groups", "shuffle"])
    if n_permutations < 1:
        raise ValueError(f"n_permutations must be >= 1; got {n_permutations}.")
    a, b = _as_2d("y_true", y_true), _as_2d("y_pred", y_pred)
    observed = score_targets(a, b, metric)
    rng = np.random.default_rng(seed)
    perm_index = _null_indices(a.shape[0], groups, method, rng)
    null = np.empty((n_permutations, a.shape[1]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        for k in tqdm(range(n_permutations), desc="encoding permutations", disable=not progress):
            null[k] = SCORERS[metric](a, b[perm_index()])
    pvalue = permutation_p_value(null, observed, plus_one)
    significant, p_fdr = fdr_correction(pvalue, alpha)
    return {"score": observed, "pvalue": pvalue, "pvalue_fdr": p_fdr,
            "significant": significant, "null": null}


def _null_indices(n: int, groups: Any, method: str, rng: np.random.Generator):
    """Return a callable drawing one permuted sample order."""
    labels = np.zeros(n, int) if groups is None else np.asarray(groups)
    if labels.shape != (n,):
        raise ValueError(f"groups must have shape ({n},); got {labels.shape}.")
    blocks = [np.flatnonzero(labels == g) for g in np.unique(labels)]
    if method == "shuffle":
        return lambda: rng.permutation(n)
    if method == "groups":
        sizes = {len(b) for b in blocks}
        if len(blocks) < 2 or len(sizes) != 1:
            raise ValueError(
                "method='groups' needs >= 2 groups of equal length; got group sizes "
                f"{sorted(len(b) for b in blocks)}."
            )

        def permute_groups() -> np.ndarray:
            out = np.empty(n, int)
            for block, source in zip(blocks, rng.permutation(len(blocks))):
                out[block] = blocks[source]
            return out

        return permute_groups

    def shift() -> np.ndarray:
        out = np.empty(n, int)
        for block in blocks:
            out[block] = np.roll(block, rng.integers(1, max(len(block), 2)))
        return out

    return shift


def repeat_noise_ceiling(repeats: Any, method: str = "split_half") -> np.ndarray:
    """Noise ceiling (maximum expected r) per target from repeated presentations.

    Parameters
    ----------
    repeats : array of shape (n_repeats, n_samples, n_targets)
        Responses to the same stimuli, repeated.
    method : {"split_half", "loo"}
        ``"split_half"``: correlation of the means of the odd and even repeats,
        Spearman-Brown corrected to the full number of repeats; ``"loo"``: mean
        correlation ``r`` of each repeat with the mean of the other ``n - 1``, from which
        the single-repeat reliability ``rho`` follows (``r^2 = rho * rho_{n-1}``, with
        ``rho_m`` Spearman-Brown's reliability of a mean of ``m``), then corrected to
        all ``n`` repeats. Both estimate the same ceiling.

    Returns
    -------
    ceiling : array of shape (n_targets,)
        Ceiling on the correlation between a model and the mean response.
    """
    check_option("method", method, ["split_half", "loo"])
    data = np.asarray(repeats, dtype=float)
    if data.ndim != 3 or data.shape[0] < 2:
        raise ValueError(
            "repeats must have shape (n_repeats >= 2, n_samples, n_targets); got "
            f"{data.shape}."
        )
    n = len(data)
    if method == "loo":
        total = data.sum(0)
        rs = [correlation_per_target(d, (total - d) / (n - 1)) for d in data]
        r2 = np.clip(np.mean(rs, axis=0), 0, None) ** 2
        # (n - 1) rho^2 - r^2 (n - 2) rho - r^2 = 0: the single-repeat reliability
        rho = (r2 * (n - 2) + np.sqrt(r2**2 * (n - 2) ** 2 + 4 * (n - 1) * r2)) / (2 * (n - 1))
        r_full = n * rho / (1 + (n - 1) * rho)
    else:
        r = correlation_per_target(data[0::2].mean(0), data[1::2].mean(0))
        r_full = 2 * r / (1 + np.abs(r))  # Spearman-Brown: reliability of the full mean
    return np.sqrt(np.clip(r_full, 0, None))


def normalise_by_ceiling(scores: Any, ceiling: Any, min_ceiling: float = 0.05) -> np.ndarray:
    """Scores divided by the noise ceiling; targets with ceiling < ``min_ceiling`` give NaN-free 0.

    Parameters
    ----------
    scores, ceiling : array of shape (n_targets,)
    min_ceiling : float
        Targets whose ceiling is below this are unreliable and get 0.

    Returns
    -------
    normalised : array of shape (n_targets,)
        ``scores / ceiling``, 0 where the ceiling is below ``min_ceiling``.
    """
    s, c = np.asarray(scores, float), np.asarray(ceiling, float)
    if s.shape != c.shape:
        raise ValueError(f"scores and ceiling must have the same shape; got {s.shape}, {c.shape}.")
    ok = c >= min_ceiling
    return np.where(ok, s / np.where(ok, c, 1.0), 0.0)


#: Earlier names, kept for existing code.
permutation_test = permutation_test_scores
noise_ceiling = repeat_noise_ceiling

__all__ = [
    "METRICS",
    "SCORERS",
    "correlation_per_target",
    "fdr_correction",
    "noise_ceiling",
    "normalise_by_ceiling",
    "permutation_p_value",
    "permutation_test",
    "permutation_test_scores",
    "r2_per_target",
    "repeat_noise_ceiling",
    "score_targets",
]
