"""Segment- and word-level retrieval: which stimulus segment did the brain respond to?

Every query (a brain prediction) is scored against every *unique* test segment with
brainmagick's score (the prediction dotted with the L2-normalised candidate over
features and time). The rank of the true segment gives top-k accuracy. Scores are
computed in blocks of ``chunk_size`` queries x ``chunk_size`` candidates, so memory is
bounded by about ``chunk_size * (2 * n_features * n_times + chunk_size)`` floats
whatever the number of segments (10,000 x 10,000 runs in a few MB of scores).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from scipy.stats import hypergeom
from tqdm.auto import tqdm

from ..losses.clip import brainmagick_scores
from ..training.data import BatchView
from ..training.loop import predict_batch
from .stats import bootstrap_ci, chance_level


def _block(array, start: int, stop: int, device) -> torch.Tensor:
    rows = array[start:stop]
    if not isinstance(rows, torch.Tensor):
        rows = torch.from_numpy(np.ascontiguousarray(rows, dtype=np.float32))
    return rows.to(device=device, dtype=torch.float32).flatten(1)


def _rows(array, index: np.ndarray, device) -> torch.Tensor:
    """Rows ``index`` (increasing, as h5py needs) of an array, tensor or h5py dataset."""
    rows = array[torch.from_numpy(index)] if isinstance(array, torch.Tensor) else array[index]
    if not isinstance(rows, torch.Tensor):
        rows = torch.from_numpy(np.ascontiguousarray(rows, dtype=np.float32))
    return rows.to(device=device, dtype=torch.float32).flatten(1)


def unique_segments(target, segment_ids=None) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the unique candidates and, for each row, its candidate.

    Parameters
    ----------
    target : array of shape (n, n_features[, n_times])
    segment_ids : array of shape (n,) or None
        Rows with the same id are one candidate; None: rows with identical content.

    Returns
    -------
    first : array of int of shape (n_candidates,)
        Increasing row of ``target`` representing each candidate (its first row).
    inverse : array of int of shape (n,)
        Candidate of each row.
    """
    if segment_ids is None:
        keys = np.array([hashlib.blake2b(np.ascontiguousarray(_np_row(target, i)).tobytes(),
                                         digest_size=16).digest() for i in range(len(target))])
    else:
        keys = np.asarray(segment_ids)
        if keys.shape != (len(target),):
            raise ValueError(
                f"segment_ids must have shape ({len(target)},), one id per target row; got "
                f"{keys.shape}."
            )
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    order = np.argsort(first)
    position = np.empty_like(order)
    position[order] = np.arange(len(order))
    return first[order], position[inverse.ravel()]


def _np_row(array, i: int) -> np.ndarray:
    row = array[i]
    return row.detach().cpu().numpy() if isinstance(row, torch.Tensor) else np.asarray(row)


def _chunks(n: int, size: int) -> Iterator[tuple[int, int]]:
    for start in range(0, n, size):
        yield start, min(start + size, n)


def _score_block(queries: torch.Tensor, candidates: torch.Tensor) -> torch.Tensor:
    """Scores (n_queries_block, n_candidates_block) of flattened rows."""
    return brainmagick_scores(queries, candidates)


def _query_block_ranks(q: torch.Tensor, true_score: torch.Tensor, true_cand: torch.Tensor,
                       target, first: np.ndarray, chunk_size: int, device,
                       groups: torch.Tensor | None, n_groups: int):
    greater = torch.zeros(len(q), dtype=torch.long, device=device)
    ties = torch.zeros(len(q), dtype=torch.long, device=device)
    tol = _TIE_RTOL * true_score.abs().clamp_min(1e-12)[:, None]
    if groups is not None:
        running_max = torch.full((len(q),), -torch.inf, device=device)
        word_mass = torch.zeros(len(q), n_groups, device=device, dtype=torch.float64)
    for c0, c1 in _chunks(len(first), chunk_size):
        scores = _score_block(q, _rows(target, first[c0:c1], device))
        if groups is not None:
            new_max = torch.maximum(running_max, scores.max(dim=1).values)
            word_mass *= torch.exp(running_max - new_max)[:, None].double()
            word_mass.index_add_(1, groups[c0:c1], torch.exp(scores - new_max[:, None]).double())
            running_max = new_max
        is_true = (true_cand[:, None] - c0) == torch.arange(c1 - c0, device=device)
        diff = scores - true_score[:, None]
        greater += ((diff > tol) & ~is_true).sum(dim=1)
        ties += ((diff.abs() <= tol) & ~is_true).sum(dim=1)
    word_rank = None
    if groups is not None:
        true_mass = word_mass.gather(1, groups[true_cand][:, None])
        word_rank = (word_mass > true_mass).sum(dim=1)
    return greater, ties, word_rank


