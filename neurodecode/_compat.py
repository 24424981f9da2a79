"""Keyword arguments renamed to the package's one vocabulary, accepted for a while.

The vocabulary is ``seed``, ``n_permutations``, ``n_bootstraps``, ``sfreq`` and ``tr``.
A function renaming one of its arguments keeps the old spelling working through
:func:`renamed_kwargs`, with a ``FutureWarning`` that names the new one.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


def renamed_kwargs(**old_to_new: str) -> Callable[[F], F]:
    """Decorator mapping old keyword names onto new ones, warning once per call.

    Parameters
    ----------
    **old_to_new : str
        ``old_name="new_name"`` for each renamed keyword.

    Returns
    -------
    decorator : callable
        Wraps a function so that ``f(old_name=v)`` calls ``f(new_name=v)`` with a
        ``FutureWarning``; passing both spellings raises ``TypeError``.
    """

    def decorate(func: F) -> F:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            for old, new in old_to_new.items():
                if old not in kwargs:
                    continue
                if new in kwargs:
                    raise TypeError(f"{func.__name__}() got both {old}= (the old name) and "
                                    f"{new}=; pass {new}= only.")
                warnings.warn(f"{func.__name__}(): {old}= is renamed {new}=; pass {new}= "
                              "(the old name will be removed).", FutureWarning, stacklevel=2)
                kwargs[new] = kwargs.pop(old)
            return func(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


__all__ = ["renamed_kwargs"]
