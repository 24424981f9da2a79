"""Run-directory helpers of the jobs: re-exported from ``neurodecode.rundir``, their home."""

from __future__ import annotations

from ..rundir import finish_run, prepare_run_dir, write_metrics

__all__ = ["finish_run", "prepare_run_dir", "write_metrics"]
