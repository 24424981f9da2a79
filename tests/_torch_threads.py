"""Run torch on one thread: on a shared 2-core machine, two contending threads are slower.

A test folder opts in by importing the fixture into its ``conftest.py``.
"""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Set torch to one thread for the test, then restore the previous count."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
