"""Files to :class:`Recording`: M/EEG through MNE (and mne-bids), fMRI through nibabel/nilearn."""

from .events import (
    condition_impulses,
    events_from_array,
    events_from_labels,
    labels_at_volumes,
    normalize_events,
    read_events_tsv,
    read_label_file,
    read_openfmri_onsets,
)
from .fmri import read_fmri
from .meeg import read_meeg, sensor_positions
from .recording import EVENT_COLUMNS, EVENT_KINDS, Recording

__all__ = [
    "EVENT_COLUMNS",
    "EVENT_KINDS",
    "Recording",
    "condition_impulses",
    "events_from_array",
    "events_from_labels",
    "labels_at_volumes",
    "normalize_events",
    "read_events_tsv",
    "read_fmri",
    "read_label_file",
    "read_meeg",
    "read_openfmri_onsets",
    "sensor_positions",
]
