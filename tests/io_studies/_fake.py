"""Builders of tiny datasets in each public dataset's layout (planted events)."""

from __future__ import annotations

import hashlib
import io
import tarfile
import zipfile
from pathlib import Path

import h5py
import mne
import nibabel as nib
import numpy as np
import pandas as pd


def meg_raw(rng, n_channels=4, sfreq=100.0, seconds=20.0, ch_type="mag") -> mne.io.RawArray:
    names = [f"MEG {i:03d}" for i in range(n_channels)]
    info = mne.create_info(names, sfreq, ch_type)
    raw = mne.io.RawArray(rng.standard_normal((n_channels, int(seconds * sfreq))) * 1e-13,
                          info, verbose="error")
    raw.info["line_freq"] = 50.0
    return raw


def write_bids(raw, root: Path, *, subject, task, session=None, run=None,
               datatype="meg") -> Path:
    """Write ``raw`` as BIDS (FIF) and return the folder holding it."""
    from mne_bids import BIDSPath, write_raw_bids

    path = BIDSPath(root=root, subject=subject, session=session, task=task, run=run,
                    datatype=datatype)
    write_raw_bids(raw, path, format="FIF", allow_preload=True, overwrite=True,
                   verbose="error")
    return path.directory


def events_tsv(folder: Path, stem: str, table: pd.DataFrame) -> Path:
    path = folder / f"{stem}_events.tsv"
    table.to_csv(path, sep="\t", index=False, na_rep="n/a")
    return path


def tar_gz(path: Path, files: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as handle:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            handle.addfile(info, io.BytesIO(data))
    return path


def zip_file(path: Path, files: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as handle:
        for name, data in files.items():
            handle.writestr(name, data)
    return path


def nifti_bytes(data: np.ndarray, affine=None) -> bytes:
    img = nib.Nifti1Image(np.asarray(data), np.eye(4) if affine is None else affine)
    return img.to_bytes() if not hasattr(img, "to_stream") else _gz(img)


def _gz(img) -> bytes:
    import gzip

    return gzip.compress(img.to_bytes())


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def tree_bytes(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def write_nsd(root: Path, rng) -> Path:
    """NSD layout: single-trial betas of 2 sessions, responses.tsv and a small imgBrick."""
    betas = root / "nsddata_betas/ppdata/subj01/func1pt8mm/betas_fithrf_GLMdenoise_RR"
    betas.mkdir(parents=True)
    for session in (1, 2):
        (betas / f"betas_session{session:02d}.nii.gz").write_bytes(
            nifti_bytes(rng.standard_normal((3, 3, 2, 4)).astype(np.float32)))
    behav = root / "nsddata/ppdata/subj01/behav"
    behav.mkdir(parents=True)
    pd.DataFrame({"SUBJECT": 1, "SESSION": [1] * 4 + [2] * 4, "RUN": 1, "TRIAL": range(8),
                  "73KID": [5, 9, 5, 70000, 1, 2, 3, 4]}
                 ).to_csv(behav / "responses.tsv", sep="\t", index=False)
    stimuli = root / "nsddata_stimuli/stimuli/nsd/nsd_stimuli.hdf5"
    stimuli.parent.mkdir(parents=True)
    with h5py.File(stimuli, "w") as handle:  # imgBrick, (73000, 425, 425, 3) in the real file
        brick = handle.create_dataset("imgBrick", (70000, 40, 40, 3), dtype=np.uint8,
                                      chunks=(1, 40, 40, 3))
        for kid in (1, 2, 3, 4, 5, 9, 70000):
            brick[kid - 1] = rng.integers(0, 255, (40, 40, 3), dtype=np.uint8)
    return root
