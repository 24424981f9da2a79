"""The training loop: AdamW, early stopping, atomic checkpoints, exact resume, DDP."""

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
from typing import Any

import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import (
    BatchSampler,
    DataLoader,
    Dataset,
    RandomSampler,
)
from torch.utils.data.distributed import DistributedSampler
from tqdm.auto import tqdm

from .._validation import check_option, check_positive
from ..exceptions import DataNotFoundError, TrainingError
from ..rundir import BEST, HISTORY, LAST, write_text
from .checkpoint import load_checkpoint, rng_state, save_checkpoint, set_rng_state
from .data import BatchView
from .determinism import FixedOrderConvolutions, uncovered_convolutions
from .distributed import (
    DistributedInfo,
    all_reduce_mean,
    all_true,
    barrier,
    get_info,
    synced_batch_norm,
)

logger = logging.getLogger("neurodecode")

OPTIMIZERS = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW}
#: Mixed-precision modes of ``fit``: the autocast dtype (fp16 with a gradient scaler).
AMP = {"none": None, "bf16": torch.bfloat16, "fp16": torch.float16}


def amp_mode(amp: bool | str, device: torch.device) -> str:
    """The ``AMP`` key of ``amp``: a name, or a flag (True: fp16 on CUDA, bf16 elsewhere)."""
    if isinstance(amp, bool):
        return ("fp16" if device.type == "cuda" else "bf16") if amp else "none"
    check_option("amp", amp, AMP)
    return amp
METRICS = HISTORY


@dataclass
class FitResult:
    """What ``fit`` returns.

    Attributes
    ----------
    history : list of dict
        One record per epoch: ``epoch`` (1-based), ``train_loss``, ``valid_loss``,
        ``best_valid_loss``, ``lr``, ``time_s`` (also in ``run_dir/metrics.jsonl``).
    best_epoch : int
        Epoch (1-based) with the lowest validation loss; its weights are loaded into
        the model when ``fit`` returns.
    best_valid_loss : float
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


class _Task(nn.Module):
    """Model and loss in one module, so that DDP synchronises both (e.g. a temperature)."""

    def __init__(self, model: nn.Module, loss: nn.Module) -> None:
        super().__init__()
        self.model, self.loss = model, loss

    def forward(self, batch: dict[str, torch.Tensor], positions) -> torch.Tensor:
        return self.loss(predict_batch(self.model, batch, positions), batch["stimulus"])


def predict_batch(model: nn.Module, batch: dict[str, torch.Tensor], positions) -> torch.Tensor:
    """Call ``model`` on a batch dict, with per-segment positions when the batch has them.

    Without autograd on CPU (validation, ``evaluation.predict``) the convolutions run in
    ``FixedOrderConvolutions``: the same bits on any number of threads, for any batch size.
    """
    positions = batch.get("positions", positions)
    args = (batch["brain"], batch["subject"]) + (() if positions is None else (positions,))
    if torch.is_grad_enabled() or batch["brain"].device.type != "cpu":
        return model(*args)
    with FixedOrderConvolutions():
        return model(*args)


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


def make_loader(dataset: Dataset, batch_size: int, *, train: bool, seed: int, epoch: int,
                num_workers: int = 0, info: DistributedInfo | None = None,
                pin: bool = False, batches_per_epoch: int | None = None) -> DataLoader:
    """The DataLoader ``fit`` uses: one ``get_batch`` call per batch.

    Training batches come in a random order drawn from ``(seed, epoch)`` alone (so a
    resumed run sees the same order) and drop a last incomplete batch; under
    torch.distributed a ``DistributedSampler`` gives each process its shard. With
    ``batches_per_epoch`` an epoch is that many training batches of one stream of random
    passes (see ``_stream_batches``); evaluation batches are always a full pass.
    """
    info = info or DistributedInfo()
    batches: Any
    if train and batches_per_epoch is not None:
        batches = _stream_batches(len(dataset), batch_size, seed, epoch,  # type: ignore[arg-type]
                                  batches_per_epoch, info)
    elif train:
        sampler = _train_sampler(len(dataset), seed, epoch, info)  # type: ignore[arg-type]
        n_local = len(sampler)
        batches = BatchSampler(sampler, batch_size, drop_last=n_local > batch_size)
    else:  # batches of equal sizes: no small last batch with few negatives (1: loss 0)
        batches = _even_batches(len(dataset), batch_size, info)  # type: ignore[arg-type]
    if hasattr(dataset, "get_batch"):
        view = BatchView(dataset)  # type: ignore[arg-type]
        return DataLoader(view, sampler=batches, batch_size=None,
                          num_workers=num_workers, pin_memory=pin)
    return DataLoader(dataset, batch_sampler=batches, num_workers=num_workers, pin_memory=pin)


def _train_sampler(n: int, seed: int, epoch: int,
                   info: DistributedInfo) -> DistributedSampler | RandomSampler:
    """A random order drawn from ``(seed, epoch)``; under torch.distributed each process
    takes every ``world_size``-th index of the same permutation, so that the union of the
    processes' k-th batches is the k-th batch of one process with the global batch size."""
    generator_seed = seed * 100_003 + epoch
    if info.world_size > 1:
        sampler: DistributedSampler = DistributedSampler(
            range(n), info.world_size, info.rank,  # type: ignore[arg-type]
            shuffle=True, seed=generator_seed - epoch, drop_last=True)
        sampler.set_epoch(epoch)
        return sampler
    return RandomSampler(range(n),  # type: ignore[arg-type]
                         generator=torch.Generator().manual_seed(generator_seed))


