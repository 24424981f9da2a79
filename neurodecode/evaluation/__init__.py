"""Evaluation: segment- and word-level retrieval accuracy, chance levels, confidence intervals."""

from __future__ import annotations

from .retrieval import (
    RetrievalResult,
    compute_ranks,
    compute_topk_accuracy,
    predict,
    retrieval_scores,
    unique_segments,
)
from .stats import binomial_p_value, bootstrap_ci, chance_level

__all__ = [
    "RetrievalResult",
    "binomial_p_value",
    "bootstrap_ci",
    "chance_level",
    "compute_ranks",
    "compute_topk_accuracy",
    "predict",
    "retrieval_scores",
    "unique_segments",
]
