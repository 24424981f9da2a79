"""One 2-D sensor-position rule for the readers and the models (issue 14)."""

import mne
import numpy as np
import pytest

from neurodecode.io.positions import positions_from_info, sensor_positions
from neurodecode.models import positions_from_info as model_positions

NAMES = ["Fz", "Cz", "Pz", "Oz", "C3", "C4"]


def _info(names=NAMES):
    info = mne.create_info(names, 100.0, "eeg")
    info.set_montage(mne.channels.make_standard_montage("easycap-M1"), on_missing="ignore")
    return info


def test_readers_and_models_see_the_same_positions():
    info = _info()
    pos_2d, pos_3d = sensor_positions(info)
    assert model_positions is positions_from_info
    np.testing.assert_allclose(positions_from_info(info), pos_2d, rtol=1e-6)
    assert pos_2d.dtype == np.float64 and positions_from_info(info).dtype == np.float32
    assert pos_3d.shape == (6, 3) and pos_2d.min() == 0 and pos_2d.max() == 1


def test_a_channel_without_location_is_named():
    info = _info(NAMES + ["XYZ"])  # not in the montage: NaN location
    with pytest.raises(ValueError, match=r"no sensor positions for channels \['XYZ'\].*set_montage"):
        positions_from_info(info)
    np.testing.assert_allclose(positions_from_info(info, picks=[0, 1]),
                               positions_from_info(_info(), picks=[0, 1]), rtol=1e-6)
    assert sensor_positions(info) == (None, None)
