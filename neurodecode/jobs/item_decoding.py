"""The item (image) decoding job: item segments -> zero-shot splits -> trained -> retrieval.

Run for a decoding recipe whose feature is an item feature (images, sentence embeddings;
``build.job_name``). The inputs (segments split and scaled, model and loss factories) are
built by :func:`neurodecode.build.item_decoding_inputs`; the science lives in
``neurodecode.align.items`` and ``neurodecode.decoding.items``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..align.items import ItemSegments
from ..decoding.items import fit_ridge, predict_items, score_items, train_items
from .common import finish, write_metrics
from .inputs import ItemDecodingInputs

#: k values of the retrieval curve (those not above the number of candidates).
CURVE_KS = (1, 2, 3, 5, 10, 20, 50, 100, 200, 500, 1000)


def run_item_decoding(inputs: ItemDecodingInputs, run_dir: Path, *,
                      progress: bool = True) -> dict:
    """Run an item decoding end to end and write its run directory; returns the metrics.

    Parameters
    ----------
    inputs : ItemDecodingInputs
        The data and settings, built from a recipe by ``neurodecode.build.item_decoding_inputs``.
    run_dir : Path
        Where it writes checkpoints, history.csv, retrieval.csv, the encoder's figures,
        metrics.json and the report.
    progress : bool
        Show progress bars.

    Returns
    -------
    metrics : dict
        Top-k retrieval per direction, ``training``, ``data`` and ``baselines``.
    """
    splits = inputs.splits
    inputs.check_batch(inputs.make_model(), splits["train"])
    model, fitted, seconds = train_items(inputs.make_model, inputs.make_loss(), splits,
                                         run_dir=run_dir, seed=inputs.seed, progress=progress,
                                         **inputs.fit_kwargs)
    pred = predict_items(model, splits["test"], device=inputs.device)
    scores = score_items(pred, splits["test"], **inputs.eval_kwargs)
    metrics = {**_to_dict(scores), "training": {
        "best_epoch": fitted.best_epoch, **_selection(fitted.history, fitted.best_epoch),
        "epochs_run": len(fitted.history), "seconds": seconds,
        "n_parameters": int(sum(p.numel() for p in model.parameters()))},
        "data": _summary(inputs.items, splits)}
    metrics["baselines"] = _baselines(inputs, run_dir, progress)
    _write_run_files(run_dir, fitted.history, model, splits["test"], pred, inputs.eval_kwargs)
    write_metrics(run_dir, metrics)
    finish(run_dir, inputs.title)
    return metrics


def _selection(history: list[dict], best_epoch: int) -> dict:
    """What chose the best epoch, and its validation loss (and retrieval rank)."""
    best = history[best_epoch - 1] if best_epoch else {}
    out = {"selected_on": "valid_retrieval_rank" if "valid_score" in best else "valid_loss",
           "best_valid_loss": best.get("valid_loss", float("nan"))}
    if "valid_score" in best:
        out["best_valid_retrieval_rank"] = best["valid_score"]
    return out


def _to_dict(scores: dict) -> dict:
    out = {}
    for direction, result in scores.items():
        if isinstance(result, dict):
            out[direction] = {s: r.to_dict() for s, r in result.items()}
        else:
            out[direction] = result.to_dict()
    return out


def _summary(items: ItemSegments, splits: dict[str, ItemSegments]) -> dict:
    return {"n_subjects": len(items.subjects), "n_inputs": int(items.brain.shape[1]),
            "rank": items.rank, "n_items": len(items.item_ids),
            "targets_bytes": int(items.targets.nbytes),
            **{f"n_{k}": len(v) for k, v in splits.items()},
            **{f"n_{k}_items": int(len(np.unique(v.item))) for k, v in splits.items()}}


def _baselines(inputs: ItemDecodingInputs, run_dir: Path, progress: bool) -> dict:
    import torch

    splits = inputs.splits
    test, out = splits["test"], {}
    for name in inputs.baselines:
        if name == "ridge":
            pred = fit_ridge(splits["train"], test)
        else:
            if name == "untrained":
                with torch.random.fork_rng():  # the global generator is left as it was
                    torch.manual_seed(inputs.seed)
                    model = inputs.make_model()
            else:  # regression: the same encoder trained with MSE
                model, _, _ = train_items(inputs.make_model, inputs.make_loss("mse"), splits,
                                          run_dir=run_dir / "baseline_regression",
                                          seed=inputs.seed, progress=progress,
                                          **inputs.fit_kwargs)
            pred = predict_items(model, test, device=inputs.device)
        out[name] = _to_dict(score_items(pred, test, **inputs.eval_kwargs))
    return out


def _write_run_files(run_dir: Path, history: list[dict], model, test: ItemSegments,
                     pred: np.ndarray, eval_kwargs: dict) -> None:
    frame = pd.DataFrame(history)
    columns = ["epoch", "train_loss", "valid_loss", "valid_score"]  # the score chose the epoch
    if "valid_score" not in frame:
        columns = [c for c in frame.columns if c == "epoch" or c.endswith("loss")]
    frame[columns].to_csv(run_dir / "history.csv", index=False)
    n_items = len(np.unique(test.item))
    kwargs = dict(eval_kwargs, ks=[k for k in CURVE_KS if k <= n_items],
                  directions=("brain_to_image",))
    curve = score_items(pred, test, **kwargs)["brain_to_image"]
    rows = [{"k": k, "accuracy": curve.topk[k], "chance": curve.chance[k],
             "ci_lower": curve.ci[k][0], "ci_upper": curve.ci[k][1]} for k in curve.topk]
    pd.DataFrame(rows).to_csv(run_dir / "retrieval.csv", index=False)
    figures = model.figures(test.pos_2d) if hasattr(model, "figures") else {}
    for stem, array in figures.items():
        np.save(run_dir / f"{stem}.npy", array)


__all__ = ["CURVE_KS", "run_item_decoding"]
