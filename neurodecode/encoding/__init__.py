"""Encoding models: multi-target ridge, temporal receptive fields, voxelwise fMRI models.

Public API: :class:`RidgeCV`, :class:`BandedRidgeCV`, :class:`KernelRidgeCV`, :class:`TemporalReceptiveField`,
the fMRI helpers (:func:`make_hrf_regressors`, :func:`make_fir_design`,
:func:`fit_voxelwise`, :func:`fit_recording`, :func:`scores_to_nifti`) and the scores
(:func:`score_targets`, :func:`repeat_noise_ceiling`, :func:`permutation_test_scores`, ...;
``noise_ceiling`` and ``permutation_test`` are their earlier names).
"""

from ..io.events import condition_impulses, events_from_labels  # their home is io.events
from ._solvers import RIDGE_SOLVERS, solve_ridge, solve_ridge_cv
from .banded import BandedRidgeCV
from .cluster import ClusterResult, cluster_permutation_test
from .fmri import (
    VoxelwiseResult,
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
    permutation_test_scores,
    r2_per_target,
    repeat_noise_ceiling,
    score_targets,
)
from .trf import TemporalReceptiveField, lag_matrix, times_to_delays
from .trf_cv import fit_trf_cv, resample_channels

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
    "permutation_test_scores",
    "resample_channels",
    "r2_per_target",
    "r2_score_split",
    "repeat_noise_ceiling",
    "score_targets",
    "scores_to_nifti",
    "solve_ridge",
    "solve_kernel_ridge_cv",
    "solve_ridge_cv",
    "times_to_delays",
    "trf_patterns",
]

from .spectral import (  # noqa: E402  (issue 20: stimulus-response spectra)
    CoherenceResult,
    channel_coherence,
    dominant_frequencies,
    multitaper_spectra,
    stimulus_response_coherence,
)

__all__ += ["CoherenceResult", "channel_coherence", "dominant_frequencies",
            "multitaper_spectra", "stimulus_response_coherence"]

from .cca import CCA, CCAResult, cross_validated_cca  # noqa: E402  (issue 20: CCA)

__all__ += ["CCA", "CCAResult", "cross_validated_cca"]

from .attention import (  # noqa: E402  (issue 20: auditory attention decoding)
    AttentionResult,
    MESDResult,
    decode_attention,
    expected_switch_duration,
    minimal_expected_switch_duration,
    optimal_n_states,
    simulate_two_speaker,
    window_decisions,
)

__all__ += ["AttentionResult", "MESDResult", "decode_attention", "expected_switch_duration",
            "minimal_expected_switch_duration", "optimal_n_states", "simulate_two_speaker",
            "window_decisions"]

from .selectivity import Selectivity, preferred_stimuli, project_weights  # noqa: E402  (issue 20)

__all__ += ["Selectivity", "preferred_stimuli", "project_weights"]
