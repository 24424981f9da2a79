"""Ranks of the true candidate among all candidates, computed in blocks.

Every query (a brain prediction) is scored against every candidate (a unique stimulus
segment) with brainmagick's score (the prediction dotted with the L2-normalised candidate
over features and time); the rank of the true one gives top-k accuracy
(:mod:`neurodecode.evaluation.retrieval`). Scores are computed in blocks of ``chunk_size``
queries x ``chunk_size`` candidates, so memory is bounded by about
``chunk_size * (2 * n_features * n_times + chunk_size)`` floats whatever the number of
segments. :func:`compute_streamed_ranks` takes the queries as blocks (predicted one block
at a time) and reads the candidates on demand (:class:`CandidateRows`), so neither all
predictions nor all targets are ever held; :func:`compute_ranks` is it on two arrays.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from ..losses.clip import brainmagick_scores


def _take(array, index: np.ndarray):
    """Rows ``index`` (increasing, as h5py needs) of an array, tensor or h5py dataset."""
    return array[torch.from_numpy(index)] if isinstance(array, torch.Tensor) else array[index]


def _as_rows(rows, device) -> torch.Tensor:
    """An array or tensor block as float32 rows (n, n_features * n_times) on ``device``."""
    if not isinstance(rows, torch.Tensor):
        rows = torch.from_numpy(np.ascontiguousarray(rows, dtype=np.float32))
    return rows.to(device=device, dtype=torch.float32).flatten(1)


class CandidateRows:
    """Candidates read on demand: candidate ``i`` is row ``rows[i]`` of a source.

    Parameters
    ----------
    get : callable
        ``get(index)`` returns the source's rows ``index`` (an increasing int array) as an
        array or tensor of shape (len(index), n_features[, n_times]): an array's rows, or
        ``StreamedSegments.stimulus`` (windows cut from the stimulus timelines).
    rows : int array of shape (n_candidates,)
        Increasing source row of each candidate.
    """

    def __init__(self, get: Callable[[np.ndarray], Any], rows) -> None:
        self.get, self.rows = get, np.asarray(rows, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index: np.ndarray):
        return self.get(self.rows[np.asarray(index, dtype=np.int64)])


def candidate_index(segment_ids) -> tuple[np.ndarray, np.ndarray]:
    """First row of each distinct id (increasing) and each row's candidate.

    Parameters
    ----------
    segment_ids : array of shape (n,)
        Identity of each row's segment (e.g. ``align.dataset.candidate_ids``).

    Returns
    -------
    first : array of int of shape (n_candidates,)
        Increasing row representing each candidate (its first row).
    inverse : array of int of shape (n,)
        Candidate of each row.
    """
    _, first, inverse = np.unique(np.asarray(segment_ids), return_index=True,
                                  return_inverse=True)
    order = np.argsort(first)
    position = np.empty_like(order)
    position[order] = np.arange(len(order))
    return first[order], position[inverse.ravel()]


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
    return candidate_index(keys)


def _np_row(array, i: int) -> np.ndarray:
    row = array[i]
    return row.detach().cpu().numpy() if isinstance(row, torch.Tensor) else np.asarray(row)


def _chunks(n: int, size: int) -> Iterator[tuple[int, int]]:
    for start in range(0, n, size):
        yield start, min(start + size, n)


def rows_per_block(row_size: int, max_bytes: int = 2 ** 28, max_rows: int = 1024) -> int:
    """Rows of ``row_size`` float32 values per block: at most ``max_rows`` and ``max_bytes``.

    Parameters
    ----------
    row_size : int
        Values per row (``n_features * n_times``).
    max_bytes, max_rows : int
        Bounds of one block (256 MB: 182 windows of 1024 x 360).

    Returns
    -------
    rows : int
        At least 1.
    """
    return int(max(1, min(max_rows, max_bytes // (4 * max(1, int(row_size))))))


def _score_block(queries: torch.Tensor, candidates: torch.Tensor) -> torch.Tensor:
    """Scores (n_queries_block, n_candidates_block) of flattened rows."""
    return brainmagick_scores(queries, candidates)


class _Words:
    """Word-level running softmax masses of a query block (a log-sum-exp over blocks)."""

    def __init__(self, n_queries: int, codes: torch.Tensor, n_words: int, device) -> None:
        self.codes = codes
        self.running_max = torch.full((n_queries,), -torch.inf, device=device)
        self.mass = torch.zeros(n_queries, n_words, device=device, dtype=torch.float64)

    def add(self, scores: torch.Tensor, c0: int, c1: int) -> None:
        new_max = torch.maximum(self.running_max, scores.max(dim=1).values)
        self.mass *= torch.exp(self.running_max - new_max)[:, None].double()
        self.mass.index_add_(1, self.codes[c0:c1], torch.exp(scores - new_max[:, None]).double())
        self.running_max = new_max

    def ranks(self, true_cand: torch.Tensor) -> torch.Tensor:
        true_mass = self.mass.gather(1, self.codes[true_cand][:, None])
        return (self.mass > true_mass).sum(dim=1)


def _query_block_ranks(q: torch.Tensor, true_score: torch.Tensor, true_cand: torch.Tensor,
                       candidates, chunk_size: int, device, words: _Words | None,
                       check: bool):
    greater = torch.zeros(len(q), dtype=torch.long, device=device)
    ties = torch.zeros(len(q), dtype=torch.long, device=device)
    tol = _TIE_RTOL * true_score.abs().clamp_min(1e-12)[:, None]
    for c0, c1 in _chunks(len(candidates), chunk_size):
        block = _as_rows(candidates[np.arange(c0, c1)], device)
        if check:
            _check_finite_rows("candidates", block, offset=c0)
        scores = _score_block(q, block)
        if words is not None:
            words.add(scores, c0, c1)
        is_true = (true_cand[:, None] - c0) == torch.arange(c1 - c0, device=device)
        diff = scores - true_score[:, None]
        greater += ((diff > tol) & ~is_true).sum(dim=1)
        ties += ((diff.abs() <= tol) & ~is_true).sum(dim=1)
    return greater, ties, None if words is None else words.ranks(true_cand)


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

    See Also
    --------
    compute_streamed_ranks : the same ranks from query blocks and candidates read on
        demand (nothing held whole).
    """
    pred_shape, target_shape = tuple(pred.shape), tuple(target.shape)
    if pred_shape != target_shape or len(pred_shape) not in (2, 3):
        raise ValueError(
            "pred and target must have the same shape (n, n_features[, n_times]); got "
            f"{pred_shape} and {target_shape}."
        )
    _check_chunk_size(chunk_size)
    first, inverse = unique_segments(target, segment_ids)
    words = None if groups is None else candidate_groups(groups, first, inverse)
    _check_finite_rows("pred", pred)
    _check_finite_rows("target", target)
    queries = ((pred[q0:q1], inverse[q0:q1]) for q0, q1 in _chunks(len(pred), chunk_size))
    return compute_streamed_ranks(queries, CandidateRows(lambda i: _take(target, i), first),
                                  groups=words, chunk_size=chunk_size, device=device,
                                  progress=progress, n_queries=len(pred))


