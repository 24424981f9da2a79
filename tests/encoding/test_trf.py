"""TemporalReceptiveField: equality with MNE, planted kernel recovery, errors."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.model_selection import KFold

from neurodecode.encoding import TemporalReceptiveField, lag_matrix, times_to_delays

SFREQ = 100.0


def _simulate(rng, n_trials=6, n_times=400, n_features=3, n_channels=4, tmin=0.0, tmax=0.1,
              noise=0.05):
    delays = times_to_delays(tmin, tmax, SFREQ)
    kernel = rng.standard_normal((n_channels, n_features, len(delays)))
    X = [rng.standard_normal((n_times, n_features)) for _ in range(n_trials)]
    flat = kernel.reshape(n_channels, -1).T
    Y = [lag_matrix(x, delays) @ flat + noise * rng.standard_normal((n_times, n_channels))
         for x in X]
    return X, Y, kernel


@pytest.mark.parametrize("tmin, tmax", [(-0.05, 0.1), (0.02, 0.1)])
def test_equals_mne_receptive_field(rng, tmin, tmax):
    from mne.decoding import ReceptiveField

    X, Y, _ = _simulate(rng, n_trials=3, n_times=200, noise=1.0)
    rf = ReceptiveField(tmin, tmax, SFREQ, estimator=10.0, fit_intercept=True)
    rf.fit(np.stack(X, 1), np.stack(Y, 1) + 2.0)
    ours = TemporalReceptiveField(tmin, tmax, SFREQ, alphas=[10.0]).fit(X, [y + 2.0 for y in Y])
    rel = np.abs(rf.coef_ - ours.coef_).max() / np.abs(rf.coef_).max()
    assert rel < 1e-6
    np.testing.assert_allclose(ours.intercept_, rf.estimator_.intercept_, rtol=1e-6, atol=1e-9)
    pred = np.stack(ours.predict(X), 1)
    np.testing.assert_allclose(pred, rf.predict(np.stack(X, 1)), rtol=1e-6, atol=1e-9)


def test_planted_kernel_recovered_with_cv(rng):
    X, Y, kernel = _simulate(rng)
    trf = TemporalReceptiveField(0.0, 0.1, SFREQ, alphas=np.logspace(-3, 3, 7), cv=3).fit(X, Y)
    assert trf.coef_.shape == kernel.shape
    for ch in range(kernel.shape[0]):
        assert np.corrcoef(trf.coef_[ch].ravel(), kernel[ch].ravel())[0, 1] >= 0.99
    assert trf.cv_scores_.shape == (7, 4)
    assert np.all(trf.score_targets(X, Y, metric="r") > 0.95)
    assert trf.score(X, Y) > 0.9
    single = trf.predict(X[0])
    assert isinstance(single, np.ndarray) and single.shape == Y[0].shape
    with pytest.raises(ValueError, match=r"sample_weight is not supported.*shape \(3,\)\); pass None"):
        trf.score(X, Y, sample_weight=np.ones(3))


def test_backward_model_reconstructs_stimulus(rng):
    n_times, delays = 600, times_to_delays(0.0, 0.05, SFREQ)
    stim = [rng.standard_normal((n_times, 1)) for _ in range(4)]
    mixing = rng.standard_normal((len(delays), 8))
    resp = [lag_matrix(s, delays) @ mixing + 0.1 * rng.standard_normal((n_times, 8))
            for s in stim]
    back = TemporalReceptiveField(0.0, 0.05, SFREQ, alphas=[1e-2, 1.0, 100.0],
                                  direction="backward", cv=2).fit(stim, resp)
    assert back.coef_.shape == (1, 8, len(delays))
    assert back.score_targets(resp, stim, metric="r")[0] > 0.95


def test_zero_variance_channel_scores_zero(rng):
    X, Y, _ = _simulate(rng, n_trials=3, n_times=150)
    for y in Y:
        y[:, 1] = 3.0
    with pytest.warns(UserWarning, match="zero variance"):
        trf = TemporalReceptiveField(0.0, 0.1, SFREQ, alphas=[1.0]).fit(X, Y)
    assert np.all(trf.coef_[1] == 0)
    with pytest.warns(UserWarning, match="zero variance"):
        assert trf.score_targets(X, Y)[1] == 0


def test_bad_inputs(rng):
    X, Y, _ = _simulate(rng, n_trials=2, n_times=50)
    with pytest.raises(ValueError, match="tmin must be <= tmax"):
        TemporalReceptiveField(0.2, 0.1, SFREQ).fit(X, Y)
    with pytest.raises(ValueError, match="delays reach 60 samples"):
        TemporalReceptiveField(0.0, 0.6, SFREQ, alphas=[1.0]).fit(X, Y)
    with pytest.raises(ValueError, match="same length"):
        TemporalReceptiveField(0.0, 0.1, SFREQ).fit(X, [Y[0], Y[1][:-1]])
    with pytest.raises(ValueError, match="same number of trials"):
        TemporalReceptiveField(0.0, 0.1, SFREQ).fit(X, Y[:1])
    with pytest.raises(ValueError, match="need 2 <= cv <= n_trials"):
        TemporalReceptiveField(0.0, 0.1, SFREQ, cv=5).fit(X, Y)
    with pytest.raises(TypeError, match="cv must be an int or a splitter"):
        TemporalReceptiveField(0.0, 0.1, SFREQ, cv="x").fit(X, Y)
    with pytest.raises(ValueError, match="direction='sideways' is not valid"):
        TemporalReceptiveField(0.0, 0.1, SFREQ, direction="sideways").fit(X, Y)
    with pytest.raises(ValueError, match="finite and > 0"):
        TemporalReceptiveField(0.0, 0.1, SFREQ, alphas=[-1.0]).fit(X, Y)
    with pytest.raises(ValueError, match="sfreq must be a finite number > 0"):
        TemporalReceptiveField(0.0, 0.1, 0.0).fit(X, Y)
    bad = [x.copy() for x in X]
    bad[1][3, 0] = np.nan
    with pytest.raises(ValueError, match=r"X\[1\] contains 1 NaN or Inf"):
        TemporalReceptiveField(0.0, 0.1, SFREQ).fit(bad, Y)
    with pytest.raises(ValueError, match="at least one trial"):
        TemporalReceptiveField(0.0, 0.1, SFREQ).fit([], [])
    with pytest.raises(ValueError, match="same number of columns"):
        TemporalReceptiveField(0.0, 0.1, SFREQ).fit([X[0], X[1][:, :2]], Y)
    with pytest.raises(ValueError, match=r"must have shape \(n_times, n_features\)"):
        TemporalReceptiveField(0.0, 0.1, SFREQ).fit([np.zeros((5, 2, 2))], Y[:1])
    with pytest.raises(ValueError, match=r"stream=True needs no more lagged columns \(3 inputs x "
                       r"11 delays = 33\) than training samples per fold \(20\)"):
        TemporalReceptiveField(0.0, 0.1, SFREQ, alphas=[1.0, 2.0], cv=2, stream=True).fit(
            [x[:20] for x in X[:2]], [y[:20] for y in Y[:2]])
    trf = TemporalReceptiveField(0.0, 0.1, SFREQ, alphas=[1.0]).fit(X, Y)
    with pytest.raises(ValueError, match="X must have 3 columns"):
        trf.predict([X[0][:, :2]])


@pytest.mark.realdata
def test_speech_audiobook_mel_trf(data_root, rng):
    import librosa
    import soundfile as sf

    sfreq, n_mels = 64.0, 16
    feats = []
    for name in ("trial01.wav", "trial02.wav"):
        wav, sr = sf.read(data_root / "speech_audiobook" / name)
        hop = int(round(sr / sfreq))
        mel = librosa.feature.melspectrogram(y=wav.astype(np.float32), sr=sr, n_fft=512,
                                             hop_length=hop, n_mels=n_mels, fmax=5000)
        logmel = np.log(mel.T + 1e-6)
        feats.append((logmel - logmel.mean(0)) / logmel.std(0))
    delays = times_to_delays(0.0, 0.25, sfreq)
    kernel = np.zeros((8, n_mels, len(delays)))  # 8 channels, smooth planted kernels
    lags = np.arange(len(delays)) / sfreq
    for ch in range(8):
        weights = rng.standard_normal(n_mels)
        latency = 0.05 + 0.02 * ch
        kernel[ch] = weights[:, None] * np.exp(-((lags - latency) ** 2) / (2 * 0.02**2))
    flat = kernel.reshape(8, -1).T
    resp = []
    for f in feats:
        clean = lag_matrix(f, delays) @ flat
        resp.append(clean + 0.01 * clean.std() * rng.standard_normal(clean.shape))
    # cut each trial in halves: 4 trials for 2-fold alpha selection
    cut = [a[s] for a in feats for s in (slice(0, len(a) // 2), slice(len(a) // 2, None))]
    cut_y = [a[s] for a in resp for s in (slice(0, len(a) // 2), slice(len(a) // 2, None))]
    trf = TemporalReceptiveField(0.0, 0.25, sfreq, alphas=np.logspace(-4, 4, 9), cv=2)
    trf.fit(cut, cut_y)
    for ch in range(8):
        assert np.corrcoef(trf.coef_[ch].ravel(), kernel[ch].ravel())[0, 1] >= 0.95


@pytest.mark.parametrize("direction", ["forward", "backward"])
@pytest.mark.parametrize("alphas", [[10.0], np.logspace(-2, 3, 6)])
def test_streamed_design_equals_materialised(rng, direction, alphas):
    """stream=True never builds the lagged design: same coefficients, alphas and scores."""
    X, Y, _ = _simulate(rng, n_trials=5, n_times=300, noise=2.0)
    Y[2][:, 1] = 3.0  # a target constant in one trial
    kwargs = dict(alphas=alphas, direction=direction, cv=5)
    with warnings.catch_warnings(record=True) as full_warnings:
        warnings.simplefilter("always")
        full = TemporalReceptiveField(-0.03, 0.1, SFREQ, stream=False, **kwargs).fit(X, Y)
    with warnings.catch_warnings(record=True) as streamed_warnings:
        warnings.simplefilter("always")
        streamed = TemporalReceptiveField(-0.03, 0.1, SFREQ, stream=True, **kwargs).fit(X, Y)
    assert [str(w.message) for w in streamed_warnings] == [str(w.message) for w in full_warnings]
    if direction == "forward" and len(alphas) > 1:
        assert any("zero variance in a validation fold" in str(w.message) for w in full_warnings)
    np.testing.assert_allclose(streamed.coef_, full.coef_, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(streamed.intercept_, full.intercept_, rtol=1e-8, atol=1e-10)
    np.testing.assert_array_equal(streamed.alpha_, full.alpha_)
    if len(alphas) > 1:
        np.testing.assert_allclose(streamed.cv_scores_, full.cv_scores_, rtol=1e-8, atol=1e-10)
    else:
        assert streamed.cv_scores_ is None and full.cv_scores_ is None


def test_streamed_chunks_across_edges_and_bounded_memory(rng):
    """Chunks of 37 rows (not a divisor of the trial length) give the one-chunk result;
    a design of 84 MB is fitted with a small fraction of that in memory."""
    import tracemalloc

    from neurodecode.encoding._streamed import streamed_ridge_cv

    lags = np.arange(-3, 6)
    X, Y, _ = _simulate(rng, n_trials=3, n_times=250, tmin=-0.03, tmax=0.05)
    splits = [(np.array([1, 2]), np.array([0])), (np.array([0, 2]), np.array([1]))]
    alphas = np.logspace(-2, 2, 5)
    one = streamed_ridge_cv(X, Y, lags, alphas, splits, chunk_rows=10_000)
    small = streamed_ridge_cv(X, Y, lags, alphas, splits, chunk_rows=37)
    for a, b in zip(one[:3], small[:3]):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)

    long_x = [rng.standard_normal((50_000, 10)) for _ in range(2)]
    long_y = [x[:, :4] + rng.standard_normal((50_000, 4)) for x in long_x]
    design_bytes = 100_000 * 10 * 21 * 8
    tracemalloc.start()
    trf = TemporalReceptiveField(0.0, 0.2, SFREQ, alphas=[1.0, 100.0], cv=2)
    trf.fit(long_x, long_y)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 0.3 * design_bytes, (peak, design_bytes)
    assert trf.coef_[0, 0, 0] == pytest.approx(1.0, abs=0.05)  # y_0 = x_0 at lag 0


def test_streamed_counts_a_repeated_training_trial_twice(rng):
    """A bootstrap-like splitter repeating a trial: the streamed sums weigh it twice, as
    the materialised design does."""

    class Repeat:
        def split(self, X, y=None, groups=None):
            yield np.array([0, 0, 1, 2]), np.array([3])
            yield np.array([1, 1, 2, 3]), np.array([0])

    X, Y, _ = _simulate(rng, n_trials=4, n_times=200, noise=2.0)
    kwargs = dict(alphas=np.logspace(-2, 3, 6), cv=Repeat())
    full = TemporalReceptiveField(0.0, 0.1, SFREQ, stream=False, **kwargs).fit(X, Y)
    streamed = TemporalReceptiveField(0.0, 0.1, SFREQ, stream=True, **kwargs).fit(X, Y)
    np.testing.assert_allclose(streamed.cv_scores_, full.cv_scores_, rtol=1e-8, atol=1e-10)


def test_streamed_recomputes_fold_sums_when_they_would_not_fit(rng, monkeypatch):
    """Leave-one-trial-out over many trials: the per-fold Gram matrices are recomputed
    instead of kept (memory), with the same result; partition or not."""
    from neurodecode.encoding import _streamed

    X, Y, _ = _simulate(rng, n_trials=5, n_times=200, noise=2.0)
    alphas = np.logspace(-2, 3, 6)
    splits = [list(KFold(5).split(np.zeros((5, 1)))),
              [(np.array([0, 0, 1]), np.array([4])), (np.array([2, 3]), np.array([0]))]]
    for trial_splits in splits:
        kept = _streamed.streamed_ridge_cv(X, Y, np.arange(11), alphas, trial_splits)
        monkeypatch.setattr(_streamed, "_FOLD_BYTES", 0)
        redone = _streamed.streamed_ridge_cv(X, Y, np.arange(11), alphas, trial_splits)
        monkeypatch.undo()
        for a, b in zip(kept[:3], redone[:3]):
            np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("stream", [True, False])
def test_cv_scores_use_only_training_trials_means(rng, stream):
    """Each fold's model sees no validation data: its scores are those of scikit-learn's
    Ridge (with intercept) fitted on the training trials' lagged rows alone. Trials with
    different offsets made the old scores (centred with the means of all trials) differ."""
    from sklearn.linear_model import Ridge
    from sklearn.metrics import r2_score

    X, Y, _ = _simulate(rng, n_trials=6, n_times=150, noise=1.0)
    Y = [y + 3.0 * rng.standard_normal(y.shape[1]) for y in Y]  # one offset per trial
    alphas = np.array([0.1, 10.0, 1000.0])
    trf = TemporalReceptiveField(0.0, 0.05, SFREQ, alphas=alphas, cv=3, stream=stream)
    trf.fit(X, Y)
    x_mean = np.concatenate(X).mean(0)
    design = [lag_matrix(x - x_mean, trf.delays_) for x in X]
    expected = np.zeros_like(trf.cv_scores_)
    for train, val in KFold(3).split(np.zeros((6, 1))):
        d_tr, y_tr = np.concatenate([design[i] for i in train]), np.concatenate([Y[i] for i in train])
        d_va, y_va = np.concatenate([design[i] for i in val]), np.concatenate([Y[i] for i in val])
        for a, alpha in enumerate(alphas):
            pred = Ridge(alpha=alpha).fit(d_tr, y_tr).predict(d_va)
            expected[a] += r2_score(y_va, pred, multioutput="raw_values") / 3
    np.testing.assert_allclose(trf.cv_scores_, expected, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("reg_type", ["laplacian", ("laplacian", "ridge"), ("ridge", "laplacian")])
@pytest.mark.parametrize("tmin, tmax", [(-0.05, 0.1), (0.02, 0.1)])
def test_laplacian_equals_mne_time_delaying_ridge(rng, reg_type, tmin, tmax):
    """MNE's test_receptive_field_basic inputs style: one alpha, ReceptiveField with
    TimeDelayingRidge(reg_type=...) and an intercept; same kernel, intercept, predictions."""
    from mne.decoding import ReceptiveField, TimeDelayingRidge

    from neurodecode.encoding.laplacian import laplacian_penalty

    X, Y, _ = _simulate(rng, n_trials=3, n_times=200, noise=1.0)
    ridge = TimeDelayingRidge(tmin, tmax, SFREQ, alpha=10.0, reg_type=reg_type,
                              fit_intercept=True)
    rf = ReceptiveField(tmin, tmax, SFREQ, estimator=ridge, fit_intercept=True)
    rf.fit(np.stack(X, 1), np.stack(Y, 1) + 2.0)
    ours = TemporalReceptiveField(tmin, tmax, SFREQ, alphas=[10.0], reg_type=reg_type)
    ours.fit(X, [y + 2.0 for y in Y])
    np.testing.assert_allclose(ours.coef_, rf.coef_, rtol=1e-7, atol=1e-10)
    np.testing.assert_allclose(ours.intercept_, rf.estimator_.intercept_, rtol=1e-7, atol=1e-9)
    pred = np.stack(ours.predict(X), 1)
    np.testing.assert_allclose(pred, rf.predict(np.stack(X, 1)), rtol=1e-7, atol=1e-9)
    from mne.decoding.time_delaying_ridge import _compute_reg_neighbors

    np.testing.assert_array_equal(laplacian_penalty(3, 7, reg_type),
                                  _compute_reg_neighbors(3, 7, reg_type))


def test_laplacian_smooths_and_chooses_alpha_by_cv(rng):
    """A smooth planted kernel under heavy noise: the Laplacian TRF (alpha by CV) is
    closer to it than the ridge TRF, and its CV scores are those of the penalised
    least squares solved directly on each fold's training rows (centred by their means)."""
    from neurodecode.encoding.laplacian import laplacian_penalty

    delays = times_to_delays(0.0, 0.2, SFREQ)
    kernel = np.sin(np.linspace(0, np.pi, len(delays)))[None, None, :].repeat(2, 1)
    X = [rng.standard_normal((300, 2)) for _ in range(5)]
    Y = [lag_matrix(x, delays) @ kernel.reshape(1, -1).T + 3.0 * rng.standard_normal((300, 1))
         for x in X]
    alphas = np.logspace(-1, 4, 6)
    lap = TemporalReceptiveField(0.0, 0.2, SFREQ, alphas=alphas, reg_type="laplacian").fit(X, Y)
    ridge = TemporalReceptiveField(0.0, 0.2, SFREQ, alphas=alphas).fit(X, Y)
    assert np.abs(lap.coef_ - kernel).mean() < 0.7 * np.abs(ridge.coef_ - kernel).mean()
    assert lap.cv_scores_.shape == (6, 1) and lap.alpha_[0] == alphas[lap.cv_scores_[:, 0].argmax()]
    x_mean, penalty = np.concatenate(X).mean(0), laplacian_penalty(2, len(delays))
    design = [lag_matrix(x - x_mean, delays) for x in X]
    expected = np.zeros(len(alphas))
    for train, val in KFold(5).split(np.zeros((5, 1))):
        d_tr, y_tr = np.concatenate([design[i] for i in train]), np.concatenate([Y[i] for i in train])
        d_va, y_va = np.concatenate([design[i] for i in val]), np.concatenate([Y[i] for i in val])
        mu, nu = d_tr.mean(0), y_tr.mean(0)
        for a, alpha in enumerate(alphas):
            w = np.linalg.solve((d_tr - mu).T @ (d_tr - mu) + alpha * penalty, (d_tr - mu).T @ (y_tr - nu))
            resid = y_va - nu - (d_va - mu) @ w
            expected[a] += (1 - (resid**2).sum() / ((y_va - y_va.mean(0)) ** 2).sum()) / 5
    np.testing.assert_allclose(lap.cv_scores_[:, 0], expected, rtol=1e-8, atol=1e-10)


