"""Item (image) decoding: train a brain encoder on ItemSegments and score retrieval.

The targets stay stored once per item: :class:`ItemDataset` looks each window's row up
at batch time. Retrieval candidates are the distinct test items, identified by their
item ids (passed as ``segment_ids`` to ``compute_topk_accuracy``), in both directions:
brain to image (rank the images for each brain response) and image to brain (rank the
brain responses of one subject for each image).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict

import numpy as np
import torch
from torch import nn
from torch.utils.data import Dataset

from .._validation import check_option
from ..align.items import ItemSegments
from ..models.base import check_batch_shapes

if TYPE_CHECKING:
    from ..evaluation import RetrievalResult

logger = logging.getLogger("neurodecode")

DIRECTIONS = ("brain_to_image", "image_to_brain")
#: What chooses the epoch of ``train_items``: validation retrieval, or validation loss.
SELECTIONS = ("retrieval", "loss")


class ItemDataset(Dataset):
    """Windows of ItemSegments with their item's target, read at batch time.

    Notes
    -----
    ``get_batch(indices)`` -> ``{"brain": (b, ...), "stimulus": (b, n_features),
    "subject": (b,)}``; ``targets`` is never copied per window.
    """

    def __init__(self, items: ItemSegments) -> None:
        self.items = items

    def __len__(self) -> int:
        return len(self.items)

    @property
    def n_features(self) -> int:
        """Feature dimension of the targets."""
        return int(self.items.targets.shape[1])

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        return {k: v[0] for k, v in self.get_batch(np.array([index])).items()}

    def get_batch(self, indices) -> dict[str, torch.Tensor]:
        """Rows ``indices`` as tensors with a leading batch axis."""
        indices = np.asarray(indices, dtype=np.int64)
        items = self.items
        return {"brain": torch.from_numpy(np.ascontiguousarray(items.brain[indices], np.float32)),
                "stimulus": torch.from_numpy(items.targets[items.item[indices]]),
                "subject": torch.from_numpy(items.subject[indices].astype(np.int64))}


def check_first_batch(model: nn.Module, items: ItemSegments, *, feature: str,
                      encoder: str) -> None:
    """Push two windows through ``model`` and compare with their targets' shape."""
    batch = ItemDataset(items).get_batch(np.arange(min(2, len(items))))
    model.eval()
    with torch.no_grad():
        pred = _call(model, batch, items.pos_2d)
    check_batch_shapes(feature=feature, encoder=encoder, pred_shape=tuple(pred.shape),
                       target_shape=tuple(batch["stimulus"].shape))


def _call(model: nn.Module, batch: dict, positions) -> torch.Tensor:
    if positions is None:
        return model(batch["brain"], batch["subject"])
    return model(batch["brain"], batch["subject"], torch.as_tensor(positions, dtype=torch.float32))


def train_items(make_model: Callable[[], nn.Module], loss: nn.Module,
                splits: dict[str, ItemSegments], *, run_dir: Path, seed: int, progress: bool,
                select: str = "retrieval", **fit_kwargs: Any):
    """Fit a freshly built model on ``splits["train"]``, early-stopping on ``valid``.

    The best epoch (and early stopping) follow the validation retrieval
    (:func:`retrieval_rank`), not the validation loss: with few validation images the
    contrastive loss at the learned temperature stays near its chance level while the
    ranking of the images improves (issue 13, ``benchmarks/decode_images_simulated.py``).
    A validation split of fewer than 2 images falls back to the validation loss (with a
    warning); ``select="loss"`` chooses on the loss (the behaviour before issue 13, kept
    for comparison). Returns the model, the ``FitResult`` and the training time in seconds.
    """
    from ..training import fit

    valid = splits["valid"]
    score, n_valid = None, len(np.unique(valid.item))
    if check_option("select", select, SELECTIONS) == "retrieval" and n_valid >= 2:
        def score(m: nn.Module) -> float:
            return retrieval_rank(m, valid, device=next(m.parameters()).device)
    elif select == "retrieval":
        logger.warning("the validation split holds %d image(s): the epoch is chosen on the "
                       "validation loss (retrieval needs >= 2 images; enlarge "
                       "split.valid_size)", n_valid)
    torch.manual_seed(seed)
    model = make_model()
    t0 = time.perf_counter()
    result = fit(model, loss, ItemDataset(splits["train"]), ItemDataset(valid),
                 positions=splits["train"].pos_2d, run_dir=run_dir, seed=seed,
                 progress=progress, valid_score=score, **fit_kwargs)
    return model, result, time.perf_counter() - t0


