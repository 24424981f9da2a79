"""Array backends: numpy (the CPU default) or torch (CPU or GPU), float32 or float64.

The one backend module of the package, used by :mod:`neurodecode.rsa` and
:mod:`neurodecode.encoding`. Two styles share one registry, one dtype table and one
default (``backend=None``: numpy on the CPU, torch on any other device):

- backend objects (:func:`get_backend`: :class:`NumpyBackend`, :class:`TorchBackend`)
  exposing the few operations the ridge solvers need, so that solver code is written
  once with ``@``, ``*``, ``-`` and these methods;
- free functions dispatching on the array type (:func:`to_backend`, :func:`to_numpy`,
  :func:`swap`, :func:`diagonal`, ...), for the RSA code whose heavy parts are matrix
  products, plus the thread helpers (:func:`parallel_map`, :func:`single_threaded_blas`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._validation import check_option

#: Working precisions by name.
DTYPES = {"float32": np.float32, "float64": np.float64}


def resolve_backend(backend: str | None, device: Any = None) -> str:
    """The backend name for ``device``: ``backend``, or with ``None`` numpy on the CPU
    and torch elsewhere.

    Parameters
    ----------
    backend : {"numpy", "torch"} or None
    device : str, torch.device or None
        ``None`` means the CPU (or, for torch, the device of the input).

    Returns
    -------
    backend : str

    Raises
    ------
    ValueError
        For an unknown backend, or the numpy backend with a device other than the CPU.
    """
    if backend is None:
        backend = "numpy" if device is None or str(device) == "cpu" else "torch"
    check_option("backend", backend, BACKENDS)
    if backend == "numpy" and device is not None and str(device) != "cpu":
        raise ValueError(
            f"device={device!r} needs backend='torch'; the numpy backend runs on the CPU."
        )
    return backend


def get_backend(backend: str | None, device: Any = "cpu", dtype: Any = np.float64):
    """Return a backend object for ``device`` and ``dtype`` (``None``: see
    :func:`resolve_backend`)."""
    name = resolve_backend(backend, device)
    return BACKENDS[name](device="cpu" if device is None else device, dtype=dtype)


def resolve_dtype(dtype: str | None, *arrays: Any) -> np.dtype:
    """The working precision: ``DTYPES[dtype]``, or with ``None`` the inputs' own.

    ``None`` keeps float32 when every array in ``arrays`` (numpy or torch) is float32
    and uses float64 otherwise (as scikit-learn keeps a float32 ``X``): float32 is the
    faster path.

    Parameters
    ----------
    dtype : {"float32", "float64"} or None
    *arrays : array-like
        The inputs.

    Returns
    -------
    dtype : numpy.dtype
    """
    if dtype is not None:
        check_option("dtype", dtype, [*DTYPES, None])
        return np.dtype(DTYPES[dtype])
    kinds = [str(getattr(a, "dtype", "float64")).replace("torch.", "") for a in arrays]
    float32 = bool(kinds) and all(k == "float32" for k in kinds)
    return np.dtype(np.float32 if float32 else np.float64)


def to_backend(x: Any, backend: str | None, device: Any, dtype: Any) -> Any:
    """Convert ``x`` to an array of ``backend`` on ``device`` with ``dtype`` (a name or a
    numpy dtype)."""
    backend = resolve_backend(backend, device)
    name = np.dtype(dtype).name
    if backend == "numpy":
        if _is_torch(x):
            x = x.detach().cpu().numpy()
        return np.ascontiguousarray(x, dtype=name)
    import torch

    tdtype = getattr(torch, name)
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


class NumpyBackend:
    """Operations on numpy arrays (CPU only)."""

    name = "numpy"

    def __init__(self, device: str = "cpu", dtype: Any = np.float64) -> None:
        resolve_backend("numpy", device)
        self.device = "cpu"
        self.dtype = np.dtype(dtype)

    def asarray(self, x: Any, dtype: Any = None) -> np.ndarray:
        return np.asarray(x, dtype=self.dtype if dtype is None else dtype)

    def to_numpy(self, x: Any) -> np.ndarray:
        return np.asarray(x)

    def sum(self, x: np.ndarray, axis: int) -> np.ndarray:
        return x.sum(axis=axis)

    def mean(self, x: np.ndarray, axis: int) -> np.ndarray:
        return x.mean(axis=axis)

    def eigh64(self, gram: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Eigendecomposition in float64, returned in the working dtype."""
        evals, evecs = np.linalg.eigh(np.asarray(gram, dtype=np.float64))
        return evals.astype(self.dtype), evecs.astype(self.dtype)

    def argmax(self, x: np.ndarray, axis: int) -> np.ndarray:
        return np.argmax(x, axis=axis)

    def take_along0(self, x: np.ndarray, index: np.ndarray) -> np.ndarray:
        """``x[index[j], j]`` for each column ``j`` of a 2-D array."""
        return np.take_along_axis(x, index[None, :], axis=0)[0]

    def index(self, idx: np.ndarray) -> np.ndarray:
        return np.asarray(idx)

    def empty(self, shape: tuple[int, ...]) -> np.ndarray:
        return np.empty(shape, dtype=self.dtype)

    def matmul_out(self, a: np.ndarray, b: np.ndarray, out: np.ndarray) -> np.ndarray:
        """``a @ b`` written into a preallocated ``out`` (no page faults on reuse)."""
        return np.matmul(a, b, out=out)

    def sq_sum1(self, x: np.ndarray) -> np.ndarray:
        """Sum of squares over axis 1 of a 3-D array, without a temporary."""
        return np.einsum("aij,aij->aj", x, x)


