"""Read M/EEG recordings through MNE into a :class:`~neurodecode.io.recording.Recording`."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import mne
import numpy as np
import pandas as pd

from ..exceptions import AlignmentError, DataFormatError, DataNotFoundError
from .events import check_within, events_from_array, normalize_events, read_events_tsv
from .positions import sensor_positions
from .recording import Recording

logger = logging.getLogger("neurodecode")

#: Channel types kept by default (brain sensors only).
DEFAULT_PICKS = ("meg", "eeg")


def read_meeg(source: Any, *, events: Any = None, event_id: Mapping[str, int] | None = None,
              subject: str | None = None, session: str | None = None,
              picks: str | Sequence[str] | None = DEFAULT_PICKS, kind: str = "trial",
              stim_channel: str | None = None, preload: bool = False,
              exclude_bads: bool = True, proj: bool = True) -> Recording:
    """Read an M/EEG recording and its events.

    Parameters
    ----------
    source : path, mne.io.BaseRaw, mne.Epochs, mne.Evoked or mne_bids.BIDSPath
        Any file MNE reads (``mne.io.read_raw``), an already loaded Raw, Epochs or Evoked,
        or a BIDS path. Epochs become one continuous recording with one event per epoch
        (at its time 0; condition from ``epochs.event_id``, the metadata columns added to
        the events table) and one run per epoch, so that no window spans two epochs. An
        Evoked is one condition: one event named by its ``comment``.
    events : None, DataFrame, path, or array of shape (n_events, 3)
        ``None``: a BIDS ``events.tsv`` next to a BIDSPath, else the stim channel, else
        the annotations. A DataFrame or a path to a TSV table (BIDS ``events.tsv``,
        onsets in seconds from the first sample), or to an MNE events file (``*.fif``,
        ``*-eve.fif``, read by ``mne.read_events``). An MNE events array (samples include
        ``raw.first_samp`` as MNE's are), named through ``event_id``. Ignored for Epochs
        and Evoked (they carry their events).
    event_id : mapping of str to int, optional
        Condition names of the event codes; only the listed codes are kept. A code that
        no event carries is an error listing the codes present.
    subject, session : str, optional
        Identifiers; taken from the BIDS path or the file's info when not given.
    picks : str or sequence of str or None
        Channel types or names to keep (MNE's ``picks``); ``None`` keeps all data channels.
    kind : str
        The ``kind`` of events that carry none (see ``EVENT_KINDS``).
    stim_channel : str, optional
        Stim channel to read events from (MNE's default when ``None``).
    preload : bool
        Load the data now; otherwise it stays on disk until ``Recording.data`` is used.
    exclude_bads : bool
        Leave out the channels in ``info["bads"]`` (as MNE's Epochs do). Their 2-D
        positions are normalised with the bad channels included, so a sensor keeps its
        position whichever channels are bad.
    proj : bool
        Apply the SSP projectors the file carries (as MNE's Epochs do by default).

    Returns
    -------
    recording : Recording
        ``data`` of shape (n_channels, n_times) in SI units.

    Examples
    --------
    >>> import mne
    >>> import numpy as np
    >>> from neurodecode.io import read_meeg
    >>> info = mne.create_info(["EEG1", "EEG2", "STI"], 100.0, ["eeg", "eeg", "stim"])
    >>> data = np.zeros((3, 1000))
    >>> data[2, [100, 500]] = 1
    >>> rec = read_meeg(mne.io.RawArray(data, info, verbose="error"), event_id={"tone": 1})
    >>> rec.n_channels, rec.sfreq, rec.events["onset"].tolist()
    (2, 100.0, [1.0, 5.0])
    """
    runs = None
    if isinstance(source, (mne.BaseEpochs, mne.Evoked)):
        raw, table, runs = _from_averaged_or_epochs(source, kind=kind)
        tsv = None
    else:
        raw, tsv = _open_raw(source, preload=preload)
        table = _read_events(raw, events, event_id, tsv, kind=kind, stim_channel=stim_channel)
    check_within(table, raw.n_times / raw.info["sfreq"], source="events")
    check_picks(picks, raw.info)
    raw_picked = raw.copy().pick(picks if picks is not None else "data")
    pos_2d, pos_3d = sensor_positions(raw_picked.info)
    bads = [c for c in raw_picked.info["bads"] if c in raw_picked.ch_names] if exclude_bads else []
    if bads:
        keep = [i for i, c in enumerate(raw_picked.ch_names) if c not in bads]
        logger.info("read_meeg: leaving out %d bad channel(s) %s (info['bads']).", len(bads),
                    bads)
        raw_picked.pick(keep)
        pos_2d = None if pos_2d is None else pos_2d[keep]
        pos_3d = None if pos_3d is None else pos_3d[keep]
    applied: list[str] = []
    if proj and any(not p["active"] for p in raw_picked.info["projs"]):
        applied = [str(p["desc"]) for p in raw_picked.info["projs"]]
        logger.info("read_meeg: applying %d SSP projector(s).", len(applied))
        raw_picked.apply_proj(verbose="error")
    info = raw_picked.info
    # a Raw loaded in memory by the caller may have been filtered: caches hash its data
    unchanged = not (isinstance(source, mne.io.BaseRaw) and source.preload)
    subj = subject or _bids_entity(source, "subject") or _info_subject(info)
    return Recording(
        data_loader=_RawLoader(raw_picked),
        sfreq=float(info["sfreq"]),
        events=table,
        modality="meeg",
        subject=subj,
        session=session or _bids_entity(source, "session"),
        ch_names=list(info["ch_names"]),
        ch_types=list(raw_picked.get_channel_types()),
        pos_2d=pos_2d,
        pos_3d=pos_3d,
        info=info,
        source=_source_path(raw) if unchanged else None,
        source_params={"proj": applied},
        bad_spans=_bad_spans(raw),
        runs=runs,
    )


def _from_averaged_or_epochs(inst: Any, *, kind: str
                             ) -> tuple[mne.io.BaseRaw, pd.DataFrame, np.ndarray]:
    """Epochs or an Evoked as a continuous RawArray, its events table and runs.

    Epochs are laid end to end (one run per epoch); each event sits at its epoch's time 0.
    """
    if isinstance(inst, mne.Evoked):
        data = inst.data[None]
        codes, names = np.array([-1]), [str(inst.comment or "evoked")]
        metadata = None
    else:
        data = inst.get_data(verbose="error")
        codes = inst.events[:, 2].astype(int)
        by_code = {int(v): str(k) for k, v in inst.event_id.items()}
        names = [by_code.get(c, str(c)) for c in codes]
        metadata = inst.metadata
    n_epochs, n_channels, n_times = data.shape
    if n_epochs == 0:
        raise DataFormatError(f"source is an empty {type(inst).__name__} (0 epochs); "
                              "expected at least one epoch.")
    sfreq = float(inst.info["sfreq"])
    raw = mne.io.RawArray(data.transpose(1, 0, 2).reshape(n_channels, -1), inst.info.copy(),
                          verbose="error")
    onsets = np.arange(n_epochs) * n_times / sfreq - float(inst.times[0])
    table = pd.DataFrame({"onset": onsets, "value": codes, "condition": names})
    if metadata is not None:
        extra = metadata.reset_index(drop=True)
        table = pd.concat([table, extra.drop(columns=[c for c in table if c in extra])], axis=1)
    table = normalize_events(table, kind=kind, source=f"{type(inst).__name__} events")
    return raw, table, np.repeat(np.arange(n_epochs), n_times)


def _bad_spans(raw: mne.io.BaseRaw) -> np.ndarray:
    """(start, end) in seconds from the first sample of the ``BAD*`` annotations."""
    ann = raw.annotations
    bad = np.array([str(d).upper().startswith("BAD") for d in ann.description], dtype=bool)
    onset = np.asarray(ann.onset)[bad] - raw.first_time
    return np.stack([onset, onset + np.asarray(ann.duration)[bad]], axis=1).reshape(-1, 2)


class _RawLoader:
    """Loads the data of a Raw on demand; ``get(start, stop)`` reads a slice only."""

    def __init__(self, raw: mne.io.BaseRaw):
        self.raw = raw
        self.n_times = raw.n_times
        self.shape = (len(raw.ch_names), raw.n_times)

    def __call__(self) -> np.ndarray:
        return self.raw.get_data()

    def get(self, start: int, stop: int) -> np.ndarray:
        return self.raw.get_data(start=start, stop=stop)


def _open_raw(source: Any, *, preload: bool) -> tuple[mne.io.BaseRaw, Path | None]:
    if isinstance(source, mne.io.BaseRaw):
        return source, None
    if type(source).__name__ == "BIDSPath":
        return _open_bids(source)
    if not isinstance(source, (str, Path)):
        raise TypeError(
            "source must be a path, an mne.io.Raw or an mne_bids.BIDSPath; "
            f"got {type(source).__name__}."
        )
    path = Path(source)
    if not path.exists():
        raise DataNotFoundError(f"source {str(path)!r} does not exist.")
    try:
        return mne.io.read_raw(path, preload=preload, verbose="error"), None
    except Exception as err:  # MNE raises many types for unreadable files
        raise DataFormatError(
            f"source {str(path)!r} could not be read by MNE ({type(err).__name__}: {err}). "
            "Expected a file format supported by mne.io.read_raw (FIF, EDF, BrainVision, "
            "CTF, KIT, BDF, EEGLAB, ...)."
        ) from err


def _open_bids(bids_path: Any) -> tuple[mne.io.BaseRaw, Path | None]:
    import mne_bids

    if bids_path.fpath is None or not Path(bids_path.fpath).exists():
        raise DataNotFoundError(f"source {str(bids_path)!r}: no such BIDS recording on disk.")
    raw = mne_bids.read_raw_bids(bids_path, verbose="error")
    tsv = Path(bids_path.copy().update(suffix="events", extension=".tsv").fpath)
    return raw, (tsv if tsv.is_file() else None)


def _read_events(raw: mne.io.BaseRaw, events: Any, event_id, tsv: Path | None, *,
                 kind: str, stim_channel: str | None) -> pd.DataFrame:
    sfreq = raw.info["sfreq"]
    if isinstance(events, pd.DataFrame):
        return normalize_events(events, kind=kind, source="events table")
    if isinstance(events, (str, Path)) and not str(events).endswith(_FIF_EVENTS):
        return read_events_tsv(events, kind=kind)
    if isinstance(events, (str, Path)):
        events = _read_fif_events(Path(events))
    if events is not None:
        events = np.asarray(events)
        if events.ndim == 2 and events.shape[1] == 3:  # else events_from_array says why
            check_event_id(event_id, events[:, 2], "events")
        return events_from_array(events, sfreq, first_samp=raw.first_samp,
                                 event_id=event_id, kind=kind)
    if tsv is not None:
        return read_events_tsv(tsv, kind=kind)
    if stim_channel is not None or "stim" in raw.get_channel_types():
        found = mne.find_events(raw, stim_channel=stim_channel, shortest_event=1,
                                verbose="error")
        if len(found) or stim_channel is not None or not len(raw.annotations):
            check_event_id(event_id, found[:, 2], "the stim channel")
            return events_from_array(found, sfreq, first_samp=raw.first_samp,
                                     event_id=event_id, kind=kind)
        logger.info("read_meeg: the stim channel holds no event; reading the annotations.")
    return _events_from_annotations(raw, kind, event_id)


def _events_from_annotations(raw: mne.io.BaseRaw, kind: str,
                             event_id: Mapping[str, int] | None = None) -> pd.DataFrame:
    """Events of the annotations, without the ``BAD``/``EDGE`` spans (as MNE's
    ``events_from_annotations``); with ``event_id``, only its descriptions, valued."""
    ann = raw.annotations  # MNE stores onsets including the first sample's time
    table = pd.DataFrame({"onset": ann.onset - raw.first_time, "duration": ann.duration,
                          "condition": ann.description})
    marks = table["condition"].str.upper().str.startswith(("BAD", "EDGE"))
    table = table[~marks]
    if event_id is not None:
        missing = sorted(set(event_id) - set(table["condition"]))
        if missing:
            raise AlignmentError(
                f"event_id names {missing} that no annotation carries; the annotations "
                f"have descriptions {sorted(set(table['condition']))[:30]}.")
        table = table[table["condition"].isin(list(event_id))]
        table = table.assign(value=table["condition"].map(dict(event_id)))
    return normalize_events(table.sort_values("onset", kind="stable"), kind=kind,
                            source="annotations")


_FIF_EVENTS = (".fif", ".fif.gz", ".eve")


def _read_fif_events(path: Path) -> np.ndarray:
    """An MNE events file (``*-eve.fif``) as an events array of shape (n_events, 3)."""
    if not path.is_file():
        raise DataNotFoundError(f"events file {str(path)!r} does not exist.")
    try:
        return mne.read_events(path, verbose="error")
    except Exception as err:  # noqa: BLE001  MNE raises many types for unreadable files
        raise DataFormatError(
            f"events file {str(path)!r} could not be read by mne.read_events "
            f"({type(err).__name__}: {err}); expected an MNE events file (*-eve.fif)."
        ) from err


def check_picks(picks: Any, info: mne.Info) -> None:
    """Raise ``ValueError`` for a name in ``picks`` that is neither a channel of ``info``
    nor an MNE channel type, or for picks that select no channel at all."""
    if picks is None:
        return
    from mne._fiff.pick import get_channel_type_constants

    wanted = [picks] if isinstance(picks, str) else list(picks)
    known = set(get_channel_type_constants()) | {"meg", "data", "all", "data_or_ica"}
    names = [p for p in wanted if isinstance(p, str)]
    unknown = [p for p in names if p not in info["ch_names"] and p not in known]
    types = sorted(set(info.get_channel_types()))
    selects = any(p in info["ch_names"] or p in types or p in ("data", "all")
                  or (p == "meg" and {"mag", "grad"} & set(types)) for p in names)
    if unknown or (names and not selects):
        raise ValueError(
            f"picks {unknown or names} match no channel name or type of this recording; its "
            f"channel types are {types} and its channels include {info['ch_names'][:8]} "
            f"({len(info['ch_names'])} in all).")


def check_event_id(event_id: Mapping[str, int] | None, codes: Any, where: str) -> None:
    """Raise ``AlignmentError`` when a code of ``event_id`` is absent from ``codes``."""
    if not event_id:
        return
    present = sorted({int(c) for c in np.asarray(codes).ravel()})
    missing = {k: v for k, v in event_id.items() if int(v) not in present}
    if missing:
        raise AlignmentError(
            f"event_id entries {missing} match no event in {where}; the codes present are "
            f"{present}. Use codes among them (e.g. event_id={{'name': {present[0] if present else 1}}})."
        )


def _bids_entity(source: Any, name: str) -> str | None:
    return getattr(source, name, None) if type(source).__name__ == "BIDSPath" else None


def _info_subject(info: mne.Info) -> str:
    subj = info.get("subject_info") or {}
    return str(subj.get("his_id") or subj.get("id") or "01")


def _source_path(raw: mne.io.BaseRaw) -> str | None:
    names = getattr(raw, "filenames", None) or []
    return str(names[0]) if names and names[0] is not None else None


__all__ = ["DEFAULT_PICKS", "check_event_id", "check_picks", "read_meeg", "sensor_positions"]
