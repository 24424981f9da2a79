"""Segment- and word-level retrieval: which stimulus segment did the brain respond to?

Every query (a brain prediction) is scored against every *unique* test segment with
brainmagick's score; the rank of the true segment (:mod:`neurodecode.evaluation.ranks`,
computed in blocks: 10,000 x 10,000 runs in a few MB of scores) gives top-k accuracy.
:func:`retrieval_from_ranks` derives every top-k, confidence interval and per-subject or
word-level accuracy from one set of ranks, so a model is ranked once whatever the ks;
:func:`predict_blocks` predicts one block of windows at a time for
:func:`~neurodecode.evaluation.ranks.compute_streamed_ranks`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from scipy.stats import hypergeom
from tqdm.auto import tqdm

from ..losses.clip import brainmagick_scores
from ..training.data import BatchView
from ..training.loop import predict_batch
from .ranks import _chunks, compute_ranks
from .stats import bootstrap_ci, chance_level


@dataclass
class RetrievalResult:
    """Top-k retrieval accuracies (fractions in [0, 1]).

    Parameters
    ----------
    topk, chance : dict of int to float
        Accuracy and chance level for each k.
    ci : dict of int to (float, float)
        Bootstrap confidence interval of each accuracy (resampling queries).
    n_candidates : int
        Number of candidate segments each query is ranked among.
    n_queries : int
        Number of predicted segments scored.
    pool_size : int or None
        When set, accuracies are expected values among random pools of that many
        candidates (the true one included).
    per_subject : dict
        ``{subject: {k: accuracy}}``.
    word_topk, word_chance : dict of int to float
        Word-level accuracy and its chance level for each k (empty without groups).
    n_words : int
        Number of distinct words scored at the word level (0 without groups).
    rank : array of shape (n_queries,) or None
        Place of each query's true segment among the candidates (0: first).
    """

    topk: dict[int, float]
    chance: dict[int, float]
    ci: dict[int, tuple[float, float]]
    n_candidates: int
    n_queries: int
    pool_size: int | None = None
    per_subject: dict = field(default_factory=dict)
    word_topk: dict[int, float] = field(default_factory=dict)
    word_chance: dict[int, float] = field(default_factory=dict)
    n_words: int = 0
    rank: np.ndarray | None = None

    def to_dict(self) -> dict:
        """The result as plain JSON-ready values.

        Returns
        -------
        record : dict
            ``n_candidates``, ``n_queries``, ``pool_size``, then ``top{k}``,
            ``chance_top{k}`` and ``ci_top{k}`` per k (``word_top{k}``,
            ``word_chance_top{k}`` and ``n_words`` with groups) and ``per_subject``
            (``rank`` is left out).
        """
        out: dict = {"n_candidates": self.n_candidates, "n_queries": self.n_queries,
                     "pool_size": self.pool_size}
        for k in self.topk:
            out[f"top{k}"] = self.topk[k]
            out[f"chance_top{k}"] = self.chance[k]
            out[f"ci_top{k}"] = list(self.ci[k])
        for k in self.word_topk:
            out[f"word_top{k}"] = self.word_topk[k]
            out[f"word_chance_top{k}"] = self.word_chance[k]
        if self.word_topk:
            out["n_words"] = self.n_words
        out["per_subject"] = {str(s): {f"top{k}": v for k, v in acc.items()}
                              for s, acc in self.per_subject.items()}
        return out


def _hits(rank: np.ndarray, ties: np.ndarray, k: int, n_candidates: int,
          pool_size: int | None) -> np.ndarray:
    """Per-query probability that the true segment is in the top k, ties broken at random:
    its place among all candidates is uniform on ``rank .. rank + ties``."""
    above = np.arange(n_candidates)  # candidates placed above the true one
    if pool_size is None:
        in_top = (above < k).astype(float)
    else:
        in_top = hypergeom.cdf(k - 1, n_candidates - 1, above, pool_size - 1)
    cum = np.concatenate([[0.0], np.cumsum(in_top)])
    return (cum[rank + ties + 1] - cum[rank]) / (ties + 1)


def compute_topk_accuracy(pred, target, ks: Sequence[int] = (1, 5, 10), *,
                          segment_ids=None, groups=None, subjects=None,
                          pool_size: int | None = None, chunk_size: int = 1024,
                          n_bootstraps: int = 1000, confidence: float = 0.95, seed: int = 0,
                          device: str | torch.device = "cpu",
                          progress: bool = False) -> RetrievalResult:
    """Segment-level (and word-level) top-k retrieval accuracy.

    Parameters
    ----------
    pred, target : arrays or tensors of shape (n, n_features[, n_times])
        Predictions and true features, row-aligned.
    ks : sequence of int
        The k of each top-k accuracy.
    segment_ids, groups : array of shape (n,) or None
        See ``compute_ranks``; ``groups`` adds word-level accuracies.
    subjects : array of shape (n,) or None
        Subject of each query, for ``per_subject`` accuracies.
    pool_size : int or None
        Report the expected accuracy among ``pool_size`` candidates drawn at random
        (the true one included) instead of among all unique segments.
    chunk_size : int
        Block size of the score computation.
    n_bootstraps, confidence, seed
        Bootstrap confidence intervals over queries.
    device : str or torch.device
    progress : bool

    Returns
    -------
    result : RetrievalResult
    """
    ranks = compute_ranks(pred, target, segment_ids=segment_ids, groups=groups,
                          chunk_size=chunk_size, device=device, progress=progress)
    return retrieval_from_ranks(ranks, ks, subjects=subjects, pool_size=pool_size,
                                n_bootstraps=n_bootstraps, confidence=confidence, seed=seed)


def retrieval_from_ranks(ranks: dict, ks: Sequence[int] = (1, 5, 10), *, subjects=None,
                         pool_size: int | None = None, n_bootstraps: int = 1000,
                         confidence: float = 0.95, seed: int = 0) -> RetrievalResult:
    """Top-k accuracies, chance levels, confidence intervals of ranks computed once.

    Parameters
    ----------
    ranks : dict
        From :func:`compute_ranks` or :func:`compute_streamed_ranks`.
    ks : sequence of int
        The k of each top-k accuracy (any number of them from the same ranks).
    subjects : array of shape (n_queries,) or None
        Subject of each query, for ``per_subject`` accuracies.
    pool_size : int or None
        Expected accuracy among ``pool_size`` random candidates (the true one included).
    n_bootstraps, confidence, seed
        Bootstrap confidence intervals over queries (the same for a k whatever the others).

    Returns
    -------
    result : RetrievalResult
    """
    n_cand = ranks["n_candidates"]
    if pool_size is not None and not 2 <= pool_size <= n_cand:
        raise ValueError(
            f"pool_size must be between 2 and the number of unique segments ({n_cand}); "
            f"got {pool_size}."
        )
    pool = n_cand if pool_size is None else pool_size
    hits = {k: _hits(ranks["rank"], ranks["ties"], k, n_cand, pool_size) for k in ks}
    result = RetrievalResult(
        topk={k: float(h.mean()) for k, h in hits.items()},
        chance={k: chance_level(k, pool) for k in ks},
        ci={k: bootstrap_ci(h, n_bootstraps=n_bootstraps, confidence=confidence, seed=seed)
            for k, h in hits.items()},
        n_candidates=n_cand, n_queries=len(ranks["rank"]), pool_size=pool_size,
        rank=ranks["rank"])
    if subjects is not None:
        subjects = np.asarray(subjects)
        result.per_subject = {s.item(): {k: float(h[subjects == s].mean()) for k, h in
                                         hits.items()} for s in np.unique(subjects)}
    if "word_rank" in ranks:
        result.n_words = ranks["n_words"]
        result.word_topk = {k: float((ranks["word_rank"] < k).mean()) for k in ks}
        result.word_chance = {k: chance_level(k, ranks["n_words"]) for k in ks}
    return result


def retrieval_scores(pred, candidates) -> np.ndarray:
    """Dense matrix of brainmagick's retrieval score (small sets).

    Parameters
    ----------
    pred : array of shape (n_queries, n_features, n_times) or (n_queries, n_features)
        Predicted features of the queries.
    candidates : array of shape (n_candidates, n_features, n_times) or (n_candidates, n_features)
        True features of the candidate segments.

    Returns
    -------
    scores : array of shape (n_queries, n_candidates)
        ``pred`` dotted with each candidate L2-normalised over features and time.
    """
    pred = torch.as_tensor(np.asarray(pred, dtype=np.float32))
    candidates = torch.as_tensor(np.asarray(candidates, dtype=np.float32))
    return brainmagick_scores(pred, candidates).numpy()


@torch.no_grad()
def predict(model: torch.nn.Module, dataset, positions=None, batch_size: int = 64,
            device: str | torch.device = "cpu", progress: bool = False) -> np.ndarray:
    """Run ``model`` in eval mode over ``dataset`` (a ``SegmentDataset``).

    Parameters
    ----------
    model : torch.nn.Module
        Trained encoder, moved to ``device`` and put in eval mode.
    dataset : SegmentDataset or StreamedSegments
        Anything with ``len`` and ``get_batch(indices)``.
    positions : array of shape (n_channels, 2) or None
        Sensor positions for the spatial attention; None for models without.
    batch_size : int
        Windows per forward pass.
    device : str or torch.device
        Where the model runs.
    progress : bool
        Show a tqdm bar over the batches.

    Returns
    -------
    embeddings : array of shape (n_segments, n_outputs, n_times) or (n_segments, n_outputs)
        The model's prediction for every segment, in the dataset's order.
    """
    blocks = predict_blocks(model, dataset, positions=positions, batch_size=batch_size,
                            device=device, progress=progress)
    return np.concatenate([pred for _, pred in blocks])


@torch.no_grad()
def predict_blocks(model: torch.nn.Module, dataset, *, positions=None, block_size: int = 64,
                   batch_size: int = 64, device: str | torch.device = "cpu",
                   progress: bool = False) -> Iterator[tuple[int, np.ndarray]]:
    """The model's predictions over ``dataset``, one block of windows at a time.

    Parameters
    ----------
    model : torch.nn.Module
        Run in eval mode on ``device``.
    dataset : SegmentDataset or StreamedSegments
        Anything with ``len`` and ``get_batch(indices)``; its ``get_inputs(indices)``
        when it has one (the batch without the targets, which prediction does not read).
    positions : array of shape (n_channels, 2) or None
    block_size : int
        Windows per yielded block, rounded up to a multiple of ``batch_size`` (each batch
        is computed as ``predict`` computes it, so the values are the same).
    batch_size : int
        Windows per forward pass.
    device : str or torch.device
    progress : bool

    Yields
    ------
    start : int
        Row of the block's first window.
    pred : array of shape (b, n_outputs[, n_times])
    """
    model.eval().to(device)
    pos = None if positions is None else torch.as_tensor(positions, dtype=torch.float32,
                                                         device=device)
    step = batch_size * max(1, -(-int(block_size) // batch_size))
    read = getattr(dataset, "get_inputs", None) or BatchView(dataset).__getitem__
    bar = tqdm(total=len(dataset), disable=not progress, desc="predict", leave=False)
    for b0, b1 in _chunks(len(dataset), step):
        out = None
        for start, stop in _chunks(b1 - b0, batch_size):
            batch = {k: v.to(device) for k, v in read(np.arange(b0 + start, b0 + stop)).items()}
            pred = predict_batch(model, batch, pos).float().cpu().numpy()
            if out is None:  # filled in place: the block is held once
                out = np.empty((b1 - b0, *pred.shape[1:]), dtype=np.float32)
            out[start:stop] = pred
        bar.update(b1 - b0)
        if out is not None:  # (a block is never empty)
            yield b0, out
    bar.close()


__all__ = [
    "RetrievalResult",
    "compute_topk_accuracy",
    "predict",
    "predict_blocks",
    "retrieval_from_ranks",
    "retrieval_scores",
]
