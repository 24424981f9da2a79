"""A Recording (and stimulus features) to ``Segments``: aligned brain and stimulus windows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from .._validation import check_finite, check_positive
from ..exceptions import AlignmentError
from ..io.recording import Recording
from .resample import n_resampled, resample_chunked
from .windows import (
    WindowPlan,
    apply_baseline,
    check_conditions_found,
    cut_windows,
    plan_windows,
    resampled_data,
    select_events,
)

#: Columns of ``Segments.meta``.
META_COLUMNS = ("onset", "condition", "block", "stimulus", "text", "kind", "value", "start", "stop",
                "n_padded", "recording", "recording_uid", "subject")


@dataclass
class Segments:
    """Aligned brain (and stimulus) windows.

    Parameters
    ----------
    brain : float32 array of shape (n_segments, n_channels, n_times)
    meta : DataFrame
        One row per segment: ``onset`` (s, window onset minus ``tmin``), ``condition``,
        ``block``, ``stimulus``, ``text``, ``kind``, ``value`` (the event code, -1 when
        none), ``start``/``stop`` (samples of the
        resampled recording), ``recording`` (index of its recording) and ``subject``.
    sfreq : float
        Sampling frequency of the windows in Hz.
    tmin : float
        Time of the first sample of a window relative to its onset, in seconds.
    subject : int array of shape (n_segments,)
        Index into ``subjects``.
    subjects : list of str
        Subject identifiers.
    stimulus : float32 array of shape (n_segments, n_features, n_times) or None
        Stimulus features on the brain's clock.
    ch_names, ch_types : list of str
    pos_2d : array of shape (n_channels, 2) or None
    info : mne.Info or None
        The channels' measurement info at ``sfreq`` (after resampling), projectors applied.
    modality : {"meeg", "fmri"}
    """

    brain: np.ndarray
    meta: pd.DataFrame
    sfreq: float
    tmin: float
    subject: np.ndarray
    subjects: list[str]
    stimulus: np.ndarray | None = None
    ch_names: list[str] = field(default_factory=list)
    ch_types: list[str] = field(default_factory=list)
    pos_2d: np.ndarray | None = None
    info: Any = None
    modality: str = "meeg"

    def __len__(self) -> int:
        return int(self.brain.shape[0])

    @property
    def times(self) -> np.ndarray:
        """Time of each sample relative to onset, shape (n_times,)."""
        return self.tmin + np.arange(self.brain.shape[2]) / self.sfreq

    def select(self, index: Any) -> Segments:
        """The segments at ``index`` (boolean mask or integer indices).

        Parameters
        ----------
        index : array of bool of shape (n_segments,) or array of int
            A mask or the positions of the segments to keep.

        Returns
        -------
        segments : Segments
            The selected segments (meta re-indexed, subjects kept).
        """
        index = np.flatnonzero(index) if np.asarray(index).dtype == bool else np.asarray(index)
        stim = None if self.stimulus is None else self.stimulus[index]
        return replace(self, brain=self.brain[index], stimulus=stim,
                       subject=self.subject[index], meta=self.meta.iloc[index].reset_index(drop=True))

    def to_epochs(self) -> Any:
        """The M/EEG windows as an ``mne.EpochsArray``.

        Its ``info`` is ``self.info`` (``sfreq`` of the windows, the channels kept, bad
        channels left out, projectors applied); ``events`` hold the window onsets in
        samples at ``sfreq`` (recordings after the first are offset past the end of the
        previous one), ``event_id`` maps each condition to its event code (or to 1, 2, ...
        in sorted order when the codes are missing or ambiguous), ``metadata`` is ``meta``.

        Returns
        -------
        epochs : mne.EpochsArray
            Data of shape (n_segments, n_channels, n_times), ``tmin`` = ``self.tmin``.
        """
        import mne

        if self.modality != "meeg" or self.info is None:
            raise ValueError(
                f"to_epochs needs M/EEG segments with an MNE info; these have modality="
                f"{self.modality!r} and info={'None' if self.info is None else 'set'}.")
        event_id, codes = _event_codes(self.meta)
        events = np.column_stack([_event_samples(self.meta, self.tmin, self.sfreq),
                                  np.zeros(len(self), np.int64), codes])
        return mne.EpochsArray(self.brain.astype(np.float64), self.info.copy(), events=events,
                               tmin=self.tmin, event_id=event_id,
                               metadata=self.meta.reset_index(drop=True), verbose="error")

    def summary(self) -> str:
        """A short human-readable description.

        Returns
        -------
        summary : str
            Segments, channels, times, rate and subjects in one line.
        """
        n, c, t = self.brain.shape
        stim = "none" if self.stimulus is None else f"{self.stimulus.shape[1]} features"
        lines = [
            f"Segments: {n} windows x {c} channels x {t} samples "
            f"({self.tmin:+.3f} to {self.tmin + t / self.sfreq:+.3f} s at {self.sfreq:g} Hz)",
            f"  subjects: {len(self.subjects)} | blocks: {self.meta['block'].nunique()} | "
            f"conditions: {self.meta['condition'].nunique()} | stimulus: {stim}",
            f"  brain: {self.brain.nbytes / 1e6:.1f} MB float32",
        ]
        return "\n".join(lines)


def _event_codes(meta: pd.DataFrame) -> tuple[dict[str, int], np.ndarray]:
    """``event_id`` and the code of each row: the events' own codes when each condition
    has one code of its own, else 1, 2, ... over the sorted conditions."""
    cond = meta["condition"].astype(str).to_numpy()
    values = meta["value"].to_numpy() if "value" in meta else np.full(len(meta), -1)
    pairs = set(zip(cond, values.tolist()))
    own = len(pairs) == len(set(cond)) == len({v for _, v in pairs}) and min(values, default=0) > 0
    event_id = ({c: int(v) for c, v in pairs} if own else
                {c: i + 1 for i, c in enumerate(sorted(set(cond)))})
    return dict(sorted(event_id.items())), np.array([event_id[c] for c in cond], np.int64)


def _event_samples(meta: pd.DataFrame, tmin: float, sfreq: float) -> np.ndarray:
    """Sample of each window's time 0, recordings laid end to end so samples are unique."""
    start, stop = meta["start"].to_numpy(), meta["stop"].to_numpy()
    zero = start - int(round(tmin * sfreq))
    rec = meta["recording"].to_numpy() if "recording" in meta else np.zeros(len(meta), int)
    offset, samples = 0, np.empty(len(meta), np.int64)
    for r in pd.unique(rec):
        rows = rec == r
        shift = offset if offset == 0 and zero[rows].min() >= 0 else offset - zero[rows].min()
        samples[rows] = zero[rows] + shift
        offset = int(samples[rows].max() + (stop - start)[rows].max() + 1)
    _, first = np.unique(samples, return_index=True)
    if len(first) < len(samples):  # two windows at one time (e.g. two events at one onset)
        samples = samples + np.arange(len(samples))  # keep them apart; order is kept
    return samples


