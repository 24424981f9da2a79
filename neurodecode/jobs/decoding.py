"""The decoding job: streamed windows -> leak-free splits -> scaled per recording -> trained ->
retrieval among stimulus positions.

``segment_ids``, ``scale_splits``, ``train`` and ``evaluate`` serve analyses (and benchmarks)
that hold ``Segments`` arrays; ``run_decoding`` never holds all windows.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from torch import nn

from ..align import Segments, SegmentScaler, concatenate_segments, make_segments, split_segments
from ..build import build_loss, build_model, build_recordings, check_recipe_contract
from ..config import Recipe
from ..exceptions import ConfigError
from ..training.distributed import get_info, main_process_first
from .common import finish_run, write_metrics

logger = logging.getLogger("neurodecode")

#: k values of the retrieval curve (those not above the number of candidates).
CURVE_KS = (1, 2, 3, 5, 10, 20, 50, 100, 200, 500)


def segment_ids(stimulus: Any) -> np.ndarray:
    """One id per distinct stimulus window content (identical targets share an id), shape (n,).

    For arrays of ``Segments`` only; ``run_decoding`` identifies a candidate by what was
    heard (``align.dataset.candidate_ids``), so one word heard by several recordings is one
    candidate even when its windows differ by a sample.
    """
    rounded = np.round(np.asarray(stimulus, np.float32), 5)
    return np.array([hashlib.blake2b(row.tobytes(), digest_size=8).hexdigest()
                     for row in rounded])


def scale_splits(splits: dict[str, Segments], method: str | None,
                 clamp: float | None) -> dict[str, Segments]:
    """Scale every split with a per-channel scaler fitted on the training split only."""
    if method is None:
        return splits
    scaler = SegmentScaler(method, clamp).fit(splits["train"].brain)
    return {name: dataclasses.replace(s, brain=scaler.transform(s.brain))
            for name, s in splits.items()}


def predict_split(model: nn.Module, split: Segments, device: str) -> np.ndarray:
    """The model's predictions for every segment of ``split``."""
    from ..evaluation import predict
    from ..training import SegmentDataset

    dataset = SegmentDataset(split.brain, split.stimulus, split.subject)
    return predict(model, dataset, positions=split.pos_2d, device=device)


def score(pred: np.ndarray, split: Segments, *, ks: Sequence[int], pool_size: int | None,
          n_bootstraps: int, seed: int, device: str):
    """Top-k retrieval of ``split``'s stimulus windows from predictions ``pred``."""
    from ..evaluation import compute_topk_accuracy

    return compute_topk_accuracy(pred, split.stimulus, ks=ks, segment_ids=segment_ids(split.stimulus),
                                 subjects=split.subject, pool_size=pool_size,
                                 n_bootstraps=n_bootstraps, seed=seed, device=device)


def evaluate(model: nn.Module, split: Segments, *, device: str, **score_kwargs):
    """Top-k retrieval of ``split``'s stimulus windows from the model's predictions."""
    return score(predict_split(model, split, device), split, device=device, **score_kwargs)


def train(make_model: Callable[[], nn.Module], loss: nn.Module, splits: dict[str, Segments], *,
          run_dir: Path, seed: int, progress: bool, **fit_kwargs):
    """Fit a freshly built model on the train split of ``Segments``, early-stopping on valid."""
    from ..training import SegmentDataset

    sets = {k: SegmentDataset(s.brain, s.stimulus, s.subject) for k, s in splits.items()}
    return train_sets(make_model, loss, sets, splits["train"].pos_2d, run_dir=run_dir,
                      seed=seed, progress=progress, **fit_kwargs)


@dataclass
class TestWindows:
    """What the test split's retrieval needs: predictions and the candidates' identity.

    ``pred`` and ``target`` of shape (n, n_features, n_times); ``ids`` (n,) one candidate
    per stimulus position; ``groups`` (n,) the word of each window or None; ``subjects``
    (n,) subject indices; ``pos_2d`` the sensor positions; ``meta`` the windows' rows.
    """

    pred: np.ndarray
    target: np.ndarray
    ids: np.ndarray
    groups: np.ndarray | None
    subjects: np.ndarray
    pos_2d: np.ndarray | None
    meta: pd.DataFrame | None = None


