"""Noise ceilings: how well the best possible model could match a group of subject RDMs.

:func:`rdm_noise_ceiling` (also importable as ``noise_ceiling``, its earlier name) bounds
the similarity of a model RDM with subject RDMs; the ceiling of an encoding model's
correlation from repeated presentations is
:func:`neurodecode.encoding.repeat_noise_ceiling`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .compare import compare_rdms_paired
from .methods import METHODS, get_method, get_pool


def pool_rdms(rdms: Any, method: str = "spearman") -> np.ndarray:
    """Average RDMs into the one that best fits them all under ``method``.

    The pooling rule is the ``pool`` of the method's record in :data:`METHODS`, the
    same as rsatoolbox's ``pool_rdm``: z-scored RDMs for ``"pearson"``, RDMs of unit
    root-mean-square for ``"cosine"``, mean ranks for the rank methods, unit whitened
    norm for the whitened methods. A method without a pooling rule is an error.

    Parameters
    ----------
    rdms : array of shape (n_rdms, ..., n_pairs)
        Condensed RDMs to pool over the first axis.
    method : str
        The comparison method the pooled RDM is meant for (one of ``METHODS``).

    Returns
    -------
    pooled : array of shape (..., n_pairs)
        NaN where any input RDM is NaN.
    """
    return get_pool(method)(np.asarray(rdms, dtype=np.float64)).mean(0)


def rdm_noise_ceiling(
    subject_rdms: Any, method: str = "spearman"
) -> tuple[np.ndarray | float, np.ndarray | float]:
    """Lower and upper bounds of the noise ceiling of a group of subject RDMs.

    Parameters
    ----------
    subject_rdms : array of shape (n_subjects, ..., n_pairs)
        One condensed RDM per subject (leading axes such as time are kept).
    method : str
        Comparison method, one of ``METHODS`` whose record defines a ceiling.

    Returns
    -------
    lower : float or array of shape (...)
        Mean similarity of each subject's RDM with the pooled RDM of the other
        subjects (leave one subject out).
    upper : float or array of shape (...)
        Mean similarity of each subject's RDM with the pooled RDM of all subjects.
        Both bounds equal rsatoolbox's ``boot_noise_ceiling`` for the other methods.
        For the whitened methods they use the pooling of
        ``rsatoolbox.util.pooling.pool_rdm`` (RDMs of unit whitened norm x' V^-1 x,
        solved exactly where it uses conjugate gradients), whereas
        ``boot_noise_ceiling`` pools with ``rsatoolbox.util.inference_util.pool_rdm``,
        which normalises ``cosine_cov``/``corr_cov`` RDMs as for ``cosine``/``corr``
        (about 1e-4 apart); with the former pooling they are equal.
    """
    if not get_method(method).ceiling:
        raise ValueError(
            f"method={method!r} defines no noise ceiling; methods that do: "
            f"{[k for k, m in METHODS.items() if m.ceiling]}."
        )
    x = np.asarray(subject_rdms, dtype=np.float64)
    if x.ndim < 2 or x.shape[0] < 2:
        raise ValueError(
            f"subject_rdms must have shape (n_subjects >= 2, ..., n_pairs); got {x.shape}."
        )
    pooled_all = pool_rdms(x, method)
    upper = np.mean([compare_rdms_paired(s, pooled_all, method) for s in x], axis=0)
    lower = np.mean(
        [
            compare_rdms_paired(x[s], pool_rdms(np.delete(x, s, axis=0), method), method)
            for s in range(x.shape[0])
        ],
        axis=0,
    )
    if np.ndim(lower) == 0:
        return float(lower), float(upper)
    return lower, upper


#: Earlier name, kept for existing code.
noise_ceiling = rdm_noise_ceiling

__all__ = ["noise_ceiling", "pool_rdms", "rdm_noise_ceiling"]
