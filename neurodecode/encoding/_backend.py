"""Minimal array backends (numpy, torch) used by the ridge solvers.

Each backend exposes the handful of operations the solvers need, so the solver code
is written once with ``@``, ``*``, ``-`` and these functions.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import check_option


class NumpyBackend:
    """Operations on numpy arrays (CPU only)."""

    name = "numpy"

    def __init__(self, device: str = "cpu", dtype: Any = np.float64) -> None:
        if str(device) != "cpu":
            raise ValueError(
                f"device={device!r} needs backend='torch'; the numpy backend runs on 'cpu' only."
            )
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


def get_backend(backend: str | None, device: str = "cpu", dtype: Any = np.float64):
    """Return a backend instance; ``backend=None`` picks torch off the CPU, else numpy."""
    if backend is None:
        backend = "numpy" if str(device) == "cpu" else "torch"
    check_option("backend", backend, BACKENDS)
    return BACKENDS[backend](device=device, dtype=dtype)
