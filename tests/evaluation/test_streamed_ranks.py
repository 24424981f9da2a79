"""Streamed ranks (query blocks, candidates read on demand) equal the in-memory ones: the
same ranks, top-k, confidence intervals (same seed), per-subject and word-level accuracy."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from neurodecode.evaluation import (
    CandidateRows,
    candidate_index,
    compute_ranks,
    compute_streamed_ranks,
    compute_topk_accuracy,
    predict,
    predict_blocks,
    retrieval_from_ranks,
    rows_per_block,
)
from neurodecode.models import ConvEncoder
from neurodecode.training import SegmentDataset


def _planted(rng, n_positions=40, n_rows=150, shape=(6, 9), signal=0.7):
    """Word positions heard by several subjects: rows of one position share its target."""
    segments = rng.standard_normal((n_positions, *shape)).astype(np.float32)
    position = np.concatenate([np.arange(n_positions),
                               rng.integers(0, n_positions, n_rows - n_positions)])
    position = rng.permutation(position)
    target = segments[position]
    pred = (signal * target + rng.standard_normal(target.shape)).astype(np.float32)
    ids = np.array([f"story@{p}" for p in position])
    words = np.array([f"w{p % 11}" for p in position])  # 11 words, several positions each
    subjects = rng.integers(0, 3, n_rows)
    return pred, target, ids, words, subjects


def _streamed(pred, target, ids, words, block_sizes, chunk_size):
    """Queries in blocks of varying sizes; candidates cut from ``target`` on demand."""
    first, inverse = candidate_index(ids)
    reads = []

    def get(index):
        reads.append(len(index))
        return target[index]

    edges = np.cumsum([0, *block_sizes])
    edges = edges[edges < len(pred)].tolist() + [len(pred)]
    queries = ((pred[a:b], inverse[a:b]) for a, b in zip(edges[:-1], edges[1:]))
    ranks = compute_streamed_ranks(queries, CandidateRows(get, first), groups=words[first],
                                   chunk_size=chunk_size)
    return ranks, reads


def test_streamed_ranks_equal_compute_topk_accuracy(rng):
    pred, target, ids, words, subjects = _planted(rng)
    kw = dict(subjects=subjects, n_bootstraps=200, seed=3)
    ks = (1, 2, 5, 10, 20)
    expected = compute_topk_accuracy(pred, target, ks=ks, segment_ids=ids, groups=words, **kw)
    exact = compute_ranks(pred, target, segment_ids=ids, groups=words)
    ranks, reads = _streamed(pred, target, ids, words, block_sizes=[7, 13, 64] * 10,
                             chunk_size=9)
    for key in ("rank", "ties", "word_rank"):
        np.testing.assert_array_equal(ranks[key], exact[key])
    assert ranks["n_candidates"] == exact["n_candidates"] == 40
    assert ranks["n_words"] == exact["n_words"] == 11
    result = retrieval_from_ranks(ranks, ks, **kw)
    assert result.topk == expected.topk and result.ci == expected.ci
    assert result.chance == expected.chance and result.per_subject == expected.per_subject
    assert result.word_topk == expected.word_topk and result.n_words == expected.n_words
    assert result.word_topk[1] > 3 * result.word_chance[1]  # the planted signal is found
    # never more candidates at once than a chunk (9) or the true ones of 16 queries: the 6
    # query blocks (7, 13, 64, 7, 13, 46) read their true rows in 11 steps, then 5 chunks each
    assert max(reads) <= 16 and len(reads) == 11 + 6 * 5


def test_every_k_from_one_ranking_equals_a_ranking_per_k(rng):
    """The retrieval curve's ks and the reported ks from the same ranks: each k's accuracy
    and interval equal those of a separate evaluation at that k alone."""
    pred, target, ids, words, subjects = _planted(rng, n_positions=25, n_rows=80)
    ranks = compute_ranks(pred, target, segment_ids=ids)
    curve = retrieval_from_ranks(ranks, (1, 2, 3, 5, 10, 20), n_bootstraps=100, seed=1)
    for k in (1, 5, 20):
        alone = compute_topk_accuracy(pred, target, ks=(k,), segment_ids=ids, n_bootstraps=100,
                                      seed=1)
        assert curve.topk[k] == alone.topk[k] and curve.ci[k] == alone.ci[k]


def test_pooled_accuracy_from_streamed_ranks(rng):
    pred, target, ids, words, _ = _planted(rng, n_positions=20, n_rows=60)
    expected = compute_topk_accuracy(pred, target, ks=(1, 5), segment_ids=ids, pool_size=10,
                                     n_bootstraps=50)
    ranks, _ = _streamed(pred, target, ids, words, block_sizes=[16] * 4, chunk_size=4)
    result = retrieval_from_ranks(ranks, (1, 5), pool_size=10, n_bootstraps=50)
    assert result.topk == expected.topk and result.ci == expected.ci


def test_streamed_errors(rng):
    pred, target, ids, words, _ = _planted(rng, n_positions=6, n_rows=12)
    first, inverse = candidate_index(ids)
    candidates = CandidateRows(lambda i: target[i], first)
    with pytest.raises(ValueError, match=r"candidate index of its 12 queries, in \[0, 6\)"):
        compute_streamed_ranks([(pred, inverse + 6)], candidates)
    with pytest.raises(ValueError, match=r"candidate index of its 12 queries.*shape \(3,\)"):
        compute_streamed_ranks([(pred, inverse[:3])], candidates)
    with pytest.raises(ValueError, match=r"groups must have one label per candidate, shape \(6,\)"):
        compute_streamed_ranks([(pred, inverse)], candidates, groups=words)
    with pytest.raises(ValueError, match="chunk_size must be >= 1"):
        compute_streamed_ranks([(pred, inverse)], candidates, chunk_size=0)
    bad = pred.copy()
    bad[9] = np.nan
    with pytest.raises(ValueError, match=r"pred holds NaN .* in 1 of 4 rows \(the block from "
                                         r"row 8\) \(e.g. rows \[9\]\)"):
        compute_streamed_ranks([(bad[:8], inverse[:8]), (bad[8:], inverse[8:])], candidates)
    broken = target.copy()
    broken[first[4]] = np.inf
    with pytest.raises(ValueError, match=r"candidates holds NaN or infinite values.*rows \[4\]"):
        compute_streamed_ranks([(pred, inverse)], CandidateRows(lambda i: broken[i], first),
                               chunk_size=3)


def test_rows_per_block_bounds_the_bytes():
    assert rows_per_block(1024 * 360) == 2 ** 28 // (4 * 1024 * 360) == 182
    assert rows_per_block(40 * 360) == 1024  # small rows: at most 1,024
    assert rows_per_block(10 ** 9) == 1


def test_predict_blocks_equal_predict(rng):
    brain = rng.standard_normal((50, 6, 16)).astype(np.float32)
    stim = rng.standard_normal((50, 3, 16)).astype(np.float32)
    data = SegmentDataset(brain, stim, np.zeros(50, dtype=int))
    positions = rng.uniform(0, 1, (6, 2))
    torch.manual_seed(0)
    model = ConvEncoder(6, 3, 1, n_virtual=4, hidden=8, depth=1, fourier_freqs=2)
    whole = predict(model, data, positions=positions, batch_size=8)
    blocks = list(predict_blocks(model, data, positions=positions, block_size=20, batch_size=8))
    assert [start for start, _ in blocks] == [0, 24, 48]  # 20 rounded up to 3 batches of 8
    np.testing.assert_array_equal(np.concatenate([b for _, b in blocks]), whole)
