"""One array-backend module for RSA and encoding, with one default (issue 14)."""

import numpy as np
import pytest

from neurodecode import _backend as B
from neurodecode.rsa import _backend as rsa_backend


def test_one_default_numpy_on_the_cpu_torch_elsewhere():
    assert B.resolve_backend(None) == B.resolve_backend(None, "cpu") == "numpy"
    assert B.resolve_backend(None, "cuda") == "torch"
    assert type(B.get_backend(None)).__name__ == "NumpyBackend"
    with pytest.raises(ValueError, match="device='cuda' needs backend='torch'"):
        B.resolve_backend("numpy", "cuda")
    with pytest.raises(ValueError, match="backend='jax' is not valid"):
        B.get_backend("jax")


def test_rsa_names_are_the_shared_ones():
    assert rsa_backend.to_backend is B.to_backend and rsa_backend.DTYPES is B.DTYPES


def test_resolve_dtype_numpy_and_torch():
    import torch

    f32 = np.zeros(2, np.float32)
    assert B.resolve_dtype(None, f32) == np.float32
    assert B.resolve_dtype(None, torch.zeros(2)) == np.float32
    assert B.resolve_dtype(None, f32, np.zeros(2)) == np.float64
    assert B.resolve_dtype(None) == np.float64 and B.resolve_dtype("float32") == np.float32
    with pytest.raises(ValueError, match="dtype='float16' is not valid"):
        B.resolve_dtype("float16")
    out = B.to_backend(np.ones(3), "torch", None, B.resolve_dtype("float32"))
    assert out.dtype == torch.float32
