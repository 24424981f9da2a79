"""Where a recipe meets objects: recordings, features, models, losses and the run itself.

Everything downstream (models, losses, the training loop, the jobs) receives typed
arguments built here, never a config object.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ._progress import stage
from .config import DataConfig, Recipe, SimulationConfig
from .exceptions import ConfigError, DataNotFoundError
from .io.recording import Recording

if TYPE_CHECKING:
    from .align import Segments

logger = logging.getLogger("neurodecode")


def build_feature(recipe: Recipe, sfreq: float | None = None):
    """The stimulus feature of the recipe (``neurodecode.features.FEATURES``).

    Parameters
    ----------
    recipe : Recipe
        The validated recipe (``neurodecode.config.load_recipe``).
    sfreq : float or None
        Rate of a timeline feature that takes one (its own default otherwise).

    Returns
    -------
    feature : Feature
        The feature of ``features.name`` with ``features.params``.
    """
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

    Parameters
    ----------
    sim : SimulationConfig
        The ``data.simulation`` section.
    feature : Feature
        The stimulus feature.
    sfreq : float
        Rate of the simulated recordings (Hz).
    seed : int
        Seed of the audio and the simulation.
    progress : bool
        Show progress bars.

    Returns
    -------
    recordings : list of Recording
        One per simulated subject.
    features : StimulusFeatures
        The feature of each trial's audio.
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

    Parameters
    ----------
    recipe : Recipe
        The validated recipe (``neurodecode.config.load_recipe``).
    progress : bool
        Show progress bars.

    Returns
    -------
    recordings : list of Recording
        The recordings of ``data``.
    features : StimulusFeatures or None
        Their stimulus features (decoding and simulated recipes), else None.
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
    """The model of the recipe (``neurodecode.models.MODELS``) sized for the data.

    Parameters
    ----------
    recipe : Recipe
        The validated recipe (``neurodecode.config.load_recipe``).
    n_channels : int
        Input channels (or voxels).
    n_outputs : int
        Feature dimension predicted.
    n_subjects : int
        Subjects of the subject layer.

    Returns
    -------
    model : torch.nn.Module
        The model of ``model.name`` with ``model.params``.
    """
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
    """The declared kind (``"timeline"``/``"item"``) of the recipe's feature, no model loaded.

    Parameters
    ----------
    recipe : Recipe
        The validated recipe (``neurodecode.config.load_recipe``).

    Returns
    -------
    kind : {"timeline", "item"}
        The kind declared by the feature class.
    """
    from .features import FEATURES, get_feature

    if recipe.features.name not in FEATURES:
        get_feature(recipe.features.name)  # raises, listing the valid names
    return FEATURES[recipe.features.name].kind


def check_recipe_contract(recipe: Recipe, data_rank: str | None = None) -> None:
    """Check feature kind, encoder ranks and data rank of the recipe before training.

    Parameters
    ----------
    recipe : Recipe
        The validated recipe (``neurodecode.config.load_recipe``).
    data_rank : str or None
        Rank of the data segments, when they are known.
    """
    from .models import get_model
    from .models.base import check_contract

    check_contract(feature=recipe.features.name, feature_kind=feature_kind(recipe),
                   encoder=recipe.model.name, encoder_cls=get_model(recipe.model.name),
                   params=recipe.model.params, data_rank=data_rank)


def build_item_data(recipe: Recipe, *, progress: bool = False) -> tuple[list[Recording], Any]:
    """Recordings and item features of an item-decoding recipe (simulated images included).

    Parameters
    ----------
    recipe : Recipe
        The validated recipe (``neurodecode.config.load_recipe``).
    progress : bool
        Show progress bars.

    Returns
    -------
    recordings : list of Recording
        The recordings.
    features : StimulusFeatures
        The items' features.
    """
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

    Parameters
    ----------
    sim : SimulationConfig
        The ``data.simulation`` section.
    feature : Feature
        The image feature.
    sfreq : float
        Rate of the simulated EEG (Hz).
    seed : int
        Seed of the images, the test split and the simulation.
    progress : bool
        Show progress bars.

    Returns
    -------
    recordings : list of Recording
        One per simulated subject.
    features : StimulusFeatures
        The feature of each image.
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
    """The loss of the recipe (``neurodecode.losses.LOSSES``).

    Parameters
    ----------
    recipe : Recipe
        The validated recipe (``neurodecode.config.load_recipe``).
    name : str or None
        Another loss of ``LOSSES`` (without parameters); None: ``loss.name``.

    Returns
    -------
    loss : torch.nn.Module
        The loss.
    """
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

    Parameters
    ----------
    recipe : Recipe
        The validated recipe (``neurodecode.config.load_recipe``).
    run_dir : str or Path
        The run directory (created, locked while the run lasts).
    progress : bool
        Show progress bars.
    overwrite : bool
        Replace the run files of another recipe in ``run_dir``.

    Returns
    -------
    metrics : dict
        The metrics written to ``metrics.json``.

    Examples
    --------
    >>> from neurodecode.build import run_recipe
    >>> from neurodecode.config import load_recipe
    >>> recipe = load_recipe("recipes/demo.yaml", ["training.epochs=1"])
    >>> recipe.task
    'decoding'
    >>> metrics = run_recipe(recipe, "runs/demo", progress=False)  # doctest: +SKIP
    """
    from .jobs import JOBS
    from .rundir import open_run

    job = job_name(recipe)
    with open_run(run_dir, recipe, overwrite=overwrite) as path:
        if job in INPUTS:
            return JOBS[job](INPUTS[job](recipe, progress=progress), path, progress=progress)
        # decoding: its inputs stream into the run directory's store
        return JOBS[job](decoding_inputs(recipe, path, progress=progress), path,
                         progress=progress)


