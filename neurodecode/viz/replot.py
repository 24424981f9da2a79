"""Redraw a run's figures from its saved files, then rewrite its report.

File contract (every file optional; present -> figure drawn, absent -> skipped)::

    run_dir/
      metrics.json          mapping, nested allowed          -> report metrics tables
      config.yaml           resolved config                  -> report config block (+ hash)
      history.csv           epoch, train_loss, valid_loss, ... -> figures/training_curves
      retrieval.csv         k, accuracy, chance [, ci_lower, ci_upper] -> figures/retrieval_curve
      rdm*.npy              (n_pairs,) or (n, n) RDM         -> figures/<stem>
      conditions.csv        label [, category]; one row per RDM condition (used by rdm*.npy)
      topomap*.npy          (n_channels,) or (n_channels, n_times), with info.fif
                            (mne.io.write_info) and, for 2-D, times.npy -> figures/<stem>
      layer_time.npy        (n_layers, n_times), with times.npy [and layer_names.txt,
                            one name per line]               -> figures/layer_time
      timecourse.npy        (n_times,) or (n_models, n_times), with times.npy [and
                            timecourse_ci.npy (2, n_times), timecourse_null.npy (2, n_times),
                            timecourse_sig.npy (n_times,) bool] -> figures/timecourse
      metrics.json with classification.confusion and classes  -> figures/confusion
      brainmap*.nii[.gz]    3-D map in MNI space             -> figures/<stem> (glass brain)
      spatial_attention.npy (n_virtual, n_channels) attention weights of a ConvEncoder, with
                            positions.npy (n_channels, 2)    -> figures/spatial_attention

Figures are written to ``run_dir/figures/`` in each requested format; the report embeds
the PNG (or SVG) versions. A file of the contract that is present but unreadable, or
that lacks its companion file (``info.fif``, ``times.npy``), raises an error naming it.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path

import mne
import numpy as np
import pandas as pd
import yaml
from matplotlib.figure import Figure

from ..exceptions import DataFormatError, DataNotFoundError
from ._save import DEFAULT_DPI, FORMATS, save_figure
from .brainmap import plot_brain_map
from .confusion import plot_confusion
from .curves import plot_retrieval_curve, plot_timecourse, plot_training_curves
from .rdm import plot_layer_time, plot_rdm
from .report import ReportFigure, config_hash, write_report
from .series import per_subject_figure, topomap_slider
from .summary import per_subject, summarize, task_config, versions
from .topomap import plot_spatial_attention, plot_topomap, plot_topomap_row

logger = logging.getLogger("neurodecode")

FIGURES_DIR = "figures"


def _need(run_dir: Path, name: str, for_file: str) -> Path:
    path = run_dir / name
    if not path.is_file():
        raise DataNotFoundError(f"{for_file} in {run_dir} needs {name} next to it; it is missing.")
    return path


def _read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise DataFormatError(f"{path} is not valid JSON: {err}.") from err
    if not isinstance(data, dict):
        raise DataFormatError(f"{path} must hold a JSON object (mapping); got {type(data).__name__}.")
    return data


def _read_csv(path: Path, required: Sequence[str]) -> pd.DataFrame:
    frame = pd.read_csv(path)
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise DataFormatError(
            f"{path.name} lacks column(s) {missing}; expected {list(required)}, "
            f"found {list(frame.columns)}."
        )
    return frame


def _npy(path: Path) -> np.ndarray:
    try:
        return np.load(path, allow_pickle=False)
    except (ValueError, OSError) as err:
        raise DataFormatError(f"{path} is not a readable .npy array: {err}.") from err


def _history(run_dir: Path) -> Figure:
    return plot_training_curves(pd.read_csv(run_dir / "history.csv"), title="Training")


def _retrieval(run_dir: Path) -> Figure:
    """The model's top-k curve (with its CI), each baseline at the ks it was scored at,
    and chance."""
    frame = _read_csv(run_dir / "retrieval.csv", ["k", "accuracy", "chance"])
    ks = frame["k"].to_numpy()
    curves = {"model": frame["accuracy"].to_numpy(dtype=float)}
    ci = None
    if {"ci_lower", "ci_upper"} <= set(frame.columns):
        ci = {"model": frame[["ci_lower", "ci_upper"]].to_numpy(dtype=float).T}
    metrics_file = run_dir / "metrics.json"
    metrics = _read_json(metrics_file) if metrics_file.is_file() else {}
    for name, result in (metrics.get("baselines") or {}).items():
        values = [result.get(f"top{int(k)}") for k in ks]
        if all(v is not None for v in values):
            curves[f"baseline: {name}"] = np.asarray(values, float)
        else:  # scored at fewer ks than the curve: drawn at those
            logger.info("baseline %s has top-k at %s only", name,
                        sorted(k for k in result if str(k).startswith("top")))
    n = metrics.get("n_candidates")
    return plot_retrieval_curve(
        ks, curves, frame["chance"].to_numpy(dtype=float), ci,
        title="Segment retrieval on the test set" + (f" ({n} candidates)" if n else ""),
        baselines=_partial_baselines(metrics, ks, curves))


def _partial_baselines(metrics: dict, ks: np.ndarray, drawn: dict) -> dict:
    """Baselines scored at only some ks (their points): name -> (ks, values)."""
    out = {}
    for name, result in (metrics.get("baselines") or {}).items():
        if f"baseline: {name}" in drawn:
            continue
        pts = sorted((int(str(k)[3:]), v) for k, v in result.items()
                     if str(k).startswith("top") and str(k)[3:].isdigit())
        if pts:
            out[f"baseline: {name}"] = (np.array([p[0] for p in pts]),
                                        np.array([p[1] for p in pts], float))
    return out


def _rdm(run_dir: Path, path: Path) -> Figure:
    labels = categories = None
    cond = run_dir / "conditions.csv"
    if cond.is_file():
        frame = _read_csv(cond, ["label"])
        labels = frame["label"].astype(str).tolist()
        if "category" in frame.columns:
            categories = frame["category"].astype(str).tolist()
            labels = None if len(labels) > 40 else labels
    metrics_file = run_dir / "metrics.json"
    rsa = _read_json(metrics_file).get("rsa", {}) if metrics_file.is_file() else {}
    metric = rsa.get("metric")
    if path.stem == "rdm_brain":
        when = (f" at the peak ({rsa['peak_latency']:.3f} s)" if "peak_latency" in rsa
                else "")
        title = f"Brain RDM of the condition means{when}"
        label = f"dissimilarity ({metric} distance)" if metric else "dissimilarity"
    elif path.stem == "rdm_model":
        title, label = "Model RDM (categories)", "dissimilarity (0 same, 1 different)"
    else:
        title, label = path.stem.replace("_", " "), "dissimilarity"
    return plot_rdm(_npy(path), labels=labels, categories=categories, title=title,
                    cbar_label=label)


#: Title and colour-bar label (quantity and unit) of each sensor map a job writes.
_TOPO = {"topomap_pattern": ("Classifier pattern (Haufe) at the peak",
                             "pattern (z-scored data, a.u.)"),
         "topomap_pattern_time": ("Classifier pattern (Haufe)", "pattern (z-scored data, a.u.)"),
         "topomap_searchlight": ("Sensor searchlight RSA at the peak", "model similarity"),
         "topomap_r": ("Encoding accuracy per sensor", "encoding r (Pearson)")}


def _topomap_args(run_dir: Path, path: Path) -> tuple[np.ndarray, mne.Info, str, str, str | None]:
    """Values, Info, title (with the peak time), colour-bar label and channel type."""
    info = mne.io.read_info(_need(run_dir, "info.fif", path.name), verbose="error")
    values = _npy(path)
    ch_type = _ch_type(info)
    name, label = _TOPO.get(path.stem, (path.stem.replace("_", " "), "value"))
    metrics_file = run_dir / "metrics.json"
    metrics = _read_json(metrics_file) if metrics_file.is_file() else {}
    peak = (metrics.get("time_resolved", {}).get("peak_time")
            or metrics.get("rsa", {}).get("peak_latency"))
    when = f" ({peak:.3f} s)" if peak is not None and "peak" in name else ""
    title = name + when + ("" if ch_type is None else f", {_TYPE_NAMES[ch_type]} only")
    return values, info, title, label, ch_type


def _topomap(run_dir: Path, path: Path) -> Figure:
    values, info, title, label, ch_type = _topomap_args(run_dir, path)
    if values.ndim == 2:
        times = _npy(_need(run_dir, "times.npy", path.name))
        return plot_topomap_row(values, info, times, title=title, ch_type=ch_type,
                                cbar_label=label)
    return plot_topomap(values, info, title=title, ch_type=ch_type, cbar_label=label)


def _with_sliders(run_dir: Path, embedded: list[Path], out_dir: Path,
                  dpi: float) -> list[Path | ReportFigure]:
    """The report's figures: each time-resolved sensor map followed by its slider."""
    sliders = _sliders(run_dir, out_dir, dpi)
    out: list[Path | ReportFigure] = []
    for path in embedded:
        out.append(path)
        if path.stem in sliders:
            out.append(sliders[path.stem])
    return out