def as_recordings(source: Any, sfreq: float | None = None) -> list[Recording]:
    """Recordings from a Recording, an MNE Raw, Epochs or Evoked, or a list of them.

    Epochs and Evoked are resampled to ``sfreq`` by MNE first, each epoch on its own, so
    that no filter mixes two epochs laid end to end.
    """
    items = source if isinstance(source, (list, tuple)) else [source]
    if not items:
        raise ValueError("recording must be a Recording or a non-empty list of them; got [].")
    out = []
    for item in items:
        if not isinstance(item, Recording):
            from ..io.meeg import read_meeg

            if not _is_mne(item):
                raise TypeError(
                    "recording must be a Recording, an mne.io.Raw, mne.Epochs or mne.Evoked "
                    f"(or a list of them); got {type(item).__name__}.")
            if not isinstance(item, mne_raw()) and sfreq and item.info["sfreq"] != sfreq:
                item = item.copy().resample(sfreq, verbose="error")
            item = read_meeg(item)
        out.append(item)
    return out


def mne_raw() -> type:
    import mne

    return mne.io.BaseRaw


def _is_mne(obj: Any) -> bool:
    import mne

    return isinstance(obj, (mne.io.BaseRaw, mne.BaseEpochs, mne.Evoked))


def _info_at(info: Any, sfreq: float) -> Any:
    """``info`` at ``sfreq`` (unchanged when it is already, or ``None``)."""
    if info is None or float(info["sfreq"]) == float(sfreq):
        return info
    from ..io.export import info_at

    return info_at(info, sfreq)


