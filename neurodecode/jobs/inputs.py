"""Typed inputs of the jobs, built from a recipe by ``neurodecode.build`` (never a ``Recipe``).

Each job receives its frozen dataclass: the data already read and the settings it uses,
so a job only calls library functions and writes its run directory.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..align import Segments
from ..io.recording import Recording


@dataclass(frozen=True)
class ClassificationInputs:
    """What ``run_classification`` needs.

    Parameters
    ----------
    segments : Segments
        The windows, conditions selected.
    recordings : list of Recording
        The recordings they were cut from (the fMRI masker maps the pattern).
    labels : array of shape (n_segments,)
        Class of each window (condition, or category).
    groups : array of shape (n_segments,)
        Cross-validation group of each window (subject and run or block).
    classifier, n_folds, n_permutations, seed
        Settings of :func:`neurodecode.decoding.cross_validate`.
    background : Path or None
        BOLD image whose mean EPI is drawn under brain maps.
    title : str
        Title of the report.
    """

    segments: Segments
    recordings: list[Recording]
    labels: np.ndarray
    groups: np.ndarray
    classifier: str = "logistic"
    n_folds: int = 5
    n_permutations: int = 0
    seed: int = 0
    background: Path | None = None
    title: str = "neurodecode: classification"


@dataclass(frozen=True)
class RSAInputs:
    """What ``run_rsa`` needs.

    Parameters
    ----------
    segments : Segments
        The windows, conditions selected.
    recordings : list of Recording
        The recordings they were cut from (the fMRI masker for the searchlight).
    conditions : list of str
        Conditions of the RDMs, in order.
    model : array of shape (n_pairs,)
        The model RDM over ``conditions``, condensed.
    categories : mapping
        Condition -> category, written to ``conditions.csv``.
    metric, method, radius, window, n_permutations, seed
        Settings of the RSA (see :func:`neurodecode.rsa.rsa_timecourse`).
    background : Path or None
        BOLD image whose mean EPI is drawn under brain maps.
    title : str
        Title of the report.
    """

    segments: Segments
    recordings: list[Recording]
    conditions: list[str]
    model: np.ndarray
    categories: Mapping[str, Any] = field(default_factory=dict)
    metric: str = "correlation"
    method: str = "spearman"
    radius: float | None = None
    window: int = 1
    n_permutations: int = 0
    seed: int = 0
    background: Path | None = None
    title: str = "neurodecode: rsa"


@dataclass(frozen=True)
class EncodingInputs:
    """What ``run_encoding`` needs.

    Parameters
    ----------
    recordings : list of Recording
        The recordings, band-pass filtered.
    conditions : list of str
        The conditions modelled, each present in the events.
    sfreq : float or None
        Rate of the M/EEG TRF (None: the recording's).
    tmin, tmax : float
        TRF lags in seconds.
    alphas : tuple of float
        Ridge penalties.
    n_folds, n_permutations, seed
        Cross-validation chunks and circular-shift permutations.
    hrf_model : str
        HRF of the fMRI model.
    background : Path or None
        BOLD image whose mean EPI is drawn under brain maps.
    title : str
        Title of the report.
    """

    recordings: list[Recording]
    conditions: list[str]
    sfreq: float | None = None
    tmin: float = -0.1
    tmax: float = 0.5
    alphas: tuple[float, ...] = (1.0,)
    n_folds: int = 5
    n_permutations: int = 0
    seed: int = 0
    hrf_model: str = "glover"
    background: Path | None = None
    title: str = "neurodecode: encoding"


@dataclass(frozen=True)
class ItemDecodingInputs:
    """What ``run_item_decoding`` needs.

    Parameters
    ----------
    splits : dict of str to ItemSegments
        ``train``, ``valid`` and ``test`` item segments, scaled (test averaged over
        repetitions when asked).
    items : ItemSegments
        All the item segments (for the data summary).
    make_model : callable
        A fresh brain encoder sized for the data.
    make_loss : callable
        ``make_loss(name=None)``: the recipe's loss, or the named one without parameters.
    check_batch : callable
        ``check_batch(model, split)``: the first batch through the model, failing early.
    fit_kwargs : dict
        Keyword arguments of :func:`neurodecode.training.fit`.
    eval_kwargs : dict
        Keyword arguments of :func:`neurodecode.decoding.items.score_items`.
    baselines : tuple of str
        Baselines to score (``ridge``, ``untrained``, ``regression``).
    seed : int
        Seed of the training and the untrained baseline.
    device : str
        Device of the predictions.
    title : str
        Title of the report.
    """

    splits: dict[str, Any]
    items: Any
    make_model: Callable[[], Any]
    make_loss: Callable[..., Any]
    check_batch: Callable[[Any, Any], None]
    fit_kwargs: dict[str, Any]
    eval_kwargs: dict[str, Any]
    baselines: tuple[str, ...] = ()
    seed: int = 0
    device: str = "cpu"
    title: str = "neurodecode: decoding"


@dataclass(frozen=True)
class DecodingInputs:
    """What ``run_decoding`` needs: streamed windows split, scaled, and the factories.

    Parameters
    ----------
    windows : StreamedWindows
        Every window of the recordings, preprocessed into the run directory's store and
        cut on demand (``neurodecode.align.dataset``).
    sets : dict of str to StreamedSegments
        ``train``, ``valid`` and ``test`` datasets, each scaled by the per-recording
        scalers fitted on training windows; ``sets[k].meta`` is the split's metadata.
    make_model : callable
        A fresh brain encoder sized for the data.
    loss : torch.nn.Module
        The recipe's loss.
    baselines : dict of str to torch.nn.Module or None
        Baselines by name: the loss the same encoder is trained with, or None (untrained).
    fit_kwargs : dict
        Keyword arguments of :func:`neurodecode.training.fit` (device included).
    eval_kwargs : dict
        ``ks``, ``pool_size``, ``n_bootstraps`` and ``seed`` of
        :func:`neurodecode.decoding.windows.score_model`.
    seed : int
        Seed of the models' initialisation and of the training.
    device : str
        Device of the training and the predictions (``"auto"`` resolved).
    title : str
        Title of the report.
    """

    windows: Any
    sets: dict[str, Any]
    make_model: Callable[[], Any]
    loss: Any
    baselines: dict[str, Any] = field(default_factory=dict)
    fit_kwargs: dict[str, Any] = field(default_factory=dict)
    eval_kwargs: dict[str, Any] = field(default_factory=dict)
    seed: int = 0
    device: str = "cpu"
    title: str = "neurodecode: decoding"


__all__ = ["ClassificationInputs", "DecodingInputs", "EncodingInputs", "ItemDecodingInputs",
           "RSAInputs"]
