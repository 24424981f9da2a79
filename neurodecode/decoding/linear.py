"""Linear decoding of conditions: cross-validated accuracy, time-resolved and generalised
over time (MNE's ``SlidingEstimator`` / ``GeneralizingEstimator``), statistics over time
and Haufe et al. (2014) activation patterns.

Cross-validation follows the groups (runs, blocks) when there are three or more of them
(leave-one-group-out), and label permutations for a p-value stay within those groups.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import check_option

#: Linear classifiers of :func:`make_classifier`.
CLASSIFIERS = ("logistic", "svm")


def make_classifier(name: str = "logistic", seed: int = 0) -> Any:
    """A standardised linear classifier: ``"logistic"`` regression or a linear ``"svm"``.

    Both are one-vs-rest for more than two classes.

    Parameters
    ----------
    name : {"logistic", "svm"}
        The classifier.
    seed : int
        Random state of the linear SVM.

    Returns
    -------
    pipeline : sklearn.pipeline.Pipeline
        ``StandardScaler`` followed by the classifier.

    Examples
    --------
    >>> from neurodecode.decoding import make_classifier
    >>> make_classifier("svm").steps[-1][0]
    'linearsvc'
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.multiclass import OneVsRestClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import LinearSVC

    check_option("classifier", name, CLASSIFIERS)
    if name == "logistic":  # liblinear one-vs-rest: fast when features outnumber samples
        clf = OneVsRestClassifier(LogisticRegression(solver="liblinear", C=1.0))
    else:
        clf = LinearSVC(C=1.0, max_iter=10000, random_state=seed)
    return make_pipeline(StandardScaler(), clf)


def make_cv(y: np.ndarray, groups: np.ndarray, n_folds: int = 5, seed: int = 0) -> tuple[Any, str]:
    """Leave-one-group-out with 3 groups or more, else stratified K-fold over samples.

    Parameters
    ----------
    y : array of shape (n_samples,)
        Class labels.
    groups : array of shape (n_samples,)
        Run or block of each sample.
    n_folds : int
        Folds of the stratified fallback (at most the size of the smallest class).
    seed : int
        Shuffling seed of the stratified fallback.

    Returns
    -------
    cv : sklearn splitter
        The cross-validation splitter.
    description : str
        What it is, for the metrics.

    Raises
    ------
    ValueError
        If the smallest class has fewer than 2 samples.
    """
    from sklearn.model_selection import LeaveOneGroupOut, StratifiedKFold

    if len(np.unique(groups)) >= 3:
        return LeaveOneGroupOut(), f"leave-one-group-out ({len(np.unique(groups))} groups)"
    smallest = int(np.unique(y, return_counts=True)[1].min())
    k = min(n_folds, smallest)
    if k < 2:
        raise ValueError(f"cross-validation needs at least 2 samples per class; the smallest "
                         f"class has {smallest} (classes: {sorted(set(y.tolist()))}).")
    return StratifiedKFold(k, shuffle=True, random_state=seed), f"stratified {k}-fold"


def _grouped(cv: Any) -> bool:
    return type(cv).__name__ == "LeaveOneGroupOut"


def _folds(X: np.ndarray, y: np.ndarray, groups: np.ndarray, n_folds: int,
           seed: int) -> tuple[list, Any, str]:
    cv, described = make_cv(y, groups, n_folds, seed)
    return list(cv.split(X, y, groups if _grouped(cv) else None)), cv, described


def cross_validate(X: np.ndarray, y: np.ndarray, groups: np.ndarray, *, classifier: str = "logistic",
                   n_folds: int = 5, n_permutations: int = 0, seed: int = 0) -> dict:
    """Cross-validated accuracy of a linear classifier.

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
        One feature vector per sample.
    y : array of shape (n_samples,)
        Class labels.
    groups : array of shape (n_samples,)
        Run or block of each sample (leave-one-group-out when there are 3 or more).
    classifier : {"logistic", "svm"}
        See :func:`make_classifier`.
    n_folds : int
        Folds of the stratified fallback.
    n_permutations : int
        Label permutations for a p-value (0: none), within groups when the folds follow them.
    seed : int
        Seed of the folds, the classifier and the permutations.

    Returns
    -------
    result : dict
        ``accuracy``, ``fold_scores``, ``chance`` (majority-class rate), ``n_classes``,
        ``cv``, ``confusion`` (n_classes, n_classes), ``classes`` and ``p_value`` when
        permutations are asked for.
    """
    from sklearn.metrics import confusion_matrix
    from sklearn.model_selection import cross_val_predict, permutation_test_score

    folds, cv, described = _folds(X, y, groups, n_folds, seed)
    clf = make_classifier(classifier, seed)
    pred = cross_val_predict(clf, X, y, cv=folds)
    scores = [float(np.mean(pred[test] == y[test])) for _, test in folds]
    classes, counts = np.unique(y, return_counts=True)
    out = {"accuracy": float(np.mean(pred == y)), "fold_scores": scores,
           "chance": float(counts.max() / counts.sum()), "n_classes": len(classes),
           "n_samples": len(y), "cv": described, "classes": classes.tolist(),
           "confusion": confusion_matrix(y, pred, labels=classes).tolist()}
    if n_permutations > 0:
        # labels shuffled within groups (runs, blocks) when the folds follow them, so the
        # null keeps the temporal structure that the folds respect
        _, _, p = permutation_test_score(clf, X, y, cv=folds,
                                         groups=groups if _grouped(cv) else None,
                                         n_permutations=n_permutations, random_state=seed)
        out["p_value"] = float(p)
    return out