def _sliders(run_dir: Path, out_dir: Path, dpi: float) -> dict[str, ReportFigure]:
    """A slider of topomaps over time for each time-resolved sensor map, by stem."""
    out = {}
    for path in sorted(run_dir.glob("topomap*.npy")):
        values, info, title, label, ch_type = _topomap_args(run_dir, path)
        if values.ndim == 2:
            times = _npy(_need(run_dir, "times.npy", path.name))
            out[path.stem] = topomap_slider(values, info, times, stem=path.stem, title=title,
                                            cbar_label=label, ch_type=ch_type,
                                            out_dir=out_dir, dpi=min(dpi, 100))
    return out


_TYPE_NAMES = {"mag": "magnetometers", "grad": "gradiometers", "eeg": "EEG"}


def _ch_type(info: mne.Info) -> str | None:
    """The first data channel type (MEG: magnetometers) when the Info holds several."""
    types = info.get_channel_types(picks="data", unique=True)
    for preferred in ("mag", "eeg", "grad"):
        if preferred in types and len(types) > 1:
            return preferred
    return None


def _layer_time(run_dir: Path) -> Figure:
    sim = _npy(run_dir / "layer_time.npy")
    times = _npy(_need(run_dir, "times.npy", "layer_time.npy"))
    names_file = run_dir / "layer_names.txt"
    names = names_file.read_text(encoding="utf-8").split("\n") if names_file.is_file() else None
    names = [n for n in names if n.strip()] if names else None
    return plot_layer_time(sim, names, times, title="Layer x time")


