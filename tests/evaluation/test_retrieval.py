"""Retrieval accuracy equals brute force; chunked memory is bounded; stats and errors."""

from __future__ import annotations

import itertools
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

import neurodecode.evaluation.ranks as ranks_module
from neurodecode.evaluation import (
    binomial_p_value,
    bootstrap_ci,
    chance_level,
    compute_ranks,
    compute_topk_accuracy,
    predict,
    retrieval_scores,
)
from neurodecode.models import ConvEncoder
from neurodecode.training import SegmentDataset


def _problem(rng, n_unique=30, n_rows=50, shape=(4, 5), signal=0.8):
    """Segments heard several times (duplicate targets) and noisy predictions of them."""
    segments = rng.standard_normal((n_unique, *shape))
    which = np.concatenate([np.arange(n_unique), rng.integers(0, n_unique, n_rows - n_unique)])
    target = segments[rng.permutation(which)]
    pred = signal * target + rng.standard_normal(target.shape)
    return pred, target


def _brute_force(pred, target, groups=None):
    """Dense scores, ranks by counting, word masses by summing softmax probabilities."""
    keys = [t.tobytes() for t in target]
    first = [keys.index(k) for k in dict.fromkeys(keys)]
    cand = target[first].reshape(len(first), -1)
    scores = pred.reshape(len(pred), -1) @ cand.T / np.linalg.norm(cand, axis=1)
    truth = [first.index(keys.index(k)) for k in keys]
    ranks = np.array([sum(s[j] > s[t] for j in range(len(s)) if j != t)
                      for s, t in zip(scores, truth)])
    if groups is None:
        return ranks, None
    words = np.asarray(groups)[first]
    word_ranks = []
    for s, t in zip(scores, truth):
        prob = np.exp(s - s.max()) / np.exp(s - s.max()).sum()
        mass = {w: prob[words == w].sum() for w in np.unique(words)}
        word_ranks.append(sum(m > mass[words[t]] for m in mass.values()))
    return ranks, np.array(word_ranks)


def test_topk_equals_brute_force(rng):
    pred, target = _problem(rng)
    expected, _ = _brute_force(pred, target)
    result = compute_topk_accuracy(pred, target, ks=(1, 5, 10), chunk_size=7)
    assert result.n_candidates == 30 and result.n_queries == 50
    np.testing.assert_array_equal(result.rank, expected)
    for k in (1, 5, 10):
        assert result.topk[k] == pytest.approx(np.mean(expected < k))
        assert result.chance[k] == pytest.approx(k / 30)
    assert 0 < result.topk[1] < result.topk[5] < 1  # a non-trivial problem
    tensors = compute_topk_accuracy(torch.tensor(pred), torch.tensor(target), ks=(1,))
    assert tensors.topk[1] == pytest.approx(result.topk[1])


def test_word_level_equals_brute_force(rng):
    pred, target = _problem(rng)
    keys = [t.tobytes() for t in target]
    segment = np.array([list(dict.fromkeys(keys)).index(k) for k in keys])
    words = segment % 8  # 30 segments, 8 words
    _, expected = _brute_force(pred, target, groups=words)
    ranks = compute_ranks(pred, target, groups=words, chunk_size=4)
    assert ranks["n_words"] == 8
    np.testing.assert_array_equal(ranks["word_rank"], expected)
    result = compute_topk_accuracy(pred, target, ks=(1, 3), groups=words)
    assert result.word_topk[1] == pytest.approx(np.mean(expected < 1))
    assert result.word_chance[3] == pytest.approx(3 / 8)
    assert result.to_dict()["word_top3"] == result.word_topk[3]