def accuracy_over_time(X: np.ndarray, y: np.ndarray, groups: np.ndarray, *,
                       classifier: str = "logistic", n_folds: int = 5, seed: int = 0,
                       progress: bool = False, per_fold: bool = False) -> np.ndarray:
    """Cross-validated accuracy at every time point (MNE ``SlidingEstimator``).

    Parameters
    ----------
    X : array of shape (n_samples, n_channels, n_times)
        Epochs.
    y : array of shape (n_samples,)
        Class labels.
    groups : array of shape (n_samples,)
        Run or block of each sample.
    classifier : {"logistic", "svm"}
        See :func:`make_classifier`.
    n_folds : int
        Folds of the stratified fallback.
    seed : int
        Seed of the folds and the classifier.
    progress : bool
        Show MNE's progress bar over the time points.
    per_fold : bool
        Return the accuracy of each fold instead of their mean.

    Returns
    -------
    accuracy : array of shape (n_times,), or (n_folds, n_times) when ``per_fold``
        Accuracy of the classifier trained and tested at each time.
    """
    scores = _scores_over_time("sliding", X, y, groups, classifier, n_folds, seed, progress)
    return scores if per_fold else scores.mean(0)


def generalization_over_time(X: np.ndarray, y: np.ndarray, groups: np.ndarray, *,
                             classifier: str = "logistic", n_folds: int = 5,
                             seed: int = 0) -> np.ndarray:
    """Temporal generalisation: train at each time, test at every time (MNE
    ``GeneralizingEstimator``; King & Dehaene 2014).

    Parameters
    ----------
    X : array of shape (n_samples, n_channels, n_times)
        Epochs.
    y : array of shape (n_samples,)
        Class labels.
    groups : array of shape (n_samples,)
        Run or block of each sample.
    classifier : {"logistic", "svm"}
        See :func:`make_classifier`.
    n_folds : int
        Folds of the stratified fallback.
    seed : int
        Seed of the folds and the classifier.

    Returns
    -------
    accuracy : array of shape (n_times, n_times)
        Mean accuracy over folds, training time along the rows, testing time the columns.
    """
    return _scores_over_time("generalizing", X, y, groups, classifier, n_folds, seed).mean(0)

def _scores_over_time(kind: str, X: np.ndarray, y: np.ndarray, groups: np.ndarray,
                      classifier: str, n_folds: int, seed: int,
                      progress: bool = False) -> np.ndarray:
    """Accuracy per fold of MNE's ``SlidingEstimator`` or ``GeneralizingEstimator``."""
    from mne.decoding import GeneralizingEstimator, SlidingEstimator, cross_val_multiscore

    folds, _, _ = _folds(X[:, :, 0], y, groups, n_folds, seed)
    over_time = SlidingEstimator if kind == "sliding" else GeneralizingEstimator
    estimator = over_time(make_classifier(classifier, seed), scoring="accuracy",
                          verbose=progress or "error")
    return cross_val_multiscore(estimator, X, y, cv=folds, verbose="error")


def fold_ci(scores: np.ndarray, level: float = 0.95) -> np.ndarray:
    """t-based confidence interval of the mean over folds (or subjects).

    Parameters
    ----------
    scores : array of shape (n_folds, n_times)
        Score of each fold at each time.
    level : float
        Coverage of the interval.

    Returns
    -------
    ci : array of shape (2, n_times)
        Lower and upper bounds.
    """
    from scipy import stats

    n = scores.shape[0]
    mean = scores.mean(0)
    if n < 2:
        return np.stack([mean, mean])
    half = stats.t.ppf(0.5 + level / 2, n - 1) * scores.std(0, ddof=1) / np.sqrt(n)
    return np.stack([mean - half, mean + half])


