"""Representational similarity analysis: RDMs, comparisons, noise ceilings, inference,
time-resolved and searchlight RSA, brain-model similarity maps.

Everything is vectorised over leading axes (time, subjects, searchlight centres) and
equal to rsatoolbox / scipy where they overlap.
"""

from .._stats import fdr_correction
from .ceiling import noise_ceiling, pool_rdms
from .compare import METHODS, compare_rdms, compare_rdms_paired
from .inference import (
    BootstrapResult,
    ClusterResult,
    PermutationResult,
    bootstrap_ci,
    cluster_test,
    compare_models,
    permutation_test,
)
from .maps import SimilarityMap, layer_rdms, similarity_map
from .rdm import METRICS, compute_rdm, noise_covariance, noise_precision, to_condensed, to_square
from .searchlight import searchlight, sensor_neighbors, sensor_searchlight, volume_searchlight
from .timecourse import TimecourseResult, condition_means, rsa_timecourse

__all__ = [
    "METHODS",
    "METRICS",
    "BootstrapResult",
    "ClusterResult",
    "PermutationResult",
    "SimilarityMap",
    "TimecourseResult",
    "bootstrap_ci",
    "cluster_test",
    "compare_models",
    "compare_rdms",
    "compare_rdms_paired",
    "compute_rdm",
    "condition_means",
    "fdr_correction",
    "layer_rdms",
    "noise_ceiling",
    "noise_covariance",
    "noise_precision",
    "permutation_test",
    "pool_rdms",
    "rsa_timecourse",
    "searchlight",
    "sensor_neighbors",
    "sensor_searchlight",
    "similarity_map",
    "to_condensed",
    "to_square",
    "volume_searchlight",
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
