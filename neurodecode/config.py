"""Recipes: YAML files to frozen, validated dataclasses.

``load_recipe(path, overrides)`` is the only entry point. A mistyped key raises a
``ConfigError`` naming the file, the key and the nearest valid key. The resolved recipe
and its hash are written into every run directory (``config.yaml``).
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import json
import types
import typing
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .exceptions import ConfigError

TASKS = ("decoding", "classification", "rsa", "encoding")


@dataclass(frozen=True)
class SimulationConfig:
    """Simulated M/EEG driven by speech (see ``neurodecode.simulate.simulate_meeg``)."""

    n_subjects: int = 2
    n_trials: int = 8
    trial_duration: float = 30.0
    audio_root: str | None = None  # folder of trialNN.wav; None -> speech-like synthetic audio
    sensors: str = "kit208"
    snr_db: float = -10.0
    response: str = "trf"
    subject_variability: float = 0.3
    # image studies (stimuli: images; see neurodecode.simulate.images)
    stimuli: str = "speech"  # speech | images
    image_root: str | None = None  # folder of rsa_92images; None or absent -> generated images
    n_images: int = 92
    n_test_images: int = 12  # zero-shot test images (never in training)
    n_repetitions: int = 4  # presentations of each training image
    n_test_repetitions: int = 8  # presentations of each test image


@dataclass(frozen=True)
class DataConfig:
    """Where the recordings come from."""

    source: str = "simulated"  # simulated | study | files
    study: str | None = None
    root: str | None = None
    subjects: tuple[str, ...] = ()
    files: tuple[str, ...] = ()
    events: tuple[str, ...] = ()
    mask: str | None = None
    stimulus_root: str | None = None
    read_options: dict = field(default_factory=dict)
    simulation: SimulationConfig = field(default_factory=SimulationConfig)


@dataclass(frozen=True)
class FeaturesConfig:
    """Stimulus features (a name of ``neurodecode.features.FEATURES`` and its parameters)."""

    name: str = "mel"
    params: dict = field(default_factory=dict)


@dataclass(frozen=True)
class SegmentsConfig:
    """Arguments of ``neurodecode.align.make_segments``."""

    tmin: float = 0.0
    tmax: float = 3.0
    on: Any = None
    stride: float | None = None
    sfreq: float | None = 120.0
    baseline: tuple[float | None, float] | None = None
    delay: float = 0.0
    max_pad: float = 0.1
    reduction: str | None = None  # fMRI windows -> patterns: mean | tr:<k> | hrf (items)
    # a recording may lack some conditions of `on` (each found in at least one recording)
    allow_missing_conditions: bool = False


@dataclass(frozen=True)
class SplitConfig:
    """Arguments of ``neurodecode.align.split_segments``."""

    by: str = "block"
    test_size: float = 0.2
    valid_size: float = 0.1
    allow_shared_stimuli: bool = False
    test_conditions: tuple[str, ...] = ()  # item decoding: the dataset's test partition


@dataclass(frozen=True)
class ScalingConfig:
    """Per-channel scaling fitted on the training split (``SegmentScaler``)."""

    method: str | None = "robust"
    clamp: float | None = 20.0


@dataclass(frozen=True)
class ModelConfig:
    """A name of ``neurodecode.models.MODELS`` and its keyword arguments."""

    name: str = "conv_encoder"
    params: dict = field(default_factory=dict)


@dataclass(frozen=True)
class LossConfig:
    """A name of ``neurodecode.losses.LOSSES`` and its keyword arguments."""

    name: str = "clip"
    params: dict = field(default_factory=dict)


@dataclass(frozen=True)
class TrainingConfig:
    """Arguments of ``neurodecode.training.fit``."""

    epochs: int = 30
    batch_size: int = 64
    lr: float = 3e-4
    weight_decay: float = 0.0
    optimizer: str = "adamw"
    patience: int = 10
    device: str = "cpu"
    num_workers: int = 0
    amp: bool = False


@dataclass(frozen=True)
class EvaluationConfig:
    """Retrieval evaluation (``neurodecode.evaluation.compute_topk_accuracy``)."""

    ks: tuple[int, ...] = (1, 5, 10)
    pool_size: int | None = None
    baselines: tuple[str, ...] = ()  # "regression", "untrained", "ridge" (items)
    n_bootstraps: int = 1000
    average_repetitions: bool = True  # item decoding: mean test response per subject x item
    directions: tuple[str, ...] = ("brain_to_image",)  # item decoding; or image_to_brain


@dataclass(frozen=True)
class AnalysisConfig:
    """Options of the RSA and encoding tasks."""

    metric: str = "correlation"
    method: str = "spearman"
    model_rdm: str | None = None
    conditions: tuple[str, ...] = ()
    alphas: tuple[float, ...] = (0.1, 1.0, 10.0, 100.0, 1e3, 1e4, 1e5)
    hrf_model: str = "glover"
    n_permutations: int = 200
    # classification, RSA and encoding jobs (neurodecode.jobs)
    categories: dict = field(default_factory=dict)  # condition -> category (labels, model RDM)
    classifier: str = "logistic"  # logistic | svm
    cv_by: str = "block"  # segment meta column grouping the cross-validation folds
    n_folds: int = 5  # stratified folds when fewer than 3 groups
    l_freq: float | None = None  # M/EEG band-pass before epoching (Hz)
    h_freq: float | None = None
    window: int = 1  # samples per time-resolved RSA pattern (sliding window)
    searchlight_radius: float | None = None  # mm (fMRI) or m (sensors; None: adjacency)
    trf_tmin: float = -0.1  # M/EEG encoding lags (s)
    trf_tmax: float = 0.5


@dataclass(frozen=True)
class Recipe:
    """A whole recipe: one dataset x task."""

    name: str = "recipe"
    task: str = "decoding"
    seed: int = 0
    description: str = ""
    data: DataConfig = field(default_factory=DataConfig)
    features: FeaturesConfig = field(default_factory=FeaturesConfig)
    segments: SegmentsConfig = field(default_factory=SegmentsConfig)
    split: SplitConfig = field(default_factory=SplitConfig)
    scaling: ScalingConfig = field(default_factory=ScalingConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    training: TrainingConfig = field(default_factory=TrainingConfig)
    evaluation: EvaluationConfig = field(default_factory=EvaluationConfig)
    analysis: AnalysisConfig = field(default_factory=AnalysisConfig)

    def to_dict(self) -> dict:
        """Plain nested dict (tuples as lists), as written to ``config.yaml``."""
        return json.loads(json.dumps(dataclasses.asdict(self)))

    def digest(self) -> str:
        """SHA-256 of the resolved recipe (JSON with sorted keys)."""
        text = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()


def load_recipe(path: str | Path, overrides: Sequence[str] = ()) -> Recipe:
    """Read a YAML recipe, apply ``key.sub=value`` overrides and validate it.

    Parameters
    ----------
    path : str or Path
        The YAML file.
    overrides : sequence of str
        E.g. ``["training.epochs=5", "data.simulation.n_subjects=3"]``; values are YAML.

    Returns
    -------
    recipe : Recipe
        Frozen and validated.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"recipe {str(path)!r} does not exist.")
    try:
        raw = yaml.load(path.read_text(), Loader=_UniqueKeyLoader) or {}
    except yaml.YAMLError as err:
        raise ConfigError(f"recipe {str(path)!r} is not valid YAML: {err}") from err
    if not isinstance(raw, dict):
        raise ConfigError(f"recipe {str(path)!r} must hold a mapping; got {type(raw).__name__}.")
    for item in overrides:
        _apply_override(raw, item, path)
    recipe = _build(Recipe, raw, path, prefix="")
    _check_values(recipe, path)
    return recipe


