"""Recipes: YAML files to frozen, validated dataclasses.

``load_recipe(path, overrides)`` is the only entry point. A mistyped key raises a
``ConfigError`` naming the file, the key and the nearest valid key. The resolved recipe
and its hash are written into every run directory (``config.yaml``).
"""

from __future__ import annotations

import ast
import dataclasses
import difflib
import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._hashing import config_hash
from ._recipe_file import MAX_ALIAS_NODES, apply_override, build_dataclass, read_yaml
from .decoding.linear import CLASSIFIERS  # the classifiers of make_classifier
from .exceptions import ConfigError

TASKS = ("decoding", "classification", "rsa", "encoding")
_PACKAGE = Path(__file__).resolve().parent


@functools.cache
def _literal_defaults(module: str, function: str) -> dict[str, Any]:
    """Literal defaults of ``function`` (``name`` or ``Class.method``) in ``module`` (a path
    in the package), read from its source: importing it would load torch and MNE."""
    body = ast.parse((_PACKAGE / module).read_text()).body
    for part in function.split("."):
        node = next(n for n in body if isinstance(n, ast.FunctionDef | ast.ClassDef)
                    and n.name == part)
        body = node.body
    args = node.args  # type: ignore[union-attr]
    positional = args.posonlyargs + args.args
    pairs = list(zip(positional[len(positional) - len(args.defaults):], args.defaults))
    pairs += [(a, d) for a, d in zip(args.kwonlyargs, args.kw_defaults) if d is not None]
    return {a.arg: ast.literal_eval(d) for a, d in pairs}


def library_default(module: str, function: str, parameter: str) -> Any:
    """The default of ``parameter`` in the library's ``function``: one set of defaults, in
    the library signatures, which the config reads (``tests/test_config.py`` checks it
    against ``inspect.signature``)."""
    return _literal_defaults(module, function)[parameter]


def _fit(name: str) -> Any:
    return library_default("training/loop.py", "fit", name)


def _segments(name: str) -> Any:
    return library_default("align/segments.py", "make_segments", name)


def _split(name: str) -> Any:
    return library_default("align/splits.py", "split_segments", name)


def _scaler(name: str) -> Any:
    return library_default("align/scaling.py", "SegmentScaler.__init__", name)


def _retrieval(name: str) -> Any:
    return library_default("evaluation/retrieval.py", "compute_topk_accuracy", name)


@dataclass(frozen=True)
class SimulationConfig:
    """Simulated M/EEG driven by speech (see ``neurodecode.simulate.simulate_meeg``)."""

    n_subjects: int = 2  # simulated subjects
    n_trials: int = 8  # trials (audio files) per subject
    trial_duration: float = 30.0  # seconds of audio per trial
    audio_root: str | None = None  # folder of trialNN.wav; None -> speech-like synthetic audio
    sensors: str = "kit208"  # sensor layout (kit208, ...)
    snr_db: float = -10.0  # signal-to-noise ratio of the simulated response (dB)
    response: str = "trf"  # response model: trf (a temporal receptive field)
    subject_variability: float = 0.3  # spread of the subjects' responses around the shared one (0: identical)
    # image studies (stimuli: images; see neurodecode.simulate.images)
    stimuli: str = "speech"  # speech | images
    image_root: str | None = None  # folder of rsa_92images; None or absent -> generated images
    n_images: int = 92  # images simulated (the first n of the folder, or generated)
    n_test_images: int = 12  # zero-shot test images (never in training)
    n_repetitions: int = 4  # presentations of each training image
    n_test_repetitions: int = 8  # presentations of each test image


@dataclass(frozen=True)
class DataConfig:
    """Where the recordings come from."""

    source: str = "simulated"  # simulated | study | files | bids
    study: str | None = None  # name of a study of neurodecode.io.studies (source: study)
    root: str | None = None  # folder of the study or the BIDS root (source: study | bids)
    subjects: tuple[str, ...] = ()  # subjects to read (empty: all)
    files: tuple[str, ...] = ()  # recordings, paths or globs (source: files)
    events: tuple[str, ...] = ()  # one events file per recording, same order (source: files)
    mask: str | None = None  # NIfTI brain mask of the fMRI files
    stimulus_root: str | None = None  # folder of the stimulus files (audio)
    read_options: dict = field(default_factory=dict)  # keyword arguments of the reader (read_meeg / read_fmri / the study's read)
    simulation: SimulationConfig = field(default_factory=SimulationConfig)


