"""Where a recipe meets objects: recordings, features, models, losses and the run itself.

Everything downstream (models, losses, the training loop, the jobs) receives typed
arguments built here, never a config object.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from .config import DataConfig, Recipe, SimulationConfig
from .exceptions import ConfigError
from .io.recording import Recording

logger = logging.getLogger("neurodecode")


def build_feature(recipe: Recipe, sfreq: float | None = None):
    """The stimulus feature of the recipe (``neurodecode.features.FEATURES``)."""
    from .features import get_feature

    params = dict(recipe.features.params)
    if sfreq is not None and recipe.features.name in ("mel", "envelope", "onsets"):
        params.setdefault("sfreq", sfreq)
    try:
        return get_feature(recipe.features.name, **params)
    except TypeError as err:
        raise ConfigError(f"features.params {params} do not fit feature "
                          f"{recipe.features.name!r}: {err}") from err


def build_simulated(sim: SimulationConfig, feature: Any, *, sfreq: float, seed: int,
                    progress: bool = False) -> tuple[list[Recording], Any]:
    """Simulated recordings of ``sim.n_subjects`` listening to speech, and its features.

    The audio is the audiobook in ``sim.audio_root`` (``trialNN.wav``) or, when it is
    ``None``, synthetic speech-like sound; each trial is cut to ``sim.trial_duration`` s.
    """
    from .features import StimulusFeatures
    from .simulate import load_audiobook, make_speech_like_audio, simulate_meeg

    if sim.audio_root is not None:
        trials = load_audiobook(sim.audio_root, n_trials=sim.n_trials)
        sounds = [(t.name, t.wav[: int(sim.trial_duration * t.sr)], t.sr) for t in trials]
    else:
        sounds = [(f"trial{k + 1:02d}", make_speech_like_audio(sim.trial_duration, 16000,
                                                                 seed=seed + k), 16000)
                  for k in range(sim.n_trials)]
    values = dict(zip([s[0] for s in sounds],
                      feature.compute([(wav, sr) for _, wav, sr in sounds], progress=progress)))
    subjects = simulate_meeg(list(values.values()), sfreq, stimulus_ids=list(values),
                             n_subjects=sim.n_subjects, sensors=sim.sensors, snr_db=sim.snr_db,
                             response=sim.response, subject_variability=sim.subject_variability,
                             seed=seed, progress=progress)
    features = StimulusFeatures(values, sfreq, feature.name)
    return [s.to_recording() for s in subjects], features


def build_recordings(recipe: Recipe, *, progress: bool = False) -> tuple[list[Recording], Any]:
    """The recordings of the recipe and their stimulus features (or ``None``)."""
    data: DataConfig = recipe.data
    sfreq = recipe.segments.sfreq or 120.0
    if data.source == "simulated":
        feature = build_feature(recipe, sfreq)
        return build_simulated(data.simulation, feature, sfreq=sfreq, seed=recipe.seed,
                               progress=progress)
    recordings = _read_recordings(data)
    if recipe.task != "decoding":
        return recordings, None
    from .features import compute_stimulus_features

    feature = build_feature(recipe, sfreq)
    features = [compute_stimulus_features(feature, rec.events, _expand(data.stimulus_root),
                                          progress=progress) for rec in recordings]
    return recordings, features


def _read_recordings(data: DataConfig) -> list[Recording]:
    if data.source == "study":
        from .io import studies

        if data.study is None or data.root is None:
            raise ConfigError("data.source='study' needs data.study and data.root.")
        root = Path(data.root).expanduser()
        subjects = data.subjects or tuple(studies.get_study(data.study).subjects(root))
        return [rec for s in subjects
                for rec in studies.read(data.study, root, s, **data.read_options)]
    from .io import read_fmri, read_meeg

    if not data.files:
        raise ConfigError("data.source='files' needs data.files (a list of recordings).")
    events: list[Any] = list(data.events) or [None] * len(data.files)
    if len(events) != len(data.files):
        raise ConfigError(f"data.events has {len(events)} entries for {len(data.files)} files; "
                          "expected one per file.")
    recs = []
    for path, ev in zip(map(_expand, data.files), events):
        if str(path).endswith((".nii", ".nii.gz")):
            recs.append(read_fmri(path, events=ev, mask=_expand(data.mask), **data.read_options))
        else:
            recs.append(read_meeg(path, events=ev, **data.read_options))
    return recs


def _expand(path: str | None) -> Path | None:
    """A recipe path with ``~`` expanded (``None`` stays ``None``)."""
    return None if path is None else Path(path).expanduser()


def build_model(recipe: Recipe, *, n_channels: int, n_outputs: int, n_subjects: int):
    """The model of the recipe (``neurodecode.models.MODELS``) sized for the data."""
    from .models import get_model

    cls = get_model(recipe.model.name)
    try:
        return cls(n_channels, n_outputs, n_subjects, **recipe.model.params)
    except TypeError as err:
        raise ConfigError(f"model.params {recipe.model.params} do not fit model "
                          f"{recipe.model.name!r}: {err}") from err


def build_loss(recipe: Recipe, name: str | None = None):
    """The loss of the recipe (``neurodecode.losses.LOSSES``)."""
    from .losses import get_loss

    name = name or recipe.loss.name
    params = recipe.loss.params if name == recipe.loss.name else {}
    try:
        return get_loss(name)(**params)
    except TypeError as err:
        raise ConfigError(f"loss.params {params} do not fit loss {name!r}: {err}") from err


def run_recipe(recipe: Recipe, run_dir: str | Path, *, progress: bool = True,
               overwrite: bool = False) -> dict:
    """Run the recipe's task and write its run directory; returns the metrics.

    The directory is locked for the run (a second run on it is an error while this one
    is alive). Re-running the same recipe into it resumes it, as does one that differs
    only in keys that leave the trained model unchanged (``evaluation.*``, more
    ``training.epochs``); another recipe there is an error naming the keys that differ,
    unless ``overwrite``, which first removes the run files of a neurodecode run
    directory (and refuses any other folder).
    """
    from .jobs import JOBS
    from .rundir import open_run

    with open_run(run_dir, recipe, overwrite=overwrite) as path:
        return JOBS[recipe.task](recipe, path, progress=progress)
