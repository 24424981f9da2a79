"""Where a recipe meets objects: recordings, features, models, losses and the run itself.

Everything downstream (models, losses, the training loop, the jobs) receives typed
arguments built here, never a config object.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from .config import DataConfig, Recipe, SimulationConfig
from .exceptions import ConfigError, DataNotFoundError
from .io.recording import Recording

logger = logging.getLogger("neurodecode")


def build_feature(recipe: Recipe, sfreq: float | None = None):
    """The stimulus feature of the recipe (``neurodecode.features.FEATURES``)."""
    from .features import FEATURES, get_feature

    params = dict(recipe.features.params)
    cls = FEATURES.get(recipe.features.name)
    if sfreq is not None and cls is not None and cls.takes_sfreq:
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
    """The recordings of the recipe and their stimulus features (or ``None``).

    The features (a ``StimulusFeatures``) are computed once per stimulus for all the
    recordings; each recording places them at its own sound events.
    """
    data: DataConfig = recipe.data
    sfreq = recipe.segments.sfreq or 120.0
    if data.source == "simulated":
        feature = build_feature(recipe, sfreq)
        return build_simulated(data.simulation, feature, sfreq=sfreq, seed=recipe.seed,
                               progress=progress)
    recordings = _read_recordings(data)
    if recipe.task != "decoding":
        return recordings, None
    import pandas as pd

    from .features import compute_stimulus_features

    feature = build_feature(recipe, sfreq)
    # one feature timeline per stimulus, shared by every recording that hears it
    events = pd.concat([rec.events for rec in recordings], ignore_index=True)
    features = compute_stimulus_features(feature, events, _expand(data.stimulus_root),
                                         progress=progress)
    return recordings, features


def _read_recordings(data: DataConfig) -> list[Recording]:
    """The recordings of ``data``: a study's fetched layout, a BIDS root, or files."""
    if data.source == "study":
        return _read_study(data)
    if data.source == "bids":
        return _read_bids(data)
    return _read_files(data)


def _read_study(data: DataConfig) -> list[Recording]:
    from .io import studies

    if data.study is None or data.root is None:
        raise ConfigError("data.source='study' needs data.study and data.root.")
    root = Path(data.root).expanduser()
    study = studies.get_study(data.study)
    found = list(study.subjects(root))
    if not found:
        raise DataNotFoundError(
            f"data.root={str(root)!r} holds no {data.study} recording. Expected the layout\n"
            f"{study.layout()}\nFound: {_listing(root)}. Point data.root at the study folder "
            f"(`neurodecode fetch {data.study} --root DIR` creates DIR/{data.study}), or use "
            "data.source=files (a glob and one events file per file) or data.source=bids.")
    subjects = list(data.subjects) or found
    _check_subjects(subjects, found, f"{data.study} at {root}")
    return [rec for s in subjects for rec in study.read(root, s, **data.read_options)]


def _check_subjects(subjects, found, where: str) -> None:
    unknown = [s for s in subjects
               if str(s).removeprefix("sub-").removeprefix("subj") not in set(map(str, found))]
    if unknown:
        raise ConfigError(f"data.subjects {unknown} are not in {where}; the subjects there "
                          f"are {sorted(map(str, found))[:30]}.")


def _listing(root: Path, limit: int = 12) -> str:
    """The first entries of ``root`` (or why there are none), for an error message."""
    if not root.is_dir():
        return "no such folder" if not root.exists() else "a file, not a folder"
    names = sorted(p.name + ("/" if p.is_dir() else "") for p in root.iterdir())
    more = f" ... ({len(names)} entries)" if len(names) > limit else ""
    return (", ".join(names[:limit]) + more) if names else "an empty folder"


_BIDS_FILTERS = ("task", "session", "run", "datatype")


def _read_bids(data: DataConfig) -> list[Recording]:
    """Every M/EEG recording of a BIDS root (``read_options`` may filter task, session,
    run and datatype; the rest goes to ``read_meeg``), its ``events.tsv`` as events."""
    import mne_bids

    from .io import read_meeg

    if data.root is None:
        raise ConfigError("data.source='bids' needs data.root (the BIDS root folder).")
    root = Path(data.root).expanduser()
    if not (root / "dataset_description.json").is_file():
        raise DataNotFoundError(
            f"data.root={str(root)!r} is not a BIDS root: expected dataset_description.json "
            f"and sub-*/ folders; found: {_listing(root)}.")
    filters = {k: data.read_options[k] for k in _BIDS_FILTERS if k in data.read_options}
    options = {k: v for k, v in data.read_options.items() if k not in _BIDS_FILTERS}
    found = mne_bids.get_entity_vals(root, "subject")
    subjects = list(data.subjects) or found
    _check_subjects(subjects, found, f"the BIDS root {root}")
    paths = mne_bids.find_matching_paths(
        root, subjects=[str(s).removeprefix("sub-") for s in subjects],
        tasks=filters.get("task"), sessions=filters.get("session"), runs=filters.get("run"),
        datatypes=filters.get("datatype", ["meg", "eeg"]), suffixes=["meg", "eeg"],
        extensions=[".fif", ".vhdr", ".edf", ".bdf", ".set", ".con", ".sqd", ".ds"])
    if not paths:
        raise DataNotFoundError(f"the BIDS root {root} has no M/EEG recording of subjects "
                                f"{subjects} matching {filters or 'any task'}.")
    return [read_meeg(p, **options) for p in paths]