def _optional(run_dir: Path, name: str) -> np.ndarray | None:
    path = run_dir / name
    return _npy(path) if path.is_file() else None


def _window(times: np.ndarray) -> str:
    return f"{times[0]:+.2f} to {times[-1]:+.2f} s"


def _timecourse(run_dir: Path) -> Figure:
    values = _npy(run_dir / "timecourse.npy")
    times = _npy(_need(run_dir, "times.npy", "timecourse.npy"))
    metrics_file = run_dir / "metrics.json"
    metrics = _read_json(metrics_file) if metrics_file.is_file() else {}
    if "encoding" in metrics and values.ndim == 2:  # TRF kernels per condition
        conditions = metrics["encoding"].get("conditions")
        return plot_timecourse(values, times, labels=conditions,
                               ylabel="TRF kernel RMS over sensors (z per event)",
                               xlabel="lag (s)", title=f"TRF kernels, lags {_window(times)}")
    sig = _optional(run_dir, "timecourse_sig.npy")
    sig = None if sig is None else sig.astype(bool)
    if "rsa" in metrics:
        rsa = metrics["rsa"]
        method = rsa.get("method", "")
        p = rsa.get("p_value_at_peak")
        stat = "" if p is None else f"; peak p = {p:.3g} (max-corrected)"
        return plot_timecourse(
            values, times, sig_mask=sig, null_band=_optional(run_dir, "timecourse_null.npy"),
            ylabel=f"model similarity ({method})".replace(" ()", ""),
            sig_label="p < 0.05, corrected (permutation max)", title=(
                f"Time-resolved RSA, {_window(times)}, peak {rsa.get('peak_latency', 0):.3f} s"
                f"{stat}"))
    resolved = metrics.get("time_resolved", {})
    chance = resolved.get("chance", metrics.get("classification", metrics).get("chance"))
    n_folds = resolved.get("n_folds")
    return plot_timecourse(
        values, times, ci=_optional(run_dir, "timecourse_ci.npy"), sig_mask=sig,
        ylabel="decoding accuracy (fraction)" if chance is not None else "score",
        chance=chance, sig_label="p < 0.05, binomial, FDR over time",
        ci_label=f"95 % CI over {n_folds} folds" if n_folds else "95 % CI",
        title=f"Decoding accuracy over time, {_window(times)}")


