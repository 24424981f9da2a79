"""simulate_meeg: planted kernels, maps, SNR and noise are what the output holds."""

from __future__ import annotations

import mne
import numpy as np
import pytest
import scipy.signal
import scipy.stats
from scipy.ndimage import gaussian_filter1d

from neurodecode.io.recording import EVENT_COLUMNS
from neurodecode.simulate import SENSORS, simulate_meeg

SFREQ = 100.0


def _stimuli(seed: int, n_stimuli: int = 3, n_features: int = 3, seconds: float = 30.0):
    rng = np.random.default_rng(seed)
    n = int(seconds * SFREQ)
    return [gaussian_filter1d(rng.standard_normal((n_features, n)), 2.0, axis=1)
            for _ in range(n_stimuli)]


def _corr(a, b) -> float:
    return float(np.corrcoef(np.ravel(a), np.ravel(b))[0, 1])


@pytest.fixture(scope="module")
def stimuli():
    return _stimuli(0)


@pytest.fixture(scope="module")
def subjects(stimuli):
    return simulate_meeg(stimuli, SFREQ, n_subjects=3, snr=1.0, trf_length=0.3, seed=1,
                         stimulus_ids=["a", "b", "c"], texts=["one", "two", "three"])


def test_shapes_types_and_events(subjects, stimuli):
    sub = subjects[0]
    n_times = sum(s.shape[1] for s in stimuli) + 4 * int(SFREQ)  # 1 s gaps around each
    assert [s.subject for s in subjects] == ["01", "02", "03"]
    assert sub.raw.get_data().shape == (208, n_times)
    assert set(sub.raw.get_channel_types()) == {"mag"}
    truth = sub.ground_truth
    assert truth.kernels.shape == (4, 3, 31)
    assert truth.maps.shape == (208, 4)
    assert truth.sources.shape == (4, n_times)
    assert truth.lags[-1] == pytest.approx(0.3)
    events = sub.events
    assert list(events.columns) == list(EVENT_COLUMNS)
    assert events["onset"].tolist() == [1.0, 32.0, 63.0]
    assert events["duration"].tolist() == [30.0, 30.0, 30.0]
    assert events["block"].tolist() == events["stimulus"].tolist() == ["a", "b", "c"]
    assert events["text"].tolist() == ["one", "two", "three"]
    assert set(events["kind"]) == {"sound"}
    assert list(sub.raw.annotations.description) == ["a", "b", "c"]


def test_drive_is_zero_in_gaps_and_normalised(subjects, stimuli):
    drive = subjects[0].ground_truth.features
    assert np.all(drive[:, :100] == 0) and np.all(drive[:, 3100:3200] == 0)
    joined = np.concatenate(stimuli, axis=1)
    expected = (joined[:, :3000] - joined.mean(1, keepdims=True)) / np.sqrt(
        np.mean((joined - joined.mean(1, keepdims=True)) ** 2))
    np.testing.assert_allclose(drive[:, 100:3100], expected, atol=1e-12)


def test_clean_signal_is_kernels_convolved_and_projected(subjects):
    truth = subjects[1].ground_truth
    x, k = truth.features, truth.kernels
    n_times = x.shape[1]
    direct = np.stack([
        sum(np.convolve(x[f], k[s, f])[:n_times] for f in range(x.shape[0]))
        for s in range(k.shape[0])])
    np.testing.assert_allclose(truth.sources, direct, atol=1e-10)
    np.testing.assert_allclose(truth.signal, truth.maps @ truth.sources, rtol=1e-12,
                               atol=1e-30)
    np.testing.assert_allclose(subjects[1].raw.get_data(), truth.signal + truth.noise,
                               atol=1e-25)


