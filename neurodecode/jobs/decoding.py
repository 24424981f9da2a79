"""The decoding job: streamed windows -> trained encoder and baselines -> retrieval among
stimulus positions -> run directory.

The inputs (windows preprocessed into ``<run_dir>/store``, split and scaled per recording,
the model and loss factories) are built from a recipe by
:func:`neurodecode.build.decoding_inputs`; the science lives in
:mod:`neurodecode.decoding.windows`. Scoring streams the test split: no prediction or
target array of all test windows is ever held.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from torch import nn

from ..decoding.windows import (
    WindowCandidates,
    score_model,
    train_baselines,
    train_model,
    window_candidates,
)
from ..training.distributed import get_info
from .common import finish, write_metrics
from .inputs import DecodingInputs


def run_decoding(inputs: DecodingInputs, run_dir: Path, *, progress: bool = True) -> dict:
    """Train the encoder and its baselines, score retrieval and write the run directory.

    Under torchrun every process trains (the contrastive negatives are gathered across
    them); rank 0 alone scores and writes.

    Parameters
    ----------
    inputs : DecodingInputs
        The windows and settings, built from a recipe by ``neurodecode.build.decoding_inputs``.
    run_dir : Path
        Where it writes checkpoints, history.csv, retrieval.csv, test_windows.csv, the
        encoder's figures, metrics.json and the report.
    progress : bool
        Show progress bars.

    Returns
    -------
    metrics : dict
        Top-k retrieval (``top1``, ``ci_top1``, ..., ``per_subject``), ``training``,
        ``data`` and ``baselines``; empty on the processes other than rank 0.
    """
    sets, pos = inputs.sets, inputs.windows.pos_2d
    model, fitted, seconds = train_model(inputs.make_model, inputs.loss, sets, pos,
                                         run_dir=run_dir, seed=inputs.seed, progress=progress,
                                         **inputs.fit_kwargs)
    baselines = train_baselines(inputs.baselines, inputs.make_model, sets, pos,
                                run_dir=run_dir, seed=inputs.seed, progress=progress,
                                **inputs.fit_kwargs)
    if not get_info().is_main:  # rank 0 alone evaluates and writes (open_run's barrier)
        return {}
    candidates = window_candidates(inputs.windows, sets["test"])
    score_kw = dict(positions=pos, device=inputs.device, **inputs.eval_kwargs)
    result, curve = score_model(model, sets["test"], candidates, **score_kw)
    metrics = {**result.to_dict(), "training": {
        "best_epoch": fitted.best_epoch, "best_valid_loss": fitted.best_valid_loss,
        "epochs_run": len(fitted.history), "seconds": seconds,
        "n_parameters": int(sum(p.numel() for p in model.parameters()))},
        "data": _data_summary(inputs, candidates)}
    metrics["baselines"] = {name: score_model(m, sets["test"], candidates, **score_kw)[0]
                            .to_dict() for name, m in baselines.items()}
    _write_run_files(run_dir, fitted.history, model, inputs, candidates, curve)
    write_metrics(run_dir, metrics)
    finish(run_dir, inputs.title)
    return metrics


def _data_summary(inputs: DecodingInputs, candidates: WindowCandidates) -> dict:
    windows = inputs.windows
    return {"n_subjects": len(windows.subjects), "n_channels": len(windows.ch_names),
            "n_times": int(windows.width), "sfreq": windows.sfreq,
            **{f"n_{k}": len(v) for k, v in inputs.sets.items()},
            "n_test_unique": candidates.n_candidates}


def _write_run_files(run_dir: Path, history: list[dict], model: nn.Module,
                     inputs: DecodingInputs, candidates: WindowCandidates, curve) -> None:
    frame = pd.DataFrame(history)
    losses = [c for c in frame.columns if c == "epoch" or c.endswith("loss")]
    frame[losses].to_csv(run_dir / "history.csv", index=False)
    rows = [{"k": k, "accuracy": curve.topk[k], "chance": curve.chance[k],
             "ci_lower": curve.ci[k][0], "ci_upper": curve.ci[k][1]} for k in curve.topk]
    pd.DataFrame(rows).to_csv(run_dir / "retrieval.csv", index=False)
    # what each test window heard, and its candidate
    inputs.sets["test"].meta.assign(candidate=candidates.ids).to_csv(
        run_dir / "test_windows.csv", index=False)
    draw = getattr(model, "figures", None)  # a BrainEncoder's; nn.Module types it Tensor
    for stem, array in (draw(inputs.windows.pos_2d) if callable(draw) else {}).items():
        np.save(run_dir / f"{stem}.npy", array)


__all__ = ["run_decoding"]
