"""Time-resolved RSA on planted synthetic trials and on the MNE sample MEG recording."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from scipy.spatial.distance import pdist

from neurodecode.rsa import compare_rdms, compute_rdm, rsa_timecourse

CATEGORY = np.array([0, 0, 0, 1, 1, 1])
MODEL = pdist(CATEGORY[:, None], "hamming")  # 0 within, 1 between categories


def _trials(rng, n_subjects=1, onset=20, offset=30):
    data, labels = [], []
    for _ in range(n_subjects):
        centres = rng.standard_normal((2, 16))
        y = np.repeat(np.arange(6), 8)
        x = rng.standard_normal((len(y), 16, 50))
        x[:, :, onset:offset] += 1.5 * centres[CATEGORY[y]][:, :, None]
        data.append(x)
        labels.append(y)
    return data, labels


def test_planted_window_is_found(rng):
    (x,), (y,) = _trials(rng)
    res = rsa_timecourse(x, y, {"category": MODEL}, sfreq=100.0, tmin=-0.2)
    assert res.similarity.shape == (1, 50, 1)
    t_peak, value = res.peak("category")
    assert 0.0 <= t_peak < 0.1 and value > 0.5  # samples 20..29 -> 0.0..0.09 s
    assert np.abs(res.similarity[0, :15, 0]).mean() < 0.35
    # exactly the per-time RDM + comparison
    means = np.stack([x[y == c].mean(0) for c in range(6)])
    t = 25
    expected = compare_rdms(compute_rdm(means[:, :, t]), MODEL)
    assert np.isclose(res.similarity[0, t, 0], expected)


def test_sliding_window_and_generalization(rng):
    (x,), (y,) = _trials(rng)
    res = rsa_timecourse(x, y, MODEL, window=5, step=2, generalization=True, sfreq=100.0)
    assert res.similarity.shape == (1, 23, 1)
    assert np.isclose(res.times[0], 0.02)  # centre of the first 5-sample window
    gen = res.generalization[0]
    assert gen.shape == (23, 23)
    np.testing.assert_allclose(gen, gen.T, atol=1e-12)
    inside = np.arange(23)[(res.times >= 0.22) & (res.times <= 0.26)]
    outside = np.arange(23)[res.times < 0.12]
    # RDMs of the planted window generalise to each other, not to the baseline
    assert gen[np.ix_(inside, inside)].mean() > gen[np.ix_(inside, outside)].mean() + 0.3


def test_subjects_and_group_statistics(rng):
    data, labels = _trials(rng, n_subjects=4)
    res = rsa_timecourse(data, labels, {"category": MODEL}, method="pearson")
    assert res.similarity.shape == (4, 50, 1)
    assert res.group_p[25, 0] < 0.01 and res.group_p[5, 0] > 0.01
    np.testing.assert_allclose(res.group_mean, res.similarity.mean(0))


def test_segments_duck_type(rng):
    (x,), (y,) = _trials(rng)
    seg = SimpleNamespace(
        brain=x.astype(np.float32), meta=pd.DataFrame({"condition": y}), sfreq=100.0, tmin=-0.2
    )
    res = rsa_timecourse(seg, model_rdms=MODEL)
    ref = rsa_timecourse(x, y, MODEL, sfreq=100.0, tmin=-0.2)
    np.testing.assert_allclose(res.similarity, ref.similarity, atol=1e-5)
    np.testing.assert_allclose(res.times, ref.times)


def test_errors(rng):
    (x,), (y,) = _trials(rng)
    with pytest.raises(ValueError, match=r"condition\(s\) \[7\] have no trials"):
        rsa_timecourse(x, y, MODEL, condition_order=[0, 1, 2, 3, 4, 7])
    with pytest.raises(ValueError, match="at least 3 conditions"):
        rsa_timecourse(x[:16], y[:16], pdist(np.ones((2, 1))))
    bad = x.copy()
    bad[3, 2, 1] = np.nan
    with pytest.raises(ValueError, match="data contains 1 NaN.*trial 3, channel 2, time 1"):
        rsa_timecourse(bad, y, MODEL)
    with pytest.raises(ValueError, match="model_rdms describe 4 conditions"):
        rsa_timecourse(x, y, np.ones(6))
    with pytest.raises(ValueError, match="model_rdms must be condensed RDMs"):
        rsa_timecourse(x, y, np.ones(7))
    with pytest.raises(ValueError, match="model_rdms must all be condensed RDMs of one length"):
        rsa_timecourse(x, y, {"a": np.ones(15), "b": np.ones((6, 6))})
    with pytest.raises(ValueError, match="conditions must have one label per trial"):
        rsa_timecourse(x, y[:-1], MODEL)
    with pytest.raises(ValueError, match="data must have shape"):
        rsa_timecourse(x[0], y, MODEL)
    with pytest.raises(ValueError, match="conditions is required"):
        rsa_timecourse(x, None, MODEL)
    with pytest.raises(ValueError, match="model_rdms is required"):
        rsa_timecourse(x, y)
    with pytest.raises(ValueError, match="metric='crossnobis' is not valid"):
        rsa_timecourse(x, y, MODEL, metric="crossnobis")
    with pytest.raises(ValueError, match=r"tmin=-0.2 \(seconds\) needs sfreq"):
        rsa_timecourse(x, y, MODEL, tmin=-0.2)
    with pytest.raises(ValueError, match="window must be a whole number of samples; got 2.5"):
        rsa_timecourse(x, y, MODEL, window=2.5)
    keep = y != 5  # subject 1 has no trial of condition 5
    with pytest.raises(ValueError, match=r"subject 1: condition\(s\) \[5\] have no trials"):
        rsa_timecourse([x, x[keep]], [y, y[keep]], MODEL)
    with pytest.raises(ValueError, match="subject 1 has 20 time samples; subject 0 has"):
        rsa_timecourse([x, x[..., :20]], [y, y], MODEL)
    with pytest.raises(ValueError, match="must be a list of the same length"):
        rsa_timecourse([x, x], y, MODEL)
    with pytest.raises(ValueError, match="window=60 exceeds"):
        rsa_timecourse(x, y, MODEL, window=60)
    with pytest.raises(ValueError, match="window must be a finite number > 0"):
        rsa_timecourse(x, y, MODEL, window=0)


def read_sample_epochs(root):
    """Epochs of the 4 auditory/visual conditions, MEG channels, 1-30 Hz, -0.2..0.5 s."""
    import mne

    raw = mne.io.read_raw_fif(root / "meg_sample_crop" / "test_raw.fif", preload=True, verbose=False)
    events = mne.find_events(raw, "STI 014", verbose=False)
    raw.filter(1.0, 30.0, verbose=False)
    return mne.Epochs(
        raw, events, event_id=[1, 2, 3, 4], tmin=-0.2, tmax=0.5, picks="meg",
        baseline=(None, 0), preload=True, verbose=False,
    )


# pairs (1,2) (1,3) (1,4) (2,3) (2,4) (3,4): auditory = {1, 2}, visual = {3, 4}
AUDITORY_VS_VISUAL = np.array([0.0, 1.0, 1.0, 1.0, 1.0, 0.0])


@pytest.mark.realdata
def test_meg_sample_peaks_after_onset(data_root):
    epochs = read_sample_epochs(data_root)
    res = rsa_timecourse(
        epochs.get_data(), epochs.events[:, 2], {"auditory_vs_visual": AUDITORY_VS_VISUAL},
        method="pearson", sfreq=epochs.info["sfreq"], tmin=epochs.tmin,
    )
    latency, value = res.peak("auditory_vs_visual")
    print(f"MEG sample: peak auditory-vs-visual similarity r={value:.3f} at {latency * 1e3:.0f} ms")
    assert 0.05 <= latency <= 0.3
    assert value > 0.9
    baseline = res.group_mean[res.times < 0, 0]
    assert value > baseline.max()


def test_a_flat_window_changes_no_other_window(rng):
    """Issue 16: one condition constant in one window (correlation distances NaN) must
    leave the similarity of every other window as it is without that window."""
    data, labels = _trials(rng)
    x = data[0]
    x[labels[0] == 4, :, 33] = 1.0  # condition 4 flat over the channels at t=33
    with pytest.warns(UserWarning, match="constant"):
        res = rsa_timecourse(x, labels[0], MODEL, method="pearson")
    other = rsa_timecourse(x[:, :, :33], labels[0], MODEL, method="pearson")
    np.testing.assert_allclose(res.similarity[0, :33], other.similarity[0], atol=1e-12)
    assert np.isfinite(res.similarity[0, 33]).all()  # the flat window: its own pairs only


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int64])
def test_condition_means_equal_the_stacked_means(rng, dtype):
    """The means summed trial after trial are bit-identical to numpy's mean of each
    condition's trials, and keep its dtype."""
    from neurodecode.rsa.timecourse import condition_means

    x = (10 * rng.standard_normal((40, 5, 7))).astype(dtype)
    labels = rng.integers(0, 4, 40)
    means, order = condition_means(x, labels)
    expected = np.stack([x[labels == c].mean(0) for c in order])
    assert means.dtype == expected.dtype and np.array_equal(means, expected)
    single, _ = condition_means(x[:6], np.arange(6))  # one trial per condition, in order
    expected = np.stack([x[k : k + 1].mean(0) for k in range(6)])
    assert single.dtype == expected.dtype and np.array_equal(single, expected)
    if dtype != np.int64:  # the trials themselves, read-only
        assert not single.flags.writeable and np.shares_memory(single, x)
    shuffled, _ = condition_means(x[:6], np.arange(6)[::-1])
    np.testing.assert_array_equal(shuffled, x[:6][::-1])


