"""Encoding models: multi-target ridge, temporal receptive fields, voxelwise fMRI models."""

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

__all__ = [
    "RidgeCV",
    "correlation_per_target",
    "fdr_correction",
    "noise_ceiling",
    "normalise_by_ceiling",
    "permutation_test",
    "r2_per_target",
    "score_targets",
]
