"""The typed inputs of the timeline decoding job: streamed windows, splits, scalers, factories."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..config import Recipe
from ..exceptions import ConfigError
from ..io.recording import Recording
from .data import build_recordings
from .inputs import _title
from .objects import build_loss, build_model, check_recipe_contract

if TYPE_CHECKING:
    from ..align import Segments

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
    from ..align.dataset import make_streamed
    from ..align.store import RecordingStore

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

    from ..align import concatenate_segments, make_segments
    from ..align.segments import check_conditions_found

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

    from ..decoding.windows import split_windows
    from ..jobs.inputs import DecodingInputs
    from ..training.distributed import main_process_first

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


__all__ = ["DECODING_BASELINES", "build_decoding_baselines", "build_decoding_segments",
           "build_streamed", "decoding_inputs", "resolve_device"]
