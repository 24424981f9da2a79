"""Streamed segments: brain and target windows cut on demand from the on-disk store.

:func:`make_streamed` preprocesses each recording once into a
:class:`~neurodecode.align.store.RecordingStore` (one recording in memory at a time) and
plans its windows exactly as :func:`~neurodecode.align.make_segments` does, without
cutting them; :class:`StreamedSegments` is a ``torch.utils.data.Dataset`` that cuts the
brain window (baselined, robust-scaled per recording, clamped) and its stimulus target
(from the shared per-stimulus timelines) for each (recording, sample) index at batch time.
Peak memory is one recording being preprocessed plus the batches in flight.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypedDict

import numpy as np
import pandas as pd
import torch
from torch.utils.data import Dataset
from tqdm.auto import tqdm

from ..exceptions import AlignmentError
from ..io.recording import Recording
from .scaling import SegmentScaler
from .segments import Segments, apply_baseline, check_conditions_found, cut_windows, plan_windows
from .splits import MIN_BLOCK_DURATION, block_of_windows, sentence_blocks
from .store import DiskArray, RecordingStore

logger = logging.getLogger("neurodecode")

#: Training windows per recording on which its robust scaler is fitted (brainmagick: ~256).
SCALER_WINDOWS = 256


@dataclass
class StreamedWindows:
    """Every window of a set of recordings, planned but not cut.

    Attributes
    ----------
    brains : list of DiskArray (or arrays) of shape (n_channels, n_times)
        Each recording preprocessed, in the store.
    placements : list of Placement or None
        Each recording's stimulus placement (``None`` without features).
    meta : DataFrame
        One row per window, the columns of ``Segments.meta`` (``recording`` indexes
        ``brains``; ``subject`` is the subject's name) plus ``subject_index``.
    subjects : list of str
    sfreq, tmin : float
    width : int
        Samples per window (the window less the lag).
    baseline : (float or None, float) or None
    ch_names, ch_types : list of str
        The union of the recordings' channels, in order of first appearance.
    pos_2d : array of shape (n_channels, 2) or None
        Each channel's position (the mean over the recordings that have it).
    info : mne.Info or None
    lag : int
        Samples by which each brain window starts after its target (brain-to-stimulus lag).
    channel_rows : list of int arrays or None
        Per recording, the union rows of its channels; None when all share one list.
    positions : list of arrays of shape (n_channels, 2) or None
        Per recording, its positions on the union rows (NaN where it lacks the channel:
        the spatial attention masks those); None when all share one list.
    """

    brains: Sequence[DiskArray | np.ndarray]
    placements: list[Any]
    meta: pd.DataFrame
    subjects: list[str]
    sfreq: float
    tmin: float
    width: int
    baseline: tuple[float | None, float] | None
    ch_names: list[str]
    ch_types: list[str]
    pos_2d: np.ndarray | None
    info: Any = None
    lag: int = 0
    channel_rows: list[np.ndarray] | None = None
    positions: list[np.ndarray] | None = None

    @property
    def n_features(self) -> int:
        """Feature dimension of the targets (0 without features)."""
        first = self.placements[0] if self.placements else None
        return 0 if first is None else int(first.n_features)

    def as_segments(self, meta: pd.DataFrame | None = None) -> Segments:
        """Metadata-only ``Segments`` (brain of 0 channels) for ``split_segments``."""
        meta = self.meta if meta is None else meta
        return Segments(brain=np.zeros((len(meta), 0, self.width), np.float32),
                        meta=meta.reset_index(drop=True), sfreq=self.sfreq, tmin=self.tmin,
                        subject=meta["subject_index"].to_numpy(np.int64),
                        subjects=list(self.subjects), ch_names=[], modality="meeg")

    def brain_windows(self, meta: pd.DataFrame) -> np.ndarray:
        """Baselined, unscaled brain windows of ``meta``'s rows, (n, n_channels, width);
        zeros on the channels a recording lacks. Cut into one batch array (and one
        read buffer), so no window allocates its own."""
        n_channels = len(self.ch_names)
        out = np.zeros((len(meta), n_channels, self.width), np.float32)
        scratch = np.empty(n_channels * self.width, np.float32)
        part = None if self.channel_rows is None else np.empty((n_channels, self.width),
                                                               np.float32)
        recs, starts = meta["recording"].to_numpy(), meta["start"].to_numpy() + self.lag
        for i, (r, start) in enumerate(zip(recs, starts)):
            brain = self.brains[r]
            if not hasattr(brain, "window"):
                rows = slice(None) if part is None else self.channel_rows[r]
                out[i, rows] = cut_windows(brain, starts[i:i + 1], self.width)[0]
            elif part is None:
                brain.window(start, self.width, out[i], scratch)
            else:
                rows = self.channel_rows[r]
                out[i, rows] = brain.window(start, self.width, part[:len(rows)], scratch)
        if self.baseline is not None:
            apply_baseline(out, self.tmin + self.lag / self.sfreq, self.sfreq, self.baseline)
        return out

    def target_windows(self, meta: pd.DataFrame) -> np.ndarray:
        """Stimulus targets of ``meta``'s rows, shape (n, n_features, width), cut into one
        batch array (and one read buffer), so no window allocates its own."""
        out, scratch = _batch_and_scratch((len(meta), self.n_features, self.width))
        for i, (r, s) in enumerate(zip(meta["recording"].to_numpy(), meta["start"].to_numpy())):
            self.placements[r].window(int(s), self.width, out[i], scratch)
        return out

    def fit_scalers(self, train: pd.DataFrame, method: str | None, clamp: float | None, *,
                    n_windows: int = SCALER_WINDOWS, seed: int = 0) -> list[Any]:
        """One scaler per recording, fitted on up to ``n_windows`` of its training windows
        (all its windows when it has none in ``train``); ``None`` entries when no method."""
        if method is None:
            return [None] * len(self.brains)
        rng = np.random.default_rng(seed)
        scalers = []
        for r in range(len(self.brains)):
            rows = train[train["recording"] == r]
            if rows.empty:
                rows = self.meta[self.meta["recording"] == r]
                logger.info("recording %d has no training window: its scaler is fitted on "
                            "all its windows", r)
            if len(rows) > n_windows:
                rows = rows.iloc[np.sort(rng.choice(len(rows), n_windows, replace=False))]
            scalers.append(SegmentScaler(method, clamp).fit(self.brain_windows(rows)))
        return scalers

    def dataset(self, meta: pd.DataFrame, scalers: Sequence[Any] | None = None) -> StreamedSegments:
        """The torch ``Dataset`` of ``meta``'s windows, scaled by ``scalers`` (per recording)."""
        return StreamedSegments(self, meta, scalers)


def _batch_and_scratch(shape: tuple[int, int, int]) -> tuple[np.ndarray, np.ndarray]:
    """An empty float32 batch of ``shape`` and a read buffer of one window, in one
    allocation (no small buffer left between the batches on the heap)."""
    size = int(np.prod(shape))
    flat = np.empty(size + shape[1] * shape[2], np.float32)
    return flat[:size].reshape(shape), flat[size:]


class StreamedSegments(Dataset):
    """Brain and target windows cut on demand by (recording, sample) index.

    Parameters
    ----------
    windows : StreamedWindows
    meta : DataFrame
        The rows of ``windows.meta`` this dataset serves, in order.
    scalers : list of SegmentScaler or None
        One fitted scaler per recording (``StreamedWindows.fit_scalers``), applied on the
        fly and clamped; ``None``: unscaled.

    Notes
    -----
    ``dataset.get_batch(indices)`` returns ``{"brain": (n, n_channels, width), "stimulus":
    (n, n_features, width), "subject": (n,)}`` tensors; ``fit``'s DataLoader calls it once
    per batch (DataLoader workers open the store's files themselves, nothing is copied).
    """

    def __init__(self, windows: StreamedWindows, meta: pd.DataFrame,
                 scalers: Sequence[Any] | None = None) -> None:
        self.windows = windows
        self.meta = meta.reset_index(drop=True)
        self.scalers = None if scalers is None else list(scalers)
        self.subject = self.meta["subject_index"].to_numpy(np.int64)

    def __len__(self) -> int:
        return len(self.meta)

    @property
    def n_features(self) -> int:
        """Feature dimension of the targets."""
        return self.windows.n_features

    def brain(self, indices: np.ndarray) -> np.ndarray:
        """Scaled brain windows of rows ``indices``, shape (n, n_channels, width)."""
        rows = self.meta.iloc[np.asarray(indices, np.int64)]
        brain = self.windows.brain_windows(rows)
        if self.scalers is not None:
            recs = rows["recording"].to_numpy()
            if len(recs) and (recs == recs[0]).all() and self.scalers[recs[0]] is not None:
                return self.scalers[recs[0]].transform(brain)  # one recording: no row copies
            for r in np.unique(recs):
                if self.scalers[r] is not None:
                    sel = recs == r
                    brain[sel] = self.scalers[r].transform(brain[sel])
        return brain

    def stimulus(self, indices: np.ndarray) -> np.ndarray:
        """Targets of rows ``indices``, shape (n, n_features, width)."""
        return self.windows.target_windows(self.meta.iloc[np.asarray(indices, np.int64)])

    def get_batch(self, indices) -> dict[str, torch.Tensor]:
        """Rows ``indices`` (n,) as a dict of tensors with a leading batch axis."""
        indices = np.asarray(indices, dtype=np.int64)
        return {**self.get_inputs(indices), "stimulus": torch.from_numpy(self.stimulus(indices))}

    def get_inputs(self, indices) -> dict[str, torch.Tensor]:
        """The model's inputs of rows ``indices``: ``get_batch`` without the targets (what
        prediction reads: no target window is cut)."""
        indices = np.asarray(indices, dtype=np.int64)
        batch = {"brain": torch.from_numpy(self.brain(indices)),
                 "subject": torch.from_numpy(self.subject[indices])}
        if self.windows.positions is not None:  # channel sets differ: per-window positions
            recs = self.meta["recording"].to_numpy()[indices]
            batch["positions"] = torch.from_numpy(
                np.stack([self.windows.positions[r] for r in recs]).astype(np.float32))
        return batch

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        return {k: v[0] for k, v in self.get_batch(np.array([index])).items()}


def make_streamed(recordings: Sequence[Recording], features: Any, store: RecordingStore, *,
                  tmin: float, tmax: float, on: Any = None, stride: float | None = None,
                  sfreq: float | None = 120.0,
                  baseline: tuple[float | None, float] | None = (None, 0.0),
                  delay: float = 0.0, max_pad: float = 0.1, chunk_duration: float = 100.0,
                  offset: float = 0.0, train_on: Any = None, train_stride: float | None = None,
                  block_duration: float = MIN_BLOCK_DURATION, allow_missing: bool = False,
                  progress: bool = False) -> StreamedWindows:
    """Preprocess each recording once into ``store`` and plan its windows.

    The arguments are those of :func:`~neurodecode.align.make_segments` (the windows are
    the same, ``test_streamed_equals_make_segments``); ``features`` is one
    ``StimulusFeatures`` shared by every recording (its timelines go to ``store`` too) or
    None.

    Parameters
    ----------
    offset : float
        Brain-to-stimulus lag (s, >= 0, shorter than the window): each brain window
        starts ``offset`` after its target, both ``tmax - tmin - offset`` long
        (brainmagick's ``offset_meg_ms``: 0.15 s).
    train_on, train_stride : optional
        When either is set, a second segmentation for training and validation: windows
        every ``train_stride`` s of the events ``train_on`` selects (default ``on``), or,
        with ``train_on="sentence"``, of each sentence block (brainmagick: every 0.5 s,
        test on word onsets). The ``use`` column of ``meta`` is ``"test"`` for the
        ``on``/``stride`` windows and ``"fit"`` for these (``"all"`` when unset).
    block_duration : float
        Sentence blocks are merged to this duration (s); the ``sentence`` column of
        ``meta`` is the block holding each window (``""``: none), for ``by="sentence"``.

    Returns
    -------
    windows : StreamedWindows

    Raises
    ------
    ValueError
        If ``recordings`` is empty, ``tmin >= tmax`` or ``offset`` is negative or not
        shorter than the window.
    AlignmentError
        If an M/EEG recording's channels have no 2-D positions (the spatial attention
        needs them), or recordings of other channel sets share a channel of other type.
    """
    if not recordings:
        raise ValueError("recordings must be a non-empty list of Recording; got [].")
    if not tmin < tmax:
        raise ValueError(f"tmin must be smaller than tmax; got tmin={tmin!r}, tmax={tmax!r}.")
    if not 0 <= offset < tmax - tmin:
        raise ValueError(f"offset (the brain-to-stimulus lag) must be >= 0 and shorter than "
                         f"the window tmax - tmin = {tmax - tmin:g} s; got {offset!r}.")
    union = _union_channels(recordings)
    if allow_missing:
        check_conditions_found(on, [rec.events for rec in recordings])
    if features is not None and hasattr(features, "store"):
        features.store = store
    subjects = list(dict.fromkeys(r.subject for r in recordings))
    plan_kw = _PlanKw(tmin=tmin, tmax=tmax, sfreq=sfreq, delay=delay, max_pad=max_pad)
    brains, placements, metas, rate, width = [], [], [], 0.0, 0
    for i, rec in enumerate(tqdm(recordings, disable=not progress, leave=False,
                                 desc="preprocessing into the store (recordings)")):
        plan = plan_windows(rec, on=on, stride=stride, allow_missing=allow_missing, **plan_kw)
        table = plan.table.assign(use="all")
        blocks = sentence_blocks(rec.events, block_duration)
        if train_on is not None or train_stride is not None:
            fit_table = _fit_windows(rec, blocks, train_on, train_stride, on, plan_kw)
            table = pd.concat([table.assign(use="test"), fit_table.assign(use="fit")],
                              ignore_index=True)
        table["sentence"] = block_of_windows(blocks, table["onset"].to_numpy(float), tmax)
        brains.append(store.recording(rec, sfreq=None if plan.up == plan.down else sfreq,
                                      chunk_duration=chunk_duration))
        _release(rec)
        placements.append(None if features is None else features.placement(
            rec.events, brains[-1].shape[1], plan.sfreq))
        metas.append(table.assign(recording=i, recording_uid=rec.uid, subject=rec.subject,
                                  subject_index=subjects.index(rec.subject)))
        rate, width = plan.sfreq, plan.width
    first = recordings[0]
    lag = int(round(offset * rate))
    return StreamedWindows(brains, placements, pd.concat(metas, ignore_index=True), subjects,
                           rate, tmin, width - lag, None if first.modality == "fmri" else baseline,
                           union.names, union.types, union.pos_2d, first.info, lag,
                           union.rows, union.positions)


class _PlanKw(TypedDict):
    """The window geometry ``plan_windows`` is given for every recording."""

    tmin: float
    tmax: float
    sfreq: float | None
    delay: float
    max_pad: float


def _fit_windows(rec: Recording, blocks: pd.DataFrame, train_on: Any,
                 train_stride: float | None, on: Any, plan_kw: _PlanKw) -> pd.DataFrame:
    """The training/validation windows of ``rec`` (``make_streamed``'s second segmentation)."""
    if train_on != "sentence":
        return plan_windows(rec, on=on if train_on is None else train_on, stride=train_stride,
                            **plan_kw).table
    width = plan_kw["tmax"] - plan_kw["tmin"]
    long = blocks[blocks["stop"] - blocks["start"] >= width - 1e-9]
    if long.empty:
        raise AlignmentError(
            f"train_on='sentence': no sentence block of subject {rec.subject!r} (session "
            f"{rec.session!r}) lasts the window of {width:g} s ({len(blocks)} blocks); "
            "lower segments.tmax - tmin, raise segments.block_duration or train on sounds.")
    events = pd.DataFrame({"onset": long["start"].to_numpy(float),
                           "duration": (long["stop"] - long["start"]).to_numpy(float),
                           "kind": "trial", "condition": "sentence", "text": "",
                           "block": long["block"].to_numpy(), "value": np.nan,
                           "stimulus": long["stimulus"].to_numpy()})
    return plan_windows(_WithEvents(rec, events), on=None, stride=train_stride, **plan_kw).table


class _WithEvents:
    """A recording seen with other events (planning windows reads nothing else of it)."""

    def __init__(self, rec: Recording, events: pd.DataFrame) -> None:
        self._rec, self.events = rec, events

    def __getattr__(self, name: str) -> Any:
        return getattr(self._rec, name)


@dataclass
class _Union:
    """The union of the recordings' channels (``rows``/``positions`` None when all share)."""

    names: list[str]
    types: list[str]
    pos_2d: np.ndarray | None
    rows: list[np.ndarray] | None
    positions: list[np.ndarray] | None


def _union_channels(recordings: Sequence[Recording]) -> _Union:
    """Pad recordings of other channel sets (bad channels, other systems) to their union;
    each recording keeps its own positions, NaN on the channels it lacks."""
    for rec in recordings:
        if rec.modality == "meeg" and rec.pos_2d is None:
            raise AlignmentError(
                f"recording of subject {rec.subject!r} (session {rec.session!r}) has "
                "channels with no positions (pos_2d is None); the spatial attention needs "
                "2-D sensor positions: set a montage or read a file with digitised sensors."
            )
    first = recordings[0]
    if all(list(r.ch_names) == list(first.ch_names) for r in recordings):
        return _Union(list(first.ch_names), list(first.ch_types), first.pos_2d, None, None)
    types: dict[str, str] = {}
    for rec in recordings:
        for name, kind in zip(rec.ch_names, rec.ch_types):
            if types.setdefault(name, kind) != kind:
                raise AlignmentError(
                    f"channel {name!r} is of type {kind!r} in the recording of subject "
                    f"{rec.subject!r} and {types[name]!r} in another; recordings of other "
                    "systems must name their channels apart.")
    names = list(types)
    index = {n: k for k, n in enumerate(names)}
    rows = [np.array([index[n] for n in rec.ch_names], np.int64) for rec in recordings]
    positions = []
    for rec, r in zip(recordings, rows):
        pos = np.full((len(names), 2), np.nan)
        if rec.pos_2d is not None:
            pos[r] = rec.pos_2d
        positions.append(pos)
    logger.info("recordings have %d distinct channel sets: padded to the union of %d channels",
                len({tuple(rec.ch_names) for rec in recordings}), len(names))
    return _Union(names, [types[n] for n in names], np.nanmean(np.stack(positions), axis=0),
                  rows, positions)


def _release(rec: Recording) -> None:
    """Drop a recording's loaded data once stored, when its loader can read it again."""
    if callable(rec.data_loader):
        rec._data = None


def candidate_ids(windows: StreamedWindows, meta: pd.DataFrame, resolution: float = 0.01,
                  ) -> np.ndarray:
    """What each window's onset heard or saw: one id per stimulus position, shape (n,).

    A window whose onset lies inside a placed sound is ``"<sound>@<offset>"``, the same
    for every subject and session that heard that position: offsets into one sound that
    lie within ``resolution`` s of each other (the same word, onsets rounded to other
    samples in other recordings) are one position, named by the first (in units of
    ``resolution``). One inside an image (item) event is that image; any other is its
    recording and sample (unique).
    """
    ids = np.empty(len(meta), dtype=object)
    onsets = meta["onset"].to_numpy(float)
    heard: dict[str, list[tuple[float, int]]] = {}
    for i, (r, onset, start) in enumerate(zip(meta["recording"].to_numpy(), onsets,
                                              meta["start"].to_numpy())):
        placement = windows.placements[r]
        found = None if placement is None else placement.sound_at(onset)
        if found is None:
            ids[i] = f"{meta['recording_uid'].iloc[i]}#{int(start)}"
        elif placement.item:
            ids[i] = found[0]
        else:
            heard.setdefault(found[0], []).append((float(found[1]), i))
    for sound, offsets in heard.items():
        offsets.sort()
        first = offsets[0][0]
        for k, (offset, i) in enumerate(offsets):
            if k and offset - offsets[k - 1][0] > resolution:
                first = offset  # a new position: further than resolution from the last
            ids[i] = f"{sound}@{int(round(first / resolution))}"
    return ids.astype(str)


__all__ = ["StreamedSegments", "StreamedWindows", "candidate_ids", "make_streamed"]
