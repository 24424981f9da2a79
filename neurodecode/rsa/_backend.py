"""The RSA names of :mod:`neurodecode._backend`, the package's one backend module.

Kept so that ``from . import _backend as B`` keeps working in RSA modules; new code
imports :mod:`neurodecode._backend`.
"""

from .._backend import (  # noqa: F401
    BACKENDS,
    DTYPES,
    _is_torch,  # noqa: F401
    check_backend,
    clip_min,
    diagonal,
    n_workers,
    parallel_map,
    resolve_dtype,
    single_threaded_blas,
    sqrt,
    swap,
    to_backend,
    to_numpy,
)

__all__ = ["BACKENDS", "DTYPES", "check_backend", "clip_min", "diagonal", "n_workers",
           "parallel_map", "resolve_dtype", "single_threaded_blas", "sqrt", "swap", "to_backend",
           "to_numpy"]
