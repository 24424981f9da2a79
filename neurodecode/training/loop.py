"""The training loop: AdamW, early stopping, atomic checkpoints, exact resume, DDP.

``fit`` drives the epochs; the batches come from ``loaders.py``, one epoch's steps from
``runner.py`` and the state a run starts (or resumes) from from ``resume.py``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import random
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import Dataset
from tqdm.auto import tqdm

from .._validation import check_option, check_positive
from ..rundir import BEST, HISTORY, LAST, write_text
from .checkpoint import rng_state, save_checkpoint
from .determinism import FixedOrderConvolutions, uncovered_convolutions
from .distributed import barrier, get_info, synced_batch_norm
from .loaders import make_loader
from .resume import _load_best, _settings, _shapes, _start_state
from .runner import AMP, _Runner, amp_mode, predict_batch

logger = logging.getLogger("neurodecode")

OPTIMIZERS = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW}
METRICS = HISTORY


@dataclass
class FitResult:
    """What ``fit`` returns.

    Parameters
    ----------
    history : list of dict
        One record per epoch: ``epoch`` (1-based), ``train_loss``, ``valid_loss``,
        ``best_valid_loss``, ``lr``, ``time_s`` (also in ``run_dir/metrics.jsonl``).
    best_epoch : int
        Epoch (1-based) with the lowest validation loss; its weights are loaded into
        the model when ``fit`` returns.
    best_valid_loss : float
        Validation loss of the best epoch (minus its score with ``valid_score``).
    stopped_early : bool
        True when ``patience`` epochs passed without improvement.
    run_dir : Path
        Holds ``best.pt`` (best weights), ``last.pt`` (full state for resuming) and
        ``metrics.jsonl``.
    seconds : float
        Training time of all epochs, counting those before a resume.
    """

    history: list[dict] = field(default_factory=list)
    best_epoch: int = 0
    best_valid_loss: float = math.inf
    stopped_early: bool = False
    run_dir: Path = Path(".")
    seconds: float = 0.0

    @property
    def best_checkpoint(self) -> Path:
        """Path of the best checkpoint."""
        return self.run_dir / BEST

    @property
    def last_checkpoint(self) -> Path:
        """Path of the checkpoint used to resume."""
        return self.run_dir / LAST


def _check_inputs(model, train_set, valid_set, optimizer, epochs, batch_size, lr, patience):
    check_option("optimizer", optimizer, OPTIMIZERS)
    for name, value in [("epochs", epochs), ("batch_size", batch_size), ("lr", lr),
                        ("patience", patience)]:
        check_positive(name, value)
    for name, data in [("train_set", train_set), ("valid_set", valid_set)]:
        if len(data) == 0:
            raise ValueError(
                f"{name} is empty (0 segments); early stopping and checkpoint selection "
                "need a non-empty validation split and training needs data. Check the "
                "split (e.g. the number of blocks held out) and the segmentation."
            )
    n_out, n_feat = getattr(model, "n_outputs", None), getattr(train_set, "n_features", None)
    if n_out is not None and n_feat is not None and n_out != n_feat:
        raise ValueError(
            f"the model outputs n_outputs={n_out} features but the stimulus features have "
            f"dimension {n_feat}; build the model with n_outputs={n_feat}."
        )


def _parameters(model: nn.Module, loss: nn.Module) -> list[nn.Parameter]:
    return [p for m in (model, loss) for p in m.parameters() if p.requires_grad]


def _write_metrics(run_dir: Path, history: list[dict]) -> None:
    write_text(run_dir / METRICS, "".join(json.dumps(record) + "\n" for record in history))


def fit(model: nn.Module, loss: nn.Module, train_set: Dataset, valid_set: Dataset, *,
        positions=None, run_dir: str | os.PathLike, epochs: int = 50, batch_size: int = 64,
        lr: float = 3e-4, weight_decay: float = 0.0, optimizer: str = "adamw",
        patience: int = 10, device: str | torch.device = "cpu", seed: int = 0,
        num_workers: int = 0, amp: bool | str = "none", progress: bool = True,
        resume: bool = True, max_grad_norm: float | None = None,
        deterministic: bool = True, batches_per_epoch: int | None = None,
        valid_score: Callable[[nn.Module], float] | None = None) -> FitResult:
    """Train ``model`` with ``loss``, early-stopping on the validation loss.

    Parameters
    ----------
    model : nn.Module
        Called as ``model(brain, subject, positions)`` (or ``model(brain, subject)`` when
        no positions are given), e.g. ``ConvEncoder`` or ``FmriEncoder``.
    loss : nn.Module
        Called as ``loss(pred, stimulus)`` -> scalar, e.g. ``ClipLoss`` or ``MSELoss``;
        its parameters (a learnable temperature) are trained too.
    train_set, valid_set : SegmentDataset
        Segments; any Dataset whose items are dicts with ``brain``, ``stimulus``,
        ``subject`` (and optionally ``positions``) works.
    positions : array of shape (n_channels, 2) or None
        Sensor positions in [0, 1] for ``ConvEncoder``; None for ``FmriEncoder``.
    run_dir : path
        Receives ``metrics.jsonl`` (one JSON record per epoch), ``best.pt`` and ``last.pt``.
    epochs : int
        Maximum number of epochs (in total, counting epochs before a resume).
    batch_size : int
        Segments per batch per process (the contrastive negatives are the global batch).
    lr, weight_decay : float
        Optimiser settings.
    optimizer : {"adamw", "adam"}
    patience : int
        Stop after this many epochs without a lower validation loss.
    device : str or torch.device
        ``"cpu"``, ``"cuda"``, ``"cuda:1"``...
    seed : int
        Seeds the data order (per epoch) and the training-time randomness (dropout);
        the global random state is restored when ``fit`` returns.
    num_workers : int
        DataLoader worker processes.
    amp : {"none", "bf16", "fp16"} or bool
        Mixed precision: autocast to bfloat16, or to float16 with a gradient scaler
        (loss scaling); True is "fp16" on CUDA and "bf16" elsewhere, False "none".
    progress : bool
        Show a tqdm bar over epochs.
    resume : bool
        Continue from ``run_dir/last.pt`` when it exists; on CPU the result is identical
        to an uninterrupted run. False starts over (overwriting the run's files).
    max_grad_norm : float or None
        Clip the gradient norm (None: no clipping, as brainmagick).
    deterministic : bool
        On CPU, True (the default) makes a seeded run bit-identical on any number of
        threads (and a resumed run identical to an uninterrupted one): the convolutions'
        weight gradients, which oneDNN sums in an order that follows the thread count,
        are summed in a fixed order, and MKL's GEMMs run on one thread
        (``training/determinism.py``), at 1.24x the time per step of False on the demo's
        model (``benchmarks/determinism.py``; oneDNN off, the way before, cost 3.5-4x).
        A model with convolutions it does not cover (2-D, strided, grouped) has oneDNN
        turned off instead (``NiceEncoder``: 1.08x). False keeps oneDNN's gradients and
        MKL's threads: faster, and still bit-identical to a rerun on the same number of
        threads. No effect on CUDA (see ``_deterministic``).
    batches_per_epoch : int or None
        None: an epoch is one full pass over ``train_set``. An int: an epoch is that many
        training batches, drawn from one stream of random passes that carries on across
        epochs (brainmagick: 1,200 batches per epoch); ``epochs`` and ``patience`` then
        count such epochs. Validation is always a full pass over ``valid_set``.
    valid_score : callable or None
        ``valid_score(model) -> float``, higher is better (e.g. validation retrieval):
        when given, the best epoch and early stopping follow it instead of the validation
        loss (``best_valid_loss`` then holds minus the best score).

    Returns
    -------
    result : FitResult
        The model holds the best epoch's weights on return.

    Raises
    ------
    TrainingError
        On a NaN/Inf loss (the last good checkpoint is kept), or when the checkpoint in
        ``run_dir`` belongs to another model.

    Examples
    --------
    >>> from neurodecode.losses import ClipLoss
    >>> from neurodecode.training import fit
    >>> result = fit(model, ClipLoss(), train_set, valid_set, positions=positions,
    ...              run_dir="runs/x", epochs=5)  # doctest: +SKIP
    >>> result.best_epoch, result.best_valid_loss  # doctest: +SKIP
    """
    _check_inputs(model, train_set, valid_set, optimizer, epochs, batch_size, lr, patience)
    if batches_per_epoch is not None and (isinstance(batches_per_epoch, bool) or not
                                          isinstance(batches_per_epoch, int) or
                                          batches_per_epoch < 1):
        raise ValueError(f"batches_per_epoch must be an int >= 1, or None for a full pass per "
                         f"epoch; got {batches_per_epoch!r}.")
    run_dir, device, info = Path(run_dir), torch.device(device), get_info()
    amp = amp_mode(amp, device)
    if device.type == "cuda" and device.index is None:  # torchrun: this process's device
        device = torch.device("cuda", torch.cuda.current_device())
    run_dir.mkdir(parents=True, exist_ok=True)
    model.to(device)
    loss.to(device)
    opt = OPTIMIZERS[optimizer](_parameters(model, loss), lr=lr, weight_decay=weight_decay)
    hparams = {"lr": lr, "weight_decay": weight_decay, "batch_size": batch_size,
               "optimizer": optimizer, "seed": seed, "world_size": info.world_size,
               "batches_per_epoch": batches_per_epoch}
    cuda = [device.index or 0] if device.type == "cuda" else []
    python_state = random.getstate()  # fork_rng keeps torch's; the caller's Python one too
    try:
        with (torch.random.fork_rng(devices=cuda), _deterministic(device, deterministic, model),
              synced_batch_norm(model)):
            torch.manual_seed(seed)
            state = _start_state(run_dir, model, loss, opt, hparams, device, resume)
            runner = _Runner(model, loss, positions, device, amp, max_grad_norm, run_dir, info)
            _train(runner, opt, state, train_set, valid_set, batch_size=batch_size, seed=seed,
                   epochs=epochs, patience=patience, num_workers=num_workers,
                   progress=progress, hparams=hparams, valid_score=valid_score)
    finally:
        random.setstate(python_state)
    _load_best(run_dir, model, state, device)
    return FitResult(state["history"], state["best_epoch"], state["best_valid_loss"],
                     state["stopped_early"], run_dir, state["seconds"])


@contextlib.contextmanager
def _deterministic(device: torch.device, across_threads: bool,
                   model: nn.Module) -> Iterator[None]:
    """Deterministic algorithms on CPU for the duration of ``fit`` (cheap there), and with
    ``across_threads`` the fixed-order convolution gradients (oneDNN off when the model
    has convolutions they do not cover); the previous settings are restored. Not on
    CUDA, where it would need ``CUBLAS_WORKSPACE_CONFIG`` and slower kernels: GPU runs
    are reproducible only up to cuDNN's and atomic adds' order.
    """
    if device.type != "cpu":
        yield
        return
    previous = (torch.are_deterministic_algorithms_enabled(),
                torch.is_deterministic_algorithms_warn_only_enabled())
    mkldnn = bool(torch.backends.mkldnn.enabled)
    uncovered = uncovered_convolutions(model) if across_threads else []
    if uncovered:
        logger.info("deterministic=True: oneDNN convolutions off (slower per step) for %s; "
                    "deterministic=False keeps them", ", ".join(uncovered))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.use_deterministic_algorithms(True, warn_only=True)
    torch.backends.mkldnn.enabled = mkldnn and not uncovered  # type: ignore[assignment]
    try:
        with FixedOrderConvolutions() if across_threads else contextlib.nullcontext():
            yield
    finally:
        torch.backends.mkldnn.enabled = mkldnn  # type: ignore[assignment]
        torch.use_deterministic_algorithms(previous[0], warn_only=previous[1])


def _train(runner: _Runner, opt, state: dict, train_set, valid_set, *, batch_size, seed,
           epochs, patience, num_workers, progress, hparams, valid_score=None) -> None:
    info, lr = runner.info, hparams["lr"]
    pin = runner.device.type == "cuda"
    bar = tqdm(range(state["epoch"], epochs), disable=not (progress and info.is_main),
               desc="epochs", leave=False)
    for epoch in bar:
        if state["stopped_early"]:
            break
        start = time.perf_counter()
        kw = {"seed": seed, "epoch": epoch, "num_workers": num_workers, "info": info, "pin": pin}
        train_loss = runner.train_epoch(make_loader(
            train_set, batch_size, train=True, batches_per_epoch=hparams["batches_per_epoch"],
            **kw), opt, epoch, lr)
        valid_loss = runner.valid_epoch(make_loader(valid_set, batch_size, train=False, **kw),
                                        epoch, lr)
        criterion = valid_loss if valid_score is None else -float(valid_score(runner.model))
        improved = criterion < state["best_valid_loss"]
        if improved:
            state.update(best_valid_loss=criterion, best_epoch=epoch + 1, bad_epochs=0)
        else:
            state["bad_epochs"] += 1
        state["stopped_early"] = state["bad_epochs"] >= patience
        state["epoch"] = epoch + 1
        seconds = time.perf_counter() - start
        state["seconds"] += seconds
        state["history"].append({
            "epoch": epoch + 1, "train_loss": train_loss, "valid_loss": valid_loss,
            "best_valid_loss": state["best_valid_loss"], "lr": lr, "time_s": seconds,
            **({} if valid_score is None else {"valid_score": -criterion})})
        bar.set_postfix(train=f"{train_loss:.4f}", valid=f"{valid_loss:.4f}")
        if info.is_main:
            _save(runner, opt, state, hparams, improved)
        barrier()  # rank 0 has written the epoch's checkpoints


def _save(runner: _Runner, opt, state: dict, hparams: dict, improved: bool) -> None:
    model, loss, run_dir = runner.model, runner.loss, runner.run_dir
    if improved:
        save_checkpoint({"model": model.state_dict(), "epoch": state["epoch"],
                         "valid_loss": state["best_valid_loss"]}, run_dir / BEST)
    full = {**state, "model": model.state_dict(), "loss": loss.state_dict(),
            "optimizer": opt.state_dict(), "rng": rng_state(), "hparams": hparams,
            "shapes": _shapes(model, loss), "settings": _settings(model, loss)}
    save_checkpoint(full, run_dir / LAST)
    _write_metrics(run_dir, state["history"])


__all__ = ["AMP", "OPTIMIZERS", "amp_mode", "FitResult", "fit", "make_loader", "predict_batch"]
