"""The ``Recording``: brain data, its events and its geometry, for one subject and session."""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

#: Columns of ``Recording.events`` and their meaning.
EVENT_COLUMNS: dict[str, str] = {
    "onset": "float, seconds from the first sample of the recording",
    "duration": "float, seconds (0 for instantaneous events)",
    "kind": "str, one of EVENT_KINDS",
    "condition": "str, the condition or trial type label",
    "stimulus": "str, stimulus identifier or file name ('' when none)",
    "text": "str, the word, phoneme or sentence ('' when none)",
    "block": "str, block / run / story identifier used to split data",
    "value": "int, the numeric event code (-1 when none)",
}

#: Valid values of the ``kind`` column.
EVENT_KINDS = ("word", "phoneme", "sound", "image", "block", "trial")

MODALITIES = ("meeg", "fmri")


@dataclass
class Recording:
    """Brain data of one subject and session with its events and sensor or voxel geometry.

    Parameters
    ----------
    data_loader : array, callable or lazy reader
        The data of shape (n_channels, n_times), a function returning them, or a lazy
        reader (an MNE Raw on disk, an h5py dataset, a memory map) sliced by
        :meth:`get_data`.
    sfreq : float
        Sampling frequency in Hz (``1 / TR`` for fMRI).
    events : DataFrame
        One row per event, columns :data:`EVENT_COLUMNS`, sorted by onset.
    modality : {"meeg", "fmri"}
    subject : str
    session : str or None
    ch_names : list of str
        Channel names (M/EEG) or ``"voxel_<i>"`` (fMRI); length ``n_channels``.
    ch_types : list of str
        MNE channel types (``"mag"``, ``"grad"``, ``"eeg"``, ...) or ``"voxel"``.
    pos_2d : array of shape (n_channels, 2) or None
        2-D sensor positions in [0, 1] (MNE layout or montage projection).
    pos_3d : array of shape (n_channels, 3) or None
        3-D sensor positions in metres (head frame) or voxel centres in mm (world).
    runs : array of shape (n_times,) or None
        Run index of each sample or volume; ``None`` for a single continuous run.
    info : mne.Info or None
        The MNE measurement info (M/EEG), kept for topomaps.
    masker : nilearn NiftiMasker or None
        The fitted masker (fMRI) that maps per-voxel results back to a NIfTI image.
    source : str or None
        Path of the file the data were read from unchanged, with ``source_params``
        (used to key caches); ``None`` when they were changed in memory (a preloaded
        Raw, cleaned fMRI), so that caches hash the data themselves.
    source_params : dict
        How the data were read from ``source`` (e.g. the projectors applied).
    uid : str
        Identity of this recording (random): segments cut from it at different times
        (e.g. two strides) share one timeline when stacked, other recordings do not.
    bad_spans : array of shape (n_spans, 2)
        Start and end, in seconds from the first sample, of spans marked bad (MNE's
        ``BAD_*`` annotations); windows touching them are dropped by ``make_segments``.
    _data : array or None
        The loaded data (internal: leave ``None``; :meth:`with_data` sets it).

    Attributes
    ----------
    data : array of shape (n_channels, n_times)
        One layout for both modalities, channels first: M/EEG data in SI units as in
        MNE, or fMRI data as (n_voxels, n_volumes), voxels as channels (nilearn's
        maskers give the transpose, ``data.T``). For M/EEG read from a file, ``data`` is
        loaded on first access (the file stays on disk until then).
    """

    data_loader: Any
    sfreq: float
    events: pd.DataFrame
    modality: str
    subject: str = "01"
    session: str | None = None
    ch_names: list[str] = field(default_factory=list)
    ch_types: list[str] = field(default_factory=list)
    pos_2d: np.ndarray | None = None
    pos_3d: np.ndarray | None = None
    runs: np.ndarray | None = None
    info: Any = None
    masker: Any = None
    source: str | None = None
    source_params: dict = field(default_factory=dict)
    uid: str = field(default_factory=lambda: uuid.uuid4().hex)
    bad_spans: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))
    _data: np.ndarray | None = field(default=None, repr=False)

    @property
    def data(self) -> np.ndarray:
        """The brain data array, loaded on first access."""
        if self._data is None:
            loaded = self.data_loader() if callable(self.data_loader) else self.data_loader
            self._data = np.asarray(loaded)
        return self._data

    @property
    def n_channels(self) -> int:
        """Number of channels (M/EEG) or voxels (fMRI)."""
        return len(self.ch_names)

    @property
    def n_times(self) -> int:
        """Number of time samples (M/EEG) or volumes (fMRI)."""
        if self._data is not None:
            return int(self._data.shape[1])
        n_times = getattr(self.data_loader, "n_times", None)
        if n_times is not None:
            return int(n_times)
        shape = getattr(self.data_loader, "shape", None)
        if shape is not None:
            return int(shape[1])
        return int(self.data.shape[1])

    @property
    def duration(self) -> float:
        """Length of the recording in seconds."""
        return self.n_times / self.sfreq

    def get_data(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Channels-first slice of samples ``[start, stop)``, shape (n_channels, stop - start).

        Lazy sources (an MNE Raw on disk, an h5py dataset, a memory map) are read for
        that slice only.

        Parameters
        ----------
        start : int
            First sample.
        stop : int or None
            Sample after the last; ``None``: the end.

        Returns
        -------
        data : array of shape (n_channels, stop - start)
            The samples of every channel.
        """
        stop = self.n_times if stop is None else stop
        if self._data is None and hasattr(self.data_loader, "get"):
            return np.asarray(self.data_loader.get(start, stop))
        if self._data is None and not callable(self.data_loader):
            return np.asarray(self.data_loader[:, start:stop])
        return self.data[:, start:stop]

    def channels_first(self) -> np.ndarray:
        """Data as (n_channels, n_times): :attr:`data` itself (one layout).

        Returns
        -------
        data : array of shape (n_channels, n_times)
            :attr:`data`.
        """
        return self.data

    def with_data(self, data: Any) -> Recording:
        """A new recording holding ``data`` in place of this one's (e.g. filtered).

        Events, geometry, runs and identity (``uid``: the same timeline) are kept; the
        ``source`` and ``source_params`` are dropped, because the data no longer are the
        file's: caches then key on the data themselves (a segment cache never returns
        the unfiltered windows of a filtered recording).

        Parameters
        ----------
        data : array of shape (n_channels, n_times)
            The shape of :attr:`data`.

        Returns
        -------
        recording : Recording
            This recording is left unchanged.

        Raises
        ------
        ValueError
            If ``data`` does not have the shape of this recording's data.
        """
        array = np.asarray(data)
        expected = (self.n_channels, self.n_times)
        if self.ch_names and array.shape != expected:
            raise ValueError(f"data must have the shape of this recording's data, {expected}; "
                             f"got {array.shape}.")
        return dataclasses.replace(self, data_loader=array, _data=array, source=None,
                                   source_params={})

    def to_nifti(self, values: np.ndarray):
        """Map per-voxel ``values`` of shape (n_voxels,) or (n_maps, n_voxels) to a NIfTI image.

        Parameters
        ----------
        values : array of shape (n_voxels,) or (n_maps, n_voxels)
            One value (or map) per voxel of the mask.

        Returns
        -------
        image : nibabel.Nifti1Image
            3-D (or 4-D, one volume per map) image on the BOLD grid.
        """
        if self.masker is None:
            raise ValueError(
                "to_nifti needs a Recording read with read_fmri (it keeps the masker); "
                f"this recording has modality={self.modality!r}."
            )
        return self.masker.inverse_transform(np.asarray(values))

    def __repr__(self) -> str:
        return (
            f"Recording(modality={self.modality!r}, subject={self.subject!r}, "
            f"n_channels={self.n_channels}, n_times={self.n_times}, sfreq={self.sfreq:g}, "
            f"n_events={len(self.events)})"
        )


__all__ = ["EVENT_COLUMNS", "EVENT_KINDS", "MODALITIES", "Recording"]