def make_segments(recording: Recording | Sequence[Recording], *, tmin: float, tmax: float,
                  on: str | Sequence[str] | None = None, stride: float | None = None,
                  sfreq: float | None = 120.0, baseline: tuple[float | None, float] | None = (None, 0.0),
                  delay: float = 0.0, features: Any = None,
                  max_pad: float = 0.1, chunk_duration: float = 100.0,
                  allow_missing: bool = False, progress: bool = False) -> Segments:
    """Cut aligned windows of brain data (and stimulus features) around events.

    Parameters
    ----------
    recording : Recording, mne.io.Raw, mne.Epochs, mne.Evoked or a list of them
        One recording, or several (subjects are indexed by their ``subject``). MNE
        objects are read by :func:`neurodecode.io.read_meeg` (Epochs: one event per
        epoch at its time 0, no window across two epochs; Evoked: one condition).
    tmin, tmax : float
        Window start and end relative to each onset, in seconds (``tmin < tmax``).
    on : str, list of str or None
        Which events: an event kind (``"word"``, ``"sound"``, ...), one condition or a list
        of conditions; ``None`` takes every event. A listed condition that matches no
        event of a recording is an error (naming the conditions present) unless
        ``allow_missing``.
    stride : float, optional
        If given, slide windows of ``tmax - tmin`` seconds every ``stride`` seconds inside
        each selected event (its ``duration``) instead of one window per event.
    sfreq : float or None
        Resample to this rate (brainmagick: 120 Hz) with a polyphase filter, chunk by
        chunk; ``None`` keeps the recording's rate. Ignored for fMRI.
    baseline : (float or None, float) or None
        Interval (relative to onset, ``None`` = window start) whose mean is subtracted per
        channel, samples ``[start, stop)``: unlike MNE's Epochs, the sample at ``stop``
        (the onset, for the default) is left out. An interval reaching outside the window
        is an error; one that holds no sample (a window starting at the onset) does
        nothing. ``None`` disables it (fMRI windows are never baselined).
    delay : float
        Shift added to every onset, in seconds: for fMRI, the hemodynamic delay
        (typically 4-6 s for event-related designs; block labels that already mark the
        stimulus volumes, as Haxby's, need none).
    features : StimulusFeatures, array or None
        Stimulus features: an object with ``to_timeline(events, n_times, sfreq)``
        returning (n_features, n_times) on the resampled clock, or an array of shape
        (n_features, n_times) on the recording's own clock.
    max_pad : float
        Windows reaching beyond the recording by at most this fraction of their length are
        kept, padded with the edge sample (counted in ``meta["n_padded"]``, with a warning);
        farther ones are dropped. ``0`` drops every incomplete window.
    chunk_duration : float
        Seconds of input resampled at once; bounds the memory used.
    allow_missing : bool
        Let a recording lack some of the conditions of ``on`` (each must still be found
        in at least one recording); recipes: ``segments.allow_missing_conditions``.
    progress : bool
        Show a progress bar over the recordings.

    Returns
    -------
    segments : Segments

    Examples
    --------
    >>> import mne
    >>> import numpy as np
    >>> from neurodecode.align import make_segments
    >>> from neurodecode.io import read_meeg
    >>> info = mne.create_info(["EEG1", "EEG2", "STI"], 100.0, ["eeg", "eeg", "stim"])
    >>> data = np.zeros((3, 1000))
    >>> data[2, [100, 500]] = 1
    >>> rec = read_meeg(mne.io.RawArray(data, info, verbose="error"), event_id={"tone": 1})
    >>> segments = make_segments(rec, tmin=0.0, tmax=0.5, sfreq=None, baseline=None)
    >>> segments.brain.shape  # (n_segments, n_channels, n_times)
    (2, 2, 50)
    """
    recordings = as_recordings(recording, sfreq)
    if features is not None and len(recordings) > 1:
        raise ValueError("features can be given for a single recording only; "
                         "call make_segments per recording and concatenate_segments.")
    _check_arguments(tmin=tmin, tmax=tmax, sfreq=sfreq, stride=stride, delay=delay,
                     max_pad=max_pad, chunk_duration=chunk_duration, baseline=baseline)
    for rec in recordings:
        check_recording(rec, like=recordings[0])
    if allow_missing:
        check_conditions_found(on, [rec.events for rec in recordings])
    subjects = list(dict.fromkeys(r.subject for r in recordings))
    steps = tqdm(recordings, desc="segmenting (recordings)", unit="recording",
                 disable=not progress or len(recordings) < 2)
    parts = [
        _segment_one(rec, i, tmin=tmin, tmax=tmax, on=on, allow_missing=allow_missing,
                     stride=stride, sfreq=sfreq, baseline=baseline, delay=delay,
                     features=features, max_pad=max_pad, chunk_duration=chunk_duration)
        for i, rec in enumerate(steps)
    ]
    segs = concatenate_segments(parts)
    segs.subjects = subjects
    return segs


