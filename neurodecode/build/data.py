"""The recordings of a recipe: a study's layout, a BIDS root, files, or a simulation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..config import DataConfig, Recipe
from ..exceptions import ConfigError, DataNotFoundError
from ..io.recording import Recording
from .objects import build_feature
from .paths import expand_path, folder_listing, glob_paths
from .simulation import SIMULATED_SFREQ, build_simulated, build_simulated_images


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
    if data.source == "simulated":
        sfreq = recipe.segments.sfreq or SIMULATED_SFREQ["speech"]
        feature = build_feature(recipe, sfreq)
        return build_simulated(data.simulation, feature, sfreq=sfreq, seed=recipe.seed,
                               progress=progress)
    recordings = _read_recordings(data)
    if recipe.task != "decoding":
        return recordings, None
    import pandas as pd

    from ..features import compute_stimulus_features

    feature = build_feature(recipe, feature_rate(recipe, recordings))
    # one feature timeline per stimulus, shared by every recording that hears it
    events = pd.concat([rec.events for rec in recordings], ignore_index=True)
    features = compute_stimulus_features(feature, events, expand_path(data.stimulus_root),
                                         progress=progress)
    return recordings, features


def feature_rate(recipe: Recipe, recordings: list[Recording]) -> float | None:
    """The rate of a feature computed on the brain's clock: ``segments.sfreq``, or, when it
    is null (windows at the recordings' rate), the one rate of the recordings.

    Parameters
    ----------
    recipe : Recipe
        The validated recipe (``neurodecode.config.load_recipe``).
    recordings : list of Recording
        The recordings of the recipe.

    Returns
    -------
    sfreq : float or None
        The rate in Hz; ``None`` when the recordings' rates differ and the feature keeps
        its own (an item feature or a model at its native frame rate).

    Raises
    ------
    ConfigError
        If ``segments.sfreq`` is null, the recordings have different rates and the
        feature follows the brain's clock (``takes_sfreq``).
    """
    from ..features import FEATURES

    if recipe.segments.sfreq is not None:
        return float(recipe.segments.sfreq)
    rates = sorted({float(rec.sfreq) for rec in recordings})
    if len(rates) == 1:
        return rates[0]
    cls = FEATURES.get(recipe.features.name)
    if cls is None or not cls.takes_sfreq:
        return None
    raise ConfigError(
        f"segments.sfreq is null (the recordings' rate) but the recordings have rates "
        f"{rates} Hz; feature {recipe.features.name!r} is computed on the brain's clock, so "
        "set segments.sfreq to one rate for the windows and the feature (e.g. 120).")


def _read_recordings(data: DataConfig) -> list[Recording]:
    """The recordings of ``data``: a study's fetched layout, a BIDS root, or files."""
    if data.source == "study":
        return _read_study(data)
    if data.source == "bids":
        return _read_bids(data)
    return _read_files(data)


def _read_study(data: DataConfig) -> list[Recording]:
    from ..io import studies

    if data.study is None or data.root is None:
        raise ConfigError("data.source='study' needs data.study and data.root.")
    root = Path(data.root).expanduser()
    study = studies.get_study(data.study)
    found = list(study.subjects(root))
    if not found:
        raise DataNotFoundError(
            f"data.root={str(root)!r} holds no {data.study} recording. Expected the layout\n"
            f"{study.layout()}\nFound: {folder_listing(root)}. Point data.root at the study folder "
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


_BIDS_FILTERS = ("task", "session", "run", "datatype")


def _read_bids(data: DataConfig) -> list[Recording]:
    """Every M/EEG recording of a BIDS root (``read_options`` may filter task, session,
    run and datatype; the rest goes to ``read_meeg``), its ``events.tsv`` as events."""
    import mne_bids

    from ..io import read_meeg

    if data.root is None:
        raise ConfigError("data.source='bids' needs data.root (the BIDS root folder).")
    root = Path(data.root).expanduser()
    if not (root / "dataset_description.json").is_file():
        raise DataNotFoundError(
            f"data.root={str(root)!r} is not a BIDS root: expected dataset_description.json "
            f"and sub-*/ folders; found: {folder_listing(root)}.")
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
    from ..io import read_fmri, read_meeg

    if not data.files:
        raise ConfigError("data.source='files' needs data.files (a list of recordings).")
    files = [p for pattern in data.files for p in glob_paths(pattern, "data.files")]
    events: list[Any] = ([p for pattern in data.events for p in glob_paths(pattern, "data.events")]
                         or [None] * len(files))
    if len(events) != len(files):
        raise ConfigError(
            f"data.events gives {len(events)} events file(s) for {len(files)} recording(s) "
            f"({[f.name for f in files][:6]}); expected one per file, in the same order.")
    recs = []
    for path, ev in zip(files, events):
        if str(path).endswith((".nii", ".nii.gz")):
            recs.append(read_fmri(path, events=ev, mask=expand_path(data.mask), **data.read_options))
        else:
            recs.append(read_meeg(path, events=ev, **data.read_options))
    return recs


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
                                      sfreq=recipe.segments.sfreq or SIMULATED_SFREQ["images"],
                                      progress=progress)
    return build_recordings(recipe, progress=progress)


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
        files = [p for f in data.files for p in glob_paths(f, "data.files")]
        return next((p for p in files if str(p).endswith((".nii", ".nii.gz"))), None)
    if data.source != "study" or data.root is None or data.study is None:
        return None
    from ..io.studies import get_study

    study = get_study(data.study)
    if not hasattr(study, "bold_path"):
        return None
    root = Path(data.root).expanduser()
    subjects: list[Any] = list(data.subjects) or list(study.subjects(root))
    return study.bold_path(root, subjects[0]) if subjects else None


__all__ = ["bold_path", "build_item_data", "build_recordings", "feature_rate"]
