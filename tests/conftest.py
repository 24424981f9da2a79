"""Shared fixtures: seeded random generators and the location of the real test data."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

_REPO = Path(__file__).resolve().parents[1]


def _find_data_root() -> Path | None:
    env = os.environ.get("NEURODECODE_TEST_DATA")
    candidates = [Path(env)] if env else []
    candidates.append(_REPO.parent / "shared" / "data")
    for path in candidates:
        if path.is_dir():
            return path
    return None


@pytest.fixture
def rng() -> np.random.Generator:
    """A seeded generator: every test gets the same draws on every run."""
    return np.random.default_rng(0)


@pytest.fixture(scope="session")
def data_root() -> Path:
    """Root of the real test data; skips the test with a reason when absent."""
    root = _find_data_root()
    if root is None:
        pytest.skip(
            "real test data not found: set NEURODECODE_TEST_DATA or place it in ../shared/data"
        )
    return root


def pytest_collection_modifyitems(config, items):  # noqa: D103
    # Tests marked `realdata` need the data root; skip them all at once when it is absent.
    if _find_data_root() is not None:
        return
    skip = pytest.mark.skip(reason="real test data absent (NEURODECODE_TEST_DATA / ../shared/data)")
    for item in items:
        if "realdata" in item.keywords:
            item.add_marker(skip)
