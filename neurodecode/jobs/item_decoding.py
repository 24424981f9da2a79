"""The item (image) decoding job: item segments -> zero-shot splits -> trained -> retrieval.

Run by ``run_decoding`` when the recipe's feature is an item feature (images, sentence
embeddings). Everything but the orchestration lives in the library:
``neurodecode.align.items`` (segments, splits, repetition averaging) and
``neurodecode.decoding.items`` (dataset, training, ridge, scoring).
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..align import make_segments
from ..align.items import (
    ItemSegments,
    average_repetitions,
    check_test_subjects,
    make_item_segments,
    scale_items,
    split_items,
)
from ..build import build_item_data, build_loss, build_model, check_recipe_contract
from ..config import Recipe
from ..decoding.items import check_first_batch, fit_ridge, predict_items, score_items, train_items
from .common import finish_run, write_metrics

logger = logging.getLogger("neurodecode")

#: k values of the retrieval curve (those not above the number of candidates).
CURVE_KS = (1, 2, 3, 5, 10, 20, 50, 100, 200, 500, 1000)


def run_item_decoding(recipe: Recipe, run_dir: Path, *, progress: bool = True) -> dict:
    """Run an item-decoding recipe end to end and write its run directory."""
    check_recipe_contract(recipe)
    recordings, features = build_item_data(recipe, progress=progress)
    items = load_item_segments(recordings, features, recipe, progress=progress)
    check_recipe_contract(recipe, data_rank=items.rank)
    splits = _splits(items, recipe)
    def make_model():
        return build_model(recipe, n_channels=_n_inputs(items), n_outputs=items.targets.shape[1],
                           n_subjects=len(items.subjects))
    check_first_batch(make_model(), splits["train"], feature=recipe.features.name,
                      encoder=recipe.model.name)
    fit_kwargs = {f.name: getattr(recipe.training, f.name)
                  for f in dataclasses.fields(recipe.training)}
    model, fitted, seconds = train_items(make_model, build_loss(recipe), splits, run_dir=run_dir,
                                         seed=recipe.seed, progress=progress, **fit_kwargs)
    device = recipe.training.device
    pred = predict_items(model, splits["test"], device=device)
    scores = score_items(pred, splits["test"], **_eval_kwargs(recipe))
    metrics = {**_to_dict(scores), "training": {
        "best_epoch": fitted.best_epoch, "best_valid_loss": fitted.best_valid_loss,
        "epochs_run": len(fitted.history), "seconds": seconds,
        "n_parameters": int(sum(p.numel() for p in model.parameters()))},
        "data": _summary(items, splits)}
    metrics["baselines"] = _baselines(recipe, make_model, splits, run_dir, fit_kwargs, progress)
    _write_run_files(run_dir, fitted.history, model, splits["test"], pred, recipe)
    write_metrics(run_dir, metrics)
    finish_run(run_dir, recipe)
    return metrics


def load_item_segments(recordings: list, features: Any, recipe: Recipe, *,
                       progress: bool = False) -> ItemSegments:
    """Windows around the recipe's events, paired with their items' features."""
    seg = recipe.segments
    segments = make_segments(recordings, tmin=seg.tmin, tmax=seg.tmax, on=seg.on,
                             stride=seg.stride, sfreq=seg.sfreq, baseline=seg.baseline,
                             delay=seg.delay, max_pad=seg.max_pad,
                             allow_missing=seg.allow_missing_conditions, progress=progress)
    return make_item_segments(segments, features, reduction=seg.reduction)


def _splits(items: ItemSegments, recipe: Recipe) -> dict[str, ItemSegments]:
    cfg = recipe.split
    splits = split_items(items, test_conditions=cfg.test_conditions, test_size=cfg.test_size,
                         valid_size=cfg.valid_size, seed=recipe.seed,
                         allow_shared_stimuli=cfg.allow_shared_stimuli)
    average = recipe.model.params.get("unseen_subject") == "average"
    check_test_subjects(splits["train"], splits["test"], average_subject=average)
    splits = scale_items(splits, recipe.scaling.method, recipe.scaling.clamp)
    if recipe.evaluation.average_repetitions:
        splits["test"] = average_repetitions(splits["test"])
    return splits


def _n_inputs(items: ItemSegments) -> int:
    return int(items.brain.shape[1])


def _eval_kwargs(recipe: Recipe) -> dict:
    ev = recipe.evaluation
    return dict(ks=ev.ks, pool_size=ev.pool_size, n_bootstraps=ev.n_bootstraps,
                seed=recipe.seed, device=recipe.training.device, directions=ev.directions)


def _to_dict(scores: dict) -> dict:
    out = {}
    for direction, result in scores.items():
        if isinstance(result, dict):
            out[direction] = {s: r.to_dict() for s, r in result.items()}
        else:
            out[direction] = result.to_dict()
    return out


def _summary(items: ItemSegments, splits: dict[str, ItemSegments]) -> dict:
    return {"n_subjects": len(items.subjects), "n_inputs": _n_inputs(items),
            "rank": items.rank, "n_items": len(items.item_ids),
            "targets_bytes": int(items.targets.nbytes),
            **{f"n_{k}": len(v) for k, v in splits.items()},
            **{f"n_{k}_items": int(len(np.unique(v.item))) for k, v in splits.items()}}


def _baselines(recipe: Recipe, make_model, splits: dict[str, ItemSegments], run_dir: Path,
               fit_kwargs: dict, progress: bool) -> dict:
    import torch

    test, out = splits["test"], {}
    for name in recipe.evaluation.baselines:
        if name == "ridge":
            pred = fit_ridge(splits["train"], test)
        else:
            if name == "untrained":
                torch.manual_seed(recipe.seed)
                model = make_model()
            else:  # regression: the same encoder trained with MSE
                model, _, _ = train_items(make_model, build_loss(recipe, "mse"), splits,
                                          run_dir=run_dir / "baseline_regression",
                                          seed=recipe.seed, progress=progress, **fit_kwargs)
            pred = predict_items(model, test, device=recipe.training.device)
        out[name] = _to_dict(score_items(pred, test, **_eval_kwargs(recipe)))
    return out


def _write_run_files(run_dir: Path, history: list[dict], model, test: ItemSegments,
                     pred: np.ndarray, recipe: Recipe) -> None:
    frame = pd.DataFrame(history)
    losses = [c for c in frame.columns if c == "epoch" or c.endswith("loss")]
    frame[losses].to_csv(run_dir / "history.csv", index=False)
    n_items = len(np.unique(test.item))
    kwargs = dict(_eval_kwargs(recipe), ks=[k for k in CURVE_KS if k <= n_items],
                  directions=("brain_to_image",))
    curve = score_items(pred, test, **kwargs)["brain_to_image"]
    rows = [{"k": k, "accuracy": curve.topk[k], "chance": curve.chance[k],
             "ci_lower": curve.ci[k][0], "ci_upper": curve.ci[k][1]} for k in curve.topk]
    pd.DataFrame(rows).to_csv(run_dir / "retrieval.csv", index=False)
    figures = model.figures(test.pos_2d) if hasattr(model, "figures") else {}
    for stem, array in figures.items():
        np.save(run_dir / f"{stem}.npy", array)


__all__ = ["run_item_decoding", "load_item_segments"]