# Scores this close (relative) to the true one tie with it: the true score and the block
# scores come from different matrix products, which round differently.
_TIE_RTOL = 1e-5


@torch.no_grad()
def compute_ranks(pred, target, *, segment_ids=None, groups=None, chunk_size: int = 1024,
                  device: str | torch.device = "cpu", progress: bool = False) -> dict:
    """Rank of the true segment among all unique segments, computed in blocks.

    Parameters
    ----------
    pred : array or tensor of shape (n, n_features[, n_times])
        Predicted features (queries).
    target : array or tensor of the same shape
        True features; row ``i`` is the stimulus of query ``i``.
    segment_ids : array of shape (n,) or None
        Identity of each row's segment (rows of the same segment, e.g. heard by several
        subjects, are one candidate): what was heard or seen, e.g.
        ``neurodecode.align.dataset.candidate_ids`` (sound file and offset of the word, or
        the image), as brainmagick's sentence and word index. None: rows with identical
        content are merged, which splits one word heard by several recordings into
        near-twin candidates when their onsets round to different samples.
    groups : array of shape (n,) or None
        Word (or any label) of each row for word-level ranks: a candidate's softmax
        probability is summed over the candidates of each word.
    chunk_size : int
        Queries and candidates per block.
    device : str or torch.device
    progress : bool

    Returns
    -------
    ranks : dict
        ``rank`` (n,) int: candidates scoring higher than the true one (0 = top 1);
        ``ties`` (n,) int: other candidates scoring the same (to a relative 1e-5; a
        collapsed model ties everywhere); ``n_candidates``; with ``groups``,
        ``word_rank`` (n,) and ``n_words``.

    Raises
    ------
    ValueError
        If ``pred`` or ``target`` holds NaN or infinite values.
    """
    pred_shape, target_shape = tuple(pred.shape), tuple(target.shape)
    if pred_shape != target_shape or len(pred_shape) not in (2, 3):
        raise ValueError(
            "pred and target must have the same shape (n, n_features[, n_times]); got "
            f"{pred_shape} and {target_shape}."
        )
    if int(chunk_size) < 1:
        raise ValueError(f"chunk_size must be >= 1; got {chunk_size}.")
    first, inverse = unique_segments(target, segment_ids)
    word_index, n_words = _word_index(groups, first, inverse)
    if word_index is not None:
        word_index = word_index.to(device)
    inverse_t = torch.from_numpy(inverse).to(device)
    _check_finite_rows("pred", pred)
    _check_finite_rows("target", target)
    rank = np.empty(len(pred), dtype=np.int64)
    ties = np.empty(len(pred), dtype=np.int64)
    word_rank = np.empty(len(pred), dtype=np.int64) if word_index is not None else None
    blocks = list(_chunks(len(pred), chunk_size))
    for q0, q1 in tqdm(blocks, disable=not progress, desc="retrieval", leave=False):
        q = _block(pred, q0, q1, device)
        # The true candidate's own row (the segment's first row), as in the blocks below.
        rows, back = np.unique(first[inverse[q0:q1]], return_inverse=True)
        tgt = _rows(target, rows, device)[torch.from_numpy(back.ravel()).to(device)]
        true_score = (q * tgt).sum(1) / (1e-8 + tgt.norm(dim=1))
        greater, tied, words = _query_block_ranks(q, true_score, inverse_t[q0:q1], target,
                                                  first, chunk_size, device, word_index,
                                                  n_words)
        rank[q0:q1] = greater.cpu().numpy()
        ties[q0:q1] = tied.cpu().numpy()
        if words is not None and word_rank is not None:
            word_rank[q0:q1] = words.cpu().numpy()
    out = {"rank": rank, "ties": ties, "n_candidates": len(first)}
    if word_rank is not None:
        out.update(word_rank=word_rank, n_words=n_words)
    return out