def job_name(recipe: Recipe) -> str:
    """The ``JOBS`` entry of the recipe: its task, or ``item_decoding`` for a decoding task
    whose feature is an item feature (images, sentence embeddings).

    Parameters
    ----------
    recipe : Recipe
        The validated recipe (``neurodecode.config.load_recipe``).

    Returns
    -------
    name : str
        A key of ``neurodecode.jobs.JOBS``.
    """
    if recipe.task == "decoding":
        check_recipe_contract(recipe)
        if feature_kind(recipe) == "item":
            return "item_decoding"
    return recipe.task


# -- typed inputs of the analysis jobs ---------------------------------------------------

@contextlib.contextmanager
def _section(name: str):
    """Library ``ValueError``s (which name their argument) as ``ConfigError``s naming the
    recipe key (``categories ...`` -> ``analysis.categories ...``)."""
    try:
        yield
    except ConfigError:
        raise
    except ValueError as err:
        raise ConfigError(f"{name}.{err}") from err


def build_segments(recipe: Recipe, *, progress: bool = False) -> tuple[Segments, list[Recording]]:
    """Recordings of the recipe, filtered and cut into windows around the selected events.

    Windows of conditions outside ``analysis.conditions`` (when given) are dropped; a
    name there that matches no window, or fewer than two classes left, is a ``ConfigError``.

    Parameters
    ----------
    recipe : Recipe
        The validated recipe (``neurodecode.config.load_recipe``).
    progress : bool
        Show progress bars.

    Returns
    -------
    segments : Segments
        The windows of the selected conditions.
    recordings : list of Recording
        The filtered recordings they were cut from.
    """
    from tqdm.auto import tqdm

    from .align import concatenate_segments, make_segments
    from .align.conditions import condition_mask, make_labels
    from .align.segments import check_conditions_found
    from .io.filtering import bandpass

    with stage("reading the recordings"):
        recordings, _ = build_recordings(recipe, progress=progress)
    logger.info("%d recording(s): %s", len(recordings), ", ".join(
        f"{r.subject} {r.n_channels} ch x {r.n_times} samples at {r.sfreq:g} Hz"
        for r in recordings[:5]))
    ana, seg = recipe.analysis, recipe.segments
    with stage(f"band-pass {ana.l_freq}-{ana.h_freq} Hz"):
        recordings = [bandpass(r, ana.l_freq, ana.h_freq) for r in recordings]
    if seg.allow_missing_conditions:
        check_conditions_found(seg.on, [rec.events for rec in recordings])
    with stage("segmenting"):
        steps = tqdm(recordings, desc="segmenting (recordings)", unit="recording",
                     disable=not progress or len(recordings) < 2)
        parts = [make_segments(rec, tmin=seg.tmin, tmax=seg.tmax, on=seg.on, stride=seg.stride,
                               sfreq=seg.sfreq, baseline=seg.baseline, delay=seg.delay,
                               max_pad=seg.max_pad, allow_missing=seg.allow_missing_conditions)
                 for rec in steps]
        segments = concatenate_segments(parts)
        segments.meta["recording"] = np.concatenate([[i] * len(p) for i, p in enumerate(parts)])
    logger.info("%s", segments.summary())
    with _section("analysis"):
        if ana.conditions:
            segments = segments.select(condition_mask(segments, ana.conditions))
        check_classes(make_labels(segments.meta["condition"].astype(str), ana.categories))
    return segments, recordings


