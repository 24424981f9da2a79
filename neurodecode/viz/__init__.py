"""Publication figures and run reports.

Every ``plot_*`` function returns a :class:`matplotlib.figure.Figure` (never shown,
not registered with ``pyplot``) and saves it when given ``fname`` (``.png``, ``.svg``
or ``.pdf``, chosen from the suffix) at ``dpi`` (default 300).
"""

from __future__ import annotations

from ._save import save_figure
from .brainmap import plot_brain_map
from .confusion import plot_confusion
from .curves import plot_retrieval_curve, plot_timecourse, plot_training_curves
from .rdm import plot_layer_profile, plot_layer_time, plot_rdm, plot_rdms
from .replot import replot_run
from .report import ReportFigure, config_hash, write_report
from .subjects import plot_per_subject
from .topomap import plot_spatial_attention, plot_topomap, plot_topomap_row

__all__ = [
    "ReportFigure",
    "config_hash",
    "plot_brain_map",
    "plot_confusion",
    "plot_layer_profile",
    "plot_layer_time",
    "plot_per_subject",
    "plot_rdm",
    "plot_rdms",
    "plot_retrieval_curve",
    "plot_spatial_attention",
    "plot_timecourse",
    "plot_topomap",
    "plot_topomap_row",
    "plot_training_curves",
    "replot_run",
    "save_figure",
    "write_report",
]

from .similarity import (  # noqa: E402  (issue 20: seed analyses' figures)
    plot_attention_accuracy,
    plot_canonical_correlations,
    plot_coherence,
    plot_layer_maps,
    plot_models_by_layers,
    plot_similarity_map,
)

__all__ += ["plot_attention_accuracy", "plot_canonical_correlations", "plot_coherence",
            "plot_layer_maps", "plot_models_by_layers", "plot_similarity_map"]
