"""Inference for RSA: permutations of condition labels, bootstrap confidence intervals,
pairwise model comparison, FDR and cluster-based correction over time.

The p-values and percentile intervals come from :mod:`neurodecode._stats`, shared with
the encoding and evaluation modules. ``permutation_test`` and ``bootstrap_ci`` are the
earlier names of :func:`permutation_test_rdms` and :func:`bootstrap_ci_rdms`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.stats
from tqdm.auto import tqdm

from .._compat import renamed_kwargs
from .._stats import check_confidence, p_value_from_counts, percentile_interval
from .._validation import check_option, check_positive
from .compare import compare_rdms
from .methods import METHODS
from .rdm import n_conditions_from_pairs
from .transforms import pair_index, subsample_rdms

BOOTSTRAP_OVER = ("conditions", "subjects", "both")
#: Relabellings compared at once by :func:`permutation_test` (bounds its memory).
PERMUTATION_BLOCK = 100


@dataclass(frozen=True)
class PermutationResult:
    """Result of :func:`permutation_test_rdms`.

    Parameters
    ----------
    similarity : array of shape (..., n_models)
        Observed similarity.
    null : array of shape (n_permutations, ..., n_models)
        Similarities after permuting the condition labels of the models.
    p_value : array of shape (..., n_models)
        One-sided p-value, ``(1 + #(null >= observed)) / (1 + n_permutations)``
        (without the +1 when ``plus_one=False``).
    """

    similarity: np.ndarray
    null: np.ndarray
    p_value: np.ndarray


@dataclass(frozen=True)
class BootstrapResult:
    """Result of :func:`bootstrap_ci_rdms`: estimate, bounds and bootstrap samples.

    Parameters
    ----------
    estimate : array of shape (n_models,)
        Similarity on the full data (mean over subjects).
    ci_low, ci_high : arrays of shape (n_models,)
        Percentile confidence interval.
    samples : array of shape (n_bootstraps, n_models)
        Bootstrap distribution.
    """

    estimate: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    samples: np.ndarray


def _as_models(model_rdms: Any, n_pairs: int) -> np.ndarray:
    models = np.atleast_2d(np.asarray(model_rdms, dtype=np.float64))
    if models.ndim != 2 or models.shape[-1] != n_pairs:
        raise ValueError(
            f"model_rdms must have shape (n_models, n_pairs={n_pairs}) or ({n_pairs},); "
            f"got {np.shape(model_rdms)}."
        )
    return models


def _permuted_pairs(n: int, perm: np.ndarray) -> np.ndarray:
    """Indices into a condensed RDM that give the RDM of permuted conditions."""
    return pair_index(n, perm)


def _relabelled_null(data: np.ndarray, models: np.ndarray, method: str, n: int,
                     perms: list) -> np.ndarray:
    """Similarities under the relabellings ``perms``, shape (len(perms), ..., n_models)."""
    n_data = int(np.prod(data.shape[:-1]))
    if n_data < len(models) and not (np.isnan(data).any() or np.isnan(models).any()):
        # the data relabelled by the inverse permutation give the same similarities
        # (a bijection of the pairs), with fewer RDMs to rank; with NaN pairs (excluded
        # from the whole call) the models are relabelled, as always before
        idx = np.stack([_permuted_pairs(n, np.argsort(p)) for p in perms])
        flat = data.reshape(n_data, -1)[:, idx]  # (n_data, len(perms), n_pairs)
        null = compare_rdms(flat.reshape(-1, data.shape[-1]), models, method)
        null = null.reshape(data.shape[:-1] + (len(perms), len(models)))
        null = np.moveaxis(null, -2, 0)
    else:
        idx = np.stack([_permuted_pairs(n, p) for p in perms])
        permuted = models[:, idx]  # (n_models, len(perms), n_pairs)
        null = compare_rdms(data, permuted.reshape(-1, data.shape[-1]), method)
        null = null.reshape(data.shape[:-1] + (len(models), len(perms)))
        null = np.moveaxis(null, -1, 0)
    return null


def permutation_test_rdms(
    data_rdms: Any,
    model_rdms: Any,
    method: str = "spearman",
    *,
    n_permutations: int = 1000,
    seed: int | np.random.Generator | None = 0,
    plus_one: bool = True,
    progress: bool = False,
) -> PermutationResult:
    """Test model similarity by permuting the condition labels of the model RDMs.

    Parameters
    ----------
    data_rdms : array of shape (..., n_pairs)
        Condensed data RDMs.
    model_rdms : array of shape (n_models, n_pairs) or (n_pairs,)
        Condensed model RDMs.
    method : str
        Comparison method (see :func:`compare_rdms`).
    n_permutations : int
        Number of random relabellings.
    seed : int, Generator or None
        Seed of the random permutations.
    plus_one : bool
        Count the observed labelling among the permutations (Phipson & Smyth 2010):
        the p-value is never 0 and the test is exact. ``False``: the plain fraction
        of the null at least as large as the observed value.
    progress : bool
        Show a progress bar over blocks of :data:`PERMUTATION_BLOCK` relabellings.

    Returns
    -------
    result : PermutationResult
    """
    check_positive("n_permutations", n_permutations)
    data = np.asarray(data_rdms, dtype=np.float64)
    models = _as_models(model_rdms, data.shape[-1])
    n = n_conditions_from_pairs(data.shape[-1], "data_rdms")
    rng = np.random.default_rng(seed)
    observed = compare_rdms(data, models, method)
    perms = [rng.permutation(n) for _ in range(n_permutations)]
    # NaN pairs are excluded over a whole call of compare_rdms: then one block, as before
    size = n_permutations if np.isnan(data).any() or np.isnan(models).any() else PERMUTATION_BLOCK
    blocks = [perms[k:k + size] for k in range(0, n_permutations, size)]
    null = np.concatenate([_relabelled_null(data, models, method, n, block) for block in tqdm(
        blocks, desc=f"RSA permutations (blocks of {size})", disable=not progress)])
    p = p_value_from_counts((null >= observed[None]).sum(0), n_permutations, plus_one)
    return PermutationResult(observed, null, p)


def _draw_conditions(n: int, rng: np.random.Generator) -> np.ndarray:
    """A resample of ``n`` conditions with replacement, sorted."""
    return np.sort(rng.integers(0, n, n))


def _resample_conditions(rdms: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """RDMs of a resample of conditions; pairs of a condition with its copy are NaN."""
    return _resampled(rdms, n, _draw_conditions(n, rng))


def _resampled(rdms: np.ndarray, n: int, pick: np.ndarray) -> np.ndarray:
    """RDMs of the conditions ``pick``; pairs of a condition with its copy are NaN."""
    return subsample_rdms(rdms, pick)


@renamed_kwargs(n_bootstrap="n_bootstraps")
def bootstrap_ci_rdms(
    subject_rdms: Any,
    model_rdms: Any,
    method: str = "spearman",
    *,
    over: str = "conditions",
    n_bootstraps: int = 1000,
    ci: float = 0.95,
    seed: int | np.random.Generator | None = 0,
    progress: bool = False,
) -> BootstrapResult:
    """Bootstrap confidence intervals of model similarity.

    Parameters
    ----------
    subject_rdms : array of shape (n_subjects, n_pairs) or (n_pairs,)
        Condensed data RDMs, one per subject (similarity is averaged over subjects).
    model_rdms : array of shape (n_models, n_pairs) or (n_pairs,)
        Condensed model RDMs.
    method : str
        Comparison method (see :func:`compare_rdms`).
    over : {"conditions", "subjects", "both"}
        What to resample with replacement. Resampling conditions sets the pairs of a
        condition with its own copy to NaN (excluded), as rsatoolbox does; as in its
        ``eval_bootstrap_pattern``, a resample drawing fewer than 3 distinct conditions
        (whose similarities are trivially 1, -1 or 0) is left out: NaN in ``samples``.
    n_bootstraps : int
        Number of bootstrap samples (``n_bootstrap``, the earlier name, warns).
    ci : float
        Coverage of the percentile interval, in (0, 1).
    seed : int, Generator or None
        Seed of the resampling.
    progress : bool
        Show a progress bar over the bootstrap samples.

    Returns
    -------
    result : BootstrapResult
    """
    check_option("over", over, BOOTSTRAP_OVER)
    check_option("method", method, METHODS)
    check_positive("n_bootstraps", n_bootstraps)
    check_confidence("ci", ci)
    data = np.atleast_2d(np.asarray(subject_rdms, dtype=np.float64))
    models = _as_models(model_rdms, data.shape[-1])
    n = n_conditions_from_pairs(data.shape[-1], "subject_rdms")
    if over in ("subjects", "both") and data.shape[0] < 2:
        raise ValueError(f"over={over!r} needs at least 2 subject RDMs; got {data.shape[0]}.")
    rng = np.random.default_rng(seed)
    estimate = compare_rdms(data, models, method).mean(0)
    samples = np.empty((n_bootstraps, len(models)))
    degenerate = 0
    for k in tqdm(range(n_bootstraps), desc="RSA bootstrap", disable=not progress):
        subj = data
        if over in ("subjects", "both"):
            subj = data[rng.integers(0, len(data), len(data))]
        mods = models
        if over in ("conditions", "both"):
            pick = _draw_conditions(n, rng)
            if len(np.unique(pick)) < 3:  # 2 distinct conditions: one distinct pair
                samples[k] = np.nan
                degenerate += 1
                continue
            both = _resampled(np.concatenate([subj, models]), n, pick)
            subj, mods = both[: len(subj)], both[len(subj) :]
        with warnings.catch_warnings():  # constant resampled RDMs: counted below
            warnings.simplefilter("ignore", UserWarning)
            samples[k] = compare_rdms(subj, mods, method).mean(0)
    left_out = int(np.isnan(samples).any(1).sum())
    if left_out:
        warnings.warn(
            f"{left_out} of {n_bootstraps} bootstrap resamples were left out (NaN in "
            f"samples): {degenerate} drew fewer than 3 distinct conditions (of {n}), the "
            "others made an RDM constant over the drawn pairs. With few conditions, "
            "prefer over='subjects'.",
            UserWarning,
            stacklevel=2,
        )
    low, high = percentile_interval(samples, ci)
    return BootstrapResult(estimate, low, high, samples)


@renamed_kwargs(n_bootstrap="n_bootstraps")
def compare_models(
    subject_rdms: Any,
    model_rdms: Any,
    method: str = "spearman",
    *,
    over: str = "conditions",
    n_bootstraps: int = 1000,
    seed: int | np.random.Generator | None = 0,
    plus_one: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Pairwise comparison of models by bootstrapping differences in similarity.

    Parameters
    ----------
    subject_rdms, model_rdms, method, over, n_bootstraps, seed
        As in :func:`bootstrap_ci_rdms` (resamples of fewer than 3 distinct conditions are
        left out).
    plus_one : bool
        Add 1 to the counts and to the number of resamples, so that a p-value is never
        0; ``False``: the plain bootstrap fractions.

    Returns
    -------
    difference : array of shape (n_models, n_models)
        ``difference[i, j]`` = similarity of model i minus that of model j.
    p_value : array of shape (n_models, n_models)
        Two-sided bootstrap p-value of each difference (1 on the diagonal). Correct
        them for multiple comparisons with :func:`fdr_correction`.
    """
    res = bootstrap_ci_rdms(
        subject_rdms, model_rdms, method, over=over, n_bootstraps=n_bootstraps, seed=seed
    )
    diff = res.estimate[:, None] - res.estimate[None, :]
    boot = res.samples[:, :, None] - res.samples[:, None, :]
    valid = (~np.isnan(boot)).sum(0)  # resamples left out are NaN
    below = p_value_from_counts((boot <= 0).sum(0), valid, plus_one)
    above = p_value_from_counts((boot >= 0).sum(0), valid, plus_one)
    p = np.minimum(1.0, 2 * np.minimum(below, above))
    np.fill_diagonal(p, 1.0)
    return diff, p


@dataclass(frozen=True)
class ClusterResult:
    """Result of :func:`cluster_test`.

    Parameters
    ----------
    t_obs : array of shape (n_times,)
        One-sample t statistic at each time point.
    clusters : list of slice
        Contiguous supra-threshold time ranges.
    p_values : array of shape (n_clusters,)
        Cluster p-values from sign-flip permutations (max cluster mass).
    """

    t_obs: np.ndarray
    clusters: list
    p_values: np.ndarray


def _tstat(x: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return x.mean(-2) / (x.std(-2, ddof=1) / np.sqrt(x.shape[-2]))


def _clusters(mask: np.ndarray) -> list:
    edges = np.diff(np.concatenate([[0], mask.astype(int), [0]]))
    return [slice(s, e) for s, e in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1))]