def check_classes(y: np.ndarray) -> None:
    """Raise ``ConfigError`` unless ``y`` holds at least two classes (before any fitting).

    Parameters
    ----------
    y : array of shape (n_samples,)
        Class labels.
    """
    classes = sorted(set(np.asarray(y).tolist()))
    if len(y) == 0 or len(classes) < 2:
        raise ConfigError(
            f"the selected windows hold {len(y)} sample(s) of {len(classes)} class(es) "
            f"{classes}; the analysis needs at least 2 classes. Check analysis.conditions, "
            "analysis.categories and segments.on.")


def _title(recipe: Recipe) -> str:
    return f"neurodecode: {recipe.name} ({recipe.task})"


def classification_inputs(recipe: Recipe, *, progress: bool = False):
    """The :class:`~neurodecode.jobs.inputs.ClassificationInputs` of a recipe.

    Parameters
    ----------
    recipe : Recipe
        The validated recipe (``neurodecode.config.load_recipe``).
    progress : bool
        Show progress bars.

    Returns
    -------
    inputs : ClassificationInputs
        The data and settings of the classification job.
    """
    from .align.conditions import make_labels
    from .jobs.inputs import ClassificationInputs

    ana = recipe.analysis
    segments, recordings = build_segments(recipe, progress=progress)
    if ana.cv_by not in segments.meta.columns:
        raise ConfigError(f"analysis.cv_by={ana.cv_by!r} is not a segment column; expected one "
                          f"of {sorted(segments.meta.columns)}.")
    groups = (segments.meta["subject"].astype(str) + "/"
              + segments.meta[ana.cv_by].astype(str)).to_numpy()
    return ClassificationInputs(
        segments, recordings, make_labels(segments.meta["condition"].astype(str), ana.categories),
        groups, classifier=ana.classifier, n_folds=ana.n_folds,
        n_permutations=ana.n_permutations, seed=recipe.seed, background=bold_path(recipe),
        title=_title(recipe))


def rsa_inputs(recipe: Recipe, *, progress: bool = False):
    """The :class:`~neurodecode.jobs.inputs.RSAInputs` of a recipe (its model RDM built).

    Parameters
    ----------
    recipe : Recipe
        The validated recipe (``neurodecode.config.load_recipe``).
    progress : bool
        Show progress bars.

    Returns
    -------
    inputs : RSAInputs
        The data, model RDM and settings of the RSA job.
    """
    from .align.conditions import condition_order
    from .jobs.inputs import RSAInputs

    ana = recipe.analysis
    segments, recordings = build_segments(recipe, progress=progress)
    order = condition_order(segments, ana.conditions)
    return RSAInputs(segments, recordings, order, build_model_rdm(recipe, order),
                     categories=dict(ana.categories), metric=ana.metric, method=ana.method,
                     radius=ana.searchlight_radius, window=ana.window,
                     n_permutations=ana.n_permutations, seed=recipe.seed,
                     background=bold_path(recipe), title=_title(recipe))


