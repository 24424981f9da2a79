"""Where ``fit`` starts from: the state saved in ``last.pt``, checked against the model, the
loss and their settings, and the best epoch's weights in ``best.pt``."""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

from torch import nn

from ..exceptions import DataNotFoundError, TrainingError
from ..rundir import BEST, LAST
from .checkpoint import load_checkpoint, save_checkpoint, set_rng_state

logger = logging.getLogger("neurodecode")


def _shapes(model: nn.Module, loss: nn.Module) -> dict[str, list[int]]:
    state = {**model.state_dict(), **{f"loss.{k}": v for k, v in loss.state_dict().items()}}
    return {k: list(v.shape) for k, v in state.items()}


def _settings(model: nn.Module, loss: nn.Module) -> dict[str, str]:
    """Plain settings (numbers, strings, flags) of every submodule of the model and the
    loss, e.g. dropout rates, dilations, the loss kind and its initial temperature: the
    constructor arguments that the parameter shapes do not reveal."""
    out = {}
    for prefix, module in (("model", model), ("loss", loss)):
        for name, sub in module.named_modules():
            for key, value in vars(sub).items():
                if key.startswith("_") or key == "training":
                    continue
                if value is None or isinstance(value, (bool, int, float, str, tuple)):
                    out[".".join(p for p in (prefix, name, key) if p)] = repr(value)
    return out


def _try_load(path: Path, device) -> dict | None:
    """The checkpoint at ``path``, or None (with a warning) when it is missing or corrupt."""
    try:
        return load_checkpoint(path, map_location=device)
    except DataNotFoundError:
        return None
    except TrainingError as err:
        logger.warning("%s", err)
        return None


def _best_usable(run_dir: Path, saved: dict, device) -> bool:
    """Whether ``best.pt`` fits the resumed state ``saved``: written at its best epoch,
    or at the epoch after it (killed before ``last.pt`` of that epoch was written, which
    the resumed run redoes and rewrites), or nothing is best yet."""
    if saved["best_epoch"] == 0:
        return True
    best = _try_load(run_dir / BEST, device)
    return best is not None and best.get("epoch") in (saved["best_epoch"], saved["epoch"] + 1)


def _start_state(run_dir: Path, model, loss, opt, hparams: dict, device, resume: bool) -> dict:
    """The training state to start from: ``last.pt``'s when it can be resumed exactly,
    otherwise a fresh one (a corrupt ``last.pt`` or ``best.pt`` is rebuilt by training
    again from the start, which gives the same result)."""
    state: dict[str, Any] = {"epoch": 0, "history": [], "best_epoch": 0,
                             "best_valid_loss": math.inf, "bad_epochs": 0,
                             "stopped_early": False, "seconds": 0.0}
    if not resume or not (run_dir / LAST).is_file():
        return state
    saved = _try_load(run_dir / LAST, device)
    if saved is not None and not _best_usable(run_dir, saved, device):
        if saved["best_epoch"] != saved["epoch"]:
            logger.warning("%s is missing or does not match %s (best epoch %d); training "
                           "again from the start to rebuild it", run_dir / BEST, LAST,
                           saved["best_epoch"])
            return state
        _resume(saved, model, loss, opt, hparams)
        save_checkpoint({"model": model.state_dict(), "epoch": saved["epoch"],
                         "valid_loss": saved["best_valid_loss"]}, run_dir / BEST)
    elif saved is not None:
        _resume(saved, model, loss, opt, hparams)
    if saved is None:
        logger.warning("training again from the start in %s (no usable %s)", run_dir, LAST)
        return state
    logger.info("resuming %s after epoch %d", run_dir, saved["epoch"])
    return {k: saved.get(k, v) for k, v in state.items()}


def _load_best(run_dir: Path, model, state: dict, device) -> None:
    """Load ``best.pt`` into ``model``; a missing or corrupt one is an error."""
    if state["best_epoch"] == 0:
        return
    best = _try_load(run_dir / BEST, device)
    if best is None or best.get("epoch") != state["best_epoch"]:
        raise TrainingError(
            f"{str(run_dir / BEST)!r} is missing, corrupt or not of the best epoch "
            f"{state['best_epoch']}; the model of the best epoch is lost. Train again "
            "(resume=False, or --overwrite on the command line).")
    model.load_state_dict(best["model"])


def _resume(state: dict, model, loss, optimizer, hparams: dict) -> None:
    if state["shapes"] != _shapes(model, loss):
        raise TrainingError(
            "the checkpoint in run_dir was trained with a different model or loss (parameter "
            "names or shapes differ); use a new run_dir or pass resume=False to start over."
        )
    now = _settings(model, loss)
    differ = {k: (state["settings"].get(k), now.get(k)) for k in set(state.get("settings", now))
              | set(now) if state.get("settings", now).get(k) != now.get(k)}
    if differ:
        shown = dict(sorted(differ.items())[:6])
        raise TrainingError(
            f"the checkpoint in run_dir was trained with other model or loss settings "
            f"{shown} (old, new){' ...' if len(differ) > 6 else ''}; use a new run_dir or "
            "pass resume=False to start over."
        )
    changed = {k: (state["hparams"].get(k), v) for k, v in hparams.items()
               if state["hparams"].get(k) != v}
    if changed:
        logger.warning("resuming with changed settings %s (old, new): results will differ "
                       "from an uninterrupted run", changed)
    model.load_state_dict(state["model"])
    loss.load_state_dict(state["loss"])
    optimizer.load_state_dict(state["optimizer"])
    for group in optimizer.param_groups:
        group["lr"], group["weight_decay"] = hparams["lr"], hparams["weight_decay"]
    set_rng_state(state["rng"])


__all__: list[str] = []  # private helpers of ``fit``
