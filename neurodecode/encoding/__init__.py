"""Encoding models: multi-target ridge, temporal receptive fields, voxelwise fMRI models.

Public API: :class:`RidgeCV`, :class:`BandedRidgeCV`, :class:`KernelRidgeCV`, :class:`TemporalReceptiveField`,
the fMRI helpers (:func:`make_hrf_regressors`, :func:`make_fir_design`,
:func:`fit_voxelwise`, :func:`fit_recording`, :func:`scores_to_nifti`) and the scores
(:func:`score_targets`, :func:`noise_ceiling`, :func:`permutation_test`, ...).
"""

from ._solvers import RIDGE_SOLVERS, solve_ridge, solve_ridge_cv
from .banded import BandedRidgeCV
from .cluster import ClusterResult, cluster_permutation_test
from .fmri import (
    VoxelwiseResult,
    events_from_labels,
    fit_recording,
    fit_voxelwise,
    make_fir_design,
    make_hrf_regressors,
    scores_to_nifti,
)
from .kernel import KERNELS, KernelRidgeCV, center_kernel, solve_kernel_ridge_cv
from .multikernel import MultipleKernelRidgeCV, r2_score_split
from .patterns import get_patterns, haufe_patterns, trf_patterns
from .ridge import RidgeCV
from .scoring import (
    correlation_per_target,
    fdr_correction,
    noise_ceiling,
    normalise_by_ceiling,
    permutation_test,
    r2_per_target,
    score_targets,
)
from .trf import TemporalReceptiveField, lag_matrix, times_to_delays
from .trf_cv import condition_impulses, fit_trf_cv, resample_channels

__all__ = [
    "RIDGE_SOLVERS",
    "KERNELS",
    "BandedRidgeCV",
    "ClusterResult",
    "KernelRidgeCV",
    "MultipleKernelRidgeCV",
    "RidgeCV",
    "TemporalReceptiveField",
    "VoxelwiseResult",
    "center_kernel",
    "cluster_permutation_test",
    "condition_impulses",
    "correlation_per_target",
    "events_from_labels",
    "fdr_correction",
    "fit_trf_cv",
    "fit_recording",
    "fit_voxelwise",
    "get_patterns",
    "haufe_patterns",
    "lag_matrix",
    "make_fir_design",
    "make_hrf_regressors",
    "noise_ceiling",
    "normalise_by_ceiling",
    "permutation_test",
    "resample_channels",
    "r2_per_target",
    "r2_score_split",
    "score_targets",
    "scores_to_nifti",
    "solve_ridge",
    "solve_kernel_ridge_cv",
    "solve_ridge_cv",
    "times_to_delays",
    "trf_patterns",
]
