"""What a report says first: one sentence and one table (model vs baselines vs chance,
with CIs and p-values), the per-subject results, the task's own config, the versions."""

from __future__ import annotations

import platform
from collections.abc import Mapping
from importlib import metadata
from typing import Any

#: Config sections that belong to each task (the others are left out of its report).
TASK_SECTIONS = {
    "decoding": ("data", "features", "segments", "split", "scaling", "model", "loss",
                 "training", "evaluation"),
    "classification": ("data", "segments", "analysis"),
    "rsa": ("data", "segments", "analysis"),
    "encoding": ("data", "segments", "analysis"),
}
PACKAGES = ("numpy", "scipy", "scikit-learn", "mne", "nilearn", "torch", "matplotlib")

Row = dict[str, Any]


def _ci(value: Any) -> str:
    return f"[{value[0]:.3f}, {value[1]:.3f}]" if isinstance(value, list | tuple) else ""


def _p(value: Any) -> str:
    return "" if value is None else f"{value:.3g}"


def summarize(metrics: Mapping[str, Any], task: str | None = None) -> tuple[str, list[Row]]:
    """The summary sentence and table rows (``result``, ``value``, ``95 % CI``, ``p``)."""
    if "accuracy" in metrics.get("classification", {}):
        return _classification(metrics)
    if {"peak_similarity", "similarity"} & set(metrics.get("rsa", {})):
        return _rsa(metrics)
    if "median_r" in metrics.get("encoding", {}):
        return _encoding(metrics)
    if headline_k(metrics) is not None:
        return _decoding(metrics)
    return f"Run of task {task or 'unknown'}: see the metrics below.", []


def _classification(m: Mapping[str, Any]) -> tuple[str, list[Row]]:
    c, t = m["classification"], m.get("time_resolved", {})
    rows = [{"result": f"accuracy ({c.get('cv', 'cross-validated')})",
             "value": c["accuracy"], "95 % CI": _ci(_fold_ci(c.get("fold_scores"))),
             "p": _p(c.get("p_value"))},
            {"result": "chance (majority class)", "value": c["chance"], "95 % CI": "", "p": ""}]
    if t:
        rows.append({"result": f"peak accuracy over time ({t['peak_time']:.3f} s)",
                     "value": t["peak_accuracy"], "95 % CI": "",
                     "p": _p(t.get("p_value_at_peak_fdr"))})
    p = f", permutation p = {c['p_value']:.3g}" if c.get("p_value") is not None else ""
    n_classes = c.get("n_classes", len(c.get("classes", [])))
    n_samples = c.get("n_samples", sum(map(sum, c.get("confusion", []))))
    sentence = (f"A linear classifier separates {n_classes} classes from "
                f"{n_samples} samples with accuracy {c['accuracy']:.3f} against chance "
                f"{c['chance']:.3f}{p}.")
    return sentence, rows


def _fold_ci(scores: Any) -> list[float] | None:
    if not scores or len(scores) < 2:
        return None
    import numpy as np
    from scipy import stats

    x = np.asarray(scores, float)
    half = stats.t.ppf(0.975, len(x) - 1) * x.std(ddof=1) / np.sqrt(len(x))
    return [float(x.mean() - half), float(x.mean() + half)]


def _rsa(m: Mapping[str, Any]) -> tuple[str, list[Row]]:
    r = m["rsa"]
    if "peak_similarity" in r:
        rows = [{"result": f"peak model similarity ({r['method']}, {r['peak_latency']:.3f} s)",
                 "value": r["peak_similarity"], "95 % CI": "",
                 "p": _p(r.get("p_value_at_peak"))}]
        if "threshold" in r:
            rows.append({"result": "null: 95th percentile of the maximum", "value":
                         r["threshold"], "95 % CI": "", "p": ""})
        p = r.get("p_value_at_peak")
        verdict = "" if p is None else (" (significant, corrected)" if p < 0.05 else
                                        " (not significant, corrected over time)")
        return (f"The brain RDM matches the model best at {r['peak_latency']:.3f} s "
                f"({r['method']} {r['peak_similarity']:.3f}, p = {_p(p)}){verdict}.", rows)
    rows = [{"result": f"model similarity ({r['method']})", "value": r["similarity"],
             "95 % CI": "", "p": _p(r.get("p_value"))}]
    return (f"The brain RDM correlates with the model at {r['similarity']:.3f} "
            f"({r['method']}, permutation p = {_p(r.get('p_value'))}).", rows)


