"""Writers shared by the jobs; run-directory helpers re-exported from ``neurodecode.rundir``."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from ..rundir import finish_run, prepare_run_dir, write_metrics

logger = logging.getLogger("neurodecode")

#: Mean EPI on which native-space brain maps are drawn.
BACKGROUND = "background_mean_epi.nii.gz"


def write_info(run_dir: Path, info: Any) -> None:
    """Write the MNE ``info`` next to the topomaps (``info.fif``)."""
    import mne

    mne.io.write_info(run_dir / "info.fif", info, overwrite=True)


def write_background(run_dir: Path, bold: Path | None) -> None:
    """The mean EPI of ``bold`` (``background_mean_epi.nii.gz``); nothing when None."""
    if bold is None:
        logger.info("no BOLD file found for a background: brain maps drawn as MNI space.")
        return
    from nilearn.image import mean_img

    mean_img(str(bold), copy_header=True).to_filename(run_dir / BACKGROUND)


def write_conditions(run_dir: Path, conditions: Sequence[str], categories: Mapping) -> None:
    """``conditions.csv``: one row per condition (label, category when mapped)."""
    frame = pd.DataFrame({"label": list(conditions)})
    if categories:
        frame["category"] = [str(categories.get(c, c)) for c in conditions]
    frame.to_csv(run_dir / "conditions.csv", index=False)


def finish(run_dir: Path, title: str) -> Path:
    """Draw every figure of the run directory and write ``report.html``; returns its path."""
    from ..viz import replot_run

    replot_run(run_dir, title=title)
    return run_dir / "report.html"


__all__ = ["BACKGROUND", "finish", "finish_run", "prepare_run_dir", "write_background",
           "write_conditions", "write_info", "write_metrics"]