def _check_arguments(*, tmin, tmax, sfreq, stride, delay, max_pad, chunk_duration,
                     baseline) -> None:
    """``ValueError`` naming the first window argument that is not a finite number in range."""
    for name, value in (("tmin", tmin), ("tmax", tmax), ("delay", delay)):
        if not np.isfinite(value):
            raise ValueError(f"{name} must be a finite number of seconds; got {value!r}.")
    if not tmin < tmax:
        raise ValueError(f"tmin must be smaller than tmax; got tmin={tmin!r}, tmax={tmax!r}.")
    if sfreq is not None:
        check_positive("sfreq", sfreq)
    if stride is not None and not (np.isfinite(stride) and stride > 0):
        raise ValueError(f"stride must be a positive number of seconds; got {stride!r}.")
    check_positive("chunk_duration", chunk_duration)
    check_positive("max_pad", max_pad, strict=False)
    if baseline is not None and not (
            all(b is None or np.isfinite(b) for b in baseline) and baseline[1] is not None
            and (baseline[0] is None or baseline[0] <= baseline[1])):
        raise ValueError(f"baseline must be (start or None, stop) in finite seconds with "
                         f"start <= stop; got {baseline!r}.")


def check_recording(rec: Recording, like: Recording | None = None) -> None:
    """``ValueError`` (``AlignmentError`` for a channel mismatch with ``like``) unless
    ``rec`` has a finite positive ``sfreq``, unique channel names, one name and type per
    channel of its data, and the channels of ``like``."""
    check_positive(f"sfreq of the recording of subject {rec.subject!r}", rec.sfreq)
    names = list(rec.ch_names)
    dupes = sorted({c for c in names if names.count(c) > 1})
    if dupes:
        raise ValueError(f"the recording of subject {rec.subject!r} has duplicate channel "
                         f"names {dupes[:10]}; give every channel a unique name.")
    shape = getattr(rec.data_loader, "shape", None)  # arrays only: never loads a file
    counts = {"ch_types": len(rec.ch_types) or len(names)}
    if shape is not None and len(shape) == 2:
        counts["channels in its data"] = shape[0]
    for what, count in counts.items():
        if count != len(names):
            raise ValueError(f"the recording of subject {rec.subject!r} has {count} {what} "
                             f"but {len(names)} ch_names; give one name and type per channel.")
    if like is not None and names != list(like.ch_names):
        diff = next((i for i, (a, b) in enumerate(zip(names, like.ch_names)) if a != b),
                    min(len(names), len(like.ch_names)))
        raise AlignmentError(
            f"recordings must share their channels (same names, same order): subject "
            f"{rec.subject!r} has {len(names)} channels, subject {like.subject!r} "
            f"{len(like.ch_names)}, first difference at index {diff} ("
            f"{(names[diff:diff + 1] or ['none'])[0]!r} vs "
            f"{(list(like.ch_names)[diff:diff + 1] or ['none'])[0]!r}). Pick the common "
            "channels in the same order before segmenting.")