@dataclass(frozen=True)
class FeaturesConfig:
    """Stimulus features (a name of ``neurodecode.features.FEATURES`` and its parameters)."""

    name: str = "mel"  # feature name in neurodecode.features.FEATURES
    params: dict = field(default_factory=dict)  # keyword arguments of the feature


@dataclass(frozen=True)
class SegmentsConfig:
    """Arguments of ``neurodecode.align.make_segments``."""

    tmin: float = 0.0  # window start relative to the event (s)
    tmax: float = 3.0  # window end relative to the event (s)
    on: Any = None  # events to cut at: a kind, a condition or a list of conditions (null: all)
    stride: float | None = _segments("stride")  # sliding windows every stride s (null: one window per event)
    sfreq: float | None = _segments("sfreq")  # rate of the windows (Hz; null: the recording's)
    baseline: tuple[float | None, float] | None = _segments("baseline")  # interval (s) whose mean is subtracted per channel (null: none)
    delay: float = _segments("delay")  # brain lag added to the window (s)
    max_pad: float = _segments("max_pad")  # longest zero padding of a window past the recording's end (s)
    reduction: str | None = None  # fMRI windows -> patterns: mean | tr:<k> | hrf (items)
    allow_missing_conditions: bool = False  # a recording may lack some names of `on` (each found in one at least)
    # decoding (align.dataset.make_streamed):
    offset: float = 0.0  # brain-to-stimulus lag (s): the brain window starts this much later
    train_on: Any = None  # with train_stride: the training/validation windows' segmentation
    train_stride: float | None = None  # (e.g. sound + 0.5 s); test windows stay on `on`
    block_duration: float = 6.0  # split.by=sentence: sentences merged to blocks of >= this (s)


@dataclass(frozen=True)
class SplitConfig:
    """Arguments of ``neurodecode.align.split_segments``."""

    by: str = _split("by")  # unit kept whole in one split (block, sentence, ...)
    test_size: float = _split("test_size")  # fraction of units in the test split
    valid_size: float = _split("valid_size")  # fraction of units in the validation split
    allow_shared_stimuli: bool = _split("allow_shared_stimuli")  # let one stimulus occur in two splits (leaks; off by default)
    test_conditions: tuple[str, ...] = ()  # item decoding: the dataset's test partition
    seed: int | None = None  # seed of the group assignment (None: the recipe's seed)


@dataclass(frozen=True)
class ScalingConfig:
    """Per-channel scaling fitted on the training split (``SegmentScaler``)."""

    method: str | None = _scaler("method")  # robust | standard | null (no scaling)
    clamp: float | None = _scaler("clamp")  # clip the scaled values to [-clamp, clamp] (null: no clipping)


@dataclass(frozen=True)
class ModelConfig:
    """A name of ``neurodecode.models.MODELS`` and its keyword arguments."""

    name: str = "conv_encoder"  # model name in neurodecode.models.MODELS
    params: dict = field(default_factory=dict)  # keyword arguments of the model


@dataclass(frozen=True)
class LossConfig:
    """A name of ``neurodecode.losses.LOSSES`` and its keyword arguments."""

    name: str = "clip"  # loss name in neurodecode.losses.LOSSES
    params: dict = field(default_factory=dict)  # keyword arguments of the loss


@dataclass(frozen=True)
class TrainingConfig:
    """Arguments of ``neurodecode.training.fit``."""

    epochs: int = _fit("epochs")  # training epochs (early stopping may end sooner)
    batches_per_epoch: int | None = _fit("batches_per_epoch")  # batches per epoch, drawn from one stream of random passes (null: one full pass; validation is always a full pass)
    batch_size: int = _fit("batch_size")  # windows per batch
    lr: float = _fit("lr")  # learning rate
    weight_decay: float = _fit("weight_decay")  # weight decay of the optimiser
    optimizer: str = _fit("optimizer")  # adamw | adam
    patience: int = _fit("patience")  # epochs without a better validation loss before stopping
    device: str = _fit("device")  # cpu | cuda | cuda:<k> | auto (decoding: cuda when available)
    num_workers: int = _fit("num_workers")  # data-loader worker processes
    amp: str = _fit("amp")  # mixed precision: none | bf16 | fp16 (with a gradient scaler)
    deterministic: bool = _fit("deterministic")  # bit-identical on any number of CPU threads (1.24x per step); false: faster


