"""Read fMRI runs through nibabel/nilearn into a :class:`~neurodecode.io.recording.Recording`."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import nibabel as nib
import numpy as np
import pandas as pd
from nilearn import image as nimg
from nilearn import signal
from nilearn.maskers import NiftiMasker

from ..exceptions import AlignmentError, DataFormatError, DataNotFoundError
from .events import (
    check_within,
    events_from_labels,
    normalize_events,
    read_events_tsv,
    read_label_file,
)
from .recording import Recording

logger = logging.getLogger("neurodecode")


def read_fmri(bold: Any, *, events: Any, mask: Any = None, tr: float | None = None,
              confounds: Any = None, runs: np.ndarray | None = None, detrend: bool = True,
              standardize: bool = True, high_pass: float | None = None,
              smoothing_fwhm: float | None = None, rest_label: str = "rest",
              subject: str = "01", session: str | None = None) -> Recording:
    """Read BOLD runs, mask them and clean each run; attach events in seconds.

    Parameters
    ----------
    bold : path, NIfTI image, or list of them
        One 4-D image (several runs given by ``runs`` or a label file) or one per run.
    events : DataFrame, path, or list of them (one per run)
        A table with ``onset`` (s) and ``duration``/``condition`` (BIDS ``events.tsv``
        or the output of :func:`~neurodecode.io.events.read_openfmri_onsets`); with one
        per run, onsets are relative to each run's start. A path to a per-volume label
        file (``label run`` per line, e.g. Haxby's attributes) is also accepted; its runs
        are used when ``runs`` is not given.
    mask : path or NIfTI image, optional
        Brain mask; computed from the EPI when ``None``. Must match the BOLD grid.
    tr : float, optional
        Repetition time in seconds; read from the header when ``None``.
    confounds : array, path or list of them, optional
        Confound regressors of shape (n_volumes, n_confounds), one per run when lists.
    runs : array of shape (n_volumes,), optional
        Run index of each volume of a single 4-D image.
    detrend, standardize : bool
        Per-run linear detrending and z-scoring (nilearn.signal.clean).
    high_pass : float, optional
        High-pass cutoff in Hz.
    smoothing_fwhm : float, optional
        Spatial smoothing in mm (nilearn).
    rest_label : str
        The label of rest volumes in a per-volume label file (no event is made for them).
    subject : str
        Subject identifier of the recording.
    session : str or None
        Session identifier.

    Returns
    -------
    recording : Recording
        ``data`` of shape (n_voxels, n_volumes) (channels first, as M/EEG), ``runs`` of
        shape (n_volumes,), the
        fitted ``masker`` and ``pos_3d`` holding voxel centres in mm.

    Examples
    --------
    >>> from neurodecode.io import read_fmri
    >>> rec = read_fmri("sub-01_task-x_bold.nii.gz", events="sub-01_task-x_events.tsv",
    ...                 mask="sub-01_mask.nii.gz")  # doctest: +SKIP
    >>> rec.data.shape  # (n_voxels, n_volumes)  # doctest: +SKIP
    """
    images = _load_runs(bold)
    tr = _repetition_time(images[0], tr)
    lengths = [img.shape[3] for img in images]
    n_volumes = int(sum(lengths))
    label_runs = None
    if isinstance(events, (str, Path)) and _is_label_file(events):
        labels, label_runs = read_label_file(events, n_volumes)
        table = events_from_labels(labels, tr, rest=rest_label, runs=label_runs)
    else:
        table = _events_per_run(events, lengths, tr)
    run_index = _run_index(runs, label_runs, lengths, n_volumes)
    check_within(table, n_volumes * tr, source="events")
    masker = _fit_masker(images[0], mask, smoothing_fwhm)
    data = _clean(images, masker, run_index, confounds, tr, detrend, standardize, high_pass)
    return Recording(
        data_loader=data.T, sfreq=1.0 / tr, events=table, modality="fmri", subject=subject,
        session=session, ch_names=[f"voxel_{i}" for i in range(data.shape[1])],
        ch_types=["voxel"] * data.shape[1], pos_3d=voxel_coordinates(masker),
        runs=run_index, masker=masker,
        source=None,  # cleaned in memory (mask, confounds, detrending): caches hash the data
    )


def _load_runs(bold: Any) -> list[nib.Nifti1Image]:
    items = list(bold) if isinstance(bold, (list, tuple)) else [bold]
    images = []
    for item in items:
        if isinstance(item, (str, Path)) and not Path(item).exists():
            raise DataNotFoundError(f"bold image {str(item)!r} does not exist.")
        img = nimg.load_img(item)
        if img.ndim != 4:
            raise DataFormatError(
                f"bold image {str(item)[:80]!r} has shape {img.shape}; expected a 4-D image "
                "(x, y, z, n_volumes)."
            )
        images.append(img)
    return images


def _repetition_time(img: nib.Nifti1Image, tr: float | None) -> float:
    if tr is not None:
        if not tr > 0:
            raise ValueError(f"tr must be a positive number of seconds; got {tr!r}.")
        return float(tr)
    zooms = img.header.get_zooms()
    header_tr = float(zooms[3]) if len(zooms) > 3 else 0.0
    if header_tr <= 0:
        raise DataFormatError(
            "tr was not given and the image header holds no repetition time "
            f"(pixdim[4]={header_tr}); pass tr=<seconds>."
        )
    unit = img.header.get_xyzt_units()[1]
    return header_tr / 1000.0 if unit == "msec" else header_tr


def _is_label_file(path: Any) -> bool:
    """A per-volume label file (``label run`` lines), not an events table with a header
    naming an ``onset`` column."""
    path = Path(path)
    if path.suffix not in (".txt", ".csv", "") or str(path).endswith("events.tsv"):
        return False
    try:
        with open(path) as handle:
            header = handle.readline().lower()
    except OSError:
        return True  # let the label reader report the missing file
    return "onset" not in header.replace(",", " ").replace("\t", " ").split()


def _events_per_run(events: Any, lengths: Sequence[int], tr: float) -> pd.DataFrame:
    tables = list(events) if isinstance(events, (list, tuple)) else [events]
    if len(tables) not in (1, len(lengths)):
        raise ValueError(
            f"events has {len(tables)} tables for {len(lengths)} runs; expected one table "
            "for all runs or one per run."
        )
    starts = np.r_[0, np.cumsum(lengths)[:-1]] * tr if len(tables) > 1 else [0.0]
    frames = []
    for run, (table, start) in enumerate(zip(tables, starts)):
        df = table if isinstance(table, pd.DataFrame) else read_events_tsv(table, kind="block")
        df = normalize_events(df, kind="block", source=f"events of run {run}")
        if len(tables) > 1:
            check_within(df, lengths[run] * tr, source=f"events of run {run}")
            df = df.assign(onset=df["onset"] + start, block=str(run))
        frames.append(df)
    return pd.concat(frames, ignore_index=True)


def _run_index(runs, label_runs, lengths: Sequence[int], n_volumes: int) -> np.ndarray:
    if runs is not None:
        runs = np.asarray(runs)
        if runs.shape != (n_volumes,):
            raise AlignmentError(
                f"runs has shape {runs.shape}; expected ({n_volumes},), one run per volume."
            )
        return runs
    if label_runs is not None and len(lengths) == 1:
        return label_runs
    return np.repeat(np.arange(len(lengths)), lengths)


def _fit_masker(img: nib.Nifti1Image, mask: Any, smoothing_fwhm: float | None) -> NiftiMasker:
    if mask is not None:
        if isinstance(mask, (str, Path)) and not Path(mask).exists():
            raise DataNotFoundError(f"mask {str(mask)!r} does not exist.")
        mask_img = nimg.load_img(mask)
        same_shape = mask_img.shape[:3] == img.shape[:3]
        if not same_shape or not np.allclose(mask_img.affine, img.affine, atol=1e-3):
            raise AlignmentError(
                f"mask has shape {mask_img.shape[:3]} and affine\n{np.round(mask_img.affine, 3)}"
                f"\nbut bold has shape {img.shape[:3]} and affine\n{np.round(img.affine, 3)}; "
                "expected the same grid. Resample the mask with nilearn.image.resample_to_img."
            )
        mask = mask_img
    masker = NiftiMasker(mask_img=mask, smoothing_fwhm=smoothing_fwhm, standardize=None,
                         detrend=False)
    return masker.fit() if mask is not None else masker.fit(img)


def _clean(images, masker: NiftiMasker, runs: np.ndarray, confounds, tr: float,
           detrend: bool, standardize: bool, high_pass: float | None) -> np.ndarray:
    data = np.concatenate([masker.transform(_finite_in_mask(img, masker, k))
                           for k, img in enumerate(images)]).astype(np.float32)
    conf = _stack_confounds(confounds, data.shape[0])
    std = "zscore_sample" if standardize else None
    cleaned = signal.clean(data, runs=runs, detrend=detrend, standardize=std, confounds=conf,
                           high_pass=high_pass, t_r=tr)
    return np.asarray(cleaned, dtype=np.float32)


def _finite_in_mask(img: nib.Nifti1Image, masker: NiftiMasker, run: int) -> nib.Nifti1Image:
    """``img`` with its data loaded once, or ``DataFormatError`` when a voxel of the mask
    holds NaN or Inf (nilearn would replace them by 0 without a word)."""
    data = np.asarray(img.dataobj, dtype=np.float32)
    if not np.isfinite(data).all():
        bad = ~np.isfinite(data[np.asarray(masker.mask_img_.dataobj) > 0])  # (voxels, volumes)
        if bad.any():
            voxel, volume = (int(i) for i in np.argwhere(bad)[0])
            where = np.round(voxel_coordinates(masker)[voxel], 1).tolist()
            raise DataFormatError(
                f"bold run {run} has {int(bad.any(1).sum())} voxel(s) inside the mask with NaN "
                f"or Inf values ({int(bad.all(1).sum())} of them at every volume); the first "
                f"is voxel {voxel} at {where} mm, volume {volume}. Exclude them from the mask "
                "(e.g. mask & np.isfinite(bold).all(axis=-1)) or interpolate them."
            )
    return nib.Nifti1Image(data, img.affine, img.header)


def _stack_confounds(confounds: Any, n_volumes: int) -> np.ndarray | None:
    if confounds is None:
        return None
    items = confounds if isinstance(confounds, (list, tuple)) else [confounds]
    arrays = [np.loadtxt(c, ndmin=2) if isinstance(c, (str, Path)) else np.asarray(c, float)
              for c in items]
    arrays = [a[:, None] if a.ndim == 1 else a for a in arrays]
    stacked = np.concatenate(arrays)
    if stacked.shape[0] != n_volumes:
        raise AlignmentError(
            f"confounds have {stacked.shape[0]} rows; expected {n_volumes}, one per volume."
        )
    return stacked


def voxel_coordinates(masker: NiftiMasker) -> np.ndarray:
    """World coordinates in mm of the masked voxels, shape (n_voxels, 3)."""
    mask_img = masker.mask_img_
    ijk = np.argwhere(np.asarray(mask_img.dataobj) > 0)
    return nib.affines.apply_affine(mask_img.affine, ijk)


__all__ = ["read_fmri", "voxel_coordinates"]
