"""Evaluation: segment- and word-level retrieval accuracy, chance levels, confidence intervals."""

from __future__ import annotations

from .ranks import (
    CandidateRows,
    candidate_groups,
    candidate_index,
    compute_ranks,
    compute_streamed_ranks,
    rows_per_block,
    unique_segments,
)
from .retrieval import (
    RetrievalResult,
    compute_topk_accuracy,
    predict,
    predict_blocks,
    retrieval_from_ranks,
    retrieval_scores,
)
from .stats import binomial_p_value, bootstrap_ci, chance_level

__all__ = [
    "CandidateRows",
    "RetrievalResult",
    "binomial_p_value",
    "bootstrap_ci",
    "candidate_groups",
    "candidate_index",
    "chance_level",
    "compute_ranks",
    "compute_streamed_ranks",
    "compute_topk_accuracy",
    "predict",
    "predict_blocks",
    "retrieval_from_ranks",
    "retrieval_scores",
    "rows_per_block",
    "unique_segments",
]
