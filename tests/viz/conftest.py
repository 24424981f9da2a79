"""Fixtures for the figure tests: a real EEG Info, a NIfTI map with a planted blob,
and checks that a saved figure file holds a real (non-blank) picture."""

from __future__ import annotations

import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.image as mpimg  # noqa: E402
import mne  # noqa: E402
import nibabel as nib  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

# MNI coordinates (mm) of the blob planted in the right lateral cortex.
BLOB_MNI = np.array([52.0, -20.0, 20.0])


@pytest.fixture(scope="session")
def eeg_info() -> mne.Info:
    """64-channel BioSemi EEG Info with standard positions."""
    montage = mne.channels.make_standard_montage("biosemi64")
    info = mne.create_info(montage.ch_names, 256.0, "eeg")
    info.set_montage(montage)
    return info


@pytest.fixture(scope="session")
def blob_mni() -> np.ndarray:
    """MNI coordinates (mm) of the blob planted in ``blob_img``."""
    return BLOB_MNI.copy()


@pytest.fixture(scope="session")
def blob_img() -> nib.Nifti1Image:
    """A 4 mm MNI volume, 0 everywhere except a Gaussian blob (peak 5) at BLOB_MNI."""
    from nilearn import datasets

    template = datasets.load_mni152_template(resolution=4)
    ijk = np.indices(template.shape).reshape(3, -1).T
    xyz = nib.affines.apply_affine(template.affine, ijk)
    dist2 = ((xyz - BLOB_MNI) ** 2).sum(axis=1)
    data = (5.0 * np.exp(-dist2 / (2 * 6.0**2))).reshape(template.shape)
    data[data < 0.05] = 0.0
    return nib.Nifti1Image(data.astype(np.float32), template.affine)


def _check_png(path: Path, min_bytes: int) -> np.ndarray:
    img = mpimg.imread(path)
    assert img.ndim == 3 and img.shape[0] > 100 and img.shape[1] > 100, img.shape
    rgb = img[..., :3]
    assert rgb.std() > 0.05, f"{path.name} looks blank (pixel std {rgb.std():.4f})"
    inked = (rgb.mean(axis=2) < 0.9).mean()
    assert inked > 0.02, f"{path.name} has only {inked:.2%} non-white pixels"
    return img


def _check_svg(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert "<svg" in text
    n_shapes = len(re.findall(r"<(?:path|image|use)\b", text))
    assert n_shapes > 20, f"{path.name} holds only {n_shapes} drawn elements"


def _check_pdf(path: Path) -> None:
    raw = path.read_bytes()
    assert raw.startswith(b"%PDF-")
    assert b"/Type /Page" in raw and raw.rstrip().endswith(b"%%EOF")


@pytest.fixture
def check_file():
    """Check a saved figure: size and a non-blank picture; returns the PNG pixels."""

    def check(path: Path, min_bytes: int = 5_000):
        path = Path(path)
        assert path.is_file(), f"{path} was not written"
        size = path.stat().st_size
        assert size >= min_bytes, f"{path.name} is only {size} bytes"
        suffix = path.suffix.lower()
        if suffix == ".png":
            return _check_png(path, min_bytes)
        if suffix == ".svg":
            return _check_svg(path)
        return _check_pdf(path)

    return check


@pytest.fixture
def n_colorbars():
    """Count the colour-bar axes of a figure: matplotlib's (labelled ``<colorbar>``) and
    nilearn's (a thin, tall axes holding no image)."""

    def is_cbar(ax) -> bool:
        _, _, width, height = ax.get_position().bounds
        thin = width < 0.06 and height > 0.5 and not ax.images
        return ax.get_label() == "<colorbar>" or thin

    return lambda fig: sum(is_cbar(ax) for ax in fig.axes)
