"""Windows of a recipe: its recordings filtered and cut around the selected events."""

from __future__ import annotations

import contextlib
import logging
from typing import TYPE_CHECKING, Any

import numpy as np

from .._progress import stage
from ..config import Recipe
from ..exceptions import ConfigError
from ..io.recording import Recording
from .data import build_recordings

if TYPE_CHECKING:
    from ..align import Segments

logger = logging.getLogger("neurodecode")


@contextlib.contextmanager
def _section(name: str):
    """Library ``ValueError``s (which name their argument) as ``ConfigError``s naming the
    recipe key (``categories ...`` -> ``analysis.categories ...``)."""
    try:
        yield
    except ConfigError:
        raise
    except ValueError as err:
        raise ConfigError(f"{name}.{err}") from err


def build_segments(recipe: Recipe, *, progress: bool = False) -> tuple[Segments, list[Recording]]:
    """Recordings of the recipe, filtered and cut into windows around the selected events.

    Windows of conditions outside ``analysis.conditions`` (when given) are dropped; a
    name there that matches no window, or fewer than two classes left, is a ``ConfigError``.

    Parameters
    ----------
    recipe : Recipe
        The validated recipe (``neurodecode.config.load_recipe``).
    progress : bool
        Show progress bars.

    Returns
    -------
    segments : Segments
        The windows of the selected conditions.
    recordings : list of Recording
        The filtered recordings they were cut from.
    """
    from tqdm.auto import tqdm

    from ..align import concatenate_segments, make_segments
    from ..align.conditions import condition_mask, make_labels
    from ..align.windows import check_conditions_found
    from ..io.filtering import bandpass

    with stage("reading the recordings"):
        recordings, _ = build_recordings(recipe, progress=progress)
    logger.info("%d recording(s): %s", len(recordings), ", ".join(
        f"{r.subject} {r.n_channels} ch x {r.n_times} samples at {r.sfreq:g} Hz"
        for r in recordings[:5]))
    ana, seg = recipe.analysis, recipe.segments
    with stage(f"band-pass {ana.l_freq}-{ana.h_freq} Hz"):
        recordings = [bandpass(r, ana.l_freq, ana.h_freq) for r in recordings]
    if seg.allow_missing_conditions:
        check_conditions_found(seg.on, [rec.events for rec in recordings])
    with stage("segmenting"):
        steps = tqdm(recordings, desc="segmenting (recordings)", unit="recording",
                     disable=not progress or len(recordings) < 2)
        parts = [make_segments(rec, tmin=seg.tmin, tmax=seg.tmax, on=seg.on, stride=seg.stride,
                               sfreq=seg.sfreq, baseline=seg.baseline, delay=seg.delay,
                               max_pad=seg.max_pad, allow_missing=seg.allow_missing_conditions)
                 for rec in steps]
        segments = concatenate_segments(parts)
        segments.meta["recording"] = np.concatenate([[i] * len(p) for i, p in enumerate(parts)])
    logger.info("%s", segments.summary())
    with _section("analysis"):
        if ana.conditions:
            segments = segments.select(condition_mask(segments, ana.conditions))
        check_classes(make_labels(segments.meta["condition"].astype(str), ana.categories))
    return segments, recordings


def check_classes(y: np.ndarray) -> None:
    """Raise ``ConfigError`` unless ``y`` holds at least two classes (before any fitting).

    Parameters
    ----------
    y : array of shape (n_samples,)
        Class labels.
    """
    classes = sorted(set(np.asarray(y).tolist()))
    if len(y) == 0 or len(classes) < 2:
        raise ConfigError(
            f"the selected windows hold {len(y)} sample(s) of {len(classes)} class(es) "
            f"{classes}; the analysis needs at least 2 classes. Check analysis.conditions, "
            "analysis.categories and segments.on.")


def build_item_segments(recordings: list, features: Any, recipe: Recipe):
    """Windows around the recipe's events, paired with their items' features.

    Parameters
    ----------
    recordings : list of Recording
        The recordings.
    features : StimulusFeatures
        The items' features.
    recipe : Recipe
        The validated recipe (``neurodecode.config.load_recipe``).

    Returns
    -------
    items : ItemSegments
        Windows paired with their items' features.
    """
    from ..align import make_segments
    from ..align.items import make_item_segments

    seg = recipe.segments
    segments = make_segments(recordings, tmin=seg.tmin, tmax=seg.tmax, on=seg.on,
                             stride=seg.stride, sfreq=seg.sfreq, baseline=seg.baseline,
                             delay=seg.delay, max_pad=seg.max_pad,
                             allow_missing=seg.allow_missing_conditions)
    return make_item_segments(segments, features, reduction=seg.reduction)


__all__ = ["build_item_segments", "build_segments", "check_classes"]