@dataclass(frozen=True)
class EvaluationConfig:
    """Retrieval evaluation (``neurodecode.evaluation.compute_topk_accuracy``)."""

    ks: tuple[int, ...] = _retrieval("ks")  # k of the top-k retrieval accuracies
    pool_size: int | None = _retrieval("pool_size")  # candidates per retrieval (null: every test window)
    baselines: tuple[str, ...] = ()  # "regression", "untrained", "ridge" (items)
    n_bootstraps: int = _retrieval("n_bootstraps")  # bootstrap resamples of the confidence intervals
    average_repetitions: bool = True  # item decoding: mean test response per subject x item
    directions: tuple[str, ...] = ("brain_to_image",)  # item decoding; or image_to_brain
    compare: dict = field(default_factory=dict)  # named variants {name: {key: value}}, each a job per --seeds seed, one table (neurodecode.executors)


@dataclass(frozen=True)
class AnalysisConfig:
    """Options of the RSA and encoding tasks."""

    metric: str = "correlation"  # RDM dissimilarity (neurodecode.rsa.METRICS)
    method: str = "spearman"  # RDM comparison method (neurodecode.rsa.compare_rdms)
    model_rdm: str | None = None  # a .npy model RDM over the conditions, or categories (null: categories)
    conditions: tuple[str, ...] = ()  # conditions analysed, in order (empty: all)
    alphas: tuple[float, ...] = (0.1, 1.0, 10.0, 100.0, 1e3, 1e4, 1e5)  # ridge penalties of the encoding models
    hrf_model: str = "glover"  # HRF of the fMRI encoding (glover | spm | ...)
    n_permutations: int = 200  # permutations for the p-values (0: none)
    # classification, RSA and encoding jobs (neurodecode.jobs)
    categories: dict = field(default_factory=dict)  # condition -> category (labels, model RDM)
    classifier: str = "logistic"  # logistic | svm
    cv_by: str = "block"  # segment meta column grouping the cross-validation folds
    n_folds: int = 5  # stratified folds when fewer than 3 groups
    l_freq: float | None = None  # M/EEG band-pass before epoching (Hz)
    h_freq: float | None = None  # M/EEG low-pass before epoching (Hz)
    window: int = 1  # samples per time-resolved RSA pattern (sliding window)
    searchlight_radius: float | None = None  # mm (fMRI) or m (sensors; None: adjacency)
    trf_tmin: float = -0.1  # M/EEG encoding lags (s)
    trf_tmax: float = 0.5  # M/EEG encoding lags, end (s)


@dataclass(frozen=True)
class ExecutionConfig:
    """Resources of each job of ``--executor slurm`` (``neurodecode.executors``); the
    command line's ``--slurm-*`` options override them."""

    partition: str | None = None  # SLURM partition (null: the cluster's default)
    gpus: int = 1  # GPUs per job
    cpus: int = 10  # CPU cores per job (data-loader workers, feature extraction)
    time_min: int = 24 * 60  # time limit per job (minutes)
    mem_gb: float | None = None  # memory per job (GB; null: the cluster's default)


@dataclass(frozen=True)
class Recipe:
    """A whole recipe: one dataset x task."""

    name: str = "recipe"  # recipe name (report title)
    task: str = "decoding"  # decoding | classification | rsa | encoding
    seed: int = 0  # seed of splits, initialisation, permutations and bootstraps
    description: str = ""  # free text shown in the report
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
    execution: ExecutionConfig = field(default_factory=ExecutionConfig)

    def to_dict(self) -> dict:
        """Plain nested dict (tuples as lists), as written to ``config.yaml``."""
        return json.loads(json.dumps(dataclasses.asdict(self)))

    def digest(self) -> str:
        """SHA-256 of the resolved recipe (:func:`neurodecode._hashing.config_hash`)."""
        return config_hash(self.to_dict())


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
    if path.is_dir():
        raise ConfigError(f"recipe {str(path)!r} is a directory; expected a YAML recipe file "
                          "(e.g. recipes/demo.yaml).")
    if not path.is_file():
        raise ConfigError(f"recipe {str(path)!r} does not exist.")
    raw = read_yaml(path)
    if not isinstance(raw, dict):
        raise ConfigError(f"recipe {str(path)!r} must hold a mapping; got {type(raw).__name__}.")
    for item in overrides:
        apply_override(raw, item, path)
    recipe = build_dataclass(Recipe, raw, path, prefix="")
    _check_values(recipe, path)
    return recipe