def above_chance(accuracy: np.ndarray, n_samples: int, chance: float,
                 alpha: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """Time points decoded above chance: binomial test per time, FDR-corrected over time.

    The number of correct cross-validated predictions at each time is tested against
    ``Binomial(n_samples, chance)`` (one-sided; Combrisson & Jerbi 2015), and the p-values
    are corrected over time by Benjamini-Hochberg (``mne.stats.fdr_correction``).

    Parameters
    ----------
    accuracy : array of shape (n_times,)
        Accuracy over all samples at each time.
    n_samples : int
        Samples tested at each time.
    chance : float
        Chance accuracy (the majority-class rate, conservative for unbalanced classes).
    alpha : float
        False discovery rate.

    Returns
    -------
    significant : bool array of shape (n_times,)
        Times above chance after correction.
    p_corrected : array of shape (n_times,)
        FDR-corrected p-values.
    """
    from mne.stats import fdr_correction
    from scipy import stats

    correct = np.round(np.asarray(accuracy) * n_samples).astype(int)
    p = stats.binom.sf(correct - 1, n_samples, chance)
    significant, p_corrected = fdr_correction(p, alpha=alpha)
    return np.asarray(significant, bool), np.asarray(p_corrected, float)


def spatial_pattern(X: np.ndarray, y: np.ndarray, classifier: str = "logistic",
                    seed: int = 0) -> np.ndarray:
    """Haufe et al. (2014) activation pattern of the classifier fitted on all samples.

    Computed on standardised features: ``cov(X) @ W`` (what ``mne.decoding.LinearModel``
    stores as ``patterns_`` before ``get_coef`` inverse-transforms them); signed for two
    classes, the root mean square over the one-vs-rest patterns otherwise.

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
        One feature vector per sample.
    y : array of shape (n_samples,)
        Class labels.
    classifier : {"logistic", "svm"}
        See :func:`make_classifier`.
    seed : int
        Random state of the classifier.

    Returns
    -------
    pattern : array of shape (n_features,)
        The activation pattern.
    """
    clf = make_classifier(classifier, seed).fit(X, y)
    Xs = clf[0].transform(X)
    last = clf[-1]
    coefs = [e.coef_ for e in last.estimators_] if hasattr(last, "estimators_") else [last.coef_]
    W = np.vstack(coefs).T  # (n_features, n_classes or 1)
    A = np.cov(Xs, rowvar=False) @ W
    return A[:, 0] if A.shape[1] == 1 else np.sqrt((A ** 2).mean(1))


def window_features(brain: np.ndarray, modality: str, n_bins: int = 10) -> np.ndarray:
    """One feature vector per window.

    fMRI: the mean over the window's volumes. M/EEG: channels x (at most ``n_bins``)
    consecutive time-bin means, which keeps the time course at a tenth of the features.

    Parameters
    ----------
    brain : array of shape (n_samples, n_channels, n_times)
        Windows.
    modality : {"meeg", "fmri"}
        Modality of the windows.
    n_bins : int
        Time bins of an M/EEG window.

    Returns
    -------
    X : array of shape (n_samples, n_features)
        The feature vectors.
    """
    if modality == "fmri":
        return brain.mean(2)
    edges = np.linspace(0, brain.shape[2], min(n_bins, brain.shape[2]) + 1).astype(int)
    binned = np.stack([brain[:, :, a:b].mean(2) for a, b in zip(edges[:-1], edges[1:])], 2)
    return binned.reshape(len(brain), -1)


def peak_index(curve: np.ndarray, times: np.ndarray) -> int:
    """Index of the maximum of ``curve`` at or after time 0 (anywhere when no time is).

    Parameters
    ----------
    curve : array of shape (n_times,)
        Score over time (NaN ignored).
    times : array of shape (n_times,)
        Times in seconds.

    Returns
    -------
    index : int
        The peak's index into ``times``.
    """
    post = np.asarray(times) >= 0
    if post.any():
        return int(np.flatnonzero(post)[np.nanargmax(curve[post])])
    return int(np.nanargmax(curve))


__all__ = ["CLASSIFIERS", "above_chance", "accuracy_over_time", "cross_validate", "fold_ci",
           "generalization_over_time", "make_classifier", "make_cv", "peak_index",
           "spatial_pattern", "window_features"]
