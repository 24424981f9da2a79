"""The batches of ``fit``: a seeded random order per epoch (or a stream of passes), equal
evaluation batches, and one shard per process under torch.distributed."""

from __future__ import annotations

from typing import Any

import torch
from torch.utils.data import BatchSampler, DataLoader, Dataset, RandomSampler
from torch.utils.data.distributed import DistributedSampler

from .data import BatchView
from .distributed import DistributedInfo


def make_loader(dataset: Dataset, batch_size: int, *, train: bool, seed: int, epoch: int,
                num_workers: int = 0, info: DistributedInfo | None = None,
                pin: bool = False, batches_per_epoch: int | None = None) -> DataLoader:
    """The DataLoader ``fit`` uses: one ``get_batch`` call per batch.

    Training batches come in a random order drawn from ``(seed, epoch)`` alone (so a
    resumed run sees the same order) and drop a last incomplete batch; under
    torch.distributed a ``DistributedSampler`` gives each process its shard. With
    ``batches_per_epoch`` an epoch is that many training batches of one stream of random
    passes (see ``_stream_batches``); evaluation batches are always a full pass.

    Parameters
    ----------
    dataset : SegmentDataset or Dataset
        Segments; one with ``get_batch(indices)`` is read a batch per call.
    batch_size : int
        Segments per batch per process.
    train : bool
        Training (random order, last incomplete batch dropped) or evaluation (batches of
        equal sizes in order).
    seed : int
        Seed of the training order, with ``epoch``.
    epoch : int
        0-based epoch whose order is drawn.
    num_workers : int
        DataLoader worker processes.
    info : DistributedInfo or None
        This process's rank and the world size; None: one process.
    pin : bool
        Pin the batches in page-locked memory (for CUDA).
    batches_per_epoch : int or None
        Training batches per epoch from a stream of passes; None: one full pass.

    Returns
    -------
    loader : DataLoader
        Yields dicts of tensors ``{"brain", "stimulus", "subject"[, "positions"]}``
        with a leading batch axis.
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


__all__ = ["make_loader"]
