"""THINGS-EEG2 (Gifford et al. 2022): 10 participants, 64-channel EEG, RSVP of THINGS images.

Raw EEG on OSF (``crxs4``), the image set on OSF (``y63gw``); each session file is a NumPy
pickle of a dict (``raw_eeg_data``, ``ch_names``, ``ch_types``, ``sfreq``) whose ``stim``
channel carries the image number; both are read with a restricted unpickler
(:func:`neurodecode.io._npy.load_npy`), never numpy's unrestricted unpickling. Data card:
``datasets/things_eeg2.md``.
"""

from __future__ import annotations

from pathlib import Path

import mne
import numpy as np
import pandas as pd

from ...exceptions import DataFormatError
from .._npy import load_npy
from ..recording import Recording
from .base import Study
from .download import RemoteFile, read_text
from .hosts import OSF_API, Reader, osf_files

RAW_NODE = "crxs4"
IMAGES_NODE = "y63gw"
CATCH_CODE = 99999
PARTITIONS = {"training": ("train_img_files", "train_img_concepts", "training_images"),
              "test": ("test_img_files", "test_img_concepts", "test_images")}


class ThingsEeg2(Study):
    """THINGS-EEG2: 63 EEG channels + stim, 1000 Hz, 4 sessions per participant."""

    name = "things_eeg2"
    modality = "meeg"

    def remote(self, base: str | None = None, *, read: Reader = read_text) -> list[RemoteFile]:
        base = base or OSF_API
        return (osf_files(RAW_NODE, base=base, read=read, prefix="raw_eeg/")
                + osf_files(IMAGES_NODE, base=base, read=read, prefix="image_set/"))

    def subjects(self, root: str | Path) -> list[str]:
        root = self._root(root)
        return sorted({p.name[4:] for p in root.glob("raw_eeg/**/sub-*") if p.is_dir()})

    def layout(self) -> str:
        return "\n".join([
            "raw_eeg/**/sub-<01..10>/ses-<01..04>/raw_eeg_training.npy, raw_eeg_test.npy",
            "image_set/**/image_metadata.npy (train/test image files and concepts)",
            "image_set/**/training_images/<concept>/<file>.jpg, test_images/<concept>/...",
        ])

    def read(self, root: str | Path, subject: str, session: str | None = None,
             task: str | None = None, **kwargs) -> list[Recording]:
        """One Recording per session and partition (``task`` = "training" or "test")."""
        from ..meeg import read_meeg

        root = self._root(root)
        subject = str(subject).removeprefix("sub-")
        ses = "*" if session is None else f"ses-{session}"
        part = "*" if task is None else task
        files = sorted(root.glob(f"raw_eeg/**/sub-{subject}/{ses}/raw_eeg_{part}.npy"))
        if not files:
            raise self._missing(root, f"raw_eeg_*.npy for subject={subject!r}")
        metadata = _metadata(root)
        recordings = []
        for path in files:
            raw = _raw_from_npy(path)
            partition = path.stem.removeprefix("raw_eeg_")
            events = image_table(raw, partition, metadata, root)
            recordings.append(read_meeg(raw, events=events, subject=subject,
                                        session=path.parent.name.removeprefix("ses-"),
                                        **kwargs))
        return recordings


def _raw_from_npy(path: Path) -> mne.io.RawArray:
    content = load_npy(path)
    try:
        info = mne.create_info(list(content["ch_names"]), float(content["sfreq"]),
                               list(content["ch_types"]))
        raw = mne.io.RawArray(np.asarray(content["raw_eeg_data"]), info, verbose="error")
    except (KeyError, TypeError, IndexError) as err:
        raise DataFormatError(
            f"{path} lacks {err}; expected a dict with raw_eeg_data, ch_names, ch_types, sfreq."
        ) from err
    montage = mne.channels.make_standard_montage("easycap-M1")
    raw.set_montage(montage, on_missing="ignore")
    return raw


def _metadata(root: Path) -> dict | None:
    found = sorted(root.glob("image_set/**/image_metadata.npy"))
    return load_npy(found[0]) if found else None


def image_table(raw: mne.io.BaseRaw, partition: str, metadata: dict | None,
                root: Path) -> pd.DataFrame:
    """Image events from the ``stim`` channel: value = 1-based image number, 99999 = catch."""
    found = mne.find_events(raw, stim_channel="stim", shortest_event=1, verbose="error")
    files_key, concepts_key, folder = PARTITIONS.get(partition, PARTITIONS["training"])
    image_dirs = sorted(root.glob(f"image_set/**/{folder}")) or [root / "image_set" / folder]
    rows = []
    for sample, _, code in found:
        row = {"onset": (sample - raw.first_samp) / raw.info["sfreq"], "kind": "image",
               "value": int(code), "block": partition, "condition": partition,
               "text": "", "stimulus": ""}
        if code == CATCH_CODE:
            row["condition"] = "catch"
        elif metadata is not None and 0 < code <= len(metadata[files_key]):
            concept = str(metadata[concepts_key][code - 1])
            row["text"] = concept
            row["stimulus"] = str(image_dirs[0] / concept / metadata[files_key][code - 1])
        rows.append(row)
    return pd.DataFrame(rows, columns=["onset", "kind", "value", "block", "condition",
                                       "text", "stimulus"])


#: Module-level entry points: ``read(root, subject, session=None, task=None, **kwargs)``
#: returns a list of Recordings, ``layout()`` describes the expected files.
read = ThingsEeg2().read
layout = ThingsEeg2().layout


__all__ = ["layout", "read", "CATCH_CODE", "ThingsEeg2", "image_table"]
