"""Band-pass filtering of recordings (MNE FIR)."""

from __future__ import annotations

import numpy as np

from .recording import Recording


def bandpass(recording: Recording, l_freq: float | None, h_freq: float | None) -> Recording:
    """A copy of an M/EEG ``recording`` band-pass filtered (MNE FIR); fMRI is returned as is.

    Parameters
    ----------
    recording : Recording
        The recording.
    l_freq, h_freq : float or None
        Band edges in Hz (None: no high-pass, no low-pass).

    Returns
    -------
    filtered : Recording
        A new recording (the input when there is nothing to filter).
    """
    if recording.modality != "meeg" or (l_freq is None and h_freq is None):
        return recording
    import mne

    data = mne.filter.filter_data(np.asarray(recording.data, np.float64), recording.sfreq,
                                  l_freq, h_freq, verbose="error")
    return recording.with_data(data)  # a new recording, without the source of the old


__all__ = ["bandpass"]