def test_nonlinear_sources_are_a_monotone_rectification(stimuli):
    (sub,) = simulate_meeg(stimuli, SFREQ, response="nonlinear", trf_length=0.3, seed=2)
    truth = sub.ground_truth
    linear = np.stack([sum(np.convolve(truth.features[f], truth.kernels[s, f])
                           [: truth.features.shape[1]] for f in range(3)) for s in range(4)])
    for s in range(4):
        order = np.argsort(linear[s])
        assert np.all(np.diff(truth.sources[s][order]) >= -1e-9)  # monotone increasing
        assert np.corrcoef(linear[s], truth.sources[s])[0, 1] < 0.99  # but not linear
        assert scipy.stats.skew(truth.sources[s]) > 0.3  # rectified: long positive tail


@pytest.mark.parametrize(("kwargs", "expected"), [({"snr": 0.5}, 0.5),
                                                   ({"snr_db": -10.0}, 0.1),
                                                   ({}, 0.1)])
def test_realised_snr_matches_request(stimuli, kwargs, expected):
    (sub,) = simulate_meeg(stimuli[:1], SFREQ, sensors="neuromag306", seed=3, **kwargs)
    truth = sub.ground_truth
    assert truth.snr == pytest.approx(expected)
    realised = truth.realised_snr()
    assert set(realised) == {"mag", "grad"}
    for value in realised.values():
        assert value == pytest.approx(expected, rel=1e-6)
    # signal and noise are independent: raw power = signal + noise power
    data = sub.raw.get_data()
    grads = np.array(sub.raw.get_channel_types()) == "grad"
    ratio = np.sum(np.var(data[grads], 1)) / np.sum(np.var(truth.noise[grads], 1))
    assert ratio == pytest.approx(1 + expected, rel=0.05)


@pytest.mark.parametrize("exponent", [1.0, 2.0])
def test_noise_spectrum_is_one_over_f(stimuli, exponent):
    (sub,) = simulate_meeg(stimuli, SFREQ, noise_exponent=exponent, seed=4)
    freqs, psd = scipy.signal.welch(sub.ground_truth.noise, SFREQ, nperseg=512)
    band = (freqs >= 1) & (freqs <= 40)
    slope = np.polyfit(np.log(freqs[band]), np.log(psd[:, band].mean(0)), 1)[0]
    assert slope == pytest.approx(-exponent, abs=0.15)


def test_noise_covariance_is_spatially_smooth_not_diagonal(subjects):
    sub = subjects[0]
    corr = np.corrcoef(sub.ground_truth.noise)
    pos = np.array([ch["loc"][:3] for ch in sub.raw.info["chs"]])
    dist = np.linalg.norm(pos[:, None] - pos[None], axis=-1)
    off = ~np.eye(len(pos), dtype=bool)
    near, far = off & (dist < 0.03), dist > 0.15
    assert np.abs(corr[off]).mean() > 0.15
    assert corr[near].mean() > 0.5 > np.abs(corr[far]).mean()


def test_subjects_differ_but_are_correlated(subjects):
    truths = [s.ground_truth for s in subjects]
    map_r, kernel_r = [], []
    for a in range(3):
        for b in range(a + 1, 3):
            for s in range(4):
                map_r.append(np.corrcoef(truths[a].maps[:, s], truths[b].maps[:, s])[0, 1])
                kernel_r.append(np.corrcoef(truths[a].kernels[s].ravel(),
                                            truths[b].kernels[s].ravel())[0, 1])
    assert 0.3 < np.mean(map_r) < 0.95 and max(map_r) < 0.999
    assert 0.3 < np.mean(kernel_r) < 0.99 and max(kernel_r) < 0.999
    assert _corr(subjects[0].raw.get_data(), subjects[1].raw.get_data()) < 0.9


def test_no_subject_variability_gives_identical_maps_and_kernels(stimuli):
    subs = simulate_meeg(stimuli[:1], SFREQ, n_subjects=2, subject_variability=0.0, seed=5)
    a, b = (s.ground_truth for s in subs)
    np.testing.assert_allclose(a.maps, b.maps)
    np.testing.assert_allclose(a.kernels, b.kernels)
    assert _corr(a.noise, b.noise) < 0.1


