"""Stimulus features placed on the brain's clock.

:class:`StimulusFeatures` holds one feature array per stimulus and writes them onto a
timeline ``(n_features, n_times)`` at the onsets of the events that reference them;
``neurodecode.align.make_segments(..., features=...)`` calls
:meth:`StimulusFeatures.to_timeline` and cuts windows identically to the brain.
"""

from __future__ import annotations

import logging
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
        placed = events[keep]
        absent = sorted(set(keys[keep]) - set(self.values))
        if absent:
            known = ", ".join(repr(k) for k in sorted(self.values)[:10])
            raise AlignmentError(
                f"stimulus {absent[0]!r} (and {len(absent) - 1} more) is referenced by an event "
                f"but has no {self.name!r} feature; computed stimuli: {known}. Compute the "
                "feature for every stimulus of the events (compute_stimulus_features)."
            )
        return placed

    def to_timeline(self, events: pd.DataFrame, n_times: int, sfreq: float) -> np.ndarray:
        """Write each event's stimulus features at its onset on the brain's clock.

        Time-resolved values are resampled to ``sfreq`` and truncated to the event's
        duration when it is positive; item values fill the event's duration (one sample
        when the duration is 0). Samples with no event are 0; a later event overwrites an
        earlier one where they overlap.

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
        """
        check_positive("sfreq", sfreq)
        check_positive("n_times", n_times)
        placed = self._placed_events(events)
        timeline = np.zeros((self.n_features, int(n_times)), dtype=np.float32)
        resampled: dict[str, np.ndarray] = {}
        stims = placed[self.key].astype(str)  # values are keyed by str (ids may be numbers)
        for onset, duration, stim in zip(placed["onset"], placed["duration"], stims):
            start = int(round(float(onset) * sfreq))
            n_dur = int(round(float(duration) * sfreq)) if duration and duration > 0 else 0
            if self.sfreq is None:
                block = np.repeat(self.values[stim][:, None], max(1, n_dur), axis=1)
            else:
                if stim not in resampled:
                    resampled[stim] = resample_frames(self.values[stim], self.sfreq, sfreq)
                block = resampled[stim] if n_dur == 0 else resampled[stim][:, :n_dur]
            lo, hi = max(0, start), min(int(n_times), start + block.shape[1])
            if hi <= lo:
                logger.warning("event at %.3f s (%s) falls outside the recording", onset, stim)
                continue
            timeline[:, lo:hi] = block[:, lo - start: hi - start]
        return timeline

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
    from neurodecode.features.image import HDF5Image, split_hdf5_stimulus

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


__all__ = ["StimulusFeatures", "compute_stimulus_features"]