def test_segment_ids_and_per_subject(rng):
    pred, target = _problem(rng, n_unique=20, n_rows=20)
    ids = np.arange(20) // 2  # declare pairs of rows as the same segment
    ranks = compute_ranks(pred, target, segment_ids=ids)
    assert ranks["n_candidates"] == 10
    subjects = np.arange(20) % 2
    result = compute_topk_accuracy(pred, target, ks=(1,), subjects=subjects)
    hits = result.rank < 1
    assert result.per_subject[0][1] == pytest.approx(hits[subjects == 0].mean())
    metrics = result.to_dict()
    assert set(metrics) >= {"top1", "chance_top1", "ci_top1", "n_candidates", "per_subject"}
    assert metrics["per_subject"]["1"]["top1"] == pytest.approx(hits[subjects == 1].mean())


def test_pool_size_is_the_exact_expectation_over_pools(rng):
    pred, target = _problem(rng, n_unique=7, n_rows=7, signal=0.3)
    ranks = compute_ranks(pred, target)["rank"]
    result = compute_topk_accuracy(pred, target, ks=(1, 2), pool_size=4)
    for k in (1, 2):
        per_query = []
        for r in ranks:  # negatives 0..r-1 beat the true segment; choose 3 of the 6
            pools = list(itertools.combinations(range(6), 3))
            per_query.append(np.mean([sum(j < r for j in pool) < k for pool in pools]))
        assert result.topk[k] == pytest.approx(np.mean(per_query))
        assert result.chance[k] == pytest.approx(k / 4)


def test_chunks_bound_the_score_blocks(monkeypatch):
    """10,000 queries x 10,000 candidates: never more than chunk x chunk scores at once."""
    rng = np.random.default_rng(1)
    target = rng.standard_normal((10_000, 8)).astype(np.float32)
    pred = target + rng.standard_normal(target.shape).astype(np.float32)
    shapes = []
    original = ranks_module._score_block

    def spy(queries, candidates):
        scores = original(queries, candidates)
        shapes.append(tuple(scores.shape))
        return scores

    monkeypatch.setattr(ranks_module, "_score_block", spy)
    result = compute_topk_accuracy(pred, target, ks=(1, 10), chunk_size=2_000, n_bootstraps=10)
    assert result.n_candidates == 10_000 and len(shapes) == 25
    assert max(a * b for a, b in shapes) == 2_000 * 2_000
    assert result.topk[10] > 10 * result.chance[10]