def _word_index(groups, first: np.ndarray, inverse: np.ndarray):
    if groups is None:
        return None, 0
    groups = np.asarray(groups)
    if groups.shape != inverse.shape:
        raise ValueError(
            f"groups must have one word label per row, shape {inverse.shape}; got {groups.shape}."
        )
    labels, codes = np.unique(groups, return_inverse=True)
    codes = codes.ravel()
    if not np.array_equal(codes[first][inverse], codes):
        raise ValueError(
            "groups gives different words to rows of the same segment; each segment must "
            "belong to one word (check segment_ids and groups)."
        )
    return torch.from_numpy(codes[first]), len(labels)


@dataclass
class RetrievalResult:
    """Top-k retrieval accuracies (fractions in [0, 1]).

    Attributes
    ----------
    topk, chance : dict of int to float
        Accuracy and chance level for each k.
    ci : dict of int to (float, float)
        Bootstrap confidence interval of each accuracy (resampling queries).
    n_candidates, n_queries : int
    pool_size : int or None
        When set, accuracies are expected values among random pools of that many
        candidates (the true one included).
    per_subject : dict
        ``{subject: {k: accuracy}}``.
    word_topk, word_chance : dict of int to float
        Word-level accuracy (empty without groups); ``n_words``.
    rank : array of shape (n_queries,)
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
        """JSON-ready dict: ``top1``, ``chance_top1``, ``ci_top1``, ..., ``per_subject``."""
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


def _check_finite_rows(name: str, array) -> None:
    values = array if isinstance(array, torch.Tensor) else torch.as_tensor(np.asarray(array))
    bad = ~torch.isfinite(values.reshape(len(values), -1)).all(dim=1)
    if bool(bad.any()):
        rows = torch.nonzero(bad).ravel()[:5].tolist()
        raise ValueError(
            f"{name} holds NaN or infinite values in {int(bad.sum())} of {len(values)} rows "
            f"(e.g. rows {rows}); retrieval needs finite features (a diverged model?)."
        )


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
    """Dense score matrix (n_queries, n_candidates) of brainmagick's score (small sets)."""
    pred = torch.as_tensor(np.asarray(pred, dtype=np.float32))
    candidates = torch.as_tensor(np.asarray(candidates, dtype=np.float32))
    return brainmagick_scores(pred, candidates).numpy()


@torch.no_grad()
def predict(model: torch.nn.Module, dataset, positions=None, batch_size: int = 64,
            device: str | torch.device = "cpu", progress: bool = False) -> np.ndarray:
    """Run ``model`` in eval mode over ``dataset`` (a ``SegmentDataset``).

    Returns
    -------
    embeddings : array of shape (n_segments, n_outputs, n_times) or (n_segments, n_outputs)
    """
    model.eval().to(device)
    pos = None if positions is None else torch.as_tensor(positions, dtype=torch.float32,
                                                         device=device)
    out = []
    starts = range(0, len(dataset), batch_size)
    for start in tqdm(starts, disable=not progress, desc="predict", leave=False):
        index = np.arange(start, min(start + batch_size, len(dataset)))
        batch = {k: v.to(device) for k, v in BatchView(dataset)[index].items()}
        out.append(predict_batch(model, batch, pos).float().cpu().numpy())
    return np.concatenate(out)


__all__ = [
    "RetrievalResult",
    "compute_ranks",
    "compute_topk_accuracy",
    "predict",
    "retrieval_scores",
    "unique_segments",
]
