"""The typed inputs of the jobs (``neurodecode.jobs.inputs``), one builder per ``JOBS`` entry."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ..config import Recipe
from ..exceptions import ConfigError
from .data import bold_path, build_item_data, build_recordings
from .objects import build_loss, build_model, check_recipe_contract
from .segments import _section, build_item_segments, build_segments


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
    from ..align.conditions import make_labels
    from ..jobs.inputs import ClassificationInputs

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
    from ..align.conditions import condition_order
    from ..jobs.inputs import RSAInputs

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

    from ..rsa import category_rdm

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
    from ..io.filtering import bandpass
    from ..jobs.inputs import EncodingInputs

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

    from ..align.items import average_repetitions, check_test_subjects, scale_items, split_items
    from ..decoding.items import check_first_batch
    from ..jobs.inputs import ItemDecodingInputs

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


#: Builders of the typed inputs, by ``JOBS`` entry (decoding: ``decoding.decoding_inputs``,
#: which also takes the run directory, its store's home).
INPUTS: dict[str, Callable[..., Any]] = {
    "classification": classification_inputs, "rsa": rsa_inputs,
    "encoding": encoding_inputs, "item_decoding": item_decoding_inputs}


__all__ = ["INPUTS", "build_model_rdm", "classification_inputs", "encoding_inputs",
           "item_decoding_inputs", "rsa_inputs"]
