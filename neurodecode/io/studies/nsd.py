"""Natural Scenes Dataset (Allen et al. 2022): 8 participants, 7T fMRI, up to 10,000 COCO images each.

Access needs the NSD Data Access Agreement; the fetcher cannot download it. The reader
takes the single-trial betas (``betas_fithrf_GLMdenoise_RR``, one volume per trial, 750
trials per session) and the behavioural table giving the image of each trial. Data card:
``datasets/nsd.md``.
"""

from __future__ import annotations

from pathlib import Path
from typing import cast

import numpy as np
import pandas as pd

from ...exceptions import DataFormatError
from ..recording import Recording
from .base import Study

MANUAL_STEPS = """Steps:
 1. Fill in the NSD Data Access Agreement at https://naturalscenesdataset.org (terms of use).
 2. Once approved, copy what you need from the AWS bucket s3://natural-scenes-dataset
    (e.g. `aws s3 sync --no-sign-request s3://natural-scenes-dataset/nsddata_betas/ppdata/subj01/func1pt8mm/betas_fithrf_GLMdenoise_RR/ ...`)
    into ROOT/nsd/, keeping the bucket's layout (see the data card)."""
BETAS = "nsddata_betas/ppdata/subj{subject}/func1pt8mm/betas_fithrf_GLMdenoise_RR"
RESPONSES = "nsddata/ppdata/subj{subject}/behav/responses.tsv"
ROI = "nsddata/ppdata/subj{subject}/func1pt8mm/roi/nsdgeneral.nii.gz"
STIMULI = "nsddata_stimuli/stimuli/nsd/nsd_stimuli.hdf5"
EXPDESIGN = "nsddata/experiments/nsd/nsd_expdesign.mat"
#: ``condition`` of the trials showing one of the 1,000 images every subject saw (the
#: test set of MindEye and of the NSD retrieval benchmarks); ``"nsd"`` for the others.
SHARED = "shared"


class Nsd(Study):
    """NSD: 1.8 mm single-trial betas, nsdgeneral mask, 73KID image index per trial."""

    name = "nsd"
    modality = "fmri"
    manual_steps = MANUAL_STEPS

    def subject_of(self, path: str) -> str | None:
        for part in path.split("/"):
            if part.startswith("subj"):
                return part[4:]
        return None

    def subjects(self, root: str | Path) -> list[str]:
        root = self._root(root)
        return sorted(p.name[4:] for p in root.glob("nsddata_betas/ppdata/subj*"))

    def layout(self) -> str:
        return "\n".join([
            BETAS.format(subject="<01..08>") + "/betas_session<01..40>.nii.gz",
            RESPONSES.format(subject="<S>") + " (SUBJECT SESSION RUN TRIAL 73KID ...)",
            ROI.format(subject="<S>") + " (mask: values > 0)",
            STIMULI + " (imgBrick, 73000 x 425 x 425 x 3)",
            EXPDESIGN + " (sharedix: the 1,000 shared 73KIDs -> condition 'shared')",
        ])

    def read(self, root: str | Path, subject: str, session: str | None = None,
             task: str | None = None, *, sessions=None, mask: str | None = "nsdgeneral",
             **kwargs) -> list[Recording]:
        """Single-trial betas of the given sessions as one Recording (one volume per trial).

        Each volume is a trial: ``onset`` is the trial index (``tr`` = 1 s, a convention),
        ``runs`` is the session, ``value`` the 73KID and ``stimulus``
        ``nsd_stimuli.hdf5#<73KID - 1>``, ``condition`` is ``"shared"`` for the 1,000
        shared images (``sharedix`` of ``nsd_expdesign.mat``, when present) and ``"nsd"``
        otherwise. Betas are z-scored per session, not detrended.
        """
        from ..fmri import read_fmri

        root = self._root(root)
        subject = f"{int(str(subject).removeprefix('subj')):02d}"
        wanted = sessions if sessions is not None else (
            [int(session)] if session is not None else None)
        files = sorted((root / BETAS.format(subject=subject)).glob("betas_session*.nii.gz"))
        numbers = [int(f.name[len("betas_session"):].split(".")[0]) for f in files]
        chosen = [(n, f) for n, f in zip(numbers, files) if wanted is None or n in wanted]
        responses = root / RESPONSES.format(subject=subject)
        if not chosen or not responses.is_file():
            raise self._missing(root, f"betas and responses.tsv for subj{subject}")
        table = trial_events(pd.read_csv(responses, sep="\t"), [n for n, _ in chosen], root,
                             shared=shared_images(root))
        roi = root / ROI.format(subject=subject)
        mask_img = _roi_mask(roi) if mask == "nsdgeneral" and roi.is_file() else None
        kwargs = {"detrend": False, "standardize": True, **kwargs}
        return [read_fmri([f for _, f in chosen], events=table, mask=mask_img, tr=1.0,
                          subject=subject, **kwargs)]


def shared_images(root: Path) -> np.ndarray | None:
    """The 73KIDs of the 1,000 shared images (``sharedix``), or None without the file."""
    path = Path(root) / EXPDESIGN
    if not path.is_file():
        return None
    from scipy.io import loadmat

    try:
        return np.asarray(loadmat(path)["sharedix"], dtype=np.int64).ravel()
    except (KeyError, ValueError, OSError) as err:
        raise DataFormatError(f"{path} has no readable 'sharedix' ({err}); expected NSD's "
                              "nsd_expdesign.mat with the 1,000 shared 73KIDs.") from err


def trial_events(responses: pd.DataFrame, sessions: list[int], root: Path,
                 shared: np.ndarray | None = None) -> pd.DataFrame:
    """Trials of ``sessions`` in order, onset = trial index over the sessions."""
    if "73KID" not in responses.columns or "SESSION" not in responses.columns:
        raise DataFormatError(
            f"responses.tsv has columns {list(responses.columns)}; expected SESSION and 73KID."
        )
    rows = responses[responses["SESSION"].isin(sessions)].reset_index(drop=True)
    ids = rows["73KID"].astype(int).to_numpy()
    stimuli = str(root / STIMULI)
    return pd.DataFrame({
        "onset": np.arange(len(rows), dtype=float), "duration": 1.0, "kind": "image",
        "condition": np.where(np.isin(ids, [] if shared is None else shared), SHARED, "nsd"),
        "value": ids, "text": ids.astype(str),
        "stimulus": [f"{stimuli}#{i - 1}" for i in ids],
        "block": rows["SESSION"].astype(str).to_numpy(),
    })


def _roi_mask(path: Path):
    import nibabel as nib
    from nibabel.spatialimages import SpatialImage

    # ROI files are NIfTI volumes; nib.load is only typed as returning FileBasedImage.
    img = cast(SpatialImage, nib.load(path))
    return nib.Nifti1Image((np.asarray(img.dataobj) > 0).astype(np.uint8), img.affine)


#: Module-level entry points: ``read(root, subject, session=None, task=None, **kwargs)``
#: returns a list of Recordings, ``layout()`` describes the expected files.
read = Nsd().read
layout = Nsd().layout


__all__ = ["layout", "read", "MANUAL_STEPS", "SHARED", "Nsd", "shared_images", "trial_events"]
