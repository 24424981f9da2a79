"""Representational similarity analysis: RDMs, comparisons, noise ceilings, inference,
time-resolved and searchlight RSA, brain-model similarity maps.

Everything is vectorised over leading axes (time, subjects, searchlight centres) and
equal to rsatoolbox / scipy where they overlap.
"""

from .._stats import fdr_correction
from .ceiling import noise_ceiling, pool_rdms, rdm_noise_ceiling
from .compare import METHODS, compare_rdms, compare_rdms_paired
from .inference import (
    BootstrapResult,
    ClusterResult,
    PermutationResult,
    bootstrap_ci,
    bootstrap_ci_rdms,
    cluster_test,
    compare_models,
    permutation_test,
    permutation_test_rdms,
)
from .joint import JOINT_METHODS, compare_rdms_jointly
from .maps import SimilarityMap, layer_rdms, similarity_map
from .methods import Method
from .model_tests import evaluation_variances, t_test_pairs, t_test_zero
from .models import (
    bootstrap_crossval_models,
    category_rdm,
    crossval_models,
    fit_interpolation,
    fit_weights,
    select_model,
    weighted_rdm,
)
from .noise import noise_covariance, noise_precision
from .poisson import compute_poisson_rdm
from .rdm import METRICS, compute_rdm, to_condensed, to_square
from .searchlight import searchlight, sensor_neighbors, sensor_searchlight, volume_searchlight
from .timecourse import TimecourseResult, condition_means, rsa_timecourse
from .transforms import rank_rdms, reorder_rdms, sqrt_rdms, subsample_rdms, subset_rdms
from .unbalanced import compute_unbalanced_rdm

__all__ = [
    "JOINT_METHODS",
    "METHODS",
    "METRICS",
    "Method",
    "BootstrapResult",
    "ClusterResult",
    "PermutationResult",
    "SimilarityMap",
    "TimecourseResult",
    "bootstrap_ci",
    "bootstrap_ci_rdms",
    "bootstrap_crossval_models",
    "category_rdm",
    "cluster_test",
    "crossval_models",
    "evaluation_variances",
    "fit_interpolation",
    "fit_weights",
    "compare_models",
    "compare_rdms",
    "compare_rdms_jointly",
    "compare_rdms_paired",
    "compute_poisson_rdm",
    "compute_rdm",
    "compute_unbalanced_rdm",
    "condition_means",
    "fdr_correction",
    "layer_rdms",
    "noise_ceiling",
    "noise_covariance",
    "noise_precision",
    "permutation_test",
    "permutation_test_rdms",
    "pool_rdms",
    "rank_rdms",
    "rdm_noise_ceiling",
    "reorder_rdms",
    "rsa_timecourse",
    "searchlight",
    "select_model",
    "sensor_neighbors",
    "sensor_searchlight",
    "similarity_map",
    "sqrt_rdms",
    "subsample_rdms",
    "subset_rdms",
    "t_test_pairs",
    "t_test_zero",
    "to_condensed",
    "to_square",
    "volume_searchlight",
    "weighted_rdm",
]

from .topology import (  # noqa: E402  (issue 20: topological RSA)
    TOPOLOGIES,
    TopologySelection,
    geotopological_transform,
    select_topology,
    topology_model_rdms,
)

__all__ += ["TOPOLOGIES", "TopologySelection", "geotopological_transform", "select_topology",
            "topology_model_rdms"]