def _confusion(run_dir: Path) -> Figure:
    result = _read_json(run_dir / "metrics.json")["classification"]
    return plot_confusion(np.asarray(result["confusion"], float), result["classes"],
                          title=f"Confusion matrix ({result.get('cv', 'cross-validated')}), "
                                f"accuracy {result['accuracy']:.3f}, chance "
                                f"{result['chance']:.3f}")


def _attention(run_dir: Path) -> Figure:
    weights, positions = _npy(run_dir / "spatial_attention.npy"), _npy(run_dir / "positions.npy")
    return plot_spatial_attention(weights, positions, title="Spatial attention (top maps)")


def _has_confusion(run_dir: Path) -> bool:
    path = run_dir / "metrics.json"
    return path.is_file() and "confusion" in _read_json(path).get("classification", {})


def _jobs(run_dir: Path) -> list[tuple[str, Callable[[], Figure]]]:
    """(figure stem, drawing function) for each contract file present.

    Companion files are checked here, before anything is drawn."""
    jobs: list[tuple[str, Callable[[], Figure]]] = []
    if (run_dir / "history.csv").is_file():
        jobs.append(("training_curves", partial(_history, run_dir)))
    if (run_dir / "retrieval.csv").is_file():
        jobs.append(("retrieval_curve", partial(_retrieval, run_dir)))
    for path in sorted(run_dir.glob("rdm*.npy")):
        jobs.append((path.stem, partial(_rdm, run_dir, path)))
    for path in sorted(run_dir.glob("topomap*.npy")):
        _need(run_dir, "info.fif", path.name)
        jobs.append((path.stem, partial(_topomap, run_dir, path)))
    if (run_dir / "layer_time.npy").is_file():
        _need(run_dir, "times.npy", "layer_time.npy")
        jobs.append(("layer_time", partial(_layer_time, run_dir)))
    if _has_confusion(run_dir):
        jobs.append(("confusion", partial(_confusion, run_dir)))
    if (run_dir / "timecourse.npy").is_file():
        _need(run_dir, "times.npy", "timecourse.npy")
        jobs.append(("timecourse", partial(_timecourse, run_dir)))
    if (run_dir / "spatial_attention.npy").is_file():
        _need(run_dir, "positions.npy", "spatial_attention.npy")
        jobs.append(("spatial_attention", partial(_attention, run_dir)))
    for path in sorted([*run_dir.glob("brainmap*.nii"), *run_dir.glob("brainmap*.nii.gz")]):
        stem = path.name.split(".")[0]
        jobs.append((stem, partial(_brainmap, run_dir, path)))
    return jobs


#: Colour-bar label (quantity and unit) of each brain map a job writes.
_MAP_LABELS = {"brainmap_pattern": ("Classifier pattern (Haufe)",
                                    "pattern RMS over classes (z-scored data, a.u.)"),
               "brainmap_searchlight": ("Searchlight RSA", "model similarity"),
               "brainmap_r": ("Encoding accuracy", "encoding r (Pearson)")}
BACKGROUND = "background_mean_epi.nii.gz"


def _brainmap(run_dir: Path, path: Path) -> Figure:
    """A native-space map on the run's mean EPI when the job wrote one, else (MNI data)
    a glass brain; the figure says which."""
    stem = path.name.split(".")[0]
    name, label = _MAP_LABELS.get(stem, (stem.removeprefix("brainmap_").replace("_", " "),
                                         "value"))
    metrics_file = run_dir / "metrics.json"
    method = (_read_json(metrics_file).get("rsa", {}).get("method") if metrics_file.is_file()
              else None)
    if stem == "brainmap_searchlight" and method:
        label = f"model similarity ({method})"
    background = run_dir / BACKGROUND
    if background.is_file():
        return plot_brain_map(path, kind="stat", bg_img=background, cbar_label=label,
                              title=f"{name}: native space, on the mean EPI",
                              **_cuts(path))
    return plot_brain_map(path, kind="glass", cbar_label=label, title=f"{name}: MNI space")


def _cuts(path: Path) -> dict:
    """Axial slices for a thin slab (a few slices); nilearn's orthogonal view otherwise."""
    import nibabel as nib

    img = nib.load(path)
    if not isinstance(img, nib.spatialimages.SpatialImage):
        raise TypeError(f"{path} is not a spatial image (got {type(img).__name__}).")
    n_z = img.shape[2]
    if n_z > 6:
        return {}
    centres = nib.affines.apply_affine(img.affine, [[0, 0, k] for k in range(n_z)])[:, 2]
    return {"display_mode": "z", "cut_coords": [float(c) for c in centres]}