def build_model_rdm(recipe: Recipe, conditions: list[str]) -> np.ndarray:
    """The recipe's model RDM: ``analysis.model_rdm`` (a .npy file) or the category RDM.

    Parameters
    ----------
    recipe : Recipe
        The validated recipe (``neurodecode.config.load_recipe``).
    conditions : list of str
        Conditions of the RDM, in order.

    Returns
    -------
    rdm : array of shape (n_pairs,)
        The condensed model RDM.
    """
    from scipy.spatial.distance import squareform

    from .rsa import category_rdm

    ana = recipe.analysis
    if ana.model_rdm not in (None, "categories"):
        path = Path(ana.model_rdm).expanduser()
        if not path.is_file():
            raise ConfigError(f"analysis.model_rdm={ana.model_rdm!r} is not a file; expected a "
                              ".npy RDM over the conditions, or 'categories'.")
        rdm = np.load(path)
        rdm = squareform(rdm, checks=False) if rdm.ndim == 2 else rdm
        n = len(conditions) * (len(conditions) - 1) // 2
        if rdm.shape != (n,):
            raise ConfigError(f"analysis.model_rdm holds {rdm.shape} values; expected an RDM "
                              f"over {len(conditions)} conditions ({n} pairs).")
        return rdm.astype(float)
    if not ana.categories:
        raise ConfigError("the rsa task needs a model: set analysis.categories (condition -> "
                          "category) or analysis.model_rdm (a .npy RDM).")
    with _section("analysis"):
        return category_rdm(conditions, ana.categories)


def encoding_inputs(recipe: Recipe, *, progress: bool = False):
    """The :class:`~neurodecode.jobs.inputs.EncodingInputs` of a recipe.

    Parameters
    ----------
    recipe : Recipe
        The validated recipe (``neurodecode.config.load_recipe``).
    progress : bool
        Show progress bars.

    Returns
    -------
    inputs : EncodingInputs
        The recordings and settings of the encoding job.
    """
    from .io.filtering import bandpass
    from .jobs.inputs import EncodingInputs

    ana = recipe.analysis
    recordings, _ = build_recordings(recipe, progress=progress)
    recordings = [bandpass(r, ana.l_freq, ana.h_freq) for r in recordings]
    present = sorted({str(c) for r in recordings for c in r.events["condition"]})
    conditions = list(ana.conditions) or present
    absent = [c for c in conditions if c not in present]
    if absent:
        raise ConfigError(f"analysis.conditions {absent} are not in the events; the data has "
                          f"conditions {present}.")
    if recordings[0].modality == "meeg" and ana.n_folds < 3:
        raise ConfigError(f"analysis.n_folds={ana.n_folds}: the M/EEG encoding needs at least 3 "
                          "contiguous chunks (outer and inner cross-validation).")
    return EncodingInputs(recordings, conditions, sfreq=recipe.segments.sfreq,
                          tmin=ana.trf_tmin, tmax=ana.trf_tmax, alphas=tuple(ana.alphas),
                          n_folds=ana.n_folds, n_permutations=ana.n_permutations,
                          seed=recipe.seed, hrf_model=ana.hrf_model,
                          background=bold_path(recipe), title=_title(recipe))