def test_streamed_rdms_independent_of_threads_and_layout(rng):
    """The RDMs of a strided time course (chunks taken in turn by the threads) equal
    those of one thread on a contiguous copy, and the time course of means taken as a
    view equals the one of a contiguous copy."""
    data = rng.standard_normal((12, 9, 301))
    view = data.transpose(2, 0, 1)
    one = compute_rdm(np.ascontiguousarray(view), "correlation", n_jobs=1)
    np.testing.assert_array_equal(compute_rdm(view, "correlation", n_jobs=2), one)
    res = rsa_timecourse(data, np.arange(12), pdist(rng.random((12, 1))), step=3)
    np.testing.assert_allclose(res.data_rdms[0], one[::3], rtol=1e-12)


def test_compiled_spearman_equals_the_general_path(rng):
    """compare_rdms' compiled Spearman (rank and compare in one pass) equals the ranks
    times the models of the general path and scipy, with ties, heavy tails (rows the
    counting sort leaves) and a constant RDM (NaN, warned)."""
    import scipy.stats

    from neurodecode.rsa.compare import _blocked_products
    from neurodecode.rsa.methods import METHODS, ranks

    a = rng.random((150, 190))
    a[:40] = np.round(a[:40] * 5)  # ties
    a[40:50] = rng.standard_cauchy((10, 190)) ** 3  # heavy tails
    a[50] = 0.3  # constant
    b = rng.random((3, 190))
    b[1] = np.round(b[1] * 3)
    with pytest.warns(UserWarning, match="1 data RDM"):
        fast = compare_rdms(a, b, "spearman")
    keep = np.ones(190, bool)
    with np.errstate(invalid="ignore", divide="ignore"):
        general = _blocked_products(a, ranks(b), METHODS["spearman"], keep, "float64", 1)
    np.testing.assert_allclose(fast, general, rtol=1e-12, atol=1e-14, equal_nan=True)
    assert np.isnan(fast[50]).all()
    for i in (0, 45, 120):
        rho = [scipy.stats.spearmanr(a[i], m).statistic for m in b]
        np.testing.assert_allclose(fast[i], rho, atol=1e-12)


