"""Leak-free splits of segments: no brain sample and no stimulus in two splits."""

from __future__ import annotations

import logging
from collections.abc import Mapping

import numpy as np

from .._validation import check_option
from ..exceptions import AlignmentError
from .segments import Segments

logger = logging.getLogger("neurodecode")

SPLIT_BY = {"block": "block", "story": "stimulus", "run": "block", "sentence": "text"}
SPLITS = ("train", "valid", "test")


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
    by : {"block", "story", "run", "sentence"}
        Grouping: ``block``/``run`` use ``meta["block"]``, ``story`` uses
        ``meta["stimulus"]``, ``sentence`` uses ``meta["text"]``.
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
    groups = segments.meta[SPLIT_BY[by]].astype(str).to_numpy()
    split_of = dict(assignment) if assignment is not None else _assign(
        np.unique(groups), test_size, valid_size, seed)
    for name in set(split_of.values()):
        check_option("assignment value for a group", name, SPLITS)
    unknown = sorted(set(split_of) - set(groups))
    if unknown:
        raise ValueError(
            f"assignment names group(s) {unknown} that no segment has (by={by!r}); the "
            f"groups are {sorted(set(groups))[:20]}."
        )
    labels = np.array([split_of.get(g, "train") for g in groups])
    keep = _non_overlapping(segments, labels)
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


def _assign(groups: np.ndarray, test_size: float, valid_size: float, seed: int) -> dict[str, str]:
    for name, size in (("test_size", test_size), ("valid_size", valid_size)):
        if not 0 <= size < 1:
            raise ValueError(f"{name} must be in [0, 1); got {size!r}.")
    order = np.random.default_rng(seed).permutation(len(groups))
    n_test = max(1, round(test_size * len(groups))) if test_size > 0 else 0
    n_valid = max(1, round(valid_size * len(groups))) if valid_size > 0 else 0
    names = np.array(["train"] * len(groups), dtype=object)
    names[order[:n_test]] = "test"
    names[order[n_test:n_test + n_valid]] = "valid"
    return {str(g): str(n) for g, n in zip(groups, names)}


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