def test_reg_type_errors(rng):
    X, Y, _ = _simulate(rng, n_trials=2, n_times=100)
    with pytest.raises(ValueError, match="reg_type='smooth' is not valid; expected one of"):
        TemporalReceptiveField(0.0, 0.1, SFREQ, alphas=[1.0], reg_type="smooth").fit(X, Y)
    with pytest.raises(ValueError, match="reg_type must be 'ridge', 'laplacian' or a pair"):
        TemporalReceptiveField(0.0, 0.1, SFREQ, alphas=[1.0], reg_type=("laplacian",)).fit(X, Y)
    with pytest.raises(ValueError, match="is fitted from Gram matrices \\(stream=True\\); got "
                                         "stream=False"):
        TemporalReceptiveField(0.0, 0.1, SFREQ, alphas=[1.0], reg_type="laplacian",
                               stream=False).fit(X, Y)


def test_resample_channels_is_scipy_polyphase_at_the_align_ratio(rng):
    """One ratio rule (``align.resample.resample_ratio``) for the encoding job's resampling."""
    from scipy.signal import resample_poly

    from neurodecode.encoding import resample_channels

    x = rng.standard_normal((3, 1000))
    out, rate = resample_channels(x, 1000.0, 120.0)
    np.testing.assert_array_equal(out, resample_poly(x, 3, 25, axis=1))
    assert rate == 120.0
    same, rate = resample_channels(x, 1000.0, None)
    assert same is not None and rate == 1000.0 and same.shape == x.shape
