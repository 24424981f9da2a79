"""Leak-free splits of segments: no brain sample and no stimulus in two splits."""

from __future__ import annotations

import logging
from collections.abc import Mapping

import numpy as np

from .._validation import check_option
from ..exceptions import AlignmentError
from .segments import Segments

logger = logging.getLogger("neurodecode")

SPLIT_BY = {"block": "block", "story": "stimulus", "run": "block", "sentence": "text",
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
    same way for every subject. Then (1) every window that shares a brain sample with a
    window of another split (it straddles a boundary) is dropped, so no sample of a
    recording lies in two splits; (2) unless ``allow_shared_stimuli``, windows of train
    and valid whose stimulus also appears in test are dropped.

    Parameters
    ----------
    segments : Segments
    by : {"block", "story", "run", "sentence", "trial"}
        Grouping: ``block``/``run`` use ``meta["block"]``, ``story`` uses
        ``meta["stimulus"]``, ``sentence`` uses ``meta["text"]``; ``trial`` assigns single
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
    split_of = dict(assignment) if assignment is not None else _assign(
        np.unique(groups), test_size, valid_size, seed, _strata(segments, by))
    for name in set(split_of.values()):
        check_option("assignment value for a group", name, SPLITS)
    unknown = sorted(set(split_of) - set(groups))
    if unknown:
        raise ValueError(
            f"assignment names group(s) {unknown} that no segment has (by={by!r}); the "
            f"groups are {sorted(set(groups))[:20]}."
        )
    labels = np.array([split_of.get(g, "train") for g in groups])
    keep = (_by_priority(segments, labels) if SPLIT_BY[by] is None
            else _non_overlapping(segments, labels))
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
                   "assignment")
            raise AlignmentError(f"split {name!r} would be empty (by={by!r}): {why}.")
        out[name] = segments.select(index)
    dropped = int((~keep).sum())
    if dropped:
        logger.info("split_segments dropped %d window(s) to avoid leakage.", dropped)
    return out


def _groups(segments: Segments, by: str) -> np.ndarray:
    """The group of each window (its own index for ``by="trial"``), as strings."""
    if SPLIT_BY[by] is None:
        return np.arange(len(segments)).astype(str)
    return segments.meta[SPLIT_BY[by]].astype(str).to_numpy()


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
