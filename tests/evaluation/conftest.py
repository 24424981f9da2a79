"""Torch runs on one thread in these tests (see tests/_torch_threads.py)."""

from tests._torch_threads import one_torch_thread  # noqa: F401  (autouse fixture)