def _check_chunk_size(chunk_size: int) -> None:
    if int(chunk_size) < 1:
        raise ValueError(f"chunk_size must be >= 1; got {chunk_size}.")


@torch.no_grad()
def compute_streamed_ranks(queries: Iterable[tuple[Any, Any]], candidates, *, groups=None,
                           chunk_size: int = 1024, device: str | torch.device = "cpu",
                           progress: bool = False, n_queries: int | None = None) -> dict:
    """Rank of each query's true candidate, queries streamed in blocks, candidates on demand.

    Each query block is scored against every candidate, ``chunk_size`` candidates at a
    time, then dropped: memory is one query block, one candidate block and their scores,
    whatever the number of queries. The ranks equal ``compute_ranks``'s on the same rows.

    Parameters
    ----------
    queries : iterable of (pred, true)
        Blocks of predictions, array or tensor of shape (b, n_features[, n_times]), with
        the candidate index of each one's true stimulus, int array of shape (b,).
    candidates : sized, indexable by an int array
        ``candidates[index]`` (index increasing) returns those candidates' features,
        shape (len(index), n_features[, n_times]): an array, tensor, h5py dataset or
        :class:`CandidateRows` (read on demand).
    groups : array of shape (n_candidates,) or None
        Word (or any label) of each candidate, for word-level ranks.
    chunk_size : int
        Candidates per block.
    device : str or torch.device
    progress : bool
    n_queries : int or None
        Number of queries, for the progress bar.

    Returns
    -------
    ranks : dict
        As :func:`compute_ranks`: ``rank``, ``ties``, ``n_candidates`` and, with
        ``groups``, ``word_rank`` and ``n_words``; in the order of the queries.

    Raises
    ------
    ValueError
        If a true index is not a candidate, ``groups`` does not have one label per
        candidate, or a block holds NaN or infinite values.
    """
    _check_chunk_size(chunk_size)
    n_cand = len(candidates)
    codes, n_words = _group_codes(groups, n_cand, device)
    out: dict[str, list] = {"rank": [], "ties": [], "word_rank": []}
    bar = tqdm(total=n_queries, disable=not progress, desc="retrieval", leave=False)
    done = 0
    for pred, true in queries:
        q = _as_rows(pred, device)
        _check_finite_rows("pred", q, offset=done)
        true = _check_true(true, len(q), n_cand)
        true_score = _true_scores(q, true, candidates, device)
        words = None if codes is None else _Words(len(q), codes, n_words, device)
        greater, tied, word_rank = _query_block_ranks(
            q, true_score, torch.from_numpy(true).to(device), candidates, chunk_size, device,
            words, check=done == 0)
        for key, value in (("rank", greater), ("ties", tied), ("word_rank", word_rank)):
            if value is not None:
                out[key].append(value.cpu().numpy())
        done += len(q)
        bar.update(len(q))
        del pred, q, true_score  # the block is dropped before the next one is made
    bar.close()
    result = {k: np.concatenate(v) if v else np.empty(0, np.int64) for k, v in out.items()}
    ranks = {"rank": result["rank"], "ties": result["ties"], "n_candidates": n_cand}
    if codes is not None:
        ranks.update(word_rank=result["word_rank"], n_words=n_words)
    return ranks


