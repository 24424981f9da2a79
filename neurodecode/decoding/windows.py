"""Timeline (speech) decoding with brain encoders: train on windows, rank the test windows
among the stimulus positions.

Streamed windows (:class:`~neurodecode.align.dataset.StreamedWindows`), as the decoding
job runs them: :func:`split_windows` (leak-free splits of the windows' metadata),
:func:`train_model` and :func:`train_baselines`, :func:`window_candidates` (one candidate per
stimulus position) and :func:`score_model`, which predicts the test split one block at a
time and ranks each block against the candidates cut on demand from the stimulus
timelines: neither all predictions nor all targets are ever held, so its memory does not
grow with the number of test windows; each window is ranked once and every top-k, the
retrieval curve, the confidence intervals, per-subject and word-level accuracies come from
those ranks.

Arrays (``Segments``), for analyses and benchmarks that hold them: :func:`segment_ids`,
:func:`scale_splits`, :func:`train` and :func:`evaluate`.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from ..align import Segments, SegmentScaler, split_segments
from ..align.dataset import StreamedSegments, StreamedWindows, candidate_ids
from ..evaluation import (
    CandidateRows,
    RetrievalResult,
    candidate_groups,
    candidate_index,
    compute_streamed_ranks,
    compute_topk_accuracy,
    predict,
    predict_blocks,
    retrieval_from_ranks,
    rows_per_block,
)
from ..training import FitResult, SegmentDataset, fit

#: k values of the retrieval curve (those not above the number of candidates).
CURVE_KS = (1, 2, 3, 5, 10, 20, 50, 100, 200, 500)


def split_windows(windows: StreamedWindows, *, by: str, test_size: float, valid_size: float,
                  seed: int, shuffle_seed: int, allow_shared_stimuli: bool = False,
                  ) -> dict[str, pd.DataFrame]:
    """The rows of ``windows.meta`` in each split (``split_segments`` on the metadata).

    Parameters
    ----------
    windows : StreamedWindows
    by, test_size, valid_size, seed, allow_shared_stimuli
        As :func:`~neurodecode.align.split_segments`.
    shuffle_seed : int
        The validation rows are shuffled once with it, so that each validation batch
        mixes windows from across the split (brainmagick shuffles them) rather than
        neighbours.

    Returns
    -------
    splits : dict of str to DataFrame
        ``train``, ``valid`` and ``test`` rows of ``windows.meta``.
    """
    splits = split_segments(windows.as_segments(), by=by, test_size=test_size,
                            valid_size=valid_size, seed=seed,
                            allow_shared_stimuli=allow_shared_stimuli)
    out = {name: s.meta for name, s in splits.items()}
    out["valid"] = out["valid"].sample(frac=1.0, random_state=shuffle_seed)
    return out


def fresh_model(make_model: Callable[[], nn.Module], seed: int) -> nn.Module:
    """``make_model()`` initialised from ``seed``; the global generator is left as it was."""
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return make_model()


def train_model(make_model: Callable[[], nn.Module], loss: nn.Module, sets: Mapping[str, Any],
                positions, *, run_dir: Path, seed: int, progress: bool,
                **fit_kwargs) -> tuple[nn.Module, FitResult, float]:
    """Fit a freshly built model on ``sets["train"]``, early-stopping on ``sets["valid"]``.

    Parameters
    ----------
    make_model : callable
        Returns a fresh brain encoder (initialised from ``seed``).
    loss : nn.Module
    sets : mapping of str to Dataset
        ``train`` and ``valid`` datasets (``StreamedSegments`` or ``SegmentDataset``).
    positions : array of shape (n_channels, 2) or None
    run_dir : Path
        Checkpoints and the epoch log (a rerun resumes from them).
    seed : int
    progress : bool
    **fit_kwargs
        Keyword arguments of :func:`neurodecode.training.fit`.

    Returns
    -------
    model : nn.Module
        The best model.
    fitted : FitResult
    seconds : float
        Training time, counting the epochs before a resume.
    """
    model = fresh_model(make_model, seed)
    result = fit(model, loss, sets["train"], sets["valid"], positions=positions,
                 run_dir=run_dir, seed=seed, progress=progress, **fit_kwargs)
    return model, result, result.seconds


def train_baselines(losses: Mapping[str, nn.Module | None], make_model: Callable[[], nn.Module],
                    sets: Mapping[str, Any], positions, *, run_dir: Path, seed: int,
                    progress: bool, **fit_kwargs) -> dict[str, nn.Module]:
    """The baseline models, by name: the same encoder trained with another loss (in
    ``run_dir / "baseline_<name>"``), or untrained (loss ``None``: initialised from ``seed``).

    Parameters
    ----------
    losses : mapping of str to nn.Module or None
        E.g. ``{"regression": MSELoss(), "untrained": None}``.
    make_model, sets, positions, seed, progress, **fit_kwargs
        As :func:`train_model`.
    run_dir : Path
        The run directory.

    Returns
    -------
    models : dict of str to nn.Module
    """
    out = {}
    for name, loss in losses.items():
        if loss is None:
            out[name] = fresh_model(make_model, seed)
        else:
            out[name], _, _ = train_model(make_model, loss, sets, positions,
                                          run_dir=run_dir / f"baseline_{name}", seed=seed,
                                          progress=progress, **fit_kwargs)
    return out


@dataclass(frozen=True)
class WindowCandidates:
    """The test windows' candidates: one per stimulus position.

    Attributes
    ----------
    ids : array of str of shape (n_windows,)
        What each test window heard (``align.dataset.candidate_ids``).
    first : int array of shape (n_candidates,)
        The test window representing each candidate (its first), whose target is cut.
    inverse : int array of shape (n_windows,)
        Candidate of each test window.
    words : array of shape (n_candidates,) or None
        The word of each candidate, for word-level accuracy (word windows only).
    """

    ids: np.ndarray
    first: np.ndarray
    inverse: np.ndarray
    words: np.ndarray | None = None

    @property
    def n_candidates(self) -> int:
        """Number of distinct stimulus positions."""
        return len(self.first)


def window_candidates(windows: StreamedWindows, test_set: StreamedSegments) -> WindowCandidates:
    """One candidate per stimulus position of the test windows; words when every window is
    a word onset with its text (word-level accuracy)."""
    meta = test_set.meta
    ids = candidate_ids(windows, meta)
    first, inverse = candidate_index(ids)
    text = meta["text"].astype(str).to_numpy()
    is_words = bool((meta["kind"] == "word").all() and (text != "").all())
    return WindowCandidates(ids, first, inverse,
                          candidate_groups(text, first, inverse) if is_words else None)


def rank_windows(model: nn.Module, test_set: StreamedSegments, candidates: WindowCandidates, *,
                 positions, device: str, max_bytes: int = 2 ** 28) -> dict:
    """Rank of each test window's stimulus position among the candidates, streamed.

    The model predicts the test windows one block at a time; each block is scored against
    the candidates, cut from the stimulus timelines one block at a time. A block holds at
    most ``max_bytes`` and 1,024 windows (query blocks rounded up to whole batches of 64).

    Returns
    -------
    ranks : dict
        As :func:`~neurodecode.evaluation.compute_streamed_ranks`, in test-window order.
    """
    block = rows_per_block(test_set.n_features * test_set.windows.width, max_bytes)
    preds = predict_blocks(model, test_set, positions=positions, block_size=block,
                           device=device)
    return compute_streamed_ranks(_with_truth(preds, candidates.inverse),
                                  CandidateRows(test_set.stimulus, candidates.first),
                                  groups=candidates.words, chunk_size=block, device=device)


def _with_truth(preds, inverse: np.ndarray):
    """Each prediction block with its windows' candidates; a block is dropped here before
    the next one is predicted."""
    for start, pred in preds:
        yield pred, inverse[start:start + len(pred)]
        del pred


def score_model(model: nn.Module, test_set: StreamedSegments, candidates: WindowCandidates, *,
                positions, device: str, ks: Sequence[int], pool_size: int | None,
                n_bootstraps: int, seed: int, curve_ks: Sequence[int] = CURVE_KS,
                ) -> tuple[RetrievalResult, RetrievalResult]:
    """Top-k retrieval of the test windows among their stimulus positions, from one
    prediction pass and one ranking (:func:`rank_windows`).

    Parameters
    ----------
    model : nn.Module
    test_set : StreamedSegments
    candidates : WindowCandidates
    positions : array of shape (n_channels, 2) or None
    device : str
    ks : sequence of int
        The k of the reported accuracies.
    pool_size, n_bootstraps, seed
        As :func:`~neurodecode.evaluation.compute_topk_accuracy`.
    curve_ks : sequence of int
        The k of the retrieval curve (those not above the number of candidates).

    Returns
    -------
    result : RetrievalResult
        At ``ks``, with per-subject (and word-level) accuracies.
    curve : RetrievalResult
        At ``curve_ks``.
    """
    ranks = rank_windows(model, test_set, candidates, positions=positions, device=device)
    kw: dict[str, Any] = dict(subjects=test_set.subject, pool_size=pool_size,
                              n_bootstraps=n_bootstraps, seed=seed)
    curve = [k for k in curve_ks if k <= candidates.n_candidates]
    return retrieval_from_ranks(ranks, ks, **kw), retrieval_from_ranks(ranks, curve, **kw)


# -- arrays (Segments) -------------------------------------------------------------------

def segment_ids(stimulus: Any) -> np.ndarray:
    """One id per distinct stimulus window content (identical targets share an id), shape (n,).

    For arrays of ``Segments`` only; the decoding job identifies a candidate by what was
    heard (``align.dataset.candidate_ids``), so one word heard by several recordings is one
    candidate even when its windows differ by a sample.
    """
    rounded = np.round(np.asarray(stimulus, np.float32), 5)
    return np.array([hashlib.blake2b(row.tobytes(), digest_size=8).hexdigest()
                     for row in rounded])


def scale_splits(splits: dict[str, Segments], method: str | None,
                 clamp: float | None) -> dict[str, Segments]:
    """Scale every split with a per-channel scaler fitted on the training split only."""
    if method is None:
        return splits
    scaler = SegmentScaler(method, clamp).fit(splits["train"].brain)
    return {name: dataclasses.replace(s, brain=scaler.transform(s.brain))
            for name, s in splits.items()}


def evaluate(model: nn.Module, split: Segments, *, device: str, ks: Sequence[int],
             pool_size: int | None, n_bootstraps: int, seed: int) -> RetrievalResult:
    """Top-k retrieval of ``split``'s stimulus windows from the model's predictions
    (candidates: distinct window contents, :func:`segment_ids`)."""
    dataset = SegmentDataset(split.brain, split.stimulus, split.subject)
    pred = predict(model, dataset, positions=split.pos_2d, device=device)
    return compute_topk_accuracy(pred, split.stimulus, ks=ks,
                                 segment_ids=segment_ids(split.stimulus),
                                 subjects=split.subject, pool_size=pool_size,
                                 n_bootstraps=n_bootstraps, seed=seed, device=device)


def train(make_model: Callable[[], nn.Module], loss: nn.Module, splits: dict[str, Segments], *,
          run_dir: Path, seed: int, progress: bool,
          **fit_kwargs) -> tuple[nn.Module, FitResult, float]:
    """Fit a freshly built model on the train split of ``Segments``, early-stopping on valid."""
    sets = {k: SegmentDataset(s.brain, s.stimulus, s.subject) for k, s in splits.items()}
    return train_model(make_model, loss, sets, splits["train"].pos_2d, run_dir=run_dir,
                       seed=seed, progress=progress, **fit_kwargs)


__all__ = ["CURVE_KS", "WindowCandidates", "evaluate", "fresh_model", "rank_windows",
           "scale_splits", "score_model", "segment_ids", "split_windows", "train",
           "train_baselines", "train_model", "window_candidates"]