def _check_formats(formats: Sequence[str]) -> list[str]:
    if isinstance(formats, str):
        formats = [formats]
    fmts = [f.lower().lstrip(".") for f in formats]
    valid = [s.lstrip(".") for s in FORMATS]
    bad = [f for f in fmts if f not in valid]
    if bad or not fmts:
        raise ValueError(f"formats={list(formats)!r} is not valid; expected a non-empty subset of {valid}.")
    if "png" not in fmts and "svg" not in fmts:
        raise ValueError(f"formats={list(formats)!r} must include 'png' or 'svg' for the report.")
    return fmts


def _command(run_dir: Path, config: dict) -> str:
    """The command that reruns this run from its own resolved config."""
    if not config:
        return ""
    return (f"neurodecode run {run_dir / 'config.yaml'} --out {run_dir}\n"
            f"# figures and this report only: neurodecode plot {run_dir}")


def replot_run(
    run_dir: str | os.PathLike,
    *,
    formats: Sequence[str] = ("png",),
    dpi: float = DEFAULT_DPI,
    title: str | None = None,
) -> list[Path]:
    """Redraw every figure of a run from its saved files and rewrite its report.

    Parameters
    ----------
    run_dir : str or Path
        A run directory following the file contract of this module.
    formats : sequence of {"png", "svg", "pdf"}
        Formats written for each figure (at least one of png/svg, used by the report).
    dpi : float
        Export resolution.
    title : str or None
        Report title; default ``"neurodecode run <run_dir name>"``.

    Returns
    -------
    paths : list of Path
        The figure files written, under ``run_dir/figures/`` (``run_dir/report.html``
        is rewritten too).

    Raises
    ------
    DataNotFoundError
        ``run_dir`` is not a directory, holds none of the contract files, or a file
        lacks its companion (``info.fif``, ``times.npy``).
    DataFormatError
        A contract file exists but cannot be read as expected.
    """
    run_dir = Path(run_dir).resolve()  # figure paths stay valid relative to the report
    if not run_dir.is_dir():
        raise DataNotFoundError(f"run_dir={str(run_dir)!r} is not a directory.")
    fmts = _check_formats(formats)
    jobs = _jobs(run_dir)
    metrics_file, config_file = run_dir / "metrics.json", run_dir / "config.yaml"
    if not jobs and not metrics_file.is_file():
        raise DataNotFoundError(
            f"{run_dir} holds no run files (metrics.json, history.csv, retrieval.csv, rdm*.npy, "
            "topomap*.npy, layer_time.npy, timecourse.npy, brainmap*.nii.gz); is it a run directory?"
        )
    out_dir = run_dir / FIGURES_DIR
    written, embedded = [], []
    for stem, draw in jobs:
        logger.info("replot %s: drawing %s", run_dir.name, stem)
        try:
            fig = draw()
        except ValueError as err:  # name the figure whose files hold the bad values
            raise DataFormatError(f"{run_dir.name}: cannot draw {stem!r}: {err}") from err
        paths = [save_figure(fig, out_dir / f"{stem}.{fmt}", dpi=dpi) for fmt in fmts]
        written.extend(paths)
        embedded.append(next(p for p in paths if p.suffix in (".png", ".svg")))
    metrics = _read_json(metrics_file) if metrics_file.is_file() else {}
    config = yaml.safe_load(config_file.read_text(encoding="utf-8")) if config_file.is_file() else {}
    if not isinstance(config, dict):
        raise DataFormatError(f"{config_file} must hold a YAML mapping; got {type(config).__name__}.")
    if title is None and config.get("name"):  # as the run itself titled it
        title = f"neurodecode: {config['name']} ({config.get('task', '')})".replace(" ()", "")
    subjects = per_subject(metrics)
    write_report(run_dir, title=title or f"neurodecode run {run_dir.name}",
                 config=task_config(config), metrics=metrics,
                 figures=_with_sliders(run_dir, embedded, out_dir, dpi),
                 config_digest=config_hash(config),
                 summary=summarize(metrics, config.get("task")), per_subject=subjects,
                 per_subject_figure=per_subject_figure(subjects, metrics, out_dir, min(dpi, 150)),
                 versions=versions(), command=_command(run_dir, config))
    return written


__all__ = ["BACKGROUND", "FIGURES_DIR", "replot_run"]
