"""Where a recording's windows lie, and cutting them out of its continuous data.

:func:`select_events` picks the events, :func:`plan_windows` places one window per event
(or slides them inside it) on the resampled clock and drops those that reach outside the
recording, span two runs or touch a bad span; :func:`resampled_data`, :func:`cut_windows`
and :func:`apply_baseline` turn the plan into arrays. :func:`~neurodecode.align.make_segments`
and the streamed :class:`~neurodecode.align.dataset.StreamedSegments` share them.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import pandas as pd

from ..exceptions import AlignmentError
from ..io.recording import EVENT_KINDS, Recording
from .resample import n_resampled, resample_chunked, resample_ratio

logger = logging.getLogger("neurodecode")


def _wanted(on: str | Sequence[str] | None) -> list[str] | None:
    """The conditions named by ``on``; ``None`` when it is ``None`` or an event kind."""
    if on is None or (isinstance(on, str) and on in EVENT_KINDS):
        return None
    return [on] if isinstance(on, str) else [str(o) for o in on]


def select_events(events: pd.DataFrame, on: str | Sequence[str] | None, *,
                  allow_missing: bool = False) -> pd.DataFrame:
    """Rows of ``events`` matching a kind, a condition or a list of conditions.

    Parameters
    ----------
    events : DataFrame
        ``Recording.events``.
    on : str, sequence of str or None
        An event kind (``"word"``), a condition or a list of conditions; ``None`` keeps all.
    allow_missing : bool
        Let a condition of ``on`` be absent from this recording.

    Returns
    -------
    events : DataFrame
        The matching rows.

    Raises
    ------
    AlignmentError
        ``on`` selects no event; or, unless ``allow_missing``, a condition of ``on``
        matches no event of this recording (the error lists the conditions present).
    """
    wanted = _wanted(on)
    if wanted is None:
        chosen = events if on is None else events[events["kind"] == on]
    else:
        chosen = events[events["condition"].isin(wanted)]
        present = set(events["condition"].astype(str))
        absent = [w for w in wanted if w not in present]
        if absent and not chosen.empty and not allow_missing:
            raise AlignmentError(
                f"on={on!r}: {absent} match no event of this recording; it has conditions "
                f"{sorted(present)[:20]}. Fix the names, or, when some recordings lack some "
                "conditions, set segments.allow_missing_conditions: true "
                "(make_segments(..., allow_missing=True)).")
    if chosen.empty:
        raise AlignmentError(
            f"on={on!r} selects no event; this recording has kinds "
            f"{sorted(events['kind'].unique())} and conditions "
            f"{sorted(events['condition'].unique())[:20]}."
        )
    return chosen


def check_conditions_found(on: str | Sequence[str] | None,
                           events: Sequence[pd.DataFrame]) -> None:
    """``AlignmentError`` when a condition listed in ``on`` is in none of ``events``."""
    wanted = _wanted(on) or []
    present = set().union(*(set(e["condition"].astype(str)) for e in events))
    absent = [w for w in wanted if w not in present]
    if absent:
        raise AlignmentError(
            f"on={on!r}: {absent} match no event of any of the {len(events)} recording(s); "
            f"they have conditions {sorted(present)[:20]}. Fix the names.")


@dataclass
class WindowPlan:
    """Where a recording's windows lie on its resampled clock (no data read).

    Attributes
    ----------
    table : DataFrame
        One row per window: the event's labels, ``start``/``stop`` samples, ``n_padded``.
    up, down : int
        Resampling factors of the recording to ``sfreq``.
    sfreq : float
        Sampling frequency of the windows in Hz.
    width : int
        Samples per window.
    """

    table: pd.DataFrame
    up: int
    down: int
    sfreq: float
    width: int


class WindowSource(Protocol):
    """What :func:`plan_windows` reads of a recording (a :class:`Recording` is one)."""

    @property
    def modality(self) -> str: ...
    @property
    def sfreq(self) -> float: ...
    @property
    def events(self) -> pd.DataFrame: ...
    @property
    def n_times(self) -> int: ...
    @property
    def runs(self) -> np.ndarray | None: ...


def plan_windows(rec: WindowSource, *, tmin: float, tmax: float, on: Any, stride: float | None,
                 sfreq: float | None, delay: float, max_pad: float,
                 allow_missing: bool = False) -> WindowPlan:
    """The windows ``make_segments`` cuts from ``rec`` (same arguments), without the data."""
    fmri = rec.modality == "fmri"
    up, down = (1, 1) if (sfreq is None or fmri) else resample_ratio(rec.sfreq, sfreq)
    out_sfreq = rec.sfreq * up / down
    events = select_events(rec.events, on, allow_missing=allow_missing)
    table = _window_table(events, tmin, tmax, stride, delay, out_sfreq)
    table = _drop_outside(table, n_resampled(rec.n_times, up, down), max_pad)
    if rec.runs is not None:
        table = _drop_across_runs(table, np.asarray(rec.runs), up, down)
    bad_spans = getattr(rec, "bad_spans", ())
    if len(bad_spans):
        table = _drop_bad_spans(table, np.asarray(bad_spans), out_sfreq)
    return WindowPlan(table, up, down, out_sfreq, int(round((tmax - tmin) * out_sfreq)))


def _window_table(events: pd.DataFrame, tmin: float, tmax: float, stride: float | None,
                  delay: float, sfreq: float) -> pd.DataFrame:
    """One row per window with its event's labels and ``start``/``stop`` samples."""
    width = tmax - tmin
    if stride is None:
        rows = events.assign(onset=events["onset"] + delay)
    else:
        too_short = events["duration"] < width - 1e-9
        if too_short.any():
            ev = events[too_short].iloc[0]
            raise AlignmentError(
                f"the window tmax - tmin = {width:g} s is longer than {int(too_short.sum())} "
                f"selected event(s); e.g. block {ev['block']!r} at {ev['onset']:.3f} s lasts "
                f"{ev['duration']:g} s. Shorten the window or select longer events."
            )
        offsets = [np.arange(0.0, d - width + 1e-9, stride) for d in events["duration"]]
        rows = events.loc[events.index.repeat([len(o) for o in offsets])]
        rows = rows.assign(onset=rows["onset"].to_numpy() + np.concatenate(offsets) + delay - tmin)
    start = np.round((rows["onset"].to_numpy() + tmin) * sfreq).astype(np.int64)
    if "value" not in rows:  # events built by hand may have no event code
        rows = rows.assign(value=np.nan)
    cols = ["onset", "condition", "block", "stimulus", "text", "kind", "value"]
    return rows[cols].assign(start=start, stop=start + int(round(width * sfreq)))