def recipe_from_dict(raw: dict, source: str = "<dict>") -> Recipe:
    """Build and validate a recipe from a nested dict (as in ``config.yaml``)."""
    recipe = build_dataclass(Recipe, raw, Path(source), prefix="")
    _check_values(recipe, Path(source))
    return recipe


BASELINES = ("regression", "untrained", "ridge")

_CHOICES = {
    ("task",): TASKS,
    ("data", "source"): ("simulated", "study", "files", "bids"),
    ("scaling", "method"): ("robust", "standard", None),
    ("training", "optimizer"): ("adamw", "adam"),
    ("training", "amp"): ("none", "bf16", "fp16"),
    ("data", "simulation", "stimuli"): ("speech", "images"),
}


def _positive(v):
    return v > 0


def _non_negative(v):
    return v >= 0


def _at_least(low):
    return lambda v: v >= low


def _fraction(v):
    return 0 < v < 1


#: key -> (test, what is expected); None values (optional fields) are not tested, and
#: each item of a list is.
_RANGES = {
    "seed": (_non_negative, ">= 0"),
    "data.simulation.n_subjects": (_at_least(1), ">= 1"),
    "data.simulation.n_trials": (_at_least(1), ">= 1"),
    "data.simulation.trial_duration": (_positive, "> 0 seconds"),
    "data.simulation.subject_variability": (_non_negative, ">= 0"),
    "segments.sfreq": (_positive, "> 0 Hz (or null to keep the recording's rate)"),
    "segments.stride": (_positive, "> 0 seconds (or null)"),
    "segments.max_pad": (_non_negative, ">= 0 seconds"),
    "segments.offset": (_non_negative, ">= 0 seconds, shorter than tmax - tmin"),
    "segments.train_stride": (_positive, "> 0 seconds (or null)"),
    "segments.block_duration": (_non_negative, ">= 0 seconds"),
    "split.seed": (_non_negative, ">= 0 (or null for the recipe's seed)"),
    "split.test_size": (_fraction, "a fraction in (0, 1)"),
    "split.valid_size": (_fraction, "a fraction in (0, 1)"),
    "scaling.clamp": (_positive, "> 0 (or null for no clamping)"),
    "training.epochs": (_at_least(1), ">= 1"),
    "training.batch_size": (_at_least(1), ">= 1"),
    "training.batches_per_epoch": (_at_least(1), ">= 1 (or null for a full pass per epoch)"),
    "training.lr": (_positive, "> 0"),
    "training.weight_decay": (_non_negative, ">= 0"),
    "training.patience": (_at_least(1), ">= 1"),
    "training.num_workers": (_non_negative, ">= 0"),
    "evaluation.ks": (_at_least(1), "each >= 1"),
    "evaluation.pool_size": (_at_least(2), ">= 2 (or null for every candidate)"),
    "evaluation.n_bootstraps": (_non_negative, ">= 0"),
    "analysis.alphas": (_positive, "each > 0"),
    "analysis.n_permutations": (_non_negative, ">= 0"),
    "analysis.n_folds": (_at_least(2), ">= 2"),
    "analysis.l_freq": (_positive, "> 0 Hz (or null)"),
    "analysis.h_freq": (_positive, "> 0 Hz (or null)"),
    "analysis.window": (_at_least(1), ">= 1 sample"),
    "analysis.searchlight_radius": (_positive, "> 0 (or null for the sensor adjacency)"),
    "execution.gpus": (_non_negative, ">= 0"),
    "execution.cpus": (_at_least(1), ">= 1"),
    "execution.time_min": (_at_least(1), ">= 1 minute"),
    "execution.mem_gb": (_positive, "> 0 GB (or null for the cluster's default)"),
}


