"""Every encoding estimator under scikit-learn's ``parametrize_with_checks`` (issue 14)."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from neurodecode.encoding import (
    BandedRidgeCV,
    KernelRidgeCV,
    MultipleKernelRidgeCV,
    RidgeCV,
    TemporalReceptiveField,
)

ALPHAS = [0.1, 1.0, 10.0]
ESTIMATORS = [
    RidgeCV(alphas=ALPHAS, cv=2),
    KernelRidgeCV(alphas=ALPHAS, cv=2),
    BandedRidgeCV(bands=None, alphas=ALPHAS, n_iter=2, cv=2),
    MultipleKernelRidgeCV(n_iter=2, alphas=ALPHAS, cv=2),
    TemporalReceptiveField(tmin=0.0, tmax=0.02, sfreq=100.0, alphas=[1.0]),
]


def _expected_failures(estimator):
    """The checks each estimator documents as contradicting its contract."""
    return getattr(estimator, "CONTRACT_EXCEPTIONS", {})


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=_expected_failures)
def test_sklearn_contract(estimator, check):
    check(estimator)


def test_contract_exceptions_are_documented():
    """Only the TRF has exceptions, each with its reason (in its class, documented)."""
    assert all(not _expected_failures(e) for e in ESTIMATORS[:-1])
    reasons = TemporalReceptiveField.CONTRACT_EXCEPTIONS
    assert all(len(reason) > 20 for reason in reasons.values())