def bold_path(recipe: Recipe) -> Path | None:
    """The first BOLD image of the recipe's data (a study that names it, or data.files).

    Parameters
    ----------
    recipe : Recipe
        The validated recipe (``neurodecode.config.load_recipe``).

    Returns
    -------
    path : Path or None
        The BOLD image, or None when the data have none.
    """
    data = recipe.data
    if data.source == "files":
        files = [p for f in data.files for p in _glob(f, "data.files")]
        return next((p for p in files if str(p).endswith((".nii", ".nii.gz"))), None)
    if data.source != "study" or data.root is None or data.study is None:
        return None
    from .io.studies import get_study

    study = get_study(data.study)
    if not hasattr(study, "bold_path"):
        return None
    root = Path(data.root).expanduser()
    subjects: list[Any] = list(data.subjects) or list(study.subjects(root))
    return study.bold_path(root, subjects[0]) if subjects else None


def item_decoding_inputs(recipe: Recipe, *, progress: bool = False):
    """The :class:`~neurodecode.jobs.inputs.ItemDecodingInputs` of an item-decoding recipe:
    item segments split, scaled, the model and loss factories and the training settings.

    Parameters
    ----------
    recipe : Recipe
        The validated recipe (``neurodecode.config.load_recipe``).
    progress : bool
        Show progress bars.

    Returns
    -------
    inputs : ItemDecodingInputs
        The splits, factories and settings of the item-decoding job.
    """
    import dataclasses

    from .align.items import average_repetitions, check_test_subjects, scale_items, split_items
    from .decoding.items import check_first_batch
    from .jobs.inputs import ItemDecodingInputs

    check_recipe_contract(recipe)
    recordings, features = build_item_data(recipe, progress=progress)
    items = build_item_segments(recordings, features, recipe)
    check_recipe_contract(recipe, data_rank=items.rank)
    cfg, ev = recipe.split, recipe.evaluation
    splits = split_items(items, test_conditions=cfg.test_conditions, test_size=cfg.test_size,
                         valid_size=cfg.valid_size, seed=recipe.seed,
                         allow_shared_stimuli=cfg.allow_shared_stimuli)
    check_test_subjects(splits["train"], splits["test"],
                        average_subject=recipe.model.params.get("unseen_subject") == "average")
    splits = scale_items(splits, recipe.scaling.method, recipe.scaling.clamp)
    if ev.average_repetitions:
        splits["test"] = average_repetitions(splits["test"])

    def make_model():
        return build_model(recipe, n_channels=int(items.brain.shape[1]),
                           n_outputs=items.targets.shape[1], n_subjects=len(items.subjects))

    def check_batch(model, split) -> None:
        check_first_batch(model, split, feature=recipe.features.name, encoder=recipe.model.name)

    return ItemDecodingInputs(
        splits, items, make_model, lambda name=None: build_loss(recipe, name), check_batch,
        fit_kwargs={f.name: getattr(recipe.training, f.name)
                    for f in dataclasses.fields(recipe.training)},
        eval_kwargs=dict(ks=ev.ks, pool_size=ev.pool_size, n_bootstraps=ev.n_bootstraps,
                         seed=recipe.seed, device=recipe.training.device,
                         directions=ev.directions),
        baselines=tuple(ev.baselines), seed=recipe.seed, device=recipe.training.device,
        title=_title(recipe))


def build_item_segments(recordings: list, features: Any, recipe: Recipe):
    """Windows around the recipe's events, paired with their items' features.

    Parameters
    ----------
    recordings : list of Recording
        The recordings.
    features : StimulusFeatures
        The items' features.
    recipe : Recipe
        The validated recipe (``neurodecode.config.load_recipe``).

    Returns
    -------
    items : ItemSegments
        Windows paired with their items' features.
    """
    from .align import make_segments
    from .align.items import make_item_segments

    seg = recipe.segments
    segments = make_segments(recordings, tmin=seg.tmin, tmax=seg.tmax, on=seg.on,
                             stride=seg.stride, sfreq=seg.sfreq, baseline=seg.baseline,
                             delay=seg.delay, max_pad=seg.max_pad,
                             allow_missing=seg.allow_missing_conditions)
    return make_item_segments(segments, features, reduction=seg.reduction)


