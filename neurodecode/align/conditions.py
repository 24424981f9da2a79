"""Class labels of segments: conditions, categories and condition selections.

Each error names the argument it checks (``categories``, ``conditions``); ``neurodecode.build``
prefixes the recipe section when the values come from a recipe.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .segments import Segments


def make_labels(conditions: Sequence[str], categories: Mapping[str, Any]) -> np.ndarray:
    """The class of each sample: its condition, or its category when ``categories`` maps it.

    Parameters
    ----------
    conditions : sequence of str
        Condition of each sample.
    categories : mapping
        Condition -> category; empty to keep the conditions as classes.

    Returns
    -------
    labels : array of shape (n_samples,)
        The class of each sample.

    Raises
    ------
    ValueError
        If ``categories`` is given but leaves a condition unmapped.
    """
    conditions = [str(c) for c in conditions]
    if not categories:
        return np.asarray(conditions)
    missing = sorted(set(conditions) - set(map(str, categories)))
    if missing:
        raise ValueError(f"categories does not map condition(s) {missing}; expected "
                         f"every condition among {sorted(map(str, categories))}.")
    return np.asarray([str(categories[c]) for c in conditions])


def condition_mask(segments: Segments, conditions: Sequence[str]) -> np.ndarray:
    """True for the windows of ``conditions``; a name that matches no window is an error.

    Parameters
    ----------
    segments : Segments
        Windows with a ``condition`` column in their ``meta``.
    conditions : sequence of str
        The conditions to keep.

    Returns
    -------
    mask : bool array of shape (n_segments,)
        The windows of ``conditions``.

    Raises
    ------
    ValueError
        Listing the names that match nothing and the conditions the data has.
    """
    present = segments.meta["condition"].astype(str)
    unknown = [c for c in conditions if c not in set(present)]
    if unknown:
        raise ValueError(
            f"conditions {list(conditions)}: {unknown} match no window; the data has "
            f"conditions {sorted(present.unique())}. Fix the spelling or leave them out.")
    return present.isin(list(conditions)).to_numpy()


def condition_order(segments: Segments, conditions: Sequence[str] = ()) -> list[str]:
    """``conditions`` when given, else the conditions of ``segments`` sorted.

    Parameters
    ----------
    segments : Segments
        Windows with a ``condition`` column in their ``meta``.
    conditions : sequence of str
        An explicit order.

    Returns
    -------
    order : list of str
        The conditions in order.
    """
    present = segments.meta["condition"].astype(str)
    return list(conditions) or sorted(present.unique())


__all__ = ["condition_mask", "condition_order", "make_labels"]
