"""The classification job: linear decoding of conditions with group cross-validation.

For M/EEG the decoder is also fitted at every time point of the epochs (accuracy time
course) and its spatial pattern at the peak is written as a topomap; for fMRI the pattern
becomes a brain map. Helpers shared with the RSA and encoding jobs (epoching, labels,
filtering) live here too.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._validation import check_option
from ..align import Segments
from ..build import build_recordings
from ..config import Recipe
from ..exceptions import ConfigError
from ..io.recording import Recording
from .common import finish_run, write_metrics

logger = logging.getLogger("neurodecode")

CLASSIFIERS = ("logistic", "svm")


# ------------------------------------------------------------------ shared helpers
def bandpass(recording: Recording, l_freq: float | None, h_freq: float | None) -> Recording:
    """A copy of an M/EEG ``recording`` band-pass filtered (MNE FIR); fMRI is returned as is."""
    if recording.modality != "meeg" or (l_freq is None and h_freq is None):
        return recording
    import mne

    data = mne.filter.filter_data(np.asarray(recording.data, np.float64), recording.sfreq,
                                  l_freq, h_freq, verbose="error")
    return dataclasses.replace(recording, data_loader=data, _data=None)


def make_labels(conditions: Sequence[str], categories: dict) -> np.ndarray:
    """The class of each sample: its condition, or its category when ``categories`` maps it.

    Raises
    ------
    ConfigError
        If ``categories`` is given but leaves a condition unmapped.
    """
    conditions = [str(c) for c in conditions]
    if not categories:
        return np.asarray(conditions)
    missing = sorted(set(conditions) - set(map(str, categories)))
    if missing:
        raise ConfigError(f"analysis.categories does not map condition(s) {missing}; expected "
                          f"every condition among {sorted(map(str, categories))}.")
    return np.asarray([str(categories[c]) for c in conditions])


def load_segments(recipe: Recipe, *, progress: bool = False) -> tuple[Segments, list[Recording]]:
    """Recordings of the recipe, filtered and cut into windows around the selected events.

    Windows of conditions outside ``analysis.conditions`` (when given) are dropped.
    """
    from .decoding import _segment

    recordings, _ = build_recordings(recipe, progress=progress)
    ana = recipe.analysis
    recordings = [bandpass(r, ana.l_freq, ana.h_freq) for r in recordings]
    segments = _segment(recordings, None, recipe)
    if ana.conditions:
        keep = segments.meta["condition"].astype(str).isin(ana.conditions).to_numpy()
        if not keep.any():
            raise ConfigError(
                f"analysis.conditions {list(ana.conditions)} match no window; the data has "
                f"conditions {sorted(segments.meta['condition'].astype(str).unique())}.")
        segments = subset(segments, keep)
    return segments, recordings


def subset(segments: Segments, keep: np.ndarray) -> Segments:
    """The windows of ``segments`` where ``keep`` (bool, shape (n_segments,)) is true."""
    stim = None if segments.stimulus is None else segments.stimulus[keep]
    return dataclasses.replace(segments, brain=segments.brain[keep], subject=segments.subject[keep],
                               meta=segments.meta[keep].reset_index(drop=True), stimulus=stim)


def condition_order(segments: Segments, recipe: Recipe) -> list[str]:
    """Conditions in the order of ``analysis.conditions``, else sorted."""
    present = segments.meta["condition"].astype(str)
    return list(recipe.analysis.conditions) or sorted(present.unique())


def write_info(run_dir: Path, info: Any) -> None:
    """Write the MNE ``info`` next to the topomaps (``info.fif``)."""
    import mne

    mne.io.write_info(run_dir / "info.fif", info, overwrite=True)


def write_conditions(run_dir: Path, conditions: Sequence[str], categories: dict) -> None:
    """``conditions.csv``: one row per condition (label, category when mapped)."""
    frame = pd.DataFrame({"label": list(conditions)})
    if categories:
        frame["category"] = [str(categories.get(c, c)) for c in conditions]
    frame.to_csv(run_dir / "conditions.csv", index=False)


# ------------------------------------------------------------------ decoding core
def make_classifier(name: str = "logistic", seed: int = 0):
    """A standardised linear classifier: ``"logistic"`` regression or a linear ``"svm"``.

    Both are one-vs-rest for more than two classes.
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