@pytest.mark.parametrize("metric", ["correlation", "cosine", "euclidean", "sqeuclidean"])
def test_summed_window_grams_equal_the_window_patterns(rng, metric, monkeypatch):
    """Sliding windows from summed per-sample Gram matrices give the RDMs of the windows'
    patterns (channels x samples side by side), patterns far from the origin included;
    a flat sample pattern or a memory cap too small falls back to the patterns."""
    from neurodecode.rsa import timecourse
    from neurodecode.rsa.timecourse import _summed_window_rdms, _windows

    x = 3 * rng.standard_normal((12, 9, 61)) + 5 * rng.standard_normal((12, 1, 61)) + 7
    for window, step in ((2, 1), (5, 2), (7, 7), (61, 1)):
        expected = compute_rdm(_windows(x, window, step), metric)
        summed = _summed_window_rdms(x, window, step, metric)
        np.testing.assert_allclose(summed, expected, rtol=1e-12, atol=1e-12)
        res = rsa_timecourse(x, np.arange(12), pdist(rng.random((12, 1))), metric=metric,
                             window=window, step=step)
        np.testing.assert_allclose(res.data_rdms[0], expected, rtol=1e-12, atol=1e-12)
    flat = x.copy()
    flat[4, :, 20] = 1.0  # condition 4 constant over the channels at one sample
    if metric == "correlation":
        assert _summed_window_rdms(flat, 3, 1, metric) is None
    monkeypatch.setattr(timecourse, "_SUMMED_BYTES", 1.0)
    assert _summed_window_rdms(x, 3, 1, metric) is None
    res = rsa_timecourse(flat, np.arange(12), pdist(rng.random((12, 1))), metric=metric,
                         window=3)
    np.testing.assert_allclose(res.data_rdms[0], compute_rdm(_windows(flat, 3, 1), metric),
                               rtol=1e-12, atol=1e-12)