class _UniqueKeyLoader(yaml.SafeLoader):
    """A safe YAML loader that refuses a key given twice in one mapping (PyYAML would
    silently keep the last, dropping e.g. a whole earlier ``training:`` section)."""

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        seen: dict = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping", node.start_mark,
                    f"found the key {key!r} twice (first at line {seen[key] + 1})",
                    key_node.start_mark)
            seen[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep=deep)


def recipe_from_dict(raw: dict, source: str = "<dict>") -> Recipe:
    """Build and validate a recipe from a nested dict (as in ``config.yaml``)."""
    recipe = _build(Recipe, raw, Path(source), prefix="")
    _check_values(recipe, Path(source))
    return recipe


def _apply_override(raw: dict, item: str, path: Path) -> None:
    if "=" not in item:
        raise ConfigError(f"override {item!r} for {path.name} must look like key.sub=value.")
    key, value = item.split("=", 1)
    node = raw
    parts = key.strip().split(".")
    for part in parts[:-1]:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise ConfigError(f"override {item!r}: {part!r} is not a section in {path.name}.")
    node[parts[-1]] = yaml.safe_load(value)


def _build(cls: type, raw: Any, path: Path, prefix: str) -> Any:
    if not isinstance(raw, dict):
        raise ConfigError(
            f"{path.name}: section {prefix.rstrip('.') or '<top>'!r} must be a mapping; "
            f"got {raw!r}."
        )
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    kwargs = {}
    for key, value in raw.items():
        if key is True and "on" in fields:
            key = "on"  # YAML 1.1 reads a bare `on:` key as the boolean true
        if key not in fields:
            close = difflib.get_close_matches(str(key), list(fields), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ConfigError(
                f"{path.name}: unknown key {prefix + str(key)!r}{hint} Valid keys here: "
                f"{sorted(fields)}."
            )
        kwargs[key] = _coerce(hints[key], value, path, prefix + key)
    return cls(**kwargs)


def _coerce(hint: Any, value: Any, path: Path, key: str) -> Any:
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return _build(hint, value, path, key + ".")
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in (a for a in args if a is not type(None)):
            try:
                return _coerce(arg, value, path, key)
            except ConfigError as err:
                errors.append(str(err))
        raise ConfigError(errors[0])
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{path.name}: {key} must be a list; got {value!r}.")
        inner = args[0] if args else Any
        return tuple(_coerce(inner, v, path, key) for v in value)
    if hint is Any:
        return value
    if hint is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if hint is float and isinstance(value, str):  # YAML 1.1 reads 1e-3 (no dot) as text
        try:
            return float(value)
        except ValueError:
            pass
    if hint is dict and isinstance(value, dict):
        return dict(value)
    if isinstance(hint, type) and isinstance(value, hint) and not (
            hint is int and isinstance(value, bool)):
        return value
    name = getattr(hint, "__name__", str(hint))
    raise ConfigError(f"{path.name}: {key} must be {name}; got {value!r}.")


BASELINES = ("regression", "untrained", "ridge")

_CHOICES = {
    ("task",): TASKS,
    ("data", "source"): ("simulated", "study", "files"),
    ("split", "by"): ("block", "story", "run", "sentence"),
    ("scaling", "method"): ("robust", "standard", None),
    ("training", "optimizer"): ("adamw", "adam"),
    ("data", "simulation", "stimuli"): ("speech", "images"),
}


def _check_values(recipe: Recipe, path: Path) -> None:
    for keys, options in _CHOICES.items():
        node: Any = recipe
        for k in keys:
            node = getattr(node, k)
        if node not in options:
            close = difflib.get_close_matches(str(node), [str(o) for o in options], n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ConfigError(
                f"{path.name}: {'.'.join(keys)}={node!r} is not valid; expected one of "
                f"{list(options)}.{hint}"
            )
    for name in recipe.evaluation.baselines:
        if name not in BASELINES:
            close = difflib.get_close_matches(str(name), BASELINES, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ConfigError(
                f"{path.name}: evaluation.baselines has {name!r}; expected some of "
                f"{list(BASELINES)}.{hint}"
            )
    seg = recipe.segments
    if not seg.tmin < seg.tmax:
        raise ConfigError(f"{path.name}: segments.tmin ({seg.tmin}) must be < segments.tmax "
                          f"({seg.tmax}).")