def retrieval_rank(model: nn.Module, items: ItemSegments, *,
                   device: str | torch.device = "cpu") -> float:
    """Mean normalised rank of the true item among the distinct items of ``items``.

    For each window, the fraction of the other items that the model's prediction scores
    below the window's own item (brainmagick's score, as the evaluation): 1.0 ranks every
    window's item first, 0.5 is chance. Smooth where top-1 among few items is not, and
    free of the temperature that the contrastive loss depends on.
    """
    from ..evaluation.retrieval import retrieval_scores

    kept = np.unique(items.item)
    if len(kept) < 2:
        raise ValueError(f"retrieval_rank needs windows of >= 2 distinct items; got {len(kept)} "
                         "(for the validation split: enlarge split.valid_size).")
    scores = retrieval_scores(predict_items(model, items, device=device), items.targets[kept])
    own = scores[np.arange(len(items)), np.searchsorted(kept, items.item)]
    return float(((scores < own[:, None]).sum(1) / (len(kept) - 1)).mean())


def predict_items(model: nn.Module, items: ItemSegments, *,
                  device: str | torch.device = "cpu") -> np.ndarray:
    """The model's prediction (n, n_features) for every window of ``items``."""
    from ..evaluation import predict

    return predict(model, ItemDataset(items), positions=items.pos_2d, device=device)


def fit_ridge(train: ItemSegments, test: ItemSegments,
              alphas: Sequence[float] = tuple(np.logspace(-1, 6, 8))) -> np.ndarray:
    """Ridge baseline: flattened windows -> targets (RidgeCV), predictions for ``test``."""
    from sklearn.linear_model import RidgeCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x_train = train.brain.reshape(len(train), -1)
    model = make_pipeline(StandardScaler(), RidgeCV(alphas=list(alphas)))
    model.fit(x_train, train.window_targets())
    return model.predict(test.brain.reshape(len(test), -1)).astype(np.float32)


class _ScoreKw(TypedDict):
    """The retrieval settings ``score_items`` passes to every ``compute_topk_accuracy``."""

    ks: Sequence[int]
    pool_size: int | None
    n_bootstraps: int
    seed: int
    device: str


def score_items(pred: np.ndarray, test: ItemSegments, *, ks: Sequence[int],
                pool_size: int | None, n_bootstraps: int, seed: int, device: str = "cpu",
                directions: Sequence[str] = ("brain_to_image",)) -> dict:
    """Top-k retrieval among the distinct test items, per direction.

    Returns ``{"brain_to_image": RetrievalResult, "image_to_brain": {subject:
    RetrievalResult}}``; image to brain ranks, per subject, that subject's responses (one
    per item after repetition averaging) for each image.
    """
    from ..evaluation import compute_topk_accuracy

    kwargs = _ScoreKw(ks=ks, pool_size=pool_size, n_bootstraps=n_bootstraps, seed=seed,
                      device=device)
    out: dict[str, RetrievalResult | dict[str, RetrievalResult]] = {}
    if "brain_to_image" in directions:
        out["brain_to_image"] = compute_topk_accuracy(
            pred, test.window_targets(), segment_ids=test.item_ids[test.item],
            subjects=test.subject, **kwargs)
    if "image_to_brain" in directions:
        out["image_to_brain"] = _image_to_brain(pred, test, kwargs)
    return out


def _image_to_brain(pred: np.ndarray, test: ItemSegments,
                    kwargs: _ScoreKw) -> dict[str, RetrievalResult]:
    """Per subject: each image ranks that subject's responses (ids: the item ids)."""
    from ..evaluation import compute_topk_accuracy

    out: dict[str, RetrievalResult] = {}
    for s in np.unique(test.subject):
        rows = test.subject == s
        ids = test.item_ids[test.item[rows]]
        if len(np.unique(ids)) != len(ids):
            raise ValueError("image_to_brain retrieval needs one response per subject and "
                             "item; set evaluation.average_repetitions=true.")
        out[test.subjects[s]] = compute_topk_accuracy(test.window_targets()[rows], pred[rows],
                                                      segment_ids=ids, **kwargs)
    return out


__all__ = ["DIRECTIONS", "SELECTIONS", "ItemDataset", "check_first_batch", "fit_ridge", "predict_items",
           "retrieval_rank", "score_items", "train_items"]