class TorchBackend:
    """Operations on torch tensors, on any device torch supports."""

    name = "torch"

    def __init__(self, device: str = "cpu", dtype: Any = np.float64) -> None:
        import torch

        self.torch = torch
        self.device = torch.device(device)
        self.dtype = {np.dtype(np.float32): torch.float32, np.dtype(np.float64): torch.float64}[
            np.dtype(dtype)
        ]

    def asarray(self, x: Any, dtype: Any = None) -> Any:
        torch = self.torch
        dtype = self.dtype if dtype is None else dtype
        if isinstance(dtype, np.dtype | type):
            dtype = {np.dtype(np.float32): torch.float32, np.dtype(np.float64): torch.float64,
                     np.dtype(np.int64): torch.int64}[np.dtype(dtype)]
        if isinstance(x, torch.Tensor):
            return x.to(device=self.device, dtype=dtype)
        return torch.as_tensor(np.asarray(x), dtype=dtype, device=self.device)

    def to_numpy(self, x: Any) -> np.ndarray:
        return x.detach().cpu().numpy()

    def sum(self, x: Any, axis: int) -> Any:
        return x.sum(dim=axis)

    def mean(self, x: Any, axis: int) -> Any:
        return x.mean(dim=axis)

    def eigh64(self, gram: Any) -> tuple[Any, Any]:
        evals, evecs = self.torch.linalg.eigh(gram.to(self.torch.float64))
        return evals.to(self.dtype), evecs.to(self.dtype)

    def argmax(self, x: Any, axis: int) -> Any:
        return self.torch.argmax(x, dim=axis)

    def take_along0(self, x: Any, index: Any) -> Any:
        return self.torch.gather(x, 0, index[None, :])[0]

    def index(self, idx: np.ndarray) -> Any:
        return self.torch.as_tensor(np.asarray(idx), device=self.device)

    def empty(self, shape: tuple[int, ...]) -> Any:
        return self.torch.empty(shape, dtype=self.dtype, device=self.device)

    def matmul_out(self, a: Any, b: Any, out: Any) -> Any:
        return self.torch.matmul(a, b, out=out)

    def sq_sum1(self, x: Any) -> Any:
        return self.torch.linalg.vector_norm(x, dim=1) ** 2


#: Registry of array backends.
BACKENDS = {"numpy": NumpyBackend, "torch": TorchBackend}

#: The name the RSA modules use for :func:`resolve_backend`.
check_backend = resolve_backend

__all__ = [
    "BACKENDS",
    "DTYPES",
    "NumpyBackend",
    "TorchBackend",
    "check_backend",
    "clip_min",
    "diagonal",
    "get_backend",
    "n_workers",
    "parallel_map",
    "resolve_backend",
    "resolve_dtype",
    "single_threaded_blas",
    "sqrt",
    "swap",
    "to_backend",
    "to_numpy",
]
