"""Results back to MNE (issue 15, item 1): time courses, sensor maps and TRFs as Evoked."""

from __future__ import annotations

import mne
import numpy as np
import pytest

from neurodecode.io.export import info_at, maps_to_evoked, timecourse_to_evoked, write_evokeds


def test_time_course_as_a_misc_evoked_round_trips_through_fif(tmp_path):
    times = np.arange(-0.2, 0.5, 0.01)
    scores = np.linspace(0.4, 1.0, len(times))
    evoked = timecourse_to_evoked(scores, times, "accuracy", comment="decoding", nave=5)
    write_evokeds(tmp_path / "timecourse-ave.fif", [evoked])
    back = mne.read_evokeds(tmp_path / "timecourse-ave.fif", verbose="error")[0]
    assert back.ch_names == ["accuracy"] and back.comment == "decoding" and back.nave == 5
    np.testing.assert_allclose(back.times, times, atol=1e-6)
    np.testing.assert_allclose(back.data[0], scores, rtol=1e-6)
    with pytest.raises(ValueError, match=r"values must have shape \(1, 70\) for names "
                                         r"\['accuracy'\] and 70 times; got \(1, 3\)"):
        timecourse_to_evoked(scores[:3], times, "accuracy")
    with pytest.raises(ValueError, match="times must be regularly spaced"):
        timecourse_to_evoked([1.0, 2.0, 3.0], [0.0, 0.1, 0.5], "x")


def test_sensor_maps_keep_the_channels_and_take_the_analysis_rate():
    info = mne.create_info(["a", "b", "c"], 1000.0, "eeg")
    with info._unlock():
        info["lowpass"] = 400.0
    trf = np.arange(12.0).reshape(3, 4)
    evoked = maps_to_evoked(trf, info, tmin=-0.1, sfreq=100.0, comment="TRF face")
    assert evoked.info["sfreq"] == 100.0 and evoked.info["lowpass"] == 50.0
    np.testing.assert_allclose(evoked.times, [-0.1, -0.09, -0.08, -0.07], atol=1e-9)
    one = maps_to_evoked(np.ones(3), info, tmin=0.09)
    assert one.data.shape == (3, 1) and one.times[0] == pytest.approx(0.09)
    assert info["sfreq"] == 1000.0 and info_at(info, 50.0)["lowpass"] == 25.0  # copies
    with pytest.raises(ValueError, match=r"maps must have shape \(n_channels=3, n_times\); "
                                         r"got \(2, 4\)"):
        maps_to_evoked(np.ones((2, 4)), info, tmin=0.0)