#: Builders of the typed inputs, by ``JOBS`` entry (decoding: ``decoding_inputs``, which
#: also takes the run directory, its store's home).
INPUTS: dict[str, Callable[..., Any]] = {
    "classification": classification_inputs, "rsa": rsa_inputs,
    "encoding": encoding_inputs, "item_decoding": item_decoding_inputs}


__all__ = ["INPUTS", "bold_path", "build_feature", "build_item_data", "build_item_segments",
           "build_loss", "build_model", "build_model_rdm", "build_recordings", "build_segments",
           "build_simulated", "build_simulated_images", "check_classes", "check_recipe_contract",
           "classification_inputs", "encoding_inputs", "feature_kind", "item_decoding_inputs",
           "job_name", "rsa_inputs", "run_recipe"]


# -- typed inputs of the decoding job (streamed windows) ---------------------------------

#: Baselines of the timeline decoding job: the loss the same encoder is trained with, or
#: None (the untrained encoder).
DECODING_BASELINES = {"regression": "mse", "untrained": None}


def resolve_device(name: str) -> str:
    """``"auto"``: ``"cuda"`` when a GPU is visible, else ``"cpu"``; any other name as is.

    Parameters
    ----------
    name : str
        The recipe's ``training.device``.

    Returns
    -------
    device : str
    """
    if name != "auto":
        return name
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def build_streamed(recordings: list[Recording], features: Any, recipe: Recipe, store: Path, *,
                   progress: bool = False):
    """The recipe's windows, each recording preprocessed once into the store at ``store``.

    Parameters
    ----------
    recordings : list of Recording
        The recordings.
    features : StimulusFeatures
        Their stimulus features (timelines stored once, shared by every recording).
    recipe : Recipe
        The validated recipe (``neurodecode.config.load_recipe``).
    store : Path
        Folder of the on-disk store (``neurodecode.align.store.RecordingStore``).
    progress : bool
        Show progress bars.

    Returns
    -------
    windows : StreamedWindows
        Every window, planned, cut on demand.
    """
    from .align.dataset import make_streamed
    from .align.store import RecordingStore

    seg = recipe.segments
    return make_streamed(recordings, features, RecordingStore(store), tmin=seg.tmin,
                         tmax=seg.tmax, on=seg.on, stride=seg.stride, sfreq=seg.sfreq,
                         baseline=seg.baseline, delay=seg.delay, max_pad=seg.max_pad,
                         offset=seg.offset, train_on=seg.train_on,
                         train_stride=seg.train_stride, block_duration=seg.block_duration,
                         allow_missing=seg.allow_missing_conditions, progress=progress)


def build_decoding_segments(recordings: list[Recording], features: Any, recipe: Recipe, *,
                            progress: bool = False) -> Segments:
    """The decoding recipe's windows as ``Segments`` arrays (analyses and recipe tests; the
    job streams them, ``build_streamed``).

    Parameters
    ----------
    recordings : list of Recording
        The recordings.
    features : StimulusFeatures or list of them
        Their stimulus features (one per recording when a list).
    recipe : Recipe
        The validated recipe (``neurodecode.config.load_recipe``).
    progress : bool
        Show progress bars.

    Returns
    -------
    segments : Segments
        Every window with its target; ``meta["recording"]`` indexes ``recordings``.
    """
    from tqdm.auto import tqdm

    from .align import concatenate_segments, make_segments
    from .align.segments import check_conditions_found

    seg = recipe.segments
    if seg.allow_missing_conditions:
        check_conditions_found(seg.on, [rec.events for rec in recordings])
    per_rec = features if isinstance(features, list) else [features] * len(recordings)
    steps = tqdm(list(zip(recordings, per_rec)), desc="segmenting (recordings)",
                 unit="recording", disable=not progress or len(recordings) < 2)
    parts = [make_segments(rec, features=feat, tmin=seg.tmin, tmax=seg.tmax, on=seg.on,
                           stride=seg.stride, sfreq=seg.sfreq, baseline=seg.baseline,
                           delay=seg.delay, max_pad=seg.max_pad,
                           allow_missing=seg.allow_missing_conditions) for rec, feat in steps]
    segments = concatenate_segments(parts)
    segments.meta["recording"] = np.concatenate([[i] * len(p) for i, p in enumerate(parts)])
    return segments


