"""Input checks with one message format: name the argument, the value and what was expected."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def check_option(name: str, value: Any, options: Iterable[Any]) -> Any:
    """Return ``value`` if it is one of ``options``, else raise ``ValueError``.

    The message names the argument, the value, the valid options and, for strings,
    the closest valid one.
    """
    options = list(options)
    if value in options:
        return value
    hint = ""
    if isinstance(value, str):
        close = difflib.get_close_matches(value, [str(o) for o in options], n=1)
        if close:
            hint = f" Did you mean {close[0]!r}?"
    valid = ", ".join(repr(o) for o in options)
    raise ValueError(f"{name}={_short(value)} is not valid; expected one of {valid}.{hint}")


def check_type(name: str, value: Any, types: type | tuple[type, ...]) -> Any:
    """Return ``value`` if it is an instance of ``types``, else raise ``TypeError``."""
    if isinstance(value, types):
        return value
    if isinstance(types, tuple):
        expected = " or ".join(t.__name__ for t in types)
    else:
        expected = types.__name__
    raise TypeError(
        f"{name} must be {expected}; got {type(value).__name__} ({_short(value)})."
    )


def check_shape(name: str, array: Any, shape: Sequence[int | None | str]) -> np.ndarray:
    """Check the number of dimensions and the known sizes of ``array``.

    Parameters
    ----------
    name : str
        Argument name used in the error message.
    array : array-like
        The array to check.
    shape : sequence of int, None or str
        Expected shape; ``None`` or a string (a dimension name such as
        ``"n_channels"``) accepts any size on that axis.
    """
    arr = np.asarray(array)
    names = [s if isinstance(s, str) else ("any" if s is None else str(s)) for s in shape]
    wanted = "(" + ", ".join(names) + ")"
    if arr.ndim != len(shape):
        raise ValueError(
            f"{name} must have {len(shape)} dimensions {wanted}; got shape {arr.shape}."
        )
    for axis, (size, expected) in enumerate(zip(arr.shape, shape)):
        if isinstance(expected, int) and size != expected:
            raise ValueError(
                f"{name} must have shape {wanted}; axis {axis} has size {size}, "
                f"expected {expected}."
            )
    return arr


def check_positive(name: str, value: float, *, strict: bool = True) -> float:
    """Return ``value`` if it is (strictly) positive and finite, else raise ``ValueError``."""
    ok = np.isfinite(value) and (value > 0 if strict else value >= 0)
    if not ok:
        bound = "> 0" if strict else ">= 0"
        raise ValueError(f"{name} must be a finite number {bound}; got {_short(value)}.")
    return value


def check_finite(name: str, array: np.ndarray, axis_names: Sequence[str] | None = None) -> None:
    """Raise ``ValueError`` naming the first non-finite element of ``array``.

    ``axis_names`` (one per axis) are used to say where the NaN or Inf is, e.g.
    ``("channel", "sample")``.
    """
    bad = ~np.isfinite(array)
    if not bad.any():
        return
    index = tuple(int(i) for i in np.argwhere(bad)[0])
    n_bad = int(bad.sum())
    labels = axis_names or [f"axis {k}" for k in range(array.ndim)]
    where = ", ".join(f"{lab} {i}" for lab, i in zip(labels, index))
    raise ValueError(
        f"{name} contains {n_bad} NaN or Inf value(s); the first is at {where} "
        f"(value {array[index]!r}). Interpolate or drop them before this step."
    )


__all__ = ["check_finite", "check_option", "check_positive", "check_shape", "check_type"]
