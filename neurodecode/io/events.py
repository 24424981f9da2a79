"""Events tables: every source of events becomes one DataFrame with a fixed schema.

The schema is :data:`neurodecode.io.recording.EVENT_COLUMNS`: ``onset`` and
``duration`` in seconds from the first sample of the recording, ``kind``,
``condition``, ``stimulus``, ``text``, ``block`` and ``value``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from .._validation import check_positive
from ..exceptions import AlignmentError, DataFormatError, DataNotFoundError
from .recording import EVENT_COLUMNS, EVENT_KINDS

_DEFAULTS = {"duration": 0.0, "kind": "trial", "condition": "", "stimulus": "", "text": "",
             "block": "0", "value": -1}
# BIDS / MEG-MASC column names mapped onto ours.
_ALIASES = {
    "trial_type": "condition",
    "word": "text",
    "stim_file": "stimulus",
    "sound": "stimulus",
    "sequence": "block",
    "story": "block",
    "run": "block",
}


def normalize_events(table: pd.DataFrame, *, kind: str = "trial",
                     source: str = "events") -> pd.DataFrame:
    """Bring an events table to the schema of :data:`EVENT_COLUMNS`.

    Parameters
    ----------
    table : DataFrame
        Must hold an ``onset`` column (seconds). Known aliases are renamed
        (``trial_type`` -> ``condition``, ``word`` -> ``text``, ``stim_file`` ->
        ``stimulus``, ``sequence``/``story``/``run`` -> ``block``); missing columns
        get defaults; extra columns are kept.
    kind : str
        Default ``kind`` for rows that have none.
    source : str
        Name of the table's origin, used in error messages.

    Returns
    -------
    events : DataFrame
        Sorted by onset, index reset.
    """
    if "onset" not in table.columns:
        raise DataFormatError(
            f"{source} is missing the required column 'onset'; found columns "
            f"{list(table.columns)}. Expected at least: onset (s), and optionally "
            "duration, trial_type/condition, value, word, stim_file, block."
        )
    df = table.copy()
    for alias, name in _ALIASES.items():
        if alias in df.columns and name not in df.columns:
            df[name] = df[alias]
    df = df.replace({"n/a": np.nan})
    df["onset"] = pd.to_numeric(df["onset"], errors="raise").astype(float)
    _check_finite_column(df, "onset", source)
    if "condition" not in df.columns and "value" in df.columns:
        df["condition"] = df["value"].astype(str)
    for col, default in dict(_DEFAULTS, kind=kind).items():
        if col not in df.columns:
            df[col] = default
        df[col] = df[col].fillna(default)
    df["duration"] = pd.to_numeric(df["duration"], errors="coerce").fillna(0.0).astype(float)
    _check_finite_column(df, "duration", source)
    df["value"] = pd.to_numeric(df["value"], errors="coerce").fillna(-1).astype(int)
    for col in ("kind", "condition", "stimulus", "text", "block"):
        df[col] = df[col].astype(str)
    bad_kinds = sorted(set(df["kind"]) - set(EVENT_KINDS))
    if bad_kinds:
        raise DataFormatError(
            f"{source} has kind values {bad_kinds}; expected values among {list(EVENT_KINDS)}."
        )
    check_sorted(df["onset"].to_numpy(), source)
    ordered = list(EVENT_COLUMNS) + [c for c in df.columns if c not in EVENT_COLUMNS]
    return df[ordered].reset_index(drop=True)


def _check_finite_column(df: pd.DataFrame, column: str, source: str) -> None:
    """``DataFormatError`` naming the first row whose ``column`` is missing, infinite or
    (for durations) negative."""
    values = df[column].to_numpy()
    bad = ~np.isfinite(values) | ((values < 0) if column == "duration" else False)
    if bad.any():
        i = int(np.argmax(bad))
        wanted = "a finite duration >= 0" if column == "duration" else "a finite onset"
        raise DataFormatError(
            f"{source} has {int(bad.sum())} event(s) without {wanted} in seconds; the first "
            f"is row {i} ({column} {float(values[i])!r}). Fix or drop those rows."
        )


def check_sorted(onsets: np.ndarray, source: str = "events") -> None:
    """Raise ``AlignmentError`` if ``onsets`` decrease somewhere."""
    steps = np.diff(onsets)
    if np.any(steps < 0):
        i = int(np.argmax(steps < 0))
        raise AlignmentError(
            f"{source} onsets are not sorted: onset {onsets[i + 1]!r} s (row {i + 1}) comes "
            f"after {onsets[i]!r} s (row {i}). Sort the table by onset before reading it."
        )


def check_within(events: pd.DataFrame, duration: float, source: str = "events") -> None:
    """Raise ``AlignmentError`` for events starting before 0 or after ``duration`` seconds."""
    onsets = events["onset"].to_numpy()
    outside = (onsets < 0) | (onsets >= duration)
    if outside.any():
        i = int(np.argmax(outside))
        raise AlignmentError(
            f"{source} has {int(outside.sum())} event(s) outside the recording "
            f"(0 to {duration:.3f} s); the first is row {i} at onset {onsets[i]:.3f} s. "
            "Check that the events belong to this recording and that onsets are in seconds."
        )


def events_from_array(events: np.ndarray, sfreq: float, *, first_samp: int = 0,
                      event_id: Mapping[str, int] | None = None,
                      kind: str = "trial") -> pd.DataFrame:
    """Events from an MNE events array of shape (n_events, 3).

    Onsets are ``(sample - first_samp) / sfreq``; ``event_id`` (name -> code) names the
    conditions and keeps only the listed codes.

    Parameters
    ----------
    events : array of shape (n_events, 3)
        MNE events: sample, previous value, code.
    sfreq : float
        Sampling frequency of the samples in Hz.
    first_samp : int
        The recording's first sample (``raw.first_samp``).
    event_id : mapping of str to int or None
        Condition name -> code; only these codes are kept. ``None``: every code, named by
        its value.
    kind : str
        The ``kind`` of every event (MNE codes carry none).

    Returns
    -------
    events : DataFrame
        One row per kept code, columns ``EVENT_COLUMNS``, in sample order.
    """
    events = np.asarray(events)
    if events.ndim != 2 or events.shape[1] != 3:
        raise ValueError(
            f"events must be an MNE events array of shape (n_events, 3); got shape {events.shape}."
        )
    codes = events[:, 2].astype(int)
    names = {int(v): str(k) for k, v in (event_id or {}).items()}
    if event_id:
        keep = np.isin(codes, list(names))
        events, codes = events[keep], codes[keep]
    table = pd.DataFrame({
        "onset": (events[:, 0] - first_samp) / float(sfreq),
        "value": codes,
        "condition": [names.get(c, str(c)) for c in codes],
    })
    return normalize_events(table, kind=kind, source="events array")


def read_events_tsv(path: str | Path, *, kind: str = "trial") -> pd.DataFrame:
    """Read a BIDS ``events.tsv`` (onset, duration, trial_type/value, word, ...); a
    ``.csv`` table with the same columns is read with commas.

    Parameters
    ----------
    path : str or Path
        A BIDS ``events.tsv`` (or ``.csv``).
    kind : str
        The ``kind`` of rows that have none.

    Returns
    -------
    events : DataFrame
        One row per event, columns ``EVENT_COLUMNS``, sorted by onset.
    """
    path = Path(path)
    if not path.is_file():
        raise DataNotFoundError(f"events file {str(path)!r} does not exist.")
    sep = "," if path.suffix.lower() == ".csv" else "\t"
    table = pd.read_csv(path, sep=sep, na_values=["n/a"], keep_default_na=True)
    return normalize_events(table, kind=kind, source=f"events file {path.name!r}")


def read_openfmri_onsets(onsets_dir: str | Path, condition_key: str | Path | Mapping[str, str],
                         *, task: str = "task001", kind: str = "block") -> pd.DataFrame:
    """Events of one run from OpenFMRI onset files ``condNNN.txt`` (onset, duration, weight).

    Parameters
    ----------
    onsets_dir : path
        Folder of one run, e.g. ``model/model001/onsets/task001_run001``.
    condition_key : path or mapping
        ``condition_key.txt`` (lines ``task001 cond001 house``) or a mapping
        ``{"cond001": "house", ...}``.
    task : str
        The task whose conditions ``condition_key`` names.
    kind : str
        The ``kind`` of every event.

    Returns
    -------
    events : DataFrame
        One row per event, columns ``EVENT_COLUMNS``, sorted by onset.
    """
    onsets_dir = Path(onsets_dir)
    if not onsets_dir.is_dir():
        raise DataNotFoundError(f"onsets_dir {str(onsets_dir)!r} is not a folder.")
    names = _read_condition_key(condition_key, task)
    rows = []
    for cond_file in sorted(onsets_dir.glob("cond*.txt")):
        values = np.loadtxt(cond_file, ndmin=2)
        for onset, duration, *_ in values:
            rows.append({"onset": onset, "duration": duration,
                         "condition": names.get(cond_file.stem, cond_file.stem)})
    if not rows:
        raise DataFormatError(f"onsets_dir {str(onsets_dir)!r} holds no condNNN.txt file.")
    table = pd.DataFrame(rows).sort_values("onset", kind="stable")
    return normalize_events(table, kind=kind, source=f"onset files in {onsets_dir.name!r}")


def _read_condition_key(condition_key, task: str) -> dict[str, str]:
    if isinstance(condition_key, Mapping):
        return {str(k): str(v) for k, v in condition_key.items()}
    path = Path(condition_key)
    if not path.is_file():
        raise DataNotFoundError(f"condition_key {str(path)!r} does not exist.")
    names = {}
    for line in path.read_text().splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[0] == task:
            names[parts[1]] = " ".join(parts[2:])
    return names


def events_from_labels(labels: np.ndarray | list[str], tr: float, *,
                       rest: str | None = "rest", runs: np.ndarray | None = None,
                       kind: str = "block") -> pd.DataFrame:
    """Block events from one label per volume (e.g. Haxby's ``attributes.txt``).

    Consecutive volumes with the same label (and run) form one event whose onset is the
    first volume's time and whose duration covers the block. Volumes labelled ``rest``
    make no event.

    Parameters
    ----------
    labels : array of str, shape (n_volumes,)
        Condition of each volume.
    tr : float
        Repetition time in seconds.
    rest : str or None
        Label that is not an event (``None``: every label is one).
    runs : array of shape (n_volumes,) or None
        Run of each volume; a block never spans two runs (it becomes the ``block``).
    kind : str
        ``kind`` of the events.

    Returns
    -------
    events : DataFrame
        The :data:`EVENT_COLUMNS` schema; onsets in seconds from the first volume.

    Raises
    ------
    TypeError
        If ``tr`` is not a number (e.g. the runs given in its place).
    ValueError
        If ``tr`` is not > 0 or ``runs`` has not one label per volume.
    """
    labels = np.asarray(labels).astype(str)
    runs = _check_runs(runs, len(labels))
    if np.ndim(tr) != 0 or not isinstance(np.asarray(tr).item(), int | float):
        raise TypeError(f"tr must be the repetition time in seconds (a number); got "
                        f"{type(tr).__name__} of shape {np.shape(tr)}. Pass the runs as "
                        "runs=...")
    check_positive("tr", float(tr))
    change = np.r_[True, (labels[1:] != labels[:-1]) | (runs[1:] != runs[:-1])]
    starts = np.flatnonzero(change)
    stops = np.r_[starts[1:], len(labels)]
    rows = [
        {"onset": s * tr, "duration": (e - s) * tr, "condition": labels[s], "block": str(runs[s])}
        for s, e in zip(starts, stops) if labels[s] != rest
    ]
    table = pd.DataFrame(rows, columns=["onset", "duration", "condition", "block"])
    return normalize_events(table, kind=kind, source="volume labels")


def _check_runs(runs: np.ndarray | None, n_volumes: int) -> np.ndarray:
    """``runs`` as an array of one label per volume (zeros when ``None``)."""
    if runs is None:
        return np.zeros(n_volumes, dtype=int)
    runs = np.asarray(runs)
    if runs.shape != (n_volumes,):
        raise ValueError(f"runs must have shape ({n_volumes},) (one run label per volume); "
                         f"got {runs.shape}.")
    return runs


def read_label_file(path: str | Path, n_volumes: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Read a per-volume label file (``label run`` per line, optional header).

    Parameters
    ----------
    path : str or Path
        The label file.
    n_volumes : int or None
        The volumes of the BOLD data; a file of another length raises ``DataFormatError``.

    Returns
    -------
    labels : array of shape (n_volumes,) of str
    runs : array of shape (n_volumes,) of int
    """
    path = Path(path)
    if not path.is_file():
        raise DataNotFoundError(f"label file {str(path)!r} does not exist.")
    rows = [line.split() for line in path.read_text().splitlines() if line.strip()]
    if rows and not rows[0][-1].lstrip("-").isdigit():
        rows = rows[1:]  # header line
    labels = np.array([r[0] for r in rows])
    runs = np.array([int(r[1]) if len(r) > 1 else 0 for r in rows])
    if n_volumes is not None and len(labels) != n_volumes:
        raise AlignmentError(
            f"label file {path.name!r} has {len(labels)} labels but the image has "
            f"{n_volumes} volumes; expected one label per volume."
        )
    return labels, runs


def labels_at_volumes(events: pd.DataFrame, n_volumes: int, tr: float,
                      *, fill: str = "rest") -> np.ndarray:
    """The condition active at the start of each volume, ``fill`` where none is.

    Parameters
    ----------
    events : DataFrame
        Events with ``onset``, ``duration`` and ``condition`` (seconds).
    n_volumes : int
        Number of volumes.
    tr : float
        Repetition time in seconds.
    fill : str
        The label of volumes that no event covers.

    Returns
    -------
    labels : array of shape (n_volumes,) of str
        The condition of each volume.
    """
    times = np.arange(n_volumes) * tr
    labels = np.full(n_volumes, fill, dtype=object)
    for onset, duration, condition in events[["onset", "duration", "condition"]].itertuples(
            index=False):
        labels[(times >= onset - 1e-6) & (times < onset + max(duration, tr) - 1e-6)] = condition
    return labels


def condition_impulses(events: pd.DataFrame, conditions: Sequence[str], n_times: int,
                       sfreq: float) -> np.ndarray:
    """One unit impulse per event at its onset, one column per condition.

    Parameters
    ----------
    events : DataFrame with columns onset (s) and condition
        The events; those outside ``[0, n_times / sfreq)`` are left out.
    conditions : sequence of str
        The columns, in order.
    n_times : int
        Samples of the design.
    sfreq : float
        Sampling rate in Hz.

    Returns
    -------
    X : array of shape (n_times, n_conditions)
        The impulses.

    Examples
    --------
    >>> import pandas as pd
    >>> from neurodecode.io import condition_impulses
    >>> events = pd.DataFrame({"onset": [0.1, 0.3], "condition": ["a", "b"]})
    >>> condition_impulses(events, ["a", "b"], 5, 10.0).nonzero()
    (array([1, 3]), array([0, 1]))
    """
    X = np.zeros((n_times, len(conditions)))
    for k, cond in enumerate(conditions):
        onsets = events.loc[events["condition"].astype(str) == cond, "onset"].to_numpy(float)
        idx = np.round(onsets * sfreq).astype(int)
        X[idx[(idx >= 0) & (idx < n_times)], k] = 1.0
    return X



__all__ = ["check_sorted", "check_within", "condition_impulses", "events_from_array",
           "events_from_labels", "labels_at_volumes", "normalize_events", "read_events_tsv",
           "read_label_file", "read_openfmri_onsets"]
