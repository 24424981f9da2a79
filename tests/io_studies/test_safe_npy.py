"""``.npy`` files with pickled content are read without running code, and no load allows pickles."""

from __future__ import annotations

import io
import pickle
import re
from pathlib import Path

import numpy as np
import pytest

from neurodecode.exceptions import DataFormatError
from neurodecode.io._npy import load_npy

REPO = Path(__file__).resolve().parents[2]


def _things_eeg2_dict(rng) -> dict:
    """The layout of THINGS-EEG2 ``raw_eeg_*.npy`` (Gifford et al. 2022, OSF crxs4): a dict
    saved with ``np.save``; the metadata file holds lists and arrays of str."""
    return {"raw_eeg_data": rng.standard_normal((4, 50)), "ch_names": ["Fp1", "Cz", "Oz", "stim"],
            "ch_types": np.array(["eeg", "eeg", "eeg", "stim"]), "sfreq": 1000,
            "highpass": np.float64(0.01), "nested": {"ids": (1, 2), "none": None, "b": b"x"}}


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
def test_pickled_dict_of_arrays_round_trips(tmp_path, rng, protocol):
    content = _things_eeg2_dict(rng)
    path = tmp_path / "raw_eeg_test.npy"
    array = np.array(content, dtype=object)
    with open(path, "wb") as handle:  # what np.save writes, with the pickle protocol chosen
        np.lib.format.write_array_header_1_0(handle,
                                             np.lib.format.header_data_from_array_1_0(array))
        pickle.dump(array, handle, protocol=protocol)
    got = load_npy(path)
    np.testing.assert_array_equal(got["raw_eeg_data"], content["raw_eeg_data"])
    assert got["ch_names"] == content["ch_names"] and got["sfreq"] == 1000
    assert list(got["ch_types"]) == ["eeg", "eeg", "eeg", "stim"]
    assert got["highpass"] == 0.01 and got["nested"] == {"ids": (1, 2), "none": None, "b": b"x"}


def test_plain_array_is_read_without_pickle(tmp_path):
    np.save(tmp_path / "a.npy", np.arange(6).reshape(2, 3))
    np.testing.assert_array_equal(load_npy(tmp_path / "a.npy"), np.arange(6).reshape(2, 3))


class _Exploit:
    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_pickle_that_would_run_code_is_refused(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "raw_eeg_training.npy"
    np.save(path, np.array({"raw_eeg_data": _Exploit(marker)}, dtype=object), allow_pickle=True)
    with pytest.raises(DataFormatError, match=r"holds a pickled pathlib.Path.touch, which is not a "
                       r"numpy array.*refused, since loading it could run code"):
        load_npy(path)
    assert not marker.exists()


def test_numpy_subclass_is_refused(tmp_path):
    np.save(tmp_path / "m.npy", np.array({"x": np.ma.masked_array([1, 2])}, dtype=object),
            allow_pickle=True)
    with pytest.raises(DataFormatError, match="holds a pickled numpy.ma.core"):
        load_npy(tmp_path / "m.npy")


@pytest.mark.parametrize("content, why", [
    (b"not numpy at all", "is not a .npy file"),
    (None, "has a corrupt pickle"),
])
def test_malformed_files(tmp_path, content, why):
    if content is None:
        buffer = io.BytesIO()
        np.save(buffer, np.array({"a": 1}, dtype=object), allow_pickle=True)
        content = buffer.getvalue()[:-5]
    (tmp_path / "x.npy").write_bytes(content)
    with pytest.raises(DataFormatError, match=why):
        load_npy(tmp_path / "x.npy")


def test_things_eeg2_reader_refuses_a_hostile_file(tmp_path):
    from neurodecode.io.studies.things_eeg2 import _raw_from_npy

    marker = tmp_path / "pwned"
    np.save(tmp_path / "raw.npy", np.array(_Exploit(marker), dtype=object), allow_pickle=True)
    with pytest.raises(DataFormatError, match="refused, since loading it could run code"):
        _raw_from_npy(tmp_path / "raw.npy")
    assert not marker.exists()


def test_no_allow_pickle_true_on_loads():
    """``allow_pickle`` is never set true in the package or the benchmarks, and no load
    anywhere sets it (tests may *write* pickled fixtures in the real format)."""
    pattern = re.compile(r"allow_pickle\s*=\s*True")
    load = re.compile(r"\.load\([^)]*allow_pickle\s*=\s*True")
    offenders = []
    for folder in ("neurodecode", "benchmarks", "tests", "notebooks", "recipes"):
        for path in (REPO / folder).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            strict = folder in ("neurodecode", "benchmarks")
            if (strict and pattern.search(text)) or load.search(text.replace("\n", " ")):
                offenders.append(str(path.relative_to(REPO)))
    assert offenders == []
