"""Stimulus features placed on the brain's clock.

:class:`StimulusFeatures` holds one feature array per stimulus and writes them onto a
timeline ``(n_features, n_times)`` at the onsets of the events that reference them;
``neurodecode.align.make_segments(..., features=...)`` calls
:meth:`StimulusFeatures.to_timeline` and cuts windows identically to the brain.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from neurodecode._validation import check_positive
from neurodecode.exceptions import AlignmentError, DataNotFoundError
from neurodecode.features.base import Feature, resample_frames
from neurodecode.features.cache import FeatureCache, compute_cached
from neurodecode.features.registry import get_feature

logger = logging.getLogger("neurodecode")

#: Event kinds that are parts of a sound: they read its timeline, they are not placed.
PART_KINDS = ("word", "phoneme")


@dataclass
class Placement:
    """A recording's stimulus timeline as placed events, cut into windows on demand.

    Attributes
    ----------
    starts, lengths : int arrays of shape (n_events,)
        First sample and number of samples of each placed event on the brain's clock.
    stimuli : list of str
        Stimulus of each placed event (a key of ``blocks``).
    onsets : float array of shape (n_events,)
        Onset of each placed event in seconds.
    blocks : dict of str to array of shape (n_features, n_frames)
        Each stimulus's timeline on the brain's clock (item values: ``n_frames`` 1),
        shared by every recording (an on-disk memory map when stored).
    n_features, n_times : int
    sfreq : float
        The brain's sampling frequency in Hz.
    item : bool
        Item features: one value repeated over the event's samples.
    """

    starts: np.ndarray
    lengths: np.ndarray
    stimuli: list[str]
    onsets: np.ndarray
    blocks: dict[str, np.ndarray]
    n_features: int
    n_times: int
    sfreq: float
    item: bool = False

    def window(self, start: int, width: int, out: np.ndarray | None = None,
               scratch: np.ndarray | None = None) -> np.ndarray:
        """The timeline's samples ``[start, start + width)``, shape (n_features, width).

        Samples before the recording or after its end repeat its first or last sample,
        as ``cut_windows`` pads brain windows (zeros when the window misses the recording).

        Parameters
        ----------
        start, width : int
        out : array of shape (n_features, width) or None
            Written in place and returned (``None``: a new array).
        scratch : float32 array of at least ``n_features * width`` values or None
            Reused to read stored timelines (``DiskArray.frames``); with ``out``, cutting
            a window allocates nothing.
        """
        start, width = int(start), int(width)
        out = np.empty((self.n_features, width), np.float32) if out is None else out
        out.fill(0)
        lo, hi = max(0, start), min(self.n_times, start + width)
        if hi <= lo:
            return out
        inner, ends = out[:, lo - start:hi - start], self.starts + self.lengths
        for i in np.flatnonzero((self.starts < hi) & (ends > lo)):
            a, b = max(lo, self.starts[i]), min(hi, ends[i])
            block = self.blocks[self.stimuli[i]]
            if self.item:
                inner[:, a - lo:b - lo] = block
            else:
                _frames(block, a - self.starts[i], b - self.starts[i], inner[:, a - lo:b - lo],
                        scratch)
        if lo > start:  # a copy of the edge column: numpy would copy an overlapping source whole
            out[:, :lo - start] = out[:, lo - start, None].copy()
        if hi < start + width:
            out[:, hi - start:] = out[:, hi - start - 1, None].copy()
        return out

    def sound_at(self, onset: float) -> tuple[str, float] | None:
        """The last placed event covering time ``onset`` (s) and the offset into it, or None."""
        ends = self.onsets + self.lengths / self.sfreq
        covering = np.flatnonzero((self.onsets <= onset + 1e-6) & (onset < ends))
        if not covering.size:
            return None
        i = covering[-1]
        return self.stimuli[i], float(onset - self.onsets[i])


def _frames(block: Any, start: int, stop: int, out: np.ndarray,
            scratch: np.ndarray | None) -> None:
    """Write frames ``[start, stop)`` of an array or a stored ``DiskArray`` into ``out``."""
    if hasattr(block, "frames"):
        block.frames(start, stop, out, scratch)
    else:
        out[...] = block[:, start:stop]


class StimulusFeatures:
    """Features of each stimulus, to be placed at the events that reference it.

    Parameters
    ----------
    values : dict of str to array
        ``values[stimulus_id]`` of shape (n_features, n_frames) for time-resolved features
        at ``sfreq`` frames per second (frame 0 at the stimulus onset), or (n_features,)
        for item features (``sfreq=None``).
    sfreq : float or None
        Frames per second of time-resolved values; ``None`` for item features.
    name : str
        Feature name (e.g. ``"mel"``).
    key : str
        Events column whose value is the key into ``values`` (``"stimulus"``; ``"text"`` for
        word embeddings).
    kinds : sequence of str or None
        Only place events of these kinds (``None``: every event with a non-empty key).
    """

    def __init__(self, values: dict[str, np.ndarray], sfreq: float | None, name: str, *,
                 key: str = "stimulus", kinds: tuple[str, ...] | None = None):
        if not isinstance(values, dict) or not values:
            raise ValueError(f"values must be a non-empty dict stimulus -> array; got {values!r:.80}.")
        if sfreq is not None:
            check_positive("sfreq", sfreq)
        ndim = 1 if sfreq is None else 2
        arrays = {str(k): np.asarray(v, dtype=np.float32) for k, v in values.items()}
        dims = {v.shape[0] if v.ndim else -1 for v in arrays.values()}
        bad = [k for k, v in arrays.items() if v.ndim != ndim]
        if bad or len(dims) != 1:
            shape = "(n_features,)" if ndim == 1 else "(n_features, n_frames)"
            raise ValueError(
                f"values must all have shape {shape} with the same n_features (sfreq={sfreq}); "
                f"got shapes { {k: v.shape for k, v in list(arrays.items())[:5]} }."
            )
        self.values = arrays
        self.sfreq = sfreq
        self.name = name
        self.key = key
        self.kinds = None if kinds is None else tuple(kinds)
        #: Where resampled timelines are kept (an ``align.store.RecordingStore``); None: memory.
        self.store = None
        self._resampled: dict[float, dict[str, np.ndarray]] = {}

    @property
    def n_features(self) -> int:
        """Number of features per frame or item."""
        return int(next(iter(self.values.values())).shape[0])

    def _placed_events(self, events: pd.DataFrame) -> pd.DataFrame:
        missing = {"onset", "duration", self.key} - set(events.columns)
        if missing:
            raise AlignmentError(
                f"events lack the column(s) {sorted(missing)} needed to place feature "
                f"{self.name!r}; expected the Recording.events columns."
            )
        keys = events[self.key].fillna("").astype(str)
        keep = keys != ""
        if self.kinds is not None and "kind" in events.columns:
            keep &= events["kind"].isin(self.kinds)
        absent = sorted(set(keys[keep]) - set(self.values))
        if absent:
            known = ", ".join(repr(k) for k in sorted(self.values)[:10])
            raise AlignmentError(
                f"stimulus {absent[0]!r} (and {len(absent) - 1} more) is referenced by an event "
                f"but has no {self.name!r} feature; computed stimuli: {known}. Compute the "
                "feature for every stimulus of the events (compute_stimulus_features)."
            )
        if self.sfreq is None or "kind" not in events.columns:
            return events[keep]
        # A timeline is placed once per sound, at the sound event; a word or phoneme row
        # naming its sound (MEG-MASC) reads that timeline at its own time.
        part = events["kind"].isin(PART_KINDS).to_numpy()
        placed = events[keep & ~part]
        self._check_parts(events[keep & part], placed)
        return placed

    def _check_parts(self, parts: pd.DataFrame, sounds: pd.DataFrame) -> None:
        """Every word/phoneme row naming a stimulus lies inside an event of that stimulus."""
        if parts.empty:
            return
        onsets = sounds["onset"].to_numpy(float)
        ends = onsets + np.array([self._seconds(s, d) for s, d in
                                  zip(sounds[self.key].astype(str), sounds["duration"])])
        stims = sounds[self.key].astype(str).to_numpy()
        for onset, stim, kind in zip(parts["onset"], parts[self.key].astype(str), parts["kind"]):
            inside = (stims == stim) & (onsets <= onset + 1e-6) & (onset < ends + 1e-6)
            if not inside.any():
                raise AlignmentError(
                    f"a {kind} row at {float(onset):.3f} s names the sound {stim!r}, but no "
                    f"sound event of {stim!r} covers that time (its sound row is missing or "
                    "elsewhere); a word takes its target from its sound's timeline. Add the "
                    "sound row, or give the row kind 'sound' if each word has its own file."
                )

    def _seconds(self, stim: str, duration: float) -> float:
        """Seconds covered by a placed event: its duration, else its feature's length."""
        if duration and duration > 0:
            return float(duration)
        assert self.sfreq is not None  # only timeline features are placed by their length
        return self.values[stim].shape[1] / float(self.sfreq)

    def _block(self, stim: str, sfreq: float) -> np.ndarray:
        """The stimulus's feature timeline on the brain's clock (resampled once per stimulus)."""
        if self.sfreq is None:
            return self.values[stim][:, None]
        cache = self._resampled.setdefault(float(sfreq), {})
        if stim not in cache:
            block = resample_frames(self.values[stim], self.sfreq, sfreq)
            cache[stim] = block if self.store is None else self.store.put_feature(
                self, stim, sfreq, block)
        return cache[stim]

    def placement(self, events: pd.DataFrame, n_times: int, sfreq: float) -> Placement:
        """Where each placed event's timeline lies on a recording's resampled clock.

        Parameters
        ----------
        events : DataFrame
            ``Recording.events``.
        n_times : int
            Number of brain samples at ``sfreq``.
        sfreq : float
            Brain sampling frequency in Hz.

        Returns
        -------
        placement : Placement
        """
        check_positive("sfreq", sfreq)
        check_positive("n_times", n_times)
        placed = self._placed_events(events)
        starts, lengths, blocks, onsets = [], [], [], []
        for onset, duration, stim in zip(placed["onset"], placed["duration"],
                                         placed[self.key].astype(str)):
            start = int(round(float(onset) * sfreq))
            n_dur = int(round(float(duration) * sfreq)) if duration and duration > 0 else 0
            block = self._block(stim, sfreq)
            length = max(1, n_dur) if self.sfreq is None else (
                block.shape[1] if n_dur == 0 else min(n_dur, block.shape[1]))
            if min(int(n_times), start + length) <= max(0, start):
                logger.warning("event at %.3f s (%s) falls outside the recording", onset, stim)
                continue
            starts.append(start)
            lengths.append(length)
            blocks.append(stim)
            onsets.append(float(onset))
        return Placement(np.asarray(starts, np.int64), np.asarray(lengths, np.int64), blocks,
                         np.asarray(onsets, float), {s: self._block(s, sfreq) for s in blocks},
                         self.n_features, int(n_times), float(sfreq),
                         item=self.sfreq is None)

    def to_timeline(self, events: pd.DataFrame, n_times: int, sfreq: float) -> np.ndarray:
        """Write each event's stimulus features at its onset on the brain's clock.

        Time-resolved values are resampled to ``sfreq`` and truncated to the event's
        duration when it is positive, and placed at sound (or other whole-stimulus)
        events only: word and phoneme rows that name their sound (MEG-MASC) are covered by
        it, so a word's samples hold the sound's features at the word's offset into the
        sound. Item values fill the event's duration (one sample when the duration is 0).
        Samples with no event are 0; a later event overwrites an earlier one where they
        overlap.

        Parameters
        ----------
        events : DataFrame
            Columns ``onset`` and ``duration`` (seconds) and the key column (``stimulus``).
        n_times : int
            Number of brain samples.
        sfreq : float
            Brain sampling frequency in Hz.

        Returns
        -------
        timeline : array of shape (n_features, n_times), float32

        Raises
        ------
        AlignmentError
            If a word or phoneme row names a sound that no sound event of the recording
            places at that time.
        """
        return self.placement(events, n_times, sfreq).window(0, int(n_times))

    def __repr__(self) -> str:
        return (f"StimulusFeatures(name={self.name!r}, n_stimuli={len(self.values)}, "
                f"n_features={self.n_features}, sfreq={self.sfreq})")