def test_ridge_trf_recovers_planted_kernel_at_high_snr():
    stims = _stimuli(7, n_stimuli=2, seconds=50.0)
    (sub,) = simulate_meeg(stims, SFREQ, snr=10.0, trf_length=0.3, seed=7)
    truth = sub.ground_truth
    x, n_lags = truth.features, truth.lags.size
    lagged = np.concatenate([np.pad(x, ((0, 0), (lag, 0)))[:, : x.shape[1]]
                             for lag in range(n_lags)]).T  # (n_times, n_lags * n_features)
    best = np.argsort(np.var(truth.signal, axis=1))[-10:]
    y = sub.raw.get_data(picks=best).T
    gram = lagged.T @ lagged
    coef = np.linalg.solve(gram + 1e-3 * np.trace(gram) / len(gram) * np.eye(len(gram)),
                           lagged.T @ y)
    fitted = coef.T.reshape(len(best), n_lags, x.shape[0]).transpose(0, 2, 1)
    planted = truth.channel_trf()[best]
    for est, ref in zip(fitted, planted):
        assert np.corrcoef(est.ravel(), ref.ravel())[0, 1] > 0.95


def test_same_seed_same_output_different_seed_differs(stimuli):
    a = simulate_meeg(stimuli[:1], SFREQ, n_subjects=2, seed=11)
    b = simulate_meeg(stimuli[:1], SFREQ, n_subjects=2, seed=11)
    c = simulate_meeg(stimuli[:1], SFREQ, n_subjects=2, seed=12)
    for sa, sb, sc in zip(a, b, c):
        np.testing.assert_array_equal(sa.raw.get_data(), sb.raw.get_data())
        np.testing.assert_array_equal(sa.ground_truth.kernels, sb.ground_truth.kernels)
        assert _corr(sa.raw.get_data(), sc.raw.get_data()) < 0.9
        assert _corr(sa.ground_truth.maps, sc.ground_truth.maps) < 0.9


@pytest.mark.parametrize("sensors", sorted(SENSORS))
def test_every_sensor_set_goes_through_mne(sensors):
    stim = _stimuli(8, n_stimuli=1, seconds=3.0)
    (sub,) = simulate_meeg(stim, SFREQ, sensors=sensors, trf_length=0.2, seed=8)
    raw = sub.raw
    assert raw.get_data().shape[0] == len(raw.ch_names) == sub.ground_truth.maps.shape[0]
    assert np.isfinite(raw.get_data()).all()
    from mne.channels.layout import _find_topomap_coords

    pos2d = _find_topomap_coords(raw.info, picks=None, ignore_overlap=True)
    assert pos2d.shape == (len(raw.ch_names), 2)
    if sensors.startswith("eeg"):
        assert set(raw.get_channel_types()) == {"eeg"}
        assert raw.get_montage() is not None
    else:
        source, layout_name, _ = SENSORS[sensors]
        assert mne.find_layout(raw.info).kind == layout_name
        ref = mne.channels.read_layout(layout_name).pos[:, :2]
        for axis in range(2):  # MNE's projection gives back the layout's arrangement
            assert np.corrcoef(pos2d[:, axis], ref[:, axis])[0, 1] > 0.99


def test_read_meeg_and_fif_roundtrip(subjects, tmp_path):
    sub = subjects[0]
    rec = sub.to_recording()
    assert rec.data.shape == sub.raw.get_data().shape
    assert rec.subject == "01" and rec.pos_2d.shape == (208, 2)
    assert rec.events["block"].tolist() == ["a", "b", "c"]
    fif = sub.save(tmp_path)
    raw = mne.io.read_raw_fif(fif, preload=True, verbose="error")
    np.testing.assert_allclose(raw.get_data(), sub.raw.get_data(), rtol=1e-6)
    assert mne.find_layout(raw.info).kind == "KIT-AD"
    assert (tmp_path / "sub-01_events.tsv").is_file()
