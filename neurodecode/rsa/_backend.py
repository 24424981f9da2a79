"""Array backends for RSA: numpy (default) or torch (CPU or GPU), float32 or float64.

Everything heavy in :mod:`neurodecode.rsa` is a matrix product, so the same code runs
on both backends through the few helpers below.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import check_option

BACKENDS = ("numpy", "torch")
DTYPES = ("float32", "float64")


def resolve_dtype(x: Any, dtype: str | None) -> str:
    """Return the dtype name to compute in: ``dtype`` or float64 unless ``x`` is float32."""
    if dtype is not None:
        return check_option("dtype", dtype, DTYPES)
    kind = str(getattr(x, "dtype", "float64")).replace("torch.", "")
    return "float32" if kind == "float32" else "float64"


def to_backend(x: Any, backend: str, device: str | None, dtype: str) -> Any:
    """Convert ``x`` to an array of ``backend`` on ``device`` with ``dtype``."""
    check_backend(backend, device)
    if backend == "numpy":
        if _is_torch(x):
            x = x.detach().cpu().numpy()
        return np.ascontiguousarray(x, dtype=dtype)
    import torch

    tdtype = getattr(torch, dtype)
    if _is_torch(x):
        return x.to(device=device or x.device, dtype=tdtype)
    return torch.as_tensor(np.asarray(x), dtype=tdtype, device=device or "cpu")


_CONTROLLER: list = []


def single_threaded_blas() -> Any:
    """Context manager running BLAS on one thread (restored on exit).

    neurodecode parallelises over chunks with its own threads (``n_jobs``); a
    multi-threaded BLAS inside each chunk would oversubscribe the cores, which on a
    busy machine makes small matrix products many times slower.
    """
    from contextlib import nullcontext

    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        return nullcontext()
    if not _CONTROLLER:
        _CONTROLLER.append(ThreadpoolController())
    return _CONTROLLER[0].limit(limits=1, user_api="blas")


def n_workers(n_jobs: int) -> int:
    """Number of threads for ``n_jobs`` (-1: every core)."""
    import os

    return (os.cpu_count() or 1) if n_jobs == -1 else max(1, int(n_jobs))


def parallel_map(fn: Any, items: list, n_jobs: int) -> list:
    """``[fn(item) for item in items]`` on ``n_jobs`` threads (-1: every core).

    The work items are numpy calls that release the GIL (sorting, copies, BLAS).
    """
    from concurrent.futures import ThreadPoolExecutor

    workers = n_workers(n_jobs)
    if workers == 1 or len(items) < 2:
        return [fn(item) for item in items]
    with ThreadPoolExecutor(max_workers=min(workers, len(items))) as pool:
        return list(pool.map(fn, items))


def check_backend(backend: str, device: str | None) -> None:
    """Raise ``ValueError`` for an unknown backend or a device the backend cannot use."""
    check_option("backend", backend, BACKENDS)
    if backend == "numpy" and device not in (None, "cpu"):
        raise ValueError(
            f"device={device!r} needs backend='torch'; the numpy backend runs on the CPU."
        )


def to_numpy(x: Any) -> np.ndarray:
    """Return ``x`` as a numpy array (from numpy or torch)."""
    if _is_torch(x):
        return x.detach().cpu().numpy()
    return np.asarray(x)


def _is_torch(x: Any) -> bool:
    return type(x).__module__.startswith("torch")


def swap(x: Any) -> Any:
    """Swap the last two axes (numpy or torch)."""
    return x.swapaxes(-1, -2) if isinstance(x, np.ndarray) else x.transpose(-1, -2)


def diagonal(x: Any) -> Any:
    """Diagonal over the last two axes (numpy or torch)."""
    if isinstance(x, np.ndarray):
        return np.diagonal(x, axis1=-2, axis2=-1)
    return x.diagonal(dim1=-2, dim2=-1)


def sqrt(x: Any) -> Any:
    """Elementwise square root (numpy or torch)."""
    return np.sqrt(x) if isinstance(x, np.ndarray) else x.sqrt()


def clip_min(x: Any, low: float) -> Any:
    """Elementwise maximum with ``low`` (numpy or torch)."""
    return np.maximum(x, low) if isinstance(x, np.ndarray) else x.clamp_min(low)