def _true_scores(q: torch.Tensor, true: np.ndarray, candidates, device,
                 step: int = 16) -> torch.Tensor:
    """Each query's score with its true candidate's own row (as in the candidate blocks),
    ``step`` queries at a time (their targets are the only ones held)."""
    out = torch.empty(len(q), dtype=torch.float32, device=device)
    for a, b in _chunks(len(q), step):
        rows, back = np.unique(true[a:b], return_inverse=True)
        tgt = _as_rows(candidates[rows], device)[torch.from_numpy(back.ravel()).to(device)]
        out[a:b] = (q[a:b] * tgt).sum(1) / (1e-8 + tgt.norm(dim=1))
    return out


def _check_true(true, n: int, n_candidates: int) -> np.ndarray:
    true = np.asarray(true, dtype=np.int64).ravel()
    if true.shape != (n,) or (n and not 0 <= true.min() <= true.max() < n_candidates):
        raise ValueError(
            f"each query block needs the candidate index of its {n} queries, in [0, "
            f"{n_candidates}); got shape {true.shape}"
            + (f", values {true.min()}..{true.max()}." if true.size else "."))
    return true


def _group_codes(groups, n_candidates: int, device):
    if groups is None:
        return None, 0
    groups = np.asarray(groups)
    if groups.shape != (n_candidates,):
        raise ValueError(f"groups must have one label per candidate, shape ({n_candidates},); "
                         f"got {groups.shape}.")
    labels, codes = np.unique(groups, return_inverse=True)
    return torch.from_numpy(codes.ravel()).to(device), len(labels)


def candidate_groups(groups, first: np.ndarray, inverse: np.ndarray) -> np.ndarray:
    """The word of each candidate, from the word of each row (rows of a candidate agree).

    Parameters
    ----------
    groups : array of shape (n,)
        Word (or any label) of each row.
    first, inverse : int arrays
        As returned by :func:`candidate_index`.

    Returns
    -------
    words : array of shape (n_candidates,)
    """
    groups = np.asarray(groups)
    if groups.shape != inverse.shape:
        raise ValueError(
            f"groups must have one word label per row, shape {inverse.shape}; got {groups.shape}."
        )
    _, codes = np.unique(groups, return_inverse=True)
    codes = codes.ravel()
    if not np.array_equal(codes[first][inverse], codes):
        raise ValueError(
            "groups gives different words to rows of the same segment; each segment must "
            "belong to one word (check segment_ids and groups)."
        )
    return groups[first]


def _check_finite_rows(name: str, array, offset: int = 0) -> None:
    """Raise if a row of ``array`` (a block starting at row ``offset``) is not finite."""
    values = array if isinstance(array, torch.Tensor) else torch.as_tensor(np.asarray(array))
    values = values.reshape(len(values), -1)
    # a row holding NaN or inf has a non-finite sum (no full-size temporary, unlike
    # isfinite); only those rows (or finite rows whose sum overflows) are checked in full
    suspects = torch.nonzero(~torch.isfinite(values.sum(dim=1))).ravel()
    bad = suspects[~torch.isfinite(values[suspects]).all(dim=1)]
    if len(bad):
        rows = (bad[:5] + offset).tolist()
        block = f" (the block from row {offset})" if offset else ""
        raise ValueError(
            f"{name} holds NaN or infinite values in {len(bad)} of {len(values)} rows"
            f"{block} (e.g. rows {rows}); retrieval needs finite features (a diverged model?)."
        )


__all__ = ["CandidateRows", "candidate_groups", "candidate_index", "compute_ranks",
           "compute_streamed_ranks", "rows_per_block", "unique_segments"]