def cluster_test(
    x: Any,
    *,
    threshold: float | None = None,
    n_permutations: int = 1000,
    seed: int | np.random.Generator | None = 0,
    plus_one: bool = True,
) -> ClusterResult:
    """One-sided (greater than 0) cluster-based sign-flip permutation test over time.

    Parameters
    ----------
    x : array of shape (n_subjects, n_times)
        E.g. model similarity of each subject at each time point.
    threshold : float or None
        t threshold forming clusters; ``None`` uses the 95th percentile of Student's
        t with n_subjects - 1 degrees of freedom.
    n_permutations : int
        Number of random sign flips.
    seed : int, Generator or None
        Seed of the sign flips.
    plus_one : bool
        ``(1 + #(null >= mass)) / (1 + n_permutations)``; ``False``: without the +1.

    Returns
    -------
    result : ClusterResult
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 2:
        raise ValueError(f"x must have shape (n_subjects >= 2, n_times); got {x.shape}.")
    check_positive("n_permutations", n_permutations)
    if threshold is None:
        threshold = float(scipy.stats.t.ppf(0.95, x.shape[0] - 1))
    t_obs = _tstat(x)
    clusters = _clusters(t_obs > threshold)
    masses = np.array([t_obs[c].sum() for c in clusters])
    rng = np.random.default_rng(seed)
    signs = rng.choice([-1.0, 1.0], size=(n_permutations, x.shape[0], 1))
    t_null = _tstat(signs * x[None])
    null_max = np.array(
        [max([t[c].sum() for c in _clusters(t > threshold)], default=0.0) for t in t_null]
    )
    p = np.array(
        [p_value_from_counts((null_max >= m).sum(), n_permutations, plus_one) for m in masses]
    )
    return ClusterResult(t_obs, clusters, p)


#: Earlier names, kept for existing code.
permutation_test = permutation_test_rdms
bootstrap_ci = bootstrap_ci_rdms

__all__ = [
    "BOOTSTRAP_OVER",
    "BootstrapResult",
    "ClusterResult",
    "PermutationResult",
    "bootstrap_ci",
    "bootstrap_ci_rdms",
    "cluster_test",
    "compare_models",
    "permutation_test",
    "permutation_test_rdms",
]
