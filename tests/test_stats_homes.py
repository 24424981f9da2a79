"""One name, one home (issue 14): shared p-values and intervals, renamed keywords, and
the earlier public names still importable where users import them."""

import warnings

import numpy as np
import pytest

from neurodecode import encoding, evaluation, rsa
from neurodecode._compat import renamed_kwargs
from neurodecode._stats import (
    p_value_from_counts,
    percentile_interval,
    permutation_p_value,
)


def test_earlier_names_are_the_one_home():
    assert rsa.permutation_test is rsa.permutation_test_rdms
    assert rsa.bootstrap_ci is rsa.bootstrap_ci_rdms
    assert rsa.noise_ceiling is rsa.rdm_noise_ceiling
    assert encoding.permutation_test is encoding.permutation_test_scores
    assert encoding.noise_ceiling is encoding.repeat_noise_ceiling
    assert evaluation.bootstrap_ci is not rsa.bootstrap_ci  # generic vs model RDMs


def test_p_value_with_and_without_plus_one():
    null = np.array([[0.1, 0.9], [0.5, 0.95], [0.2, 0.99]])
    observed = np.array([0.4, 0.9])
    np.testing.assert_allclose(permutation_p_value(null, observed), [2 / 4, 4 / 4])
    np.testing.assert_allclose(permutation_p_value(null, observed, plus_one=False), [1 / 3, 1])
    assert np.isnan(p_value_from_counts(0, 0, plus_one=False))


def test_percentile_interval_leaves_nan_out():
    samples = np.r_[np.arange(101.0), np.nan]
    low, high = percentile_interval(samples, 0.9)
    np.testing.assert_allclose([low, high], [5.0, 95.0])
    with pytest.raises(ValueError, match=r"confidence must be in \(0, 1\); got 95"):
        percentile_interval(samples, 95)


def test_renamed_keyword_warns_and_maps(rng):
    y = rng.standard_normal((40, 3))
    pred = y + rng.standard_normal((40, 3))
    new = encoding.permutation_test_scores(y, pred, n_permutations=20, seed=3)
    with pytest.warns(FutureWarning, match="random_state= is renamed seed="):
        old = encoding.permutation_test(y, pred, n_permutations=20, random_state=3)
    np.testing.assert_array_equal(new["pvalue"], old["pvalue"])
    with pytest.raises(TypeError, match="got both random_state= .* and seed="):
        encoding.permutation_test_scores(y, pred, random_state=1, seed=1)


def test_n_bootstraps_is_the_one_spelling(rng):
    rdms = rng.random((3, 15))
    new = rsa.bootstrap_ci_rdms(rdms, rdms[0], n_bootstraps=20, seed=1)
    with pytest.warns(FutureWarning, match="n_bootstrap= is renamed n_bootstraps="):
        old = rsa.bootstrap_ci(rdms, rdms[0], n_bootstrap=20, seed=1)
    np.testing.assert_array_equal(new.samples, old.samples)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rsa.compare_models(rdms, rdms[:2], n_bootstraps=5)


def test_renamed_kwargs_keeps_the_signature():
    @renamed_kwargs(old="new")
    def f(*, new: int = 0) -> int:
        """Doc."""
        return new

    import inspect

    assert list(inspect.signature(f).parameters) == ["new"] and f.__doc__ == "Doc."
    with pytest.warns(FutureWarning):
        assert f(old=2) == 2
