"""Leak-free splits of segments: no brain sample and no stimulus in two splits."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping

import numpy as np
import pandas as pd

from .._validation import check_option
from ..exceptions import AlignmentError
from .segments import Segments

logger = logging.getLogger("neurodecode")

SPLIT_BY = {"block": "block", "story": "stimulus", "run": "block", "sentence": "sentence",
            "trial": None}
SPLITS = ("train", "valid", "test")
#: Cross-validation schemes of :func:`cv_splits`.
CV_METHODS = ("leave_one_group_out", "group_kfold", "stratified_kfold")


def split_segments(segments: Segments, by: str = "block", *, test_size: float = 0.2,
                   valid_size: float = 0.1, seed: int = 0,
                   assignment: Mapping[str, str] | None = None,
                   allow_shared_stimuli: bool = False) -> dict[str, Segments]:
    """Split segments into train, valid and test without leakage.

    Groups (blocks, stories, runs or sentences) are assigned whole to one split, in the
    same way for every subject. With a ``use`` column (``make_streamed``'s second
    segmentation), test keeps the ``"test"`` windows and train/valid the ``"fit"`` ones. Then (1) every window that shares a brain sample with a
    window of another split (it straddles a boundary) is dropped, so no sample of a
    recording lies in two splits; (2) unless ``allow_shared_stimuli``, windows of train
    and valid whose stimulus also appears in test are dropped.

    Parameters
    ----------
    segments : Segments
    by : {"block", "story", "run", "sentence", "trial"}
        Grouping: ``block``/``run`` use ``meta["block"]``, ``story`` uses
        ``meta["stimulus"]``, ``sentence`` uses ``meta["sentence"]`` (the sentence block
        holding the window, :func:`sentence_blocks`; windows in none are dropped) and
        assigns blocks by a stable hash (:func:`hash_assign`); ``trial`` assigns single
        windows, stratified by condition (for a single-session design with one block):
        test windows are kept, valid windows overlapping a test window and train windows
        overlapping either are dropped.
    test_size, valid_size : float
        Fractions of the groups in test and valid (at least one group each when > 0).
    seed : int
        Seed of the group permutation.
    assignment : mapping of str to str, optional
        Explicit group -> split (``"train"``, ``"valid"``, ``"test"``); overrides sizes.
    allow_shared_stimuli : bool
        Keep train windows whose stimulus is also in test.

    Returns
    -------
    splits : dict of str to Segments
        Keys ``"train"``, ``"valid"`` and ``"test"``.
    """
    check_option("by", by, SPLIT_BY)
    groups = _groups(segments, by)
    if assignment is None:
        _check_sizes(test_size, valid_size)
        _check_n_groups(groups, by, 1 + (test_size > 0) + (valid_size > 0))
    if assignment is not None:
        split_of = dict(assignment)
    elif by == "sentence":
        split_of = hash_assign(np.unique(groups[groups != ""]), test_size, valid_size, seed)
    else:
        split_of = _assign(np.unique(groups), test_size, valid_size, seed,
                           _strata(segments, by))
    for name in set(split_of.values()):
        check_option("assignment value for a group", name, SPLITS)
    unknown = sorted(set(split_of) - set(groups))
    if unknown:
        raise ValueError(
            f"assignment names group(s) {unknown} that no segment has (by={by!r}); the "
            f"groups are {sorted(set(groups))[:20]}."
        )
    labels = np.array([split_of.get(g, "train") for g in groups], dtype=object)
    labels[~_wanted(segments.meta, labels)] = "none"  # the other segmentation's windows
    keep = (_by_priority(segments, labels) if SPLIT_BY[by] is None
            else _non_overlapping(segments, labels))
    if by == "sentence":
        keep &= groups != ""  # windows astride two sentence blocks
    if not allow_shared_stimuli:
        test_stimuli = set(segments.meta["stimulus"][labels == "test"]) - {""}
        shared = (labels != "test") & segments.meta["stimulus"].isin(test_stimuli).to_numpy()
        keep &= ~shared
    out = {}
    for name in SPLITS:
        index = np.flatnonzero(keep & (labels == name))
        if index.size == 0 and (name != "valid" or valid_size > 0 or assignment is not None):
            given = int((labels == name).sum())
            why = (f"the assignment gives it {'no group' if not given else 'only windows dropped to avoid leakage'}"
                   if assignment is not None else
                   f"{len(np.unique(groups))} groups, test_size={test_size}, "
                   f"valid_size={valid_size}; use more groups, another 'by', or an explicit "
                   "assignment" + ("; sentence blocks go to splits by a hash, so few blocks "
                                   "may leave a split empty: try another split seed"
                                   if by == "sentence" else ""))
            raise AlignmentError(f"split {name!r} would be empty (by={by!r}): {why}.")
        out[name] = segments.select(index)
    dropped = int((~keep).sum())
    if dropped:
        logger.info("split_segments dropped %d window(s) to avoid leakage.", dropped)
    return out


def _wanted(meta, labels: np.ndarray) -> np.ndarray:
    """Whether each window belongs to its split's segmentation (``meta["use"]``: ``"test"``
    windows serve the test split, ``"fit"`` windows train and valid, ``"all"`` every one)."""
    if "use" not in meta.columns:
        return np.ones(len(labels), dtype=bool)
    use = meta["use"].astype(str).to_numpy()
    return (use == "all") | np.where(labels == "test", use == "test", use == "fit")


def _groups(segments: Segments, by: str) -> np.ndarray:
    """The group of each window (its own index for ``by="trial"``), as strings."""
    if SPLIT_BY[by] is None:
        return np.arange(len(segments)).astype(str)
    column = SPLIT_BY[by]
    if column not in segments.meta.columns:
        raise AlignmentError(
            f"by={by!r} needs the column {column!r} in the segments' metadata, which has "
            f"{list(segments.meta.columns)}; sentence blocks are set by "
            "align.dataset.make_streamed (the decoding job), or use by='block'.")
    return segments.meta[column].astype(str).to_numpy()


def _strata(segments: Segments, by: str) -> dict[str, str] | None:
    """Condition of each group for ``by="trial"`` (stratified assignment), else None."""
    if SPLIT_BY[by] is not None:
        return None
    return dict(zip(_groups(segments, by), segments.meta["condition"].astype(str)))


def _check_n_groups(groups: np.ndarray, by: str, needed: int) -> None:
    """``AlignmentError`` naming the splitters that fit when there are too few groups."""
    found = np.unique(groups)
    if len(found) >= needed:
        return
    raise AlignmentError(
        f"by={by!r} finds {len(found)} group(s) {found[:5].tolist()} in these segments; "
        f"{needed} or more are needed. For a design with one run or block use by='trial' "
        "(single windows, stratified by condition, overlapping windows dropped) or "
        "cv_splits(segments, 'stratified_kfold'); for several runs, by='run' or "
        "cv_splits(segments, 'leave_one_group_out', by='run'); for stories or sentences, "
        "by='story' or by='sentence'."
    )


def _check_sizes(test_size: float, valid_size: float) -> None:
    for name, size in (("test_size", test_size), ("valid_size", valid_size)):
        if not 0 <= size < 1:
            raise ValueError(f"{name} must be in [0, 1); got {size!r}.")


def _assign(groups: np.ndarray, test_size: float, valid_size: float, seed: int,
            strata: Mapping[str, str] | None = None) -> dict[str, str]:
    """Group -> split, at random; within each stratum (condition) when ``strata`` is given."""
    _check_sizes(test_size, valid_size)
    if strata is not None:
        out: dict[str, str] = {}
        for k, label in enumerate(sorted(set(strata.values()))):
            members = np.array([g for g in groups if strata[str(g)] == label])
            out.update(_assign(members, test_size, valid_size, seed + k))
        return out
    order = np.random.default_rng(seed).permutation(len(groups))
    n_test = max(1, round(test_size * len(groups))) if test_size > 0 else 0
    n_valid = max(1, round(valid_size * len(groups))) if valid_size > 0 else 0
    names = np.array(["train"] * len(groups), dtype=object)
    names[order[:n_test]] = "test"
    names[order[n_test:n_test + n_valid]] = "valid"
    return {str(g): str(n) for g, n in zip(groups, names)}


# ---- sentence blocks (brainmagick's split unit) -------------------------------------------

#: Shortest sentence block (s): consecutive sentences are merged up to it (brainmagick 6 s).
MIN_BLOCK_DURATION = 6.0


def sentence_blocks(events: pd.DataFrame, min_duration: float = MIN_BLOCK_DURATION
                    ) -> pd.DataFrame:
    """Sentence blocks of a recording's word events, merged to at least ``min_duration``.

    A sentence is a run of consecutive words sharing ``block`` (the sound) and ``sentence``
    (or MEG-MASC's ``sequence_id``; without either, the whole sound is one sentence).
    Consecutive sentences of one sound are merged until the block lasts ``min_duration``
    (a short tail joins the block before it), as brainmagick (``bm/events.py:288-357``).

    Parameters
    ----------
    events : DataFrame
        A recording's events (``onset``, ``duration``, ``kind``, ``text``, ``block``).
    min_duration : float
        Seconds; 0 keeps single sentences.

    Returns
    -------
    blocks : DataFrame
        One row per block: ``start`` and ``stop`` (s; a block reaches the next block of
        its sound), ``uid`` (the block's words, the same for every subject who heard it),
        ``block`` and ``stimulus`` (its sound).
    """
    words = events[events["kind"] == "word"]
    if words.empty:
        return pd.DataFrame(columns=["start", "stop", "uid", "block", "stimulus"])
    key = next((c for c in ("sentence", "sequence_id") if c in words.columns), None)
    ident = words["block"].astype(str) + "|" + (words[key].astype(str) if key else "")
    run = (ident != ident.shift()).cumsum().to_numpy()
    ends = (words["onset"] + words["duration"]).to_numpy()
    onsets, texts = words["onset"].to_numpy(float), words["text"].astype(str).to_numpy()
    sounds = words["block"].astype(str).to_numpy()
    stimuli = (words["stimulus"].astype(str).to_numpy() if "stimulus" in words.columns
               else np.full(len(words), ""))
    sentences = []
    for k in np.unique(run):
        sel = np.flatnonzero(run == k)
        sentences.append([onsets[sel[0]], ends[sel].max(), " ".join(texts[sel]),
                          sounds[sel[0]], stimuli[sel[0]]])
    return pd.DataFrame(_merge(sentences, min_duration),
                        columns=["start", "stop", "uid", "block", "stimulus"])


def _merge(sentences: list[list], min_duration: float) -> list[list]:
    """Merge consecutive sentences of one sound to ``min_duration``; stops reach the next."""
    blocks: list[list] = []  # start, stop, uid, sound, stimulus, long enough
    for start, stop, text, sound, stimulus in sentences:
        last = blocks[-1] if blocks else None
        if last is not None and last[3] == sound and not last[5]:
            last[1], last[2] = max(last[1], stop), f"{last[2]} {text}"
        else:
            if last is not None and last[3] == sound:
                last[1] = max(last[1], start)
            blocks.append([start, stop, text, sound, stimulus, False])
        blocks[-1][5] = blocks[-1][1] - blocks[-1][0] >= min_duration
    for i in range(len(blocks) - 1, 0, -1):  # a short tail joins the block before it
        prev, cur = blocks[i - 1], blocks[i]
        if not cur[5] and prev[3] == cur[3]:
            prev[1], prev[2] = cur[1], f"{prev[2]} {cur[2]}"
            del blocks[i]
    return [b[:5] for b in blocks]


def block_of_windows(blocks: pd.DataFrame, onsets: np.ndarray, tmax: float) -> np.ndarray:
    """The uid of the block holding each window's ``[onset, onset + tmax]``, else ``""``."""
    out = np.full(len(onsets), "", dtype=object)
    if blocks.empty:
        return out
    start, stop = blocks["start"].to_numpy(), blocks["stop"].to_numpy()
    k = np.searchsorted(start, onsets, side="right") - 1
    inside = (k >= 0) & (onsets + tmax <= stop[np.maximum(k, 0)] + 1e-9)
    out[inside] = blocks["uid"].to_numpy()[k[inside]]
    return out


def hash_assign(groups: np.ndarray, test_size: float, valid_size: float,
                seed: int) -> dict[str, str]:
    """Group -> split by a stable hash of the group and ``seed`` (brainmagick's
    ``bm/events.py:401-461``): the same sentence lands in the same split in every
    recording, run and machine; the fractions hold on average."""
    _check_sizes(test_size, valid_size)
    out = {}
    for g in groups:
        u = int(hashlib.sha256(f"{g}{seed}".encode()).hexdigest(), 16) / 2.0 ** 256
        out[str(g)] = "test" if u < test_size else "valid" if u < test_size + valid_size else "train"
    return out


def cv_splits(segments: Segments, method: str = "leave_one_group_out", *, by: str = "run",
              n_splits: int = 5, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """Cross-validation folds over segments, with no brain sample in train and test.

    Parameters
    ----------
    segments : Segments
    method : {"leave_one_group_out", "group_kfold", "stratified_kfold"}
        ``leave_one_group_out``: one fold per group (leave-one-run-out with ``by="run"``);
        ``group_kfold``: ``n_splits`` folds of whole groups; ``stratified_kfold``:
        ``n_splits`` folds over single windows, each condition in every fold.
    by : {"block", "story", "run", "sentence"}
        The groups of the grouped methods (ignored by ``stratified_kfold``).
    n_splits : int
        Folds of the K-fold methods.
    seed : int
        Shuffling seed of ``stratified_kfold``.

    Returns
    -------
    folds : list of (train, test) pairs of int arrays
        Indices into ``segments``; train windows sharing a sample with a test window of
        the same recording (overlapping epochs) are left out of that fold's train.
    """
    from sklearn.model_selection import GroupKFold, LeaveOneGroupOut, StratifiedKFold

    check_option("method", method, CV_METHODS)
    y = segments.meta["condition"].astype(str).to_numpy()
    if method == "stratified_kfold":
        smallest = int(np.unique(y, return_counts=True)[1].min())
        if not 2 <= n_splits <= smallest:
            raise AlignmentError(
                f"stratified_kfold with n_splits={n_splits} needs 2 <= n_splits <= the size of "
                f"the smallest condition ({smallest}); conditions: {sorted(set(y))[:20]}.")
        raw = StratifiedKFold(n_splits, shuffle=True, random_state=seed).split(y, y)
    else:
        check_option("by", by, [k for k, v in SPLIT_BY.items() if v is not None])
        groups = _groups(segments, by)
        _check_n_groups(groups, by, 2 if method == "leave_one_group_out" else n_splits)
        splitter = LeaveOneGroupOut() if method == "leave_one_group_out" else GroupKFold(n_splits)
        raw = splitter.split(y, y, groups)
    return [(_not_touching(segments, train, test), test) for train, test in raw]


def _not_touching(segments: Segments, train: np.ndarray, test: np.ndarray) -> np.ndarray:
    """The ``train`` indices whose window shares no sample with a ``test`` window."""
    meta = segments.meta
    rec, start, stop = (meta[c].to_numpy() for c in ("recording", "start", "stop"))
    keep = np.ones(len(train), dtype=bool)
    for r in np.unique(rec[test]):
        t = test[rec[test] == r]
        lo, hi = start[t], stop[t]
        order = np.argsort(lo)
        lo, hi_max = lo[order], np.maximum.accumulate(hi[order])
        rows = np.flatnonzero(rec[train] == r)
        # the last test window starting before this train window ends: does it reach it?
        j = np.searchsorted(lo, stop[train[rows]], side="left") - 1
        keep[rows] = ~((j >= 0) & (hi_max[np.maximum(j, 0)] > start[train[rows]]))
    if not keep.all():
        logger.info("cv_splits: %d train window(s) overlap a test window and were left out.",
                    int((~keep).sum()))
    return train[keep]


def _by_priority(segments: Segments, labels: np.ndarray) -> np.ndarray:
    """True for windows that share no sample with a window of a split before theirs in
    test, valid, train: single trials keep the test set whole, train gives way."""
    keep = np.zeros(len(labels), dtype=bool)
    kept = np.array([], dtype=np.int64)
    for name in ("test", "valid", "train"):
        index = np.flatnonzero(labels == name)
        index = _not_touching(segments, index, kept) if len(kept) else index
        keep[index] = True
        kept = np.concatenate([kept, index])
    return keep


def _non_overlapping(segments: Segments, labels: np.ndarray) -> np.ndarray:
    """True for windows that share no sample with a window of another split."""
    meta = segments.meta
    keep = np.ones(len(meta), dtype=bool)
    for _, rows in meta.groupby("recording", sort=False).indices.items():
        start, stop = meta["start"].to_numpy()[rows], meta["stop"].to_numpy()[rows]
        offset, n = start.min(), stop.max() - start.min()
        owner = np.zeros((len(SPLITS), n + 1), dtype=np.int32)
        for k, name in enumerate(SPLITS):
            sel = labels[rows] == name
            np.add.at(owner[k], start[sel] - offset, 1)
            np.add.at(owner[k], stop[sel] - offset, -1)
        covered = np.cumsum(owner, axis=1)[:, :-1] > 0  # (n_splits, n) sample coverage
        conflict = np.r_[0, np.cumsum(covered.sum(axis=0) > 1)]
        keep[rows] = conflict[stop - offset] == conflict[start - offset]
    return keep


__all__ = ["CV_METHODS", "SPLITS", "SPLIT_BY", "cv_splits", "split_segments"]
