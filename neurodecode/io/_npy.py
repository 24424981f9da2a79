"""Read ``.npy`` files holding pickled objects without running code from the file.

``np.save`` of a dict writes a 0-d object array whose content is a pickle; ``np.load`` with
pickles allowed would then execute whatever the pickle names. :func:`load_npy` reads
such files with an unpickler that admits only numpy arrays, dtypes and scalars, and the
built-in containers and literals (dict, list, tuple, str, bytes, numbers, None); any other
name in the pickle is refused before anything is called.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import numpy as np

from ..exceptions import DataFormatError

#: The only globals a data pickle may name (numpy 1.x and 2.x module paths).
_ALLOWED = {
    ("numpy", "ndarray"), ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
    ("numpy.core.numeric", "_frombuffer"), ("numpy._core.numeric", "_frombuffer"),  # proto 5
    ("_codecs", "encode"),  # bytes in protocol-2 pickles written by Python 3
}
_DTYPE_CLASSES = {name for name in dir(np.dtypes) if name.endswith("DType")}


class _Refused(pickle.UnpicklingError):
    """The pickle names a global outside :data:`_ALLOWED`."""


class _DataUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ALLOWED or (module == "numpy.dtypes" and name in _DTYPE_CLASSES):
            return super().find_class(module, name)
        raise _Refused(f"{module}.{name}")


def load_npy(path: str | Path) -> Any:
    """The content of a ``.npy`` file: an array, or the object of a 0-d object array.

    Parameters
    ----------
    path : path
        A file written by ``np.save`` (a plain array, or a dict/list saved as an object
        array, as THINGS-EEG2 ships its data).

    Returns
    -------
    content : ndarray, dict, list or scalar

    Raises
    ------
    DataFormatError
        The file is not a ``.npy`` file, or its pickle names anything but numpy arrays and
        plain containers (it could run code: it is refused, not loaded).
    """
    path = Path(path)
    with open(path, "rb") as handle:
        try:
            version = np.lib.format.read_magic(handle)
            read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                           else np.lib.format.read_array_header_2_0)
            shape, _, dtype = read_header(handle)
        except ValueError as err:
            raise DataFormatError(f"{path} is not a .npy file ({err}).") from err
        if not dtype.hasobject:
            handle.seek(0)
            return np.load(handle, allow_pickle=False)
        try:
            array = _DataUnpickler(handle).load()
        except _Refused as err:
            raise DataFormatError(
                f"{path} holds a pickled {err}, which is not a numpy array, dtype or a plain "
                "container (dict, list, str, number); it was refused, since loading it could "
                "run code. If the file is trusted, convert it once in a separate session "
                "(np.load with allow_pickle, then np.savez of its arrays)."
            ) from None
        except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError) as err:
            raise DataFormatError(f"{path} has a corrupt pickle ({err}).") from err
    if not isinstance(array, np.ndarray) or array.shape != shape:
        raise DataFormatError(f"{path}: the pickle does not hold the announced {shape} array.")
    return array.item() if array.shape == () else array


__all__ = ["load_npy"]