def run_decoding(recipe: Recipe, run_dir: Path, *, progress: bool = True) -> dict:
    """Run a decoding recipe end to end and write its run directory.

    Windows are streamed: each recording is preprocessed once into ``<run_dir>/store``
    and brain and target windows are cut at batch time (``align.dataset``).
    """
    check_recipe_contract(recipe)  # item features run as JOBS["item_decoding"] (build.job_name)
    with main_process_first():  # under torchrun rank 0 builds the store, the others read it
        recordings, features = build_recordings(recipe, progress=progress)
        if features is None:
            raise ConfigError("decoding needs stimulus features: set the recipe's features "
                              "section.")
        windows = _stream(recordings, features, recipe, Path(run_dir), progress)
    split_meta = _split_windows(windows, recipe)
    scalers = windows.fit_scalers(split_meta["train"], recipe.scaling.method,
                                  recipe.scaling.clamp, seed=recipe.seed)
    sets = {k: windows.dataset(m, scalers) for k, m in split_meta.items()}
    device = resolve_device(recipe.training.device)

    def make_model():
        return build_model(recipe, n_channels=len(windows.ch_names),
                           n_outputs=windows.n_features, n_subjects=len(windows.subjects))
    fit_kwargs = {f.name: getattr(recipe.training, f.name)
                  for f in dataclasses.fields(recipe.training)} | {"device": device}
    eval_kwargs: dict[str, Any] = dict(ks=recipe.evaluation.ks, pool_size=recipe.evaluation.pool_size,
                       n_bootstraps=recipe.evaluation.n_bootstraps, seed=recipe.seed,
                       device=device)
    model, fitted, seconds = train_sets(make_model, build_loss(recipe), sets, windows.pos_2d,
                                        run_dir=run_dir, seed=recipe.seed, progress=progress,
                                        **fit_kwargs)
    trained = _train_baselines(recipe, make_model, sets, windows, run_dir, fit_kwargs, progress)
    if not get_info().is_main:  # rank 0 alone evaluates and writes (open_run's barrier)
        return {}
    test = _test_windows(model, windows, sets["test"], device)
    result = score_windows(test.pred, test, **eval_kwargs)
    metrics = {**result.to_dict(), "training": {
        "best_epoch": fitted.best_epoch, "best_valid_loss": fitted.best_valid_loss,
        "epochs_run": len(fitted.history), "seconds": seconds,
        "n_parameters": int(sum(p.numel() for p in model.parameters()))},
        "data": _data_summary(windows, split_meta, test)}
    metrics["baselines"] = _baselines(trained, sets, windows, test, eval_kwargs)
    _write_run_files(run_dir, fitted.history, model, test, eval_kwargs)
    write_metrics(run_dir, metrics)
    finish_run(run_dir, recipe)
    return metrics


def _stream(recordings, features, recipe: Recipe, run_dir: Path, progress: bool):
    from ..align.dataset import make_streamed
    from ..align.store import RecordingStore

    seg = recipe.segments
    return make_streamed(recordings, features, RecordingStore(run_dir / "store"),
                         tmin=seg.tmin, tmax=seg.tmax, on=seg.on, stride=seg.stride,
                         sfreq=seg.sfreq, baseline=seg.baseline, delay=seg.delay,
                         max_pad=seg.max_pad, offset=seg.offset, train_on=seg.train_on,
                         train_stride=seg.train_stride, block_duration=seg.block_duration,
                         allow_missing=seg.allow_missing_conditions,
                         progress=progress)


def _split_windows(windows, recipe: Recipe) -> dict[str, pd.DataFrame]:
    """The rows of ``windows.meta`` in each split (``split_segments`` on the metadata);
    the validation rows shuffled once (seeded), so that each validation batch mixes
    windows from across the split (brainmagick shuffles them) rather than neighbours."""
    cfg = recipe.split
    seed = recipe.seed if cfg.seed is None else cfg.seed
    splits = split_segments(windows.as_segments(), by=cfg.by, test_size=cfg.test_size,
                            valid_size=cfg.valid_size, seed=seed,
                            allow_shared_stimuli=cfg.allow_shared_stimuli)
    out = {name: s.meta for name, s in splits.items()}
    out["valid"] = out["valid"].sample(frac=1.0, random_state=recipe.seed)
    return out


def resolve_device(name: str) -> str:
    """``"auto"``: ``"cuda"`` when a GPU is visible, else ``"cpu"``; any other name as is."""
    if name != "auto":
        return name
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def train_sets(make_model: Callable[[], nn.Module], loss: nn.Module, sets: dict, positions, *,
               run_dir: Path, seed: int, progress: bool, **fit_kwargs):
    """Fit a freshly built model on ``sets["train"]``, early-stopping on ``sets["valid"]``."""
    import torch

    from ..training import fit

    with torch.random.fork_rng():  # the caller's global generator is left as it was
        torch.manual_seed(seed)
        model = make_model()
    result = fit(model, loss, sets["train"], sets["valid"], positions=positions,
                 run_dir=run_dir, seed=seed, progress=progress, **fit_kwargs)
    return model, result, result.seconds  # every epoch, counting those before a resume


def _test_windows(model: nn.Module, windows, test_set, device: str) -> TestWindows:
    from ..align.dataset import candidate_ids
    from ..evaluation import predict

    meta = test_set.meta
    words = (meta["kind"] == "word").all() and (meta["text"].astype(str) != "").all()
    return TestWindows(pred=predict(model, test_set, positions=windows.pos_2d, device=device),
                       target=test_set.stimulus(np.arange(len(test_set))),
                       ids=candidate_ids(windows, meta),
                       groups=meta["text"].astype(str).to_numpy() if words else None,
                       subjects=test_set.subject, pos_2d=windows.pos_2d, meta=meta)


