"""Named variants of a recipe over seeds: the jobs to run and Table 2 from their metrics.

A variant is a name and a set of recipe overrides (``{"features.name": "mel", "loss.name":
"mse"}``); each (variant, seed) is one independent job (``neurodecode.executors`` runs
them). :func:`summarise` gathers the jobs' ``metrics.json`` into one row per model
(each variant, and each baseline a variant reports, e.g. ``untrained``) with the mean and
standard deviation over seeds of segment- and word-level top-k accuracy and their chance.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

#: Metrics of a decoding run summarised per row (those present in the jobs' metrics).
SUMMARISED = ("top1", "top5", "top10", "word_top1", "word_top5", "word_top10",
              "chance_top1", "chance_top5", "chance_top10", "word_chance_top1",
              "word_chance_top5", "word_chance_top10", "n_candidates", "n_words")


@dataclass(frozen=True)
class Job:
    """One run of a variant at one seed: the overrides that make it, and where it writes."""

    variant: str
    seed: int
    overrides: tuple[str, ...]
    out: Path


def variant_overrides(values: Mapping[str, Any]) -> list[str]:
    """``{"loss.name": "mse"}`` -> ``["loss.name=mse"]`` (values written as JSON, which the
    recipe loader reads as YAML)."""
    return [f"{key}={json.dumps(value)}" for key, value in values.items()]


def make_jobs(variants: Mapping[str, Mapping[str, Any]], seeds: Sequence[int],
              out: Path, base: Sequence[str] = ()) -> list[Job]:
    """One job per (variant, seed), written to ``out/<variant>/seed<k>``.

    Parameters
    ----------
    variants : mapping of str to mapping
        Variant name -> recipe overrides (``{}``: the recipe as it is).
    seeds : sequence of int
    out : Path
    base : sequence of str
        Overrides of every job (the command line's ``--set``), applied first.
    """
    jobs = []
    for name, values in variants.items():
        if not name or "/" in name:
            raise ValueError(f"variant name {name!r} must be non-empty and hold no '/'.")
        for seed in seeds:
            jobs.append(Job(name, int(seed), (*base, *variant_overrides(values), f"seed={seed}"),
                            Path(out) / name / f"seed{seed}"))
    return jobs


def _rows_of(metrics: dict) -> dict[str, dict]:
    """The trained model's metrics and each baseline's, by row suffix."""
    rows = {"": metrics}
    rows.update({f":{name}": value for name, value in metrics.get("baselines", {}).items()})
    return rows


def summarise(results: Mapping[tuple[str, int], dict]) -> dict[str, dict]:
    """Mean and standard deviation over seeds of each row's metrics.

    Parameters
    ----------
    results : mapping of (variant, seed) to dict
        Each job's ``metrics.json``.

    Returns
    -------
    summary : dict
        Row name (the variant, or ``<variant>:<baseline>``) -> ``{"seeds": [...], metric:
        {"mean", "sd", "values"}}`` (``sd`` with ddof=1, 0 for a single seed).
    """
    gathered: dict[str, dict[str, list[float]]] = {}
    seeds: dict[str, list[int]] = {}
    for (variant, seed), metrics in sorted(results.items()):
        for suffix, values in _rows_of(metrics).items():
            row = gathered.setdefault(variant + suffix, {})
            seeds.setdefault(variant + suffix, []).append(seed)
            for key in SUMMARISED:
                if isinstance(values.get(key), (int, float)):
                    row.setdefault(key, []).append(float(values[key]))
    out: dict[str, dict] = {}
    for name, row in gathered.items():
        out[name] = {"seeds": seeds[name]}
        for key, vals in row.items():
            arr = np.asarray(vals)
            out[name][key] = {"mean": float(arr.mean()),
                              "sd": float(arr.std(ddof=1)) if len(arr) > 1 else 0.0,
                              "values": vals}
    return out


def summary_table(summary: Mapping[str, dict], ks: Sequence[int] = (1, 5, 10)) -> pd.DataFrame:
    """One row per model: ``top<k>`` and ``word_top<k>`` as mean and sd (in %), chance."""
    rows = []
    for name, row in summary.items():
        out: dict[str, Any] = {"model": name, "n_seeds": len(row["seeds"])}
        for prefix in ("", "word_"):
            for k in ks:
                key = f"{prefix}top{k}"
                if key in row:
                    out[f"{key}_mean"] = 100 * row[key]["mean"]
                    out[f"{key}_sd"] = 100 * row[key]["sd"]
                    chance = row.get(f"{prefix}chance_top{k}")
                    out[f"{prefix}chance_top{k}"] = None if chance is None else 100 * chance["mean"]
        rows.append(out)
    return pd.DataFrame(rows)


def plot_summary(summary: Mapping[str, dict], path: Path, k: int = 10) -> Path:
    """Bars of segment- and word-level top-k (mean and sd over seeds) with chance lines."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(summary)
    fig, ax = plt.subplots(figsize=(1.2 + 1.1 * len(names), 3.2))
    x = np.arange(len(names))
    for offset, prefix, label in ((-0.2, "", "segment"), (0.2, "word_", "word")):
        key = f"{prefix}top{k}"
        mean = [100 * summary[n].get(key, {}).get("mean", np.nan) for n in names]
        sd = [100 * summary[n].get(key, {}).get("sd", 0.0) for n in names]
        ax.bar(x + offset, mean, 0.4, yerr=sd, capsize=3, label=f"{label} top-{k}")
        chance = [100 * summary[n].get(f"{prefix}chance_top{k}", {}).get("mean", np.nan)
                  for n in names]
        ax.scatter(x + offset, chance, marker="_", s=300, color="k", zorder=3)
    ax.set_xticks(x, names, rotation=30, ha="right")
    ax.set_ylabel(f"top-{k} accuracy (%)")
    ax.set_title(f"top-{k} retrieval, mean ± sd over seeds (—: chance)")
    ax.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return Path(path)


__all__ = ["Job", "SUMMARISED", "make_jobs", "plot_summary", "summarise", "summary_table",
           "variant_overrides"]
