"""Sensor geometry, smooth random fields and 1/f noise."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.signal

from neurodecode.simulate.noise import NOISE_RMS, pink_noise, sensor_noise
from neurodecode.simulate.sensors import (
    HELMET_RADIUS,
    RandomField,
    make_sensor_array,
    random_rotation,
)


def test_meg_positions_lie_on_the_helmet_with_orthonormal_frames():
    array = make_sensor_array("neuromag306", 100.0)
    assert np.allclose(np.linalg.norm(array.pos, axis=1), HELMET_RADIUS)
    assert array.ch_types.count("grad") == 204 and array.ch_types.count("mag") == 102
    for ch in array.info["chs"]:
        frame = ch["loc"][3:12].reshape(3, 3)
        np.testing.assert_allclose(frame @ frame.T, np.eye(3), atol=1e-12)
    # the two gradiometers of a triplet measure along orthogonal tangent directions
    i2, i3, i1 = (array.ch_names.index(f"MEG011{k}") for k in (2, 3, 1))
    d2, d3 = array.direction[i2], array.direction[i3]
    assert abs(d2 @ d3) < 1e-12 and abs(d2 @ array.pos[i2]) < 1e-12
    np.testing.assert_allclose(array.direction[i1], array.pos[i1] / HELMET_RADIUS)


def test_field_derivative_matches_finite_difference(rng):
    field = RandomField.draw(rng, 0.04, centre=np.array([0.0, 0.08, 0.06]), width=0.05)
    pos = rng.normal(0, 0.05, (20, 3))
    direction = rng.standard_normal((20, 3))
    direction /= np.linalg.norm(direction, axis=1, keepdims=True)
    is_grad = np.ones(20, bool)
    h = 1e-6
    value = lambda p: field.evaluate(p, direction, ~is_grad)  # noqa: E731
    numeric = (value(pos + h * direction) - value(pos - h * direction)) / (2 * h)
    np.testing.assert_allclose(field.evaluate(pos, direction, is_grad), numeric, rtol=1e-5,
                               atol=1e-6)


def test_field_correlation_decays_with_distance(rng):
    pos = np.stack([np.linspace(0, 0.2, 41), np.zeros(41), np.zeros(41)], axis=1)
    values = np.stack([RandomField.draw(rng, 0.04).evaluate(pos, pos, np.zeros(41, bool))
                       for _ in range(400)])
    r_near = np.corrcoef(values[:, 0], values[:, 1])[0, 1]  # 5 mm apart
    r_scale = np.corrcoef(values[:, 0], values[:, 8])[0, 1]  # 4 cm: exp(-1/2) = 0.61
    r_far = np.corrcoef(values[:, 0], values[:, 40])[0, 1]  # 20 cm
    assert r_near > 0.95 and 0.45 < r_scale < 0.75 and abs(r_far) < 0.15


def test_random_rotation_is_a_rotation_of_the_requested_size(rng):
    rot = random_rotation(rng, 10.0)
    np.testing.assert_allclose(rot @ rot.T, np.eye(3), atol=1e-12)
    assert np.linalg.det(rot) == pytest.approx(1.0)
    np.testing.assert_allclose(random_rotation(rng, 0.0), np.eye(3))


@pytest.mark.parametrize("exponent", [0.0, 1.0, 1.5])
def test_pink_noise_slope_and_variance(rng, exponent):
    noise = pink_noise(rng, 8, 20000, 100.0, exponent)
    assert noise.shape == (8, 20000)
    assert np.mean(noise.var(axis=1)) == pytest.approx(1.0, rel=0.1)
    freqs, psd = scipy.signal.welch(noise, 100.0, nperseg=1000)
    band = (freqs >= 1) & (freqs <= 40)
    slope = np.polyfit(np.log(freqs[band]), np.log(psd[:, band].mean(0)), 1)[0]
    assert slope == pytest.approx(-exponent, abs=0.1)


def test_sensor_noise_rms_per_type_and_low_rank_plus_diagonal(rng):
    array = make_sensor_array("neuromag306", 100.0)
    noise = sensor_noise(rng, array, 6000, 100.0, n_noise_sources=10, sensor_fraction=0.1)
    types = np.array(array.ch_types)
    for kind in ("mag", "grad"):
        assert np.sqrt(np.mean(noise[types == kind] ** 2)) == pytest.approx(NOISE_RMS[kind])
    mags = noise[types == "mag"].astype(float)
    eig = np.sort(np.linalg.eigvalsh(np.cov(mags / mags.std(axis=1, keepdims=True))))[::-1]
    assert eig[:10].sum() / eig.sum() > 0.8  # 10 latent sources carry most of the power
    assert eig[-1] > 0.01  # the independent part keeps it full rank