def make_cv(y: np.ndarray, groups: np.ndarray, n_folds: int = 5, seed: int = 0):
    """Leave-one-group-out with 3 groups or more, else stratified K-fold over samples.

    Returns
    -------
    cv : splitter
    description : str
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


def _grouped(cv) -> bool:
    return type(cv).__name__ == "LeaveOneGroupOut"


def cross_validate(X: np.ndarray, y: np.ndarray, groups: np.ndarray, *, classifier: str = "logistic",
                   n_folds: int = 5, n_permutations: int = 0, seed: int = 0) -> dict:
    """Cross-validated accuracy of a linear classifier.

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
    y : array of shape (n_samples,)
        Class labels.
    groups : array of shape (n_samples,)
        Run or block of each sample (leave-one-group-out when there are 3 or more).
    classifier : {"logistic", "svm"}
    n_folds : int
        Folds of the stratified fallback.
    n_permutations : int
        Label permutations for a p-value (0: none).
    seed : int

    Returns
    -------
    result : dict
        ``accuracy``, ``fold_scores``, ``chance`` (majority-class rate), ``n_classes``,
        ``cv``, ``confusion`` (n_classes, n_classes), ``classes`` and ``p_value`` when
        permutations are asked for.
    """
    from sklearn.metrics import confusion_matrix
    from sklearn.model_selection import cross_val_predict, permutation_test_score

    cv, described = make_cv(y, groups, n_folds, seed)
    clf = make_classifier(classifier, seed)
    folds = list(cv.split(X, y, groups if _grouped(cv) else None))
    scores = []
    pred = cross_val_predict(clf, X, y, cv=folds)
    for _, test in folds:
        scores.append(float(np.mean(pred[test] == y[test])))
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
                       progress: bool = False) -> np.ndarray:
    """Cross-validated accuracy at every time point.

    Parameters
    ----------
    X : array of shape (n_samples, n_channels, n_times)

    Returns
    -------
    accuracy : array of shape (n_times,)
    """
    from sklearn.model_selection import cross_val_score
    from tqdm import tqdm

    cv, _ = make_cv(y, groups, n_folds, seed)
    folds = list(cv.split(X[:, :, 0], y, groups if _grouped(cv) else None))
    clf = make_classifier(classifier, seed)
    steps = tqdm(range(X.shape[2]), desc="time-resolved decoding", disable=not progress)
    return np.array([cross_val_score(clf, X[:, :, t], y, cv=folds).mean() for t in steps])


def spatial_pattern(X: np.ndarray, y: np.ndarray, classifier: str = "logistic",
                    seed: int = 0) -> np.ndarray:
    """Haufe et al. (2014) activation pattern of the classifier fitted on all samples.

    Computed on standardised features: ``cov(X) @ W``; signed for two classes, the
    root mean square over the one-vs-rest patterns otherwise.

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
    y : array of shape (n_samples,)

    Returns
    -------
    pattern : array of shape (n_features,)
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

    Returns
    -------
    X : array of shape (n_samples, n_features)
    """
    if modality == "fmri":
        return brain.mean(2)
    edges = np.linspace(0, brain.shape[2], min(n_bins, brain.shape[2]) + 1).astype(int)
    binned = np.stack([brain[:, :, a:b].mean(2) for a, b in zip(edges[:-1], edges[1:])], 2)
    return binned.reshape(len(brain), -1)


# ------------------------------------------------------------------ the job
def run_classification(recipe: Recipe, run_dir: Path, *, progress: bool = True) -> dict:
    """Run a classification recipe end to end and write its run directory."""
    ana = recipe.analysis
    check_option("analysis.classifier", ana.classifier, CLASSIFIERS)
    segments, recordings = load_segments(recipe, progress=progress)
    y = make_labels(segments.meta["condition"].astype(str), ana.categories)
    if ana.cv_by not in segments.meta.columns:
        raise ConfigError(f"analysis.cv_by={ana.cv_by!r} is not a segment column; expected one "
                          f"of {sorted(segments.meta.columns)}.")
    groups = (segments.meta["subject"].astype(str) + "/"
              + segments.meta[ana.cv_by].astype(str)).to_numpy()
    kw: dict[str, Any] = dict(classifier=ana.classifier, n_folds=ana.n_folds, seed=recipe.seed)
    flat = window_features(segments.brain, segments.modality)
    metrics: dict = {"classification": cross_validate(flat, y, groups,
                                                      n_permutations=ana.n_permutations, **kw)}
    metrics["data"] = {"n_samples": len(segments), "n_channels": len(segments.ch_names),
                       "n_times": int(segments.brain.shape[2]), "modality": segments.modality,
                       "n_subjects": len(segments.subjects)}
    if segments.modality == "meeg":
        metrics["time_resolved"] = _time_resolved(segments, y, groups, run_dir, progress, kw)
    else:
        pattern = spatial_pattern(flat, y, ana.classifier, recipe.seed)
        if len(recordings) == 1 and recordings[0].masker is not None:
            recordings[0].to_nifti(pattern).to_filename(run_dir / "brainmap_pattern.nii.gz")
    write_metrics(run_dir, metrics)
    finish_run(run_dir, recipe)
    return metrics


def _time_resolved(segments: Segments, y: np.ndarray, groups: np.ndarray, run_dir: Path,
                   progress: bool, kw: dict) -> dict:
    acc = accuracy_over_time(segments.brain, y, groups, progress=progress, **kw)
    times = segments.tmin + np.arange(len(acc)) / segments.sfreq
    post = times >= 0
    i = int(np.flatnonzero(post)[np.argmax(acc[post])]) if post.any() else int(np.argmax(acc))
    np.save(run_dir / "timecourse.npy", acc)
    np.save(run_dir / "times.npy", times)
    if segments.info is not None:
        pattern = spatial_pattern(segments.brain[:, :, i], y, kw["classifier"], kw["seed"])
        np.save(run_dir / "topomap_pattern.npy", pattern)
        write_info(run_dir, segments.info)
    return {"peak_accuracy": float(acc[i]), "peak_time": float(times[i]),
            "mean_accuracy_post": float(acc[post].mean()) if post.any() else float("nan")}
