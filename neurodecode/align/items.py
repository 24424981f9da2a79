"""Item segments: one brain window per event, its item's target stored once per item.

Image (and sentence) decoding pairs each brain window with one feature vector of the
item shown (``Feature.kind == "item"``). Rather than copying the vector into every
window, :class:`ItemSegments` keeps ``targets`` of shape (n_items, n_features), one row
per distinct item (an image id), and ``item`` (n_windows,) pointing into it; retrieval
candidates are identified by the item ids. fMRI windows of several TRs are reduced to
one voxel pattern with a named reduction (:data:`FMRI_REDUCTIONS`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ..exceptions import AlignmentError, ConfigError
from .segments import Segments

logger = logging.getLogger("neurodecode")

#: Reductions of an fMRI window (n_voxels, n_trs) to one pattern: the mean over TRs,
#: one chosen TR (``"tr:<k>"``, 0-based) or a sum weighted by the canonical (double
#: gamma) HRF at the TRs' times after the onset.
FMRI_REDUCTIONS = ("mean", "tr:<k>", "hrf")


@dataclass
class ItemSegments:
    """Brain windows of item events, with one target per distinct item.

    Attributes
    ----------
    brain : float32 array of shape (n, n_channels, n_times) or (n, n_voxels)
        M/EEG windows, or fMRI patterns after the reduction.
    item : int array of shape (n,)
        Row of ``targets`` (and of ``item_ids``) of each window.
    item_ids : str array of shape (n_items,)
        The item (image id or file) of each target row.
    targets : float32 array of shape (n_items, n_features)
        Feature vector of each item, stored once.
    subject : int array of shape (n,)
        Index into ``subjects``.
    subjects : list of str
    meta : DataFrame
        One row per window (the ``Segments.meta`` columns).
    sfreq, tmin : float
    ch_names : list of str
    pos_2d : array of shape (n_channels, 2) or None
    modality : {"meeg", "fmri"}
    """

    brain: np.ndarray
    item: np.ndarray
    item_ids: np.ndarray
    targets: np.ndarray
    subject: np.ndarray
    subjects: list[str]
    meta: pd.DataFrame
    sfreq: float = 1.0
    tmin: float = 0.0
    ch_names: list[str] = field(default_factory=list)
    pos_2d: np.ndarray | None = None
    modality: str = "meeg"

    def __len__(self) -> int:
        return int(self.brain.shape[0])

    @property
    def rank(self) -> str:
        """``"windows"`` for (n_channels, n_times) windows, ``"patterns"`` for (n_voxels,)."""
        return "windows" if self.brain.ndim == 3 else "patterns"

    def select(self, index: Any) -> ItemSegments:
        """The windows at ``index`` (mask or indices); ``targets`` is shared, not copied."""
        index = np.flatnonzero(index) if np.asarray(index).dtype == bool else np.asarray(index)
        return replace(self, brain=self.brain[index], item=self.item[index],
                       subject=self.subject[index],
                       meta=self.meta.iloc[index].reset_index(drop=True))

    def window_targets(self) -> np.ndarray:
        """Targets row-aligned with the windows (n, n_features), for small sets."""
        return self.targets[self.item]


def make_item_segments(segments: Segments, features: Any, *, key: str | None = None,
                       reduction: str | None = None) -> ItemSegments:
    """Pair each window of ``segments`` with its item's feature vector.

    Parameters
    ----------
    segments : Segments
        Windows cut without features (``make_segments(..., features=None)``).
    features : StimulusFeatures or list of them
        Item features (``sfreq is None``): ``values[item_id]`` of shape (n_features,).
    key : str or None
        Column of ``segments.meta`` holding the item id (default ``features.key``).
    reduction : str or None
        For fMRI windows of more than one TR, one of :data:`FMRI_REDUCTIONS`.

    Returns
    -------
    items : ItemSegments
    """
    parts = features if isinstance(features, list) else [features]
    values: dict[str, np.ndarray] = {}
    for part in parts:
        if part.sfreq is not None:
            raise ConfigError(f"feature {part.name!r} is time-resolved (sfreq={part.sfreq}); "
                              "item segments need an item feature (one vector per event).")
        values.update(part.values)
    key = key or parts[0].key
    ids = segments.meta[key].fillna("").astype(str).to_numpy()
    absent = sorted(set(ids) - set(values))
    if absent:
        raise AlignmentError(
            f"window item {absent[0]!r} (and {len(absent) - 1} more) has no {parts[0].name!r} "
            f"feature; select events with a stimulus (segments.on) or compute the feature "
            "for every item.")
    item_ids, item = np.unique(ids, return_inverse=True)
    targets = np.stack([values[i] for i in item_ids]).astype(np.float32)
    brain = segments.brain
    if segments.modality == "fmri":
        brain = reduce_fmri_windows(brain, reduction, sfreq=segments.sfreq, tmin=segments.tmin)
    return ItemSegments(brain=brain, item=item.astype(np.int64), item_ids=item_ids,
                        targets=targets, subject=segments.subject, subjects=segments.subjects,
                        meta=segments.meta.reset_index(drop=True), sfreq=segments.sfreq,
                        tmin=segments.tmin, ch_names=list(segments.ch_names),
                        pos_2d=segments.pos_2d, modality=segments.modality)


def hrf_weights(times: np.ndarray) -> np.ndarray:
    """Canonical double-gamma HRF (peak ~5 s, undershoot ~15 s) at ``times`` (s), sum 1."""
    t = np.asarray(times, dtype=np.float64)
    h = stats.gamma.pdf(t, 6.0) - stats.gamma.pdf(t, 16.0) / 6.0
    h = np.where(t >= 0, h, 0.0)
    if h.sum() <= 0:
        raise ConfigError(f"reduction 'hrf' has no positive weight at window times {t.tolist()}; "
                          "widen the fMRI window (segments.tmax) to cover 2-10 s after onset.")
    return h / h.sum()


def reduce_fmri_windows(brain: np.ndarray, reduction: str | None, *, sfreq: float,
                        tmin: float) -> np.ndarray:
    """(n, n_voxels, n_trs) fMRI windows -> (n, n_voxels) patterns.

    A one-TR window needs no reduction; a longer one without a reduction is an error.
    """
    n_trs = brain.shape[2]
    if reduction is None:
        if n_trs == 1:
            return brain[:, :, 0]
        raise ConfigError(
            f"fMRI windows span {n_trs} TRs and segments.reduction is not set; set it to "
            f"one of {list(FMRI_REDUCTIONS)} (e.g. segments.reduction=mean).")
    if reduction == "mean":
        return brain.mean(axis=2)
    if reduction == "hrf":
        return np.einsum("nvt,t->nv", brain, hrf_weights(tmin + np.arange(n_trs) / sfreq))
    if reduction.startswith("tr:") and reduction[3:].isdigit():
        k = int(reduction[3:])
        if k >= n_trs:
            raise ConfigError(f"segments.reduction={reduction!r} picks TR {k} but the windows "
                              f"have {n_trs} TRs (0..{n_trs - 1}).")
        return brain[:, :, k]
    raise ConfigError(f"segments.reduction={reduction!r} is not valid; expected one of "
                      f"{list(FMRI_REDUCTIONS)}.")


def split_items(items: ItemSegments, *, test_conditions: tuple[str, ...] = (),
                test_size: float = 0.2, valid_size: float = 0.1, seed: int = 0,
                allow_shared_stimuli: bool = False) -> dict[str, ItemSegments]:
    """Zero-shot train/valid/test splits: no item in two splits.

    With ``test_conditions`` (the dataset's own test partition, e.g. THINGS-EEG2's
    ``test``), windows of those conditions form the test split; otherwise a random
    ``test_size`` fraction of the items does. ``valid_size`` of the remaining items is
    held out for early stopping. A test item also in training is an error, or a warning
    naming the items when ``allow_shared_stimuli``.
    """
    rng = np.random.default_rng(seed)
    n_items = len(items.item_ids)
    if test_conditions:
        is_test = items.meta["condition"].astype(str).isin(test_conditions).to_numpy()
        if not is_test.any():
            raise ConfigError(
                f"split.test_conditions={list(test_conditions)} selects no window; the "
                f"conditions are {sorted(items.meta['condition'].astype(str).unique())}.")
    else:
        test_items = _draw(rng, np.arange(n_items), test_size)
        is_test = np.isin(items.item, test_items)
    _check_leak(items, is_test, allow_shared_stimuli)
    rest = np.unique(items.item[~is_test & ~np.isin(items.item, items.item[is_test])])
    if len(rest) < 2:
        raise ConfigError(f"only {len(rest)} item(s) left for training after holding out the "
                          "test items; zero-shot decoding needs training items distinct from "
                          "the test items (check split.test_conditions and split.test_size).")
    valid_items = _draw(rng, rest, valid_size)
    is_valid = ~is_test & np.isin(items.item, valid_items)
    is_train = ~is_test & ~is_valid & np.isin(items.item, rest)  # shared items dropped
    return {"train": items.select(is_train), "valid": items.select(is_valid),
            "test": items.select(is_test)}


def _draw(rng: np.random.Generator, pool: np.ndarray, fraction: float) -> np.ndarray:
    n = min(len(pool) - 1, max(1, int(round(fraction * len(pool)))))
    return rng.permutation(pool)[:n]


def _check_leak(items: ItemSegments, is_test: np.ndarray, allow: bool) -> None:
    shared = np.intersect1d(items.item[is_test], items.item[~is_test])
    if not len(shared):
        return
    names = ", ".join(repr(str(i)) for i in items.item_ids[shared][:5])
    text = (f"{len(shared)} test image(s) also appear in training ({names}"
            f"{', ...' if len(shared) > 5 else ''})")
    if not allow:
        raise ConfigError(f"{text}: a leak for zero-shot decoding. Fix the test partition "
                          "(split.test_conditions) or set split.allow_shared_stimuli=true.")
    logger.warning("%s; they are dropped from training (split.allow_shared_stimuli=true).", text)


def check_test_subjects(train: ItemSegments, test: ItemSegments, *, average_subject: bool) -> None:
    """Raise ``ConfigError`` for a test subject unseen in training without averaging."""
    unseen = sorted(set(np.unique(test.subject)) - set(np.unique(train.subject)))
    if unseen and not average_subject:
        names = [test.subjects[i] for i in unseen]
        raise ConfigError(
            f"test subject(s) {names} are not in the training split; the subject layers have "
            "no map for them. Set model.params.unseen_subject=average (the average subject) "
            "or include them in training.")


def scale_items(splits: dict[str, ItemSegments], method: str | None,
                clamp: float | None) -> dict[str, ItemSegments]:
    """Scale every split per channel (voxel) with a scaler fitted on ``splits["train"]``."""
    from .scaling import SegmentScaler

    if method is None:
        return splits
    def as3d(b: np.ndarray) -> np.ndarray:
        return b if b.ndim == 3 else b[:, :, None]
    scaler = SegmentScaler(method, clamp).fit(as3d(splits["train"].brain))
    out = {}
    for name, part in splits.items():
        scaled = scaler.transform(as3d(part.brain)) if len(part) else as3d(part.brain)
        out[name] = replace(part, brain=scaled.reshape(part.brain.shape).astype(np.float32))
    return out


def average_repetitions(items: ItemSegments) -> ItemSegments:
    """Mean brain response per (subject, item): the test protocol of THINGS-EEG2 and NSD."""
    keys = items.subject.astype(np.int64) * len(items.item_ids) + items.item
    uniq, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    sums = np.zeros((len(uniq),) + items.brain.shape[1:], dtype=np.float64)
    np.add.at(sums, inverse, items.brain)
    counts = np.bincount(inverse, minlength=len(uniq)).reshape((-1,) + (1,) * (sums.ndim - 1))
    out = items.select(first)
    out.brain = (sums / counts).astype(np.float32)
    out.meta = out.meta.assign(n_repetitions=np.bincount(inverse))
    return out


__all__ = ["FMRI_REDUCTIONS", "ItemSegments", "average_repetitions", "check_test_subjects",
           "hrf_weights", "make_item_segments", "reduce_fmri_windows", "scale_items",
           "split_items"]