def _stream_batches(n: int, batch_size: int, seed: int, epoch: int, batches: int,
                    info: DistributedInfo) -> list[list[int]]:
    """Epoch ``epoch``'s ``batches`` batches of one endless stream of random passes.

    Pass ``k`` is the order of full-pass epoch ``k`` on one process (``_train_sampler``);
    the stream carries on across epochs, so every window is seen once before any is seen
    twice, and epoch ``e`` takes global batches ``e * batches`` to ``(e + 1) * batches - 1``
    of it: a function of ``(seed, epoch)`` alone, the same after a resume. Under
    torch.distributed each process takes every ``world_size``-th index of each global
    batch (``batch_size`` per process), as ``DistributedSampler`` does.
    """
    size = batch_size * info.world_size
    start, stop = epoch * batches * size, (epoch + 1) * batches * size
    first, last = start // n, -(-stop // n)
    order = torch.cat([torch.randperm(n, generator=torch.Generator().manual_seed(
        seed * 100_003 + k)) for k in range(first, last)])[start - first * n: stop - first * n]
    flat = order.tolist()
    return [flat[i:i + size][info.rank::info.world_size] for i in range(0, len(flat), size)]


def _even_batches(n: int, batch_size: int, info: DistributedInfo) -> list[list[int]]:
    """Consecutive evaluation batches of equal sizes over the global batch (``batch_size``
    per process), and this process's consecutive part of each: the same batches, hence
    the same negatives and loss, on any number of processes."""
    world, rank = info.world_size, info.rank
    n_batches = max(1, -(-n // (batch_size * world)))
    edges = [round(i * n / n_batches) for i in range(n_batches + 1)]
    if world > 1 and min(b - a for a, b in zip(edges[:-1], edges[1:])) < world:
        raise ValueError(
            f"the validation set has {n} segments, fewer than one per process in each of its "
            f"{n_batches} batches (world_size={world}); use fewer processes or more data.")
    parts = []
    for a, b in zip(edges[:-1], edges[1:]):
        cuts = [a + round(r * (b - a) / world) for r in range(world + 1)]
        parts.append(list(range(cuts[rank], cuts[rank + 1])))
    return [p for p in parts if p]


def _nan_error(where: str, epoch: int, step: int, lr: float, run_dir: Path) -> TrainingError:
    kept = run_dir / LAST
    note = (f"the last good checkpoint is kept at {str(kept)!r}" if kept.is_file()
            else "no epoch completed, so there is no checkpoint yet")
    return TrainingError(
        f"the {where} loss became NaN or Inf at epoch {epoch + 1}, batch {step + 1}; training "
        f"stopped and {note}. Lower the learning rate (lr={lr:g}), check the scaling of the "
        "brain data (robust scaling and clamping) and of the stimulus features, or set "
        "amp='none'."
    )


class _Runner:
    """State of one ``fit`` call (kept small; ``fit`` is the public entry point)."""

    def __init__(self, model, loss, positions, device, amp, max_grad_norm, run_dir, info):
        self.model, self.loss, self.device = model, loss, device
        self.positions = None if positions is None else torch.as_tensor(
            positions, dtype=torch.float32, device=device)
        self.task: nn.Module = _Task(model, loss).to(device)
        if info.world_size > 1:
            ids = [device.index] if device.type == "cuda" else None
            self.task = DistributedDataParallel(self.task, device_ids=ids)
        self.amp, self.max_grad_norm, self.run_dir, self.info = amp, max_grad_norm, run_dir, info
        dtype = AMP[amp]
        self.autocast = lambda: torch.autocast(device.type, dtype=dtype or torch.float32,
                                               enabled=dtype is not None)
        self.scaler = torch.amp.GradScaler(device.type, enabled=amp == "fp16")

    def _to_device(self, batch: dict) -> dict:
        return {k: v.to(self.device, non_blocking=True) for k, v in batch.items()}

    def train_epoch(self, loader, optimizer, epoch: int, lr: float) -> float:
        self.task.train()
        total, count = 0.0, 0
        for step, batch in enumerate(loader):
            batch = self._to_device(batch)
            with self.autocast():
                value = self.task(batch, self.positions)
            if not all_true(bool(torch.isfinite(value.detach())), self.device):
                raise _nan_error("training", epoch, step, lr, self.run_dir)
            optimizer.zero_grad(set_to_none=True)
            self.scaler.scale(value).backward()
            if self.max_grad_norm is not None:
                self.scaler.unscale_(optimizer)
                nn.utils.clip_grad_norm_(self.task.parameters(), self.max_grad_norm)
            self.scaler.step(optimizer)
            self.scaler.update()
            n = len(batch["subject"])
            total, count = total + float(value.detach()) * n, count + n
        return all_reduce_mean(total / max(count, 1), count, self.device)

    @torch.no_grad()
    def valid_epoch(self, loader, epoch: int, lr: float) -> float:
        self.task.eval()
        total, count = 0.0, 0
        for step, batch in enumerate(loader):
            batch = self._to_device(batch)
            with self.autocast():
                value = self.task(batch, self.positions)
            if not all_true(bool(torch.isfinite(value)), self.device):
                raise _nan_error("validation", epoch, step, lr, self.run_dir)
            n = len(batch["subject"])
            total, count = total + float(value) * n, count + n
        return all_reduce_mean(total / max(count, 1), count, self.device)


def _parameters(model: nn.Module, loss: nn.Module) -> list[nn.Parameter]:
    return [p for m in (model, loss) for p in m.parameters() if p.requires_grad]


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


def _write_metrics(run_dir: Path, history: list[dict]) -> None:
    write_text(run_dir / METRICS, "".join(json.dumps(record) + "\n" for record in history))


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
