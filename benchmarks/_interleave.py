"""Timing contenders side by side on a shared machine: each runs in turn, several times.

Imported by the benchmark scripts of this folder (run as ``python benchmarks/<name>.py``,
so that this folder is on ``sys.path``).
"""

from __future__ import annotations

import os
import time

import numpy as np


def interleaved(contenders: dict, repeat: int) -> dict:
    """Run the callables of ``contenders`` in turn, ``repeat`` times.

    Returns a dict with ``"median"``, ``"best"`` (wall seconds) and ``"cpu"`` (the
    fewest CPU seconds of the process, all its threads) per contender, ``"results"``
    (each one's last return value) and ``"loads"`` (the 1-minute load average after
    each round).
    """
    walls: dict = {name: [] for name in contenders}
    cpus: dict = {name: [] for name in contenders}
    results, loads = {}, []
    for _ in range(repeat):
        for name, fn in contenders.items():
            start, start_cpu = time.perf_counter(), time.process_time()
            results[name] = fn()
            walls[name].append(time.perf_counter() - start)
            cpus[name].append(time.process_time() - start_cpu)
        loads.append(os.getloadavg()[0])
    return {
        "median": {k: float(np.median(v)) for k, v in walls.items()},
        "best": {k: min(v) for k, v in walls.items()},
        "cpu": {k: min(v) for k, v in cpus.items()},
        "results": results,
        "loads": loads,
    }
