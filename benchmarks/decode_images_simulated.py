"""Zero-shot image decoding from simulated EEG: CLIP encoders vs ridge vs untrained vs chance.

The THINGS-EEG2 protocol on simulated data with known ground truth, at a harder setting
than ``recipes/demo_images.yaml`` (20 instead of 12 test images, -15 instead of -10 dB):

- Stimuli: the 92 images of Kriegeskorte et al. 2008 (``rsa_92images`` under the data root
  ``NEURODECODE_TEST_DATA`` or ``../shared/data``; generated images when absent, the
  output says which), their EfficientNet-Lite0 pooled features (1280-d).
- Brain: ``--subjects`` simulated subjects, 64-channel EEG at 100 Hz, driven by the
  features through planted spatio-temporal responses and 1/f noise at ``--snr-db``
  (``neurodecode.simulate.images``); training images shown 4 times, ``--test-images``
  zero-shot test images (never in training) shown 8 times, averaged at test.
- Models, all subject-conditioned and trained with CLIP (InfoNCE, learned temperature):
  the time-aggregated ConvEncoder (``conv_time_agg``) and the NICE-style EEG encoder
  (``nice_eeg``); baselines: ridge regression on the flattened windows (RidgeCV), and
  the untrained time-aggregated encoder. Top-1/top-5 among the test images, with the
  chance level, 95 % bootstrap CIs over test queries and the training time. The epoch
  kept is the best on validation retrieval (``retrieval_rank``, as the item job), with
  the recipe's training settings (``recipes/demo_images.yaml``; ``--set`` overrides).

Run: ``.venv/bin/python benchmarks/decode_images_simulated.py`` (about 2-4 min on 2 CPU
cores) or ``--quick`` (seconds).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _data_root() -> Path:
    return Path(os.environ.get("NEURODECODE_TEST_DATA", ROOT.parent / "shared" / "data"))


def _recipe(args: argparse.Namespace):
    from neurodecode.config import load_recipe

    images = _data_root() / "rsa_92images"
    sim = [f"data.simulation.n_subjects={args.subjects}",
           f"data.simulation.n_test_images={args.test_images}",
           f"data.simulation.snr_db={args.snr_db}",
           f"data.simulation.image_root={images if images.is_dir() and not args.synthetic else 'null'}",
           f"seed={args.seed}", *args.set]
    if args.epochs is not None:
        sim.append(f"training.epochs={args.epochs}")
    if args.quick:
        sim += ["data.simulation.n_images=40", "data.simulation.n_repetitions=2",
                "split.valid_size=0.2"]
    return load_recipe(ROOT / "recipes" / "demo_images.yaml", sim), images.is_dir() and not args.synthetic


def _row(name: str, result, seconds: float | None, fitted=None) -> str:
    ci1, ci5 = result.ci[1], result.ci.get(5, (float("nan"),) * 2)
    t = "" if seconds is None else f"{seconds:8.1f}"
    if fitted is not None:
        t += f"  {fitted.best_epoch:>3d}/{len(fitted.history)}"
    return (f"{name:<26} {100 * result.topk[1]:6.1f} [{100 * ci1[0]:5.1f}, {100 * ci1[1]:5.1f}]"
            f" {100 * result.topk.get(5, float('nan')):6.1f} [{100 * ci5[0]:5.1f}, "
            f"{100 * ci5[1]:5.1f}] {t}")


def _averaged(splits: dict, names: Sequence[str]) -> dict:
    from neurodecode.align.items import average_repetitions

    return {k: average_repetitions(v) if k in names else v for k, v in splits.items()}


def _multi_positive_loss(mode: str, params: dict):
    """The ablation's loss: see ``MultiPositive``."""
    import torch

    from neurodecode.losses import ClipLoss

    class MultiPositive(ClipLoss):
        """Ablation (one process): InfoNCE where the windows sharing the query's target are
        left out of the denominator ("mask") or summed as positives ("sum")."""

        def __init__(self, mode: str, **params) -> None:
            super().__init__(**params)
            self.mode = mode

        def forward(self, pred, target):  # noqa: D102
            pred, target = pred.float(), target.float()
            _, ids = torch.unique(target, dim=0, return_inverse=True)
            same = ids[:, None] == ids[None]
            eye = torch.eye(len(ids), dtype=torch.bool)
            total = 0.0
            for logits in (self.scores(pred, target), self.scores(target, pred)):
                logits = logits * self._scale()
                if self.mode == "mask":
                    logits = logits.masked_fill(same & ~eye, -torch.inf)
                    total = total + torch.nn.functional.cross_entropy(
                        logits, torch.arange(len(ids)))
                else:
                    positives = torch.logsumexp(logits.masked_fill(~same, -torch.inf), 1)
                    total = total + (torch.logsumexp(logits, 1) - positives).mean()
            return total / 2

    return MultiPositive(mode, **params)


def _print_history(name: str, history: list[dict], n_valid: int, batch_size: int) -> None:
    import math

    size = n_valid / math.ceil(n_valid / batch_size)  # fit's equal validation batches
    print(f"{name}: epoch, validation loss (chance: log {size:.0f} = {math.log(size):.2f}), "
          "validation retrieval rank (chance 0.5)")
    for h in history:
        print(f"  {h['epoch']:3d}  {h['valid_loss']:.3f}  {h.get('valid_score', float('nan')):.3f}")


def _paired(result, baseline, k: int, seed: int, n_boot: int = 1000) -> str:
    """Top-k difference (percentage points) of two models on the same queries, with a
    paired bootstrap 95 % CI (queries resampled together)."""
    import numpy as np

    diff = (result.rank < k).astype(float) - (baseline.rank < k).astype(float)
    rng = np.random.default_rng(seed)
    boots = diff[rng.integers(0, len(diff), (n_boot, len(diff)))].mean(1)
    lo, hi = np.percentile(boots, [2.5, 97.5])
    return f"top-{k} {100 * diff.mean():+5.1f} [{100 * lo:+5.1f}, {100 * hi:+5.1f}]"