def score_windows(pred: np.ndarray, test: TestWindows, *, ks: Sequence[int],
                  pool_size: int | None, n_bootstraps: int, seed: int, device: str):
    """Top-k retrieval among the test split's stimulus positions (one candidate each)."""
    from ..evaluation import compute_topk_accuracy

    return compute_topk_accuracy(pred, test.target, ks=ks, segment_ids=test.ids,
                                 groups=test.groups, subjects=test.subjects,
                                 pool_size=pool_size, n_bootstraps=n_bootstraps, seed=seed,
                                 device=device)


def _segment(recordings, features, recipe: Recipe, progress: bool = False) -> Segments:
    from tqdm.auto import tqdm

    from ..align.segments import check_conditions_found

    seg = recipe.segments
    kwargs = dict(tmin=seg.tmin, tmax=seg.tmax, on=seg.on, stride=seg.stride, sfreq=seg.sfreq,
                  baseline=seg.baseline, delay=seg.delay, max_pad=seg.max_pad,
                  allow_missing=seg.allow_missing_conditions)
    if seg.allow_missing_conditions:
        check_conditions_found(seg.on, [rec.events for rec in recordings])
    per_rec = features if isinstance(features, list) else [features] * len(recordings)
    steps = tqdm(list(zip(recordings, per_rec)), desc="segmenting (recordings)",
                 unit="recording", disable=not progress or len(recordings) < 2)
    parts = [make_segments(rec, features=feat, **kwargs) for rec, feat in steps]
    segments = concatenate_segments(parts)
    segments.meta["recording"] = np.concatenate([[i] * len(p) for i, p in enumerate(parts)])
    return segments


def _data_summary(windows, split_meta: dict[str, pd.DataFrame], test: TestWindows) -> dict:
    return {"n_subjects": len(windows.subjects), "n_channels": len(windows.ch_names),
            "n_times": int(windows.width), "sfreq": windows.sfreq,
            **{f"n_{k}": len(v) for k, v in split_meta.items()},
            "n_test_unique": int(len(np.unique(test.ids)))}


def _train_baselines(recipe: Recipe, make_model, sets: dict, windows, run_dir: Path,
                     fit_kwargs: dict, progress: bool) -> dict[str, nn.Module]:
    """The baseline models, by name (trained by every process under torchrun)."""
    import torch

    out = {}
    for name in recipe.evaluation.baselines:
        if name == "untrained":
            with torch.random.fork_rng():
                torch.manual_seed(recipe.seed)
                out[name] = make_model()
        elif name == "regression":
            out[name], _, _ = train_sets(make_model, build_loss(recipe, "mse"), sets,
                                         windows.pos_2d, run_dir=run_dir / "baseline_regression",
                                         seed=recipe.seed, progress=progress, **fit_kwargs)
        else:
            raise ConfigError(f"evaluation.baselines has {name!r}; expected 'regression' or "
                              "'untrained'.")
    return out


def _baselines(trained: dict[str, nn.Module], sets: dict, windows, test: TestWindows,
               eval_kwargs: dict) -> dict:
    from ..evaluation import predict

    out = {}
    for name, model in trained.items():
        pred = predict(model, sets["test"], positions=windows.pos_2d,
                       device=eval_kwargs["device"])
        out[name] = score_windows(pred, test, **eval_kwargs).to_dict()
    return out


def _write_run_files(run_dir: Path, history: list[dict], model: nn.Module, test: TestWindows,
                     eval_kwargs: dict) -> None:
    losses = [c for c in pd.DataFrame(history).columns if c == "epoch" or c.endswith("loss")]
    pd.DataFrame(history)[losses].to_csv(run_dir / "history.csv", index=False)
    ks = [k for k in CURVE_KS if k <= len(np.unique(test.ids))]
    curve = score_windows(test.pred, test, **dict(eval_kwargs, ks=ks))
    rows = [{"k": k, "accuracy": curve.topk[k], "chance": curve.chance[k],
             "ci_lower": curve.ci[k][0], "ci_upper": curve.ci[k][1]} for k in ks]
    pd.DataFrame(rows).to_csv(run_dir / "retrieval.csv", index=False)
    if test.meta is not None:  # what each test window heard, and its candidate
        test.meta.assign(candidate=test.ids).to_csv(run_dir / "test_windows.csv", index=False)
    attention = getattr(model, "spatial", None)
    if attention is not None and test.pos_2d is not None:
        import torch

        with torch.no_grad():
            pos = torch.as_tensor(test.pos_2d, dtype=torch.float32)[None]
            present = torch.ones(pos.shape[:2], dtype=torch.bool)
            weights = attention.attention(pos, present)[0].numpy()
        np.save(run_dir / "spatial_attention.npy", weights)
        np.save(run_dir / "positions.npy", test.pos_2d)