def compute_stimulus_features(
    feature: str | Feature, events: pd.DataFrame, stim_root: str | Path | None = None, *,
    cache: FeatureCache | str | Path | None = None, kinds: tuple[str, ...] | None = None,
    progress: bool = False, **params: Any,
) -> StimulusFeatures:
    """Compute a feature for each unique stimulus referenced by ``events``.

    Parameters
    ----------
    feature : str or Feature
        A name of :data:`neurodecode.features.FEATURES` (built with ``**params``) or an instance.
    events : DataFrame
        ``Recording.events``; audio and image features read ``stim_root / events.stimulus``;
        text features embed ``events.text`` (keyed by the text).
    stim_root : str or Path or None
        Folder of the stimulus files (not needed for text features).
    cache : FeatureCache or path or None
        Read and fill this cache (a hit never loads the model).
    kinds : tuple of str or None
        Only events of these kinds (e.g. ``("word",)``).
    progress : bool
        Show a progress bar.
    **params
        Constructor arguments of the feature when ``feature`` is a name.

    Returns
    -------
    features : StimulusFeatures

    Raises
    ------
    DataNotFoundError
        If a stimulus referenced by an event is absent from ``stim_root``.
    """
    feature = get_feature(feature, **params) if isinstance(feature, str) else feature
    if cache is not None and not isinstance(cache, FeatureCache):
        cache = FeatureCache(cache)
    key = "text" if feature.modality == "text" else "stimulus"
    if key not in events.columns:
        raise AlignmentError(f"events lack the column {key!r} needed by feature {feature.name!r}.")
    rows = events if kinds is None or "kind" not in events else events[events["kind"].isin(kinds)]
    ids = sorted({str(s) for s in rows[key].fillna("") if str(s) != ""})
    if not ids:
        hint = ("" if key == "text" else " Give the events a 'stimulus' column (each event's "
                "file under stim_root), e.g. pass the study reader an events_table= with onset, "
                "duration, kind and stimulus columns.")
        raise AlignmentError(
            f"no event has a non-empty {key!r}; nothing to compute for {feature.name!r}.{hint}")
    if key == "text":
        stimuli: list[Any] = ids
    else:
        if stim_root is None:
            raise ValueError(f"stim_root is needed to read the {feature.modality} stimuli; got None.")
        stimuli = _stimulus_files(ids, Path(stim_root), feature.modality)
    values = compute_cached(feature, stimuli, cache, progress=progress)
    return StimulusFeatures(dict(zip(ids, values)), feature.sfreq, feature.name, key=key, kinds=kinds)


def _stimulus_files(ids: list[str], root: Path, modality: str) -> list[Any]:
    """Paths of the stimuli under ``root``; ``<file>.hdf5#<index>`` images become HDF5Image.

    Raises DataNotFoundError if a file (the file part of an HDF5 image) is absent.
    """
    from neurodecode.features.image_io import HDF5Image, split_hdf5_stimulus

    stimuli: list[Any] = []
    absent: list[str] = []
    for sid in ids:
        parts = split_hdf5_stimulus(sid) if modality == "image" else None
        path = root / (parts[0] if parts else sid)
        if not path.is_file():
            absent.append(str(path) if parts else sid)
        stimuli.append(HDF5Image(path, parts[1]) if parts else path)
    if absent:
        raise DataNotFoundError(
            f"stimulus {absent[0]!r} (and {len(absent) - 1} more) is referenced by an event but "
            f"absent from the stimulus folder {str(root)!r}; add the file or drop those events."
        )
    return stimuli


__all__ = ["PART_KINDS", "Placement", "StimulusFeatures", "compute_stimulus_features"]
