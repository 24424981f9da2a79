"""Image stimuli stored in an HDF5 file (NSD's ``imgBrick``): ``<file>.hdf5#<index>``."""

from __future__ import annotations

from typing import Any

import h5py
import numpy as np
import pandas as pd
import pytest

from neurodecode.exceptions import DataFormatError, DataNotFoundError
from neurodecode.features import compute_stimulus_features, load_image
from neurodecode.features.base import Feature
from neurodecode.features.image_io import HDF5Image, split_hdf5_stimulus


class MeanColour(Feature):
    """Mean RGB of an image: a model-free image feature (item, 3 values)."""

    name = "mean_colour"
    modality = "image"

    def _compute_one(self, stimulus: Any) -> np.ndarray:
        return load_image(stimulus).reshape(-1, 3).mean(axis=0)


@pytest.fixture
def brick(tmp_path, rng):
    images = rng.integers(0, 255, (5, 12, 10, 3), dtype=np.uint8)
    path = tmp_path / "stim" / "images.hdf5"
    path.parent.mkdir()
    with h5py.File(path, "w") as handle:
        handle.create_dataset("imgBrick", data=images)
        handle.create_dataset("labels", data=np.arange(5))  # not 4-D uint8: ignored
    return path, images


def test_split_hdf5_stimulus():
    assert split_hdf5_stimulus("/a/b/nsd_stimuli.hdf5#12") == ("/a/b/nsd_stimuli.hdf5", 12)
    assert split_hdf5_stimulus("x.H5#0") == ("x.H5", 0)
    for other in ("photo.jpg", "photo.jpg#3", "x.hdf5", "x.hdf5#a", "x.hdf5#-1"):
        assert split_hdf5_stimulus(other) is None


def test_load_image_reads_the_indexed_image(brick):
    path, images = brick
    for index in (0, 3, 4):
        np.testing.assert_array_equal(load_image(f"{path}#{index}"), images[index])
    np.testing.assert_array_equal(load_image(HDF5Image(path, 2, "imgBrick")), images[2])
    h5 = path.with_suffix(".h5")
    path.rename(h5)
    np.testing.assert_array_equal(load_image(h5.parent / f"{h5.name}#1"), images[1])


def test_hdf5_image_errors(brick, tmp_path):
    path, _ = brick
    with pytest.raises(IndexError, match="image index 5 is out of range .* holds 5 images"):
        load_image(f"{path}#5")
    with pytest.raises(DataNotFoundError, match="image file .*gone.hdf5' does not exist"):
        load_image(f"{tmp_path / 'gone.hdf5'}#0")
    with pytest.raises(DataFormatError, match="has no dataset 'nope'"):
        load_image(HDF5Image(path, 0, "nope"))
    with h5py.File(path, "a") as handle:
        handle.create_dataset("more", data=np.zeros((2, 4, 4, 3), np.uint8))
    with pytest.raises(DataFormatError, match=r"exactly one 4-D uint8 dataset .*found \['imgBrick', 'more'\]"):
        load_image(f"{path}#0")
    np.testing.assert_array_equal(load_image(HDF5Image(path, 0, "more")), 0)


def test_compute_stimulus_features_on_hdf5_images(brick, tmp_path):
    path, images = brick
    ids = [f"images.hdf5#{i}" for i in (3, 1, 3)]
    events = pd.DataFrame({"onset": [0.0, 1.0, 2.0], "duration": 1.0, "kind": "image",
                           "stimulus": ids})
    cache = tmp_path / "cache"
    feats = compute_stimulus_features(MeanColour(), events, path.parent, cache=cache)
    assert sorted(feats.values) == ["images.hdf5#1", "images.hdf5#3"]
    for i in (1, 3):
        np.testing.assert_allclose(feats.values[f"images.hdf5#{i}"],
                                   images[i].reshape(-1, 3).mean(0), rtol=1e-6)
    assert len(list((cache / "mean_colour").glob("*.h5"))) == 2  # one entry per image
    again = compute_stimulus_features(MeanColour(), events, path.parent, cache=cache)
    np.testing.assert_array_equal(again.values["images.hdf5#1"], feats.values["images.hdf5#1"])
    # An absolute stimulus (the NSD reader's) ignores the stimulus folder.
    absolute = events.assign(stimulus=[f"{path}#0"] * 3)
    np.testing.assert_allclose(
        compute_stimulus_features(MeanColour(), absolute, tmp_path).values[f"{path}#0"],
        images[0].reshape(-1, 3).mean(0), rtol=1e-6)


def test_compute_stimulus_features_hdf5_errors(brick, tmp_path):
    path, _ = brick
    events = pd.DataFrame({"onset": [0.0], "duration": 1.0, "stimulus": ["missing.hdf5#0"]})
    with pytest.raises(DataNotFoundError, match="stimulus '.*missing.hdf5' .* absent from the stimulus"):
        compute_stimulus_features(MeanColour(), events, path.parent)
    with pytest.raises(IndexError, match="image index 9 is out of range"):
        compute_stimulus_features(MeanColour(), events.assign(stimulus="images.hdf5#9"),
                                  path.parent)