def _segment_one(rec: Recording, rec_index: int, *, tmin, tmax, on, allow_missing, stride,
                 sfreq, baseline, delay, features, max_pad, chunk_duration) -> Segments:
    fmri = rec.modality == "fmri"
    plan = plan_windows(rec, tmin=tmin, tmax=tmax, on=on, stride=stride, sfreq=sfreq,
                        delay=delay, max_pad=max_pad, allow_missing=allow_missing)
    table, up, down, out_sfreq, width = plan.table, plan.up, plan.down, plan.sfreq, plan.width
    continuous = resampled_data(rec, up, down, chunk_duration)
    starts = table["start"].to_numpy()
    brain = cut_windows(continuous, starts, width)
    del continuous
    if baseline is not None and not fmri:
        apply_baseline(brain, tmin, out_sfreq, baseline)
    stimulus = None
    if features is not None:
        timeline = _feature_timeline(features, rec, out_sfreq, up, down, table, width)
        stimulus = cut_windows(timeline, starts, width)
    meta = table.assign(recording=rec_index, recording_uid=rec.uid, subject=rec.subject)
    return Segments(brain=brain, meta=meta.reset_index(drop=True), sfreq=out_sfreq, tmin=tmin,
                    subject=np.zeros(len(meta), np.int64), subjects=[rec.subject],
                    stimulus=stimulus, ch_names=list(rec.ch_names), ch_types=list(rec.ch_types),
                    pos_2d=rec.pos_2d, info=_info_at(rec.info, out_sfreq),
                    modality=rec.modality)


def _feature_timeline(features: Any, rec: Recording, out_sfreq: float, up: int, down: int,
                      table: pd.DataFrame, width: int) -> np.ndarray:
    if hasattr(features, "to_timeline"):
        n_out = n_resampled(rec.n_times, up, down)
        timeline = np.asarray(features.to_timeline(rec.events, n_out, out_sfreq), np.float32)
    else:
        arr = np.asarray(features, dtype=np.float32)
        if arr.ndim != 2 or arr.shape[1] != rec.n_times:
            raise ValueError(
                f"features must have shape (n_features, {rec.n_times}) on the recording's "
                f"clock; got {arr.shape}."
            )
        check_finite("features", arr, ("feature", "sample"))
        timeline = np.empty((arr.shape[0], n_resampled(rec.n_times, up, down)), np.float32)
        resample_chunked(lambda a, b: arr[:, a:b], rec.n_times, up, down, out=timeline)
    return timeline


def concatenate_segments(parts: Sequence[Segments]) -> Segments:
    """Stack segments of several recordings (same channels and window) into one.

    Parameters
    ----------
    parts : sequence of Segments
        Segments of the same channels, rate and window length.

    Returns
    -------
    segments : Segments
        All windows in order, subjects merged.
    """
    first = parts[0]
    for p in parts[1:]:
        if p.ch_names != first.ch_names or p.brain.shape[2] != first.brain.shape[2]:
            raise AlignmentError(
                "segments to concatenate must share channels and window length; got "
                f"{len(p.ch_names)} channels x {p.brain.shape[2]} samples vs "
                f"{len(first.ch_names)} x {first.brain.shape[2]}."
            )
    subjects = list(dict.fromkeys(s for p in parts for s in p.subjects))
    subject = np.concatenate([[subjects.index(p.subjects[i]) for i in p.subject] for p in parts])
    stims = [p.stimulus for p in parts if p.stimulus is not None]
    stimulus = np.concatenate(stims) if len(stims) == len(parts) else None
    brain = first.brain if len(parts) == 1 else np.concatenate([p.brain for p in parts])
    meta = pd.concat([p.meta for p in parts], ignore_index=True)
    if "recording_uid" in meta:  # one index per recording: the same timeline, or another
        meta["recording"] = pd.factorize(meta["recording_uid"])[0]
    return replace(first, brain=brain, meta=meta, subject=subject.astype(np.int64),
                   subjects=subjects, stimulus=stimulus)


# The window names at the end live in (and are re-exported from) ``align.windows``.
__all__ = ["META_COLUMNS", "as_recordings", "check_recording", "concatenate_segments",
           "make_segments", "mne_raw", "Segments",
           "WindowPlan", "apply_baseline", "check_conditions_found", "cut_windows",
           "plan_windows", "resampled_data", "select_events"]