def _drop_across_runs(table: pd.DataFrame, runs: np.ndarray, up: int, down: int) -> pd.DataFrame:
    """Drop windows that span two runs (cleaned separately, maybe in different splits)."""
    n_in = len(runs)
    first = np.clip(table["start"].to_numpy() * down // up, 0, n_in - 1)
    last = np.clip((table["stop"].to_numpy() - 1) * down // up, 0, n_in - 1)
    across = runs[first] != runs[last]
    example = f" (e.g. the one at {table['onset'].to_numpy()[across][0]:.2f} s); shorten the " \
        "window or the delay to keep them" if across.any() else ""
    return _drop_windows(table, across, "span two runs", example,
                         "every window spans two runs; shorten the window or delay.")


def _drop_bad_spans(table: pd.DataFrame, spans: np.ndarray, sfreq: float) -> pd.DataFrame:
    """Drop windows touching a span marked bad (as MNE's ``reject_by_annotation``)."""
    start = table["start"].to_numpy()[:, None] / sfreq
    stop = table["stop"].to_numpy()[:, None] / sfreq
    touching = ((start < spans[None, :, 1]) & (stop > spans[None, :, 0])).any(axis=1)
    return _drop_windows(table, touching, "touch a span marked bad (BAD_* annotations)", "",
                         "every window touches a span marked bad (BAD_* annotations).")


def _drop_windows(table: pd.DataFrame, drop: np.ndarray, what: str, detail: str,
                  if_all: str) -> pd.DataFrame:
    """``table`` without the rows in ``drop``, warning ``"<n> of <m> windows <what> and
    were dropped<detail>."``; ``AlignmentError(if_all)`` when every row would go."""
    if drop.any():
        warnings.warn(f"{int(drop.sum())} of {len(table)} windows {what} and were dropped"
                      f"{detail}.", UserWarning, stacklevel=7)  # the caller of make_segments
        if drop.all():
            raise AlignmentError(if_all)
    return table[~drop]


def _drop_outside(table: pd.DataFrame, n_times: int, max_pad: float) -> pd.DataFrame:
    width = table["stop"] - table["start"]
    overrun = np.maximum(-table["start"], 0) + np.maximum(table["stop"] - n_times, 0)
    table = table.assign(n_padded=overrun)
    inside = overrun <= np.floor(max_pad * width)
    if not inside.any():
        raise AlignmentError(
            f"every window reaches beyond the recording ({n_times} samples); check tmin, "
            "tmax and the event onsets."
        )
    if (overrun > 0).any():
        logger.warning("%d window(s) reach beyond the recording: %d kept, edge-padded by at most "
                       "%d samples (meta['n_padded']); %d dropped.", int((overrun > 0).sum()),
                       int(((overrun > 0) & inside).sum()), int(overrun[inside].max()),
                       int((~inside).sum()))
    return table[inside]


def resampled_data(rec: Recording, up: int, down: int, chunk_duration: float, *,
                   out: np.ndarray | None = None) -> np.ndarray:
    """The whole recording, channels first, float32, resampled by ``up / down`` in chunks
    (into ``out``, e.g. a memory map, when given); NaN or Inf values are an error."""
    n_times = rec.n_times
    if out is None:
        out = np.empty((rec.n_channels, n_resampled(n_times, up, down)), dtype=np.float32)

    def check(x: np.ndarray, start: int) -> None:
        bad = ~np.isfinite(x)
        if bad.any():
            ch, t = np.argwhere(bad)[0]
            raise ValueError(
                f"recording data contains {int(bad.sum())} NaN or Inf value(s) in this chunk; "
                f"the first is on channel {rec.ch_names[ch]!r} at {(start + t) / rec.sfreq:.3f} s "
                f"(sample {start + t}). Interpolate or drop the channel before segmenting."
            )

    chunk_out = max(up, int(chunk_duration * rec.sfreq * up / down))
    return resample_chunked(rec.get_data, n_times, up, down, out=out, chunk_out=chunk_out,
                            on_chunk=check)


def cut_windows(data: np.ndarray, starts: np.ndarray, width: int) -> np.ndarray:
    """Windows ``data[:, s:s + width]`` for each start, shape (n_windows, n_channels, width).

    Windows reaching beyond ``data`` are padded with its first or last sample.
    """
    out = np.empty((len(starts), data.shape[0], width), dtype=np.float32)
    n_times = data.shape[1]
    for i, s in enumerate(starts):
        if 0 <= s and s + width <= n_times:
            out[i] = data[:, s:s + width]
        else:
            idx = np.clip(np.arange(s, s + width), 0, n_times - 1)
            out[i] = data[:, idx]
    return out


def apply_baseline(brain: np.ndarray, tmin: float, sfreq: float,
                   baseline: tuple[float | None, float]) -> None:
    """Subtract, in place, the per-window per-channel mean over ``baseline`` seconds."""
    b0 = tmin if baseline[0] is None else baseline[0]
    i0 = int(round((b0 - tmin) * sfreq))
    i1 = int(round((baseline[1] - tmin) * sfreq))
    if i0 < 0 or i1 > brain.shape[2]:
        raise ValueError(
            f"baseline={baseline!r} lies outside the window ({tmin:g} s to "
            f"{tmin + brain.shape[2] / sfreq:g} s); expected an interval inside it."
        )
    if i1 <= i0:
        return  # the window has no time before onset: nothing to subtract
    brain -= brain[:, :, i0:i1].mean(axis=2, keepdims=True)


__all__ = ["WindowPlan", "WindowSource", "apply_baseline", "check_conditions_found",
           "cut_windows", "plan_windows", "resampled_data", "select_events"]