def main(argv: Sequence[str] | None = None) -> dict:
    """Run the benchmark and print its table; returns ``{model: RetrievalResult}``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subjects", type=int, default=4)
    parser.add_argument("--test-images", type=int, default=20)
    parser.add_argument("--snr-db", type=float, default=-15.0)
    parser.add_argument("--epochs", type=int, default=None,
                        help="maximum epochs (default: the recipe's training.epochs)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="tiny sizes, seconds")
    parser.add_argument("--synthetic", action="store_true", help="generated images")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a key of recipes/demo_images.yaml (repeatable)")
    parser.add_argument("--select", default="retrieval", choices=("retrieval", "loss"),
                        help="what chooses the epoch: validation retrieval or loss")
    parser.add_argument("--positives", default="diagonal", choices=("diagonal", "mask", "sum"),
                        help="ablation: the other windows of a query's image are negatives "
                        "(diagonal, the loss), left out of the denominator (mask) or summed "
                        "as positives (sum, SupCon's L_in)")
    parser.add_argument("--average", nargs="*", default=[], choices=("train", "valid"),
                        help="ablation: average the repetitions of these splits too")
    parser.add_argument("--history", action="store_true",
                        help="print each CLIP model's validation loss and retrieval per epoch")
    parser.add_argument("--models", nargs="+", default=["conv_time_agg", "nice_eeg"],
                        help="CLIP-trained encoders to run")
    args = parser.parse_args(argv)

    import torch

    from neurodecode.build import build_loss, build_model, item_decoding_inputs
    from neurodecode.decoding.items import fit_ridge, predict_items, score_items, train_items

    torch.set_num_threads(args.threads)
    recipe, real_images = _recipe(args)
    t0 = time.perf_counter()
    inputs = item_decoding_inputs(recipe)
    items, splits = inputs.items, _averaged(dict(inputs.splits), args.average)
    test = splits["test"]
    print(f"images: {'Kriegeskorte 92 (real)' if real_images else 'generated'}; "
          f"{len(items.subjects)} subjects, {len(items)} windows {items.brain.shape[1:]}, "
          f"{len(items.item_ids)} images, {len(test.item_ids[test.item].tolist() and set(test.item))} "
          f"test images x {len(items.subjects)} subjects (averaged repetitions); "
          f"SNR {args.snr_db} dB; simulated in {time.perf_counter() - t0:.1f} s")
    train = recipe.training
    fit_kwargs = dict(epochs=train.epochs, batch_size=train.batch_size, lr=train.lr,
                      patience=train.patience, weight_decay=train.weight_decay,
                      optimizer=train.optimizer, device="cpu")
    scoring = dict(ks=(1, 5), pool_size=None, n_bootstraps=1000, seed=args.seed)
    models = {"conv_time_agg": dict(recipe.model.params),  # the recipe's model and training
              "nice_eeg": {"n_filters": 40, "temporal_kernel": 13, "pool_kernel": 11,
                           "pool_stride": 3, "n_pooled": 8, "dropout": 0.3}}
    results, rows = {}, []
    for name, params in {k: models[k] for k in args.models}.items():
        from dataclasses import replace

        spec = replace(recipe, model=replace(recipe.model, name=name, params=params))
        def make(spec=spec):
            return build_model(spec, n_channels=items.brain.shape[1],
                               n_outputs=items.targets.shape[1], n_subjects=len(items.subjects))
        with tempfile.TemporaryDirectory() as tmp:
            loss = build_loss(spec) if args.positives == "diagonal" else _multi_positive_loss(
                args.positives, dict(spec.loss.params))
            model, fitted, seconds = train_items(make, loss, splits, run_dir=Path(tmp),
                                            seed=args.seed, progress=False,
                                            select=args.select, **fit_kwargs)
        results[name] = score_items(predict_items(model, test), test, **scoring)["brain_to_image"]
        rows.append(_row(f"CLIP {name}", results[name], seconds, fitted))
        if args.history:
            _print_history(name, fitted.history, len(splits["valid"]), train.batch_size)
    t = time.perf_counter()
    results["ridge"] = score_items(fit_ridge(splits["train"], test), test, **scoring)["brain_to_image"]
    rows.append(_row("ridge (RidgeCV)", results["ridge"], time.perf_counter() - t))
    torch.manual_seed(args.seed)
    untrained = build_model(recipe, n_channels=items.brain.shape[1],
                            n_outputs=items.targets.shape[1], n_subjects=len(items.subjects))
    results["untrained"] = score_items(predict_items(untrained, test), test, **scoring)["brain_to_image"]
    rows.append(_row("untrained conv_time_agg", results["untrained"], None))
    any_result = results["ridge"]
    print(f"{'model':<26} {'top-1 %':>6} {'95% CI':>14} {'top-5 %':>6} {'95% CI':>14} {'train s':>8}"
          "  best/run epochs")
    print("\n".join(rows))
    print(f"{'chance':<26} {100 * any_result.chance[1]:6.1f} {'':>14} "
          f"{100 * any_result.chance[5]:6.1f}   ({any_result.n_candidates} candidates, "
          f"{any_result.n_queries} queries)")
    print("minus ridge, same queries (paired bootstrap 95 % CI, percentage points):")
    for name in args.models:
        print(f"  CLIP {name:<21} " + "   ".join(
            _paired(results[name], results["ridge"], k, args.seed) for k in (1, 5)))
    return results


if __name__ == "__main__":
    main()