def _read_files(data: DataConfig) -> list[Recording]:
    """``data.files`` (each a path or a glob, sorted) with one events file per file."""
    from .io import read_fmri, read_meeg

    if not data.files:
        raise ConfigError("data.source='files' needs data.files (a list of recordings).")
    files = [p for pattern in data.files for p in _glob(pattern, "data.files")]
    events: list[Any] = ([p for pattern in data.events for p in _glob(pattern, "data.events")]
                         or [None] * len(files))
    if len(events) != len(files):
        raise ConfigError(
            f"data.events gives {len(events)} events file(s) for {len(files)} recording(s) "
            f"({[f.name for f in files][:6]}); expected one per file, in the same order.")
    recs = []
    for path, ev in zip(files, events):
        if str(path).endswith((".nii", ".nii.gz")):
            recs.append(read_fmri(path, events=ev, mask=_expand(data.mask), **data.read_options))
        else:
            recs.append(read_meeg(path, events=ev, **data.read_options))
    return recs


def _glob(pattern: str, key: str) -> list[Path]:
    """The files of a path or glob pattern (sorted); a pattern matching nothing is an error."""
    path = Path(pattern).expanduser()
    if not any(c in str(pattern) for c in "*?["):
        return [path]
    anchor = Path(path.anchor or ".")
    matches = sorted(anchor.glob(str(path.relative_to(anchor)))) if path.is_absolute() else \
        sorted(Path(".").glob(str(path)))
    if not matches:
        raise DataNotFoundError(f"{key} pattern {pattern!r} matches no file; the folder holds: "
                                f"{_listing(_fixed_part(path))}.")
    return matches


def _fixed_part(path: Path) -> Path:
    """The folder of ``path`` before its first glob character."""
    parts = []
    for part in path.parts:
        if any(c in part for c in "*?["):
            break
        parts.append(part)
    return Path(*parts) if parts else Path(".")


def _expand(path: str | None) -> Path | None:
    """A recipe path with ``~`` expanded (``None`` stays ``None``)."""
    return None if path is None else Path(path).expanduser()


def build_model(recipe: Recipe, *, n_channels: int, n_outputs: int, n_subjects: int):
    """The model of the recipe (``neurodecode.models.MODELS``) sized for the data."""
    from .models import get_model
    from .models.base import BrainEncoder

    cls = get_model(recipe.model.name)
    try:
        if issubclass(cls, BrainEncoder):
            return cls.from_sizes(n_inputs=n_channels, n_outputs=n_outputs,
                                  n_subjects=n_subjects, **recipe.model.params)
        return cls(n_channels, n_outputs, n_subjects, **recipe.model.params)
    except TypeError as err:
        raise ConfigError(f"model.params {recipe.model.params} do not fit model "
                          f"{recipe.model.name!r}: {err}") from err


def feature_kind(recipe: Recipe) -> str:
    """The declared kind (``"timeline"``/``"item"``) of the recipe's feature, no model loaded."""
    from .features import FEATURES, get_feature

    if recipe.features.name not in FEATURES:
        get_feature(recipe.features.name)  # raises, listing the valid names
    return FEATURES[recipe.features.name].kind


def check_recipe_contract(recipe: Recipe, data_rank: str | None = None) -> None:
    """Check feature kind, encoder ranks and data rank of the recipe before training."""
    from .models import get_model
    from .models.base import check_contract

    check_contract(feature=recipe.features.name, feature_kind=feature_kind(recipe),
                   encoder=recipe.model.name, encoder_cls=get_model(recipe.model.name),
                   params=recipe.model.params, data_rank=data_rank)


def build_item_data(recipe: Recipe, *, progress: bool = False) -> tuple[list[Recording], Any]:
    """Recordings and item features of an item-decoding recipe (simulated images included)."""
    sim = recipe.data.simulation
    if recipe.data.source == "simulated" and sim.stimuli == "images":
        return build_simulated_images(sim, build_feature(recipe), seed=recipe.seed,
                                      sfreq=recipe.segments.sfreq or 100.0, progress=progress)
    return build_recordings(recipe, progress=progress)


def build_simulated_images(sim: SimulationConfig, feature: Any, *, sfreq: float, seed: int,
                           progress: bool = False) -> tuple[list[Recording], Any]:
    """Simulated EEG of ``sim.n_subjects`` viewing images, and the images' features.

    The images are the 92 of ``sim.image_root`` (rsatoolbox's Kriegeskorte et al. 2008
    file) or, when it is ``None`` or absent, ``sim.n_images`` generated images; the last
    ``sim.n_test_images`` (after a seeded shuffle) are the zero-shot test images.
    """
    import numpy as np

    from .features import StimulusFeatures
    from .simulate.images import generated_images, load_92_images, simulate_image_eeg

    root = _expand(sim.image_root)
    if root is not None and root.is_dir():
        images = load_92_images(root)[: sim.n_images]
    else:
        images = generated_images(sim.n_images, seed=seed)
    if not 2 <= sim.n_test_images <= len(images) - 2:
        raise ConfigError(f"data.simulation.n_test_images={sim.n_test_images} must be between "
                          f"2 and {len(images) - 2} (n_images - 2) for {len(images)} images.")
    ids = [f"image{k + 1:03d}" for k in range(len(images))]
    values = np.stack(feature.compute(images, progress=progress))
    test = list(np.random.default_rng(seed).permutation(ids)[: sim.n_test_images])
    recordings, _ = simulate_image_eeg(
        values, ids, test, n_subjects=sim.n_subjects, n_repetitions=sim.n_repetitions,
        n_test_repetitions=sim.n_test_repetitions, sfreq=sfreq, snr_db=sim.snr_db,
        subject_variability=sim.subject_variability, seed=seed)
    return recordings, StimulusFeatures(dict(zip(ids, values)), None, feature.name)


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