def test_peak_memory_stays_bounded(tmp_path):
    """In a fresh process, 10,000 x 10,000 scores (400 MB dense) raise the peak RSS < 100 MB."""
    script = textwrap.dedent("""
        import resource
        import numpy as np
        from neurodecode.evaluation import compute_ranks
        rng = np.random.default_rng(0)
        target = rng.standard_normal((10_000, 16)).astype(np.float32)
        pred = target + rng.standard_normal(target.shape).astype(np.float32)
        compute_ranks(pred[:100], target[:100])  # warm up the libraries
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        compute_ranks(pred, target, chunk_size=1000)
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print((after - before) / 1024)
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=120, env={"OMP_NUM_THREADS": "1", "PATH": ""})
    assert out.returncode == 0, out.stderr[-2000:]
    assert float(out.stdout.split()[-1]) < 100


def test_predict_and_dense_scores(rng):
    brain = rng.standard_normal((10, 6, 16)).astype(np.float32)
    stim = rng.standard_normal((10, 3, 16)).astype(np.float32)
    positions = rng.uniform(0, 1, (10, 6, 2))
    data = SegmentDataset(brain, stim, np.zeros(10, dtype=int), positions=positions)
    torch.manual_seed(0)
    model = ConvEncoder(6, 3, 1, n_virtual=4, hidden=8, depth=1, fourier_freqs=2)
    out = predict(model, data, batch_size=4)
    assert out.shape == (10, 3, 16)
    with torch.no_grad():
        ref = model(torch.from_numpy(brain[:4]), torch.zeros(4, dtype=torch.long),
                    torch.from_numpy(positions[:4]).float())
    np.testing.assert_allclose(out[:4], ref.numpy(), atol=1e-5)
    scores = retrieval_scores(out, stim)
    manual = np.einsum("bft,oft->bo", out, stim) / np.linalg.norm(stim.reshape(10, -1), axis=1)
    np.testing.assert_allclose(scores, manual, rtol=1e-4, atol=1e-4)


def test_stats(rng):
    hits = (rng.uniform(size=400) < 0.3).astype(float)
    low, high = bootstrap_ci(hits, n_bootstraps=500)
    assert low < hits.mean() < high and high - low < 0.12
    # Hits shared within 10 groups: resampling groups gives a wider interval.
    groups = np.repeat(np.arange(10), 40)
    clustered = np.repeat(rng.uniform(size=10) < 0.3, 40).astype(float)
    naive = bootstrap_ci(clustered, n_bootstraps=300)
    grouped = bootstrap_ci(clustered, n_bootstraps=300, groups=groups)
    assert grouped[1] - grouped[0] > 2 * (naive[1] - naive[0])
    assert chance_level(10, 500) == 0.02 and chance_level(10, 5) == 1.0
    assert binomial_p_value(30, 100, 0.1) < 1e-6 < binomial_p_value(10, 100, 0.1)


def test_errors(rng):
    pred, target = _problem(rng, n_unique=6, n_rows=6)
    with pytest.raises(ValueError, match="pred and target must have the same shape"):
        compute_ranks(pred, target[:, :3])
    with pytest.raises(ValueError, match="chunk_size must be >= 1"):
        compute_ranks(pred, target, chunk_size=0)
    with pytest.raises(ValueError, match=r"segment_ids must have shape \(6,\)"):
        compute_ranks(pred, target, segment_ids=[0, 1])
    with pytest.raises(ValueError, match="groups must have one word label per row"):
        compute_ranks(pred, target, groups=[0, 1])
    with pytest.raises(ValueError, match="different words to rows of the same segment"):
        compute_ranks(pred, target, segment_ids=[0, 0, 1, 1, 2, 2], groups=[0, 1, 2, 2, 3, 3])
    with pytest.raises(ValueError, match=r"pool_size must be between 2 and the number of unique"):
        compute_topk_accuracy(pred, target, pool_size=7)
    with pytest.raises(ValueError, match="k and n_candidates must be >= 1"):
        chance_level(0, 5)
    with pytest.raises(ValueError, match="values must be a non-empty 1-D array"):
        bootstrap_ci([])
    with pytest.raises(ValueError, match=r"confidence must be in \(0, 1\)"):
        bootstrap_ci([1.0, 0.0], confidence=95)
    with pytest.raises(ValueError, match="n_bootstraps must be >= 1"):
        bootstrap_ci([1.0, 0.0], n_bootstraps=0)
    with pytest.raises(ValueError, match=r"groups must have shape \(2,\)"):
        bootstrap_ci([1.0, 0.0], groups=[0])


def test_ties_are_broken_at_random_and_nan_is_an_error():
    """A collapsed model (all predictions equal) ties with every candidate: its expected
    accuracy is chance, not 100 %; two candidates with the same content but different
    segment ids share the credit; NaN predictions are an error naming pred."""
    target = np.random.default_rng(9).standard_normal((200, 16, 10)).astype(np.float32)
    res = compute_topk_accuracy(np.zeros_like(target), target, ks=(1, 10), n_bootstraps=10)
    for k in (1, 10):
        assert res.topk[k] == pytest.approx(res.chance[k])
    pooled = compute_topk_accuracy(np.zeros_like(target), target, ks=(1, 10), pool_size=50,
                                   n_bootstraps=10)
    assert pooled.topk[10] == pytest.approx(pooled.chance[10])
    twins = target.copy()
    twins[1] = twins[0]  # same stimulus, two segment ids
    exact = compute_topk_accuracy(twins, twins, ks=(1,), segment_ids=np.arange(200),
                                  n_bootstraps=10)
    assert exact.topk[1] == pytest.approx(199 / 200)  # queries 0 and 1 get half credit
    with pytest.raises(ValueError, match=r"pred holds NaN or infinite values in 200 of 200 rows"):
        compute_topk_accuracy(np.full_like(target, np.nan), target)
