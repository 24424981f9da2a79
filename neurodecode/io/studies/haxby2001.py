"""Haxby et al. 2001: fMRI of 6 subjects viewing 8 object categories in blocks.

Distributed by PyMVPA (``http://data.pymvpa.org/datasets/haxby2001/``) as one tar.gz per
subject with an ``MD5SUMS`` manifest (the same source as ``nilearn.datasets.fetch_haxby``).
Data card: ``datasets/haxby2001.md``.
"""

from __future__ import annotations

from pathlib import Path

from ..recording import Recording
from .base import Study
from .download import RemoteFile, read_text
from .hosts import Reader, md5sums_files

BASE_URL = "http://data.pymvpa.org/datasets/haxby2001"
SUBJECTS = ("1", "2", "3", "4", "5", "6")
ARCHIVE = "subj{subject}-2010.01.14.tar.gz"
STIMULI = "stimuli-2010.01.14.tar.gz"
TR = 2.5
MASKS = ("mask4_vt", "mask8b_face_vt", "mask8b_house_vt", "mask8_face_vt", "mask8_house_vt")


class Haxby2001(Study):
    """Haxby 2001: 12 runs x 121 volumes per subject, TR 2.5 s, 8 categories + rest."""

    name = "haxby2001"
    modality = "fmri"

    def remote(self, base: str | None = None, *, read: Reader = read_text) -> list[RemoteFile]:
        names = [ARCHIVE.format(subject=s) for s in SUBJECTS] + [STIMULI]
        return md5sums_files(base or BASE_URL, names, read=read)

    def subject_of(self, path: str) -> str | None:
        if path.startswith("subj"):
            return path[4:].split("-")[0].split("/")[0]
        return None

    def subjects(self, root: str | Path) -> list[str]:
        root = self._root(root)
        return sorted(p.name[4:] for p in root.glob("subj*") if p.is_dir())

    def layout(self) -> str:
        return "\n".join([
            "subj<1..6>/bold.nii.gz (4-D, 12 runs x 121 volumes concatenated)",
            "subj<S>/labels.txt (header 'labels chunks'; one 'label run' line per volume)",
            "subj<S>/mask4_vt.nii.gz, mask8b_face_vt.nii.gz, mask8b_house_vt.nii.gz, ...",
            "subj<S>/anat.nii.gz (absent for subject 6)",
            "stimuli/<category>/*.jpg (optional)",
        ])

    def bold_path(self, root: str | Path, subject: str) -> Path:
        """The subject's BOLD image (its mean is the native-space background of maps)."""
        subject = str(subject).removeprefix("subj").removeprefix("sub-")
        return Path(root) / f"subj{subject}" / "bold.nii.gz"

    def read(self, root: str | Path, subject: str, session: str | None = None,
             task: str | None = None, *, mask: str | None = "mask4_vt",
             **kwargs) -> list[Recording]:
        """The subject's 12 runs as one Recording, blocks as events, masked by ``mask``.

        Parameters
        ----------
        mask : str or None
            One of ``MASKS`` (ventral temporal by default) or None for a mask computed
            from the EPI. Other keyword arguments go to :func:`neurodecode.io.read_fmri`.
        """
        from ..fmri import read_fmri

        root = self._root(root)
        subject = str(subject).removeprefix("subj").removeprefix("sub-")
        folder = root / f"subj{subject}"
        bold, labels = folder / "bold.nii.gz", folder / "labels.txt"
        if not (bold.is_file() and labels.is_file()):
            raise self._missing(root, f"subj{subject}/bold.nii.gz and labels.txt")
        mask_path = None
        if mask is not None:
            from ..._validation import check_option

            check_option("mask", mask, MASKS)
            mask_path = folder / f"{mask}.nii.gz"
        recording = read_fmri(bold, events=labels, mask=mask_path, tr=TR,
                              subject=subject, **kwargs)
        stimuli = root / "stimuli"
        if stimuli.is_dir():
            recording.events["stimulus"] = [
                str(stimuli / c) if (stimuli / c).is_dir() else ""
                for c in recording.events["condition"]
            ]
        return [recording]


#: Module-level entry points: ``read(root, subject, session=None, task=None, **kwargs)``
#: returns a list of Recordings, ``layout()`` describes the expected files.
read = Haxby2001().read
layout = Haxby2001().layout


__all__ = ["layout", "read", "BASE_URL", "Haxby2001", "MASKS", "SUBJECTS", "TR"]