def _encoding(m: Mapping[str, Any]) -> tuple[str, list[Row]]:
    e = m["encoding"]
    rows = [{"result": "median r over targets", "value": e["median_r"], "95 % CI": "",
             "p": ""}, {"result": "max r", "value": e["max_r"], "95 % CI": "", "p": ""}]
    extra = ""
    if "fraction_significant_fdr" in e:
        rows.append({"result": "fraction of targets significant (FDR)",
                     "value": e["fraction_significant_fdr"], "95 % CI": "", "p": "< 0.05"})
        extra = f"; {100 * e['fraction_significant_fdr']:.0f} % significant (FDR)"
    return (f"The encoding model predicts held-out data of {e['n_targets']} targets with "
            f"median r = {e['median_r']:.3f} (max {e['max_r']:.3f}){extra}.", rows)


def headline_k(metrics: Mapping[str, Any]) -> int | None:
    """The k a decoding summary quotes: 10 when scored, else the largest k scored; a k
    that reaches every candidate (accuracy 1 by construction) only when no other is."""
    ks = sorted(int(str(k)[3:]) for k in metrics
                if str(k).startswith("top") and str(k)[3:].isdigit())
    n = metrics.get("n_candidates")
    informative = [k for k in ks if not isinstance(n, int) or k < n] or ks
    if not informative:
        return None
    return 10 if 10 in informative else informative[-1]


def _decoding(m: Mapping[str, Any]) -> tuple[str, list[Row]]:
    k = headline_k(m)
    key = f"top{k}"
    rows = [{"result": f"model, top-{k}", "value": m[key], "95 % CI": _ci(m.get(f"ci_{key}")),
             "p": ""}]
    for name, base in (m.get("baselines") or {}).items():
        if key in base:
            rows.append({"result": f"baseline {name}, top-{k}", "value": base[key],
                         "95 % CI": _ci(base.get(f"ci_{key}")), "p": ""})
    rows.append({"result": f"chance, top-{k}", "value": m.get(f"chance_{key}"),
                 "95 % CI": "", "p": ""})
    return (f"The decoder retrieves the heard segment among {m.get('n_candidates')} candidates "
            f"in its top {k} for {100 * m[key]:.1f} % of test segments (chance "
            f"{100 * m.get(f'chance_{key}', 0):.1f} %).", rows)


def per_subject(metrics: Mapping[str, Any]) -> list[Row]:
    """One row per subject (or recording) with its numbers, when the run has several."""
    table = metrics.get("per_subject") or metrics.get("per_recording") or {}
    return [{"subject": str(s), **{k: v for k, v in vals.items() if not isinstance(v, dict)}}
            for s, vals in table.items() if isinstance(vals, Mapping)]


def task_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """The config sections of the run's task (a classification report shows no training)."""
    task = config.get("task")
    keep = TASK_SECTIONS.get(str(task))
    if keep is None:
        return dict(config)
    out = {k: v for k, v in config.items() if not isinstance(v, Mapping) or k in keep}
    data = out.get("data")
    if isinstance(data, Mapping) and data.get("source") != "simulated":
        out["data"] = {k: v for k, v in data.items() if k != "simulation"}
    return out


def versions() -> dict[str, str]:
    """Versions of Python, neurodecode and the libraries that produce the numbers."""
    from .. import __version__

    out = {"python": platform.python_version(), "neurodecode": __version__}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


__all__ = ["PACKAGES", "TASK_SECTIONS", "per_subject", "summarize", "task_config", "versions"]
