"""Simulated image EEG: protocol, planted image-driven responses, errors."""

from __future__ import annotations

import numpy as np
import pytest

from neurodecode.exceptions import DataFormatError
from neurodecode.simulate.images import generated_images, load_92_images, simulate_image_eeg


def test_protocol_and_planted_response(rng):
    features = rng.standard_normal((6, 5))
    ids = [f"im{k}" for k in range(6)]
    recs, truth = simulate_image_eeg(features, ids, ["im4", "im5"], n_subjects=2,
                                     n_repetitions=2, n_test_repetitions=3, snr_db=20.0, seed=0)
    assert len(recs) == 2 and recs[0].data.shape[0] == 64 and recs[0].pos_2d.shape == (64, 2)
    ev = recs[0].events
    counts = ev.groupby("stimulus").size().to_dict()
    assert counts == {"im0": 2, "im1": 2, "im2": 2, "im3": 2, "im4": 3, "im5": 3}
    assert set(ev.loc[ev["stimulus"].isin(["im4", "im5"]), "condition"]) == {"test"}
    assert truth.kernels.shape == (16, 50) and truth.projection.shape == (5, 16)
    # At high SNR the evoked responses of two images differ far more than repetitions do.
    data, sfreq = recs[0].data, recs[0].sfreq
    def evoked(image):
        onsets = ev.loc[ev["stimulus"] == image, "onset"].to_numpy()
        return np.stack([data[:, int(o * sfreq): int(o * sfreq) + 40] for o in onsets])
    a, b = evoked("im0"), evoked("im1")
    assert np.abs(a[0] - a[1]).mean() < 0.5 * np.abs(a.mean(0) - b.mean(0)).mean()


def test_generated_images_and_errors(rng, tmp_path):
    images = generated_images(3, size=16, seed=1)
    assert len(images) == 3 and images[0].shape == (16, 16, 3) and images[0].dtype == np.uint8
    assert not np.array_equal(images[0], images[1])
    with pytest.raises(ValueError, match=r"features must have shape \(n_images=2, n_features\)"):
        simulate_image_eeg(np.zeros((3, 4)), ["a", "b"], ["a"])
    with pytest.raises(ValueError, match=r"test_ids \['z'\] are not in image_ids"):
        simulate_image_eeg(np.zeros((2, 4)), ["a", "b"], ["z"])
    with pytest.raises(DataFormatError, match="cannot read the 92 images from"):
        load_92_images(tmp_path)


@pytest.mark.realdata
def test_the_92_real_images_load(data_root):
    images = load_92_images(data_root / "rsa_92images")
    assert len(images) == 92 and images[0].shape == (175, 175, 3)