def build_decoding_baselines(recipe: Recipe) -> dict[str, Any]:
    """The recipe's baselines of the decoding job: name -> loss, or None (untrained).

    Parameters
    ----------
    recipe : Recipe
        The validated recipe (``neurodecode.config.load_recipe``).

    Returns
    -------
    baselines : dict of str to torch.nn.Module or None
    """
    unknown = [n for n in recipe.evaluation.baselines if n not in DECODING_BASELINES]
    if unknown:
        raise ConfigError(f"evaluation.baselines has {unknown[0]!r}; the decoding of timeline "
                          f"features has the baselines {list(DECODING_BASELINES)} (ridge is "
                          "for item features).")
    return {name: None if DECODING_BASELINES[name] is None
            else build_loss(recipe, DECODING_BASELINES[name])
            for name in recipe.evaluation.baselines}


def decoding_inputs(recipe: Recipe, run_dir: str | Path, *, progress: bool = False):
    """The :class:`~neurodecode.jobs.inputs.DecodingInputs` of a timeline decoding recipe.

    Each recording is preprocessed once into ``<run_dir>/store`` (under torchrun rank 0
    first, the others then read it); the windows are split (``split`` section), one robust
    scaler per recording is fitted on its training windows (``scaling``), and the model,
    loss and baseline factories are sized for the data.

    Parameters
    ----------
    recipe : Recipe
        The validated recipe (``neurodecode.config.load_recipe``).
    run_dir : str or Path
        The run directory (its ``store`` folder holds the preprocessed recordings).
    progress : bool
        Show progress bars.

    Returns
    -------
    inputs : DecodingInputs
        The streamed datasets, factories and settings of the decoding job.
    """
    import dataclasses

    from .decoding.windows import split_windows
    from .jobs.inputs import DecodingInputs
    from .training.distributed import main_process_first

    check_recipe_contract(recipe)  # item features run as JOBS["item_decoding"] (job_name)
    baselines = build_decoding_baselines(recipe)
    with main_process_first():  # under torchrun rank 0 builds the store, the others read it
        recordings, features = build_recordings(recipe, progress=progress)
        if features is None:
            raise ConfigError("decoding needs stimulus features: set the recipe's features "
                              "section.")
        windows = build_streamed(recordings, features, recipe, Path(run_dir) / "store",
                                 progress=progress)
    cfg, ev = recipe.split, recipe.evaluation
    splits = split_windows(windows, by=cfg.by, test_size=cfg.test_size,
                           valid_size=cfg.valid_size,
                           seed=recipe.seed if cfg.seed is None else cfg.seed,
                           shuffle_seed=recipe.seed,
                           allow_shared_stimuli=cfg.allow_shared_stimuli)
    scalers = windows.fit_scalers(splits["train"], recipe.scaling.method,
                                  recipe.scaling.clamp, seed=recipe.seed)
    device = resolve_device(recipe.training.device)

    def make_model():
        return build_model(recipe, n_channels=len(windows.ch_names),
                           n_outputs=windows.n_features, n_subjects=len(windows.subjects))

    return DecodingInputs(
        windows, {k: windows.dataset(m, scalers) for k, m in splits.items()}, make_model,
        build_loss(recipe), baselines,
        fit_kwargs={f.name: getattr(recipe.training, f.name)
                    for f in dataclasses.fields(recipe.training)} | {"device": device},
        eval_kwargs=dict(ks=ev.ks, pool_size=ev.pool_size, n_bootstraps=ev.n_bootstraps,
                         seed=recipe.seed),
        seed=recipe.seed, device=device, title=_title(recipe))


__all__ += ["DECODING_BASELINES", "build_decoding_baselines", "build_decoding_segments",
            "build_streamed", "decoding_inputs", "resolve_device"]