def _get(recipe: Recipe, key: str) -> Any:
    node: Any = recipe
    for part in key.split("."):
        node = getattr(node, part)
    return node


def _choice_error(path: Path, key: str, value: Any, options: Sequence) -> ConfigError:
    close = difflib.get_close_matches(str(value), [str(o) for o in options], n=1, cutoff=0.5)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    return ConfigError(f"{path.name}: {key}={value!r} is not valid; expected one of "
                       f"{list(options)}.{hint}")


def _check_values(recipe: Recipe, path: Path) -> None:
    for keys, options in _CHOICES.items():
        node = _get(recipe, ".".join(keys))
        if node not in options:
            raise _choice_error(path, ".".join(keys), node, options)
    for name in recipe.evaluation.baselines:
        if name not in BASELINES:
            close = difflib.get_close_matches(str(name), BASELINES, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ConfigError(
                f"{path.name}: evaluation.baselines has {name!r}; expected some of "
                f"{list(BASELINES)}.{hint}"
            )
    _check_ranges(recipe, path)
    _check_names(recipe, path)


def _check_ranges(recipe: Recipe, path: Path) -> None:
    for key, (test, expected) in _RANGES.items():
        value = _get(recipe, key)
        for item in value if isinstance(value, tuple) else (value,):
            if item is not None and not test(item):
                raise ConfigError(f"{path.name}: {key}={value!r} is out of range; expected "
                                  f"{expected}.")
    pairs = [("segments.tmin", "segments.tmax"), ("analysis.l_freq", "analysis.h_freq"),
             ("analysis.trf_tmin", "analysis.trf_tmax")]
    for low, high in pairs:
        a, b = _get(recipe, low), _get(recipe, high)
        if a is not None and b is not None and not a < b:
            raise ConfigError(f"{path.name}: {low} ({a}) must be < {high} ({b}).")
    seg = recipe.segments
    if seg.offset >= seg.tmax - seg.tmin:
        raise ConfigError(f"{path.name}: segments.offset={seg.offset!r} (the brain-to-stimulus "
                          f"lag) is not shorter than the window tmax - tmin = "
                          f"{seg.tmax - seg.tmin:g} s; expected a lag < the window.")
    split = recipe.split
    if split.test_size + split.valid_size >= 1:
        raise ConfigError(f"{path.name}: split.test_size + split.valid_size = "
                          f"{split.test_size + split.valid_size:g} leaves no training data; "
                          "expected a sum < 1.")


def _registries() -> dict[str, Sequence[str]]:
    """The library's registries (imported here, at load, before any data is read)."""
    from .align.splits import SPLIT_BY
    from .features import FEATURES
    from .io.studies.registry import STUDIES
    from .losses import LOSSES
    from .models import MODELS
    from .rsa.compare import METHODS
    from .rsa.rdm import METRICS

    return {"features.name": sorted(FEATURES), "model.name": sorted(MODELS),
            "loss.name": sorted(LOSSES), "split.by": list(SPLIT_BY),
            "data.study": sorted(STUDIES), "analysis.method": list(METHODS),
            "analysis.metric": list(METRICS), "analysis.classifier": list(CLASSIFIERS)}




def _check_names(recipe: Recipe, path: Path) -> None:
    for key, names in _registries().items():
        value = _get(recipe, key)
        if key == "data.study" and recipe.data.source != "study" and value is None:
            continue
        if value not in names:
            raise _choice_error(path, key, value, names)


__all__ = ["BASELINES", "MAX_ALIAS_NODES", "TASKS", "AnalysisConfig", "DataConfig",
           "EvaluationConfig", "FeaturesConfig", "LossConfig", "ModelConfig", "Recipe",
           "ScalingConfig", "SegmentsConfig", "SimulationConfig", "SplitConfig", "TrainingConfig",
           "library_default", "load_recipe", "recipe_from_dict"]


if __name__ == "__main__":  # python -m neurodecode.config --reference > recipes/README.md
    import sys

    from ._reference import reference

    if sys.argv[1:] != ["--reference"]:
        sys.exit("usage: python -m neurodecode.config --reference")
    sys.stdout.write(reference(Recipe))
