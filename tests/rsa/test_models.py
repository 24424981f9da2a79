"""Weighted and selected models and cross-validation against rsatoolbox's models,
fitters and crossval, on its test shapes (random RDMs of 5-10 conditions)."""

from __future__ import annotations

import numpy as np
import pytest
from rsatoolbox.inference import crossval
from rsatoolbox.model import ModelFixed, ModelSelect, ModelWeighted
from rsatoolbox.model.fitter import fit_regress, fit_regress_nn, fit_select
from rsatoolbox.rdm import RDMs

from neurodecode.rsa import crossval_models, fit_weights, select_model, weighted_rdm

PEER = {"cosine": "cosine", "pearson": "corr"}


@pytest.mark.parametrize("method", list(PEER))
@pytest.mark.parametrize("nonnegative", [False, True])
def test_fit_weights_equal_to_rsatoolbox(rng, method, nonnegative):
    comps = rng.random((3, 45))
    data = 0.8 * comps[0] - 0.5 * comps[1] + 0.3 * rng.random((5, 45)) + 1
    model = ModelWeighted("m", RDMs(comps))
    fitter = fit_regress_nn if nonnegative else fit_regress
    ref = fitter(model, RDMs(data), method=PEER[method])
    ours = fit_weights(data, comps, method, nonnegative=nonnegative)
    np.testing.assert_allclose(ours, ref, atol=1e-8)
    if nonnegative:
        assert (ours >= 0).all()
    np.testing.assert_allclose(weighted_rdm(comps, np.abs(ours)), model.predict(np.abs(ours)))


def test_select_equal_to_rsatoolbox(rng):
    comps = rng.random((4, 28))
    data = comps[2] + 0.2 * rng.random((3, 28))
    ref = fit_select(ModelSelect("s", RDMs(comps)), RDMs(data), method="cosine")
    assert select_model(data, comps, "cosine") == int(ref)


def test_crossval_equal_to_rsatoolbox(rng):
    """Fixed, weighted (least squares and NNLS) and selection models over three folds of
    conditions, each fitted on the other conditions: rsatoolbox's crossval, to 1e-8."""
    n = 10
    comps = rng.random((3, n * (n - 1) // 2))
    data = comps[0] + 0.5 * comps[2] + 0.3 * rng.random((6, comps.shape[1]))
    folds = [np.arange(0, 4), np.arange(4, 7), np.arange(7, 10)]
    rdms = RDMs(data)
    train = [(rdms.subset_pattern("index", np.setdiff1d(np.arange(n), f)),
              np.setdiff1d(np.arange(n), f)) for f in folds]
    test = [(rdms.subset_pattern("index", f), f) for f in folds]
    peers = [ModelFixed("fixed", comps[1]), ModelWeighted("w", RDMs(comps)),
             ModelWeighted("wnn", RDMs(comps)), ModelSelect("sel", RDMs(comps))]
    ref = crossval(peers, rdms, train, test, method="cosine",
                   fitter=[None, fit_regress, fit_regress_nn, fit_select],
                   calc_noise_ceil=False)
    ours = crossval_models(data, [comps[1], comps, comps, comps], folds, "cosine",
                           fit=["fixed", "weighted", "weighted_nn", "select"])
    np.testing.assert_allclose(ours, np.asarray(ref.evaluations)[0].T, atol=1e-8)


def test_errors(rng):
    comps = rng.random((2, 10))
    with pytest.raises(ValueError, match=r"theta holds negative weights \[-0.5\] \(components "
                       r"\[1\]\); a weighted model needs weights >= 0"):
        weighted_rdm(comps, [1.0, -0.5])
    assert np.isfinite(weighted_rdm(comps, [1.0, -0.5], allow_negative=True)).all()
    with pytest.raises(ValueError, match=r"theta must hold one weight per component"):
        weighted_rdm(comps, [1.0])
    with pytest.raises(ValueError, match="method='spearman' is not valid"):
        fit_weights(comps, comps, "spearman")
    with pytest.raises(ValueError, match="ridge must be >= 0"):
        fit_weights(comps, comps, ridge=-1.0)
    data = rng.random((3, 45))
    with pytest.raises(ValueError, match=r"fold 1 leaves 0 test and 10 training condition\(s\)"):
        crossval_models(data, [data[0]], [np.arange(5), []])
    with pytest.raises(ValueError, match=r"fold 0 leaves 9 test and 1 training"):
        crossval_models(data, [data[0]], [np.arange(9)])
    with pytest.raises(ValueError, match="fit='ridge' is not valid"):
        crossval_models(data, [data[0]], [np.arange(5)], fit="ridge")
    with pytest.raises(ValueError, match=r"fit must be one name or one per model \(1\); got 2"):
        crossval_models(data, [data[0]], [np.arange(5)], fit=["fixed", "fixed"])


def test_bootstrap_crossval_ranks_the_planted_model_and_feeds_the_t_tests(rng):
    """Subjects share a planted RDM; the planted fixed model beats a random one in every
    resample, and the Schütt t-test on the bootstrap covariance says so."""
    from neurodecode.rsa import bootstrap_crossval_models, evaluation_variances, t_test_pairs

    n = 15
    truth = rng.random(n * (n - 1) // 2)
    subjects = truth + 0.2 * rng.standard_normal((8, truth.size))
    models = [truth, rng.random(truth.size)]
    evals = bootstrap_crossval_models(subjects, models, "pearson", n_folds=2, n_bootstraps=40,
                                      seed=1)
    assert evals.shape == (40, 2, 2)
    ok = ~np.isnan(evals).any((1, 2))
    assert ok.mean() > 0.9 and (evals[ok, 0].mean(-1) > evals[ok, 1].mean(-1)).all()
    _, diff_var = evaluation_variances(np.cov(evals[ok].mean(-1).T), n_subjects=8,
                                       n_conditions=n)
    assert t_test_pairs(evals[ok], diff_var, dof=7)[0, 1] < 0.05
    weighted = bootstrap_crossval_models(subjects, [np.stack(models)], "pearson",
                                         fit="weighted_nn", n_bootstraps=5, seed=1)
    assert np.nanmean(weighted) > 0.5
    with pytest.raises(ValueError, match=r"n_folds=6 with 15 conditions and 8 subject RDM\(s\): "
                       r"each fold needs at least 3 conditions, so 2 <= n_folds <= 5"):
        bootstrap_crossval_models(subjects, models, n_folds=6)


def test_interpolation_equal_to_rsatoolbox(rng):
    """Three ordered RDMs, data planted at 0.3 of the way between the second and third."""
    from rsatoolbox.model import ModelInterpolate
    from rsatoolbox.model.fitter import fit_interpolate

    from neurodecode.rsa import fit_interpolation

    comps = rng.random((3, 36))
    data = 0.3 * comps[1] + 0.7 * comps[2] + 0.05 * rng.random((4, 36))
    ref = fit_interpolate(ModelInterpolate("i", RDMs(comps)), RDMs(data), method="corr")
    ours = fit_interpolation(data, comps, "pearson")
    np.testing.assert_allclose(ours, ref, atol=1e-9)
    assert ours[0] == 0 and abs(ours[1] - 0.3) < 0.1
    evals = crossval_models(data, [comps], [np.arange(4), np.arange(4, 9)], "pearson",
                            fit="interpolate")
    assert (evals > 0.8).all()
    with pytest.raises(ValueError, match="model_rdms must hold at least 2 RDMs to interpolate"):
        fit_interpolation(data, comps[:1])
