"""Fault injection: kill -9 a small training run at random moments, flip checkpoint bytes.

Each run is a forked process (torch imported once, so a run takes seconds) that claims a
run directory (``neurodecode.rundir.open_run``: marker, lock, ``config.yaml`` and
``config.sha256``), trains a small ``ConvEncoder`` with the CLIP loss on planted data
(``fit``: ``best.pt``, ``last.pt``, ``metrics.jsonl``) and writes ``metrics.json``
(history without timings, best epoch, test top-1/top-5 of the best model).

1. An uninterrupted run gives the reference ``metrics.json``.
2. ``--kills`` runs are killed with SIGKILL: most at a random moment of the run, the
   others in the middle of a checkpoint write or of a config write (after the temporary
   file of ``last.pt``, of the marker, ``config.yaml`` or ``config.sha256`` is written,
   before it is renamed); the same command is then run again to the
   end. A resume counts as identical when its ``metrics.json`` equals the reference.
3. ``--flips`` random single-byte flips in each checkpoint of the reference run: loading
   it must raise or return exactly the saved content (never a silently different
   state), and a rerun on the damaged directory must end with the reference metrics or
   an error.

Run: ``python benchmarks/fault_injection.py`` (50 kills, 20 flips per checkpoint; about
5-10 minutes on a loaded 2-core machine); ``--kills 10 --flips 5`` for a quick look.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("MKL_CBWR", "AUTO,STRICT")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import torch  # noqa: E402

from neurodecode import rundir  # noqa: E402
from neurodecode.config import load_recipe  # noqa: E402
from neurodecode.evaluation import compute_topk_accuracy, predict  # noqa: E402
from neurodecode.exceptions import NeurodecodeError, TrainingError  # noqa: E402
from neurodecode.losses import ClipLoss  # noqa: E402
from neurodecode.models import ConvEncoder  # noqa: E402
from neurodecode.training import SegmentDataset, fit, load_checkpoint  # noqa: E402
from neurodecode.training import checkpoint as checkpoint_module  # noqa: E402
from neurodecode.training.checkpoint import state_digest  # noqa: E402

logger = logging.getLogger("neurodecode.benchmarks")
REPO = Path(__file__).resolve().parents[1]
C, F, T, S, N = 16, 8, 32, 3, 128
EPOCHS = 5


def _planted(seed: int = 0):
    """Brain = subject-specific mixing of smooth stimulus features + noise."""
    from scipy.ndimage import gaussian_filter1d

    rng = np.random.default_rng(seed)
    stim = gaussian_filter1d(rng.standard_normal((N, F, T)), 1.5, axis=-1).astype(np.float32)
    stim /= stim.std()
    mixing = rng.standard_normal((S, C, F))
    subject = rng.integers(0, S, N)
    brain = np.einsum("ncf,nft->nct", mixing[subject], stim)
    brain = (brain + 6.0 * rng.standard_normal(brain.shape)).astype(np.float32)
    return brain, stim, subject, rng.uniform(0, 1, (C, 2))


def _training(run_dir: Path) -> None:
    """One run: claim the directory, train, write metrics.json (the unit that is killed)."""
    start = time.perf_counter()
    recipe = load_recipe(REPO / "recipes" / "demo.yaml", [f"training.epochs={EPOCHS}"])
    brain, stim, subject, pos = _planted()
    sets = [SegmentDataset(brain[a:b], stim[a:b], subject[a:b])
            for a, b in ((0, 64), (64, 96), (96, N))]
    with rundir.open_run(run_dir, recipe) as path:
        torch.manual_seed(0)
        model = ConvEncoder(C, F, S, n_virtual=16, hidden=16, depth=2, fourier_freqs=4,
                            dropout=0.1)
        result = fit(model, ClipLoss(), sets[0], sets[1], positions=pos, run_dir=path,
                     epochs=EPOCHS, batch_size=16, lr=3e-3, seed=0, progress=False,
                     deterministic=True)
        logger.info("trained in %.1f s", time.perf_counter() - start)
        scores = compute_topk_accuracy(predict(model, sets[2], pos), stim[96:], ks=(1, 5))
        history = [{k: v for k, v in r.items() if k != "time_s"} for r in result.history]
        rundir.write_metrics(path, {"history": history, "best_epoch": result.best_epoch,
                                    "top1": scores.topk[1], "top5": scores.topk[5]})


def _kill_inside_write(target: str, nth: int) -> None:
    """Make the ``nth`` atomic write of a file named ``target`` SIGKILL this process after
    its temporary file is written and before it is renamed."""
    real, calls = rundir.write_atomic, {"n": 0}

    def write_atomic(path, write):
        if Path(path).name != target:
            return real(path, write)
        calls["n"] += 1
        if calls["n"] < nth:
            return real(path, write)

        def write_then_die(handle):
            write(handle)
            handle.flush()
            os.kill(os.getpid(), signal.SIGKILL)

        return real(path, write_then_die)

    rundir.write_atomic = write_atomic
    checkpoint_module.write_atomic = write_atomic


def _child(run_dir: Path, fault: tuple[str, int] | None = None) -> int:
    """Fork a run; returns its pid (the child never returns)."""
    pid = os.fork()
    if pid:
        return pid
    code = 0
    try:
        torch.set_num_threads(1)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)  # the stale-lock and rebuild warnings of resumed runs
        if fault is not None:
            _kill_inside_write(*fault)
        _training(run_dir)
    except NeurodecodeError:
        code = 3
    except BaseException:  # noqa: BLE001 - any crash is a failed run
        code = 4
    os._exit(code)


def _run_to_end(run_dir: Path, fault=None) -> int:
    _, status = os.waitpid(_child(run_dir, fault), 0)
    return os.waitstatus_to_exitcode(status)


def _metrics(run_dir: Path):
    path = run_dir / rundir.METRICS
    return json.loads(path.read_text()) if path.is_file() else None


def _kills(root: Path, reference: dict, n_kills: int, duration: float, rng) -> dict:
    table = {"random moment": [0, 0, 0], "inside a checkpoint write": [0, 0, 0],
             "inside a config write": [0, 0, 0]}  # [runs, identical, unrecoverable]
    for k in range(n_kills):
        run_dir = root / f"kill{k:03d}"
        kind = ("inside a checkpoint write" if k % 5 == 3 else
                "inside a config write" if k % 5 == 4 else "random moment")
        if kind == "random moment":
            pid = _child(run_dir)
            time.sleep(float(rng.uniform(0.05, duration)))
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        else:
            configs = (rundir.MARKER, rundir.CONFIG, rundir.DIGEST)
            target = (rundir.LAST if kind.startswith("inside a checkpoint")
                      else configs[(k // 5) % 3])
            nth = int(rng.integers(1, EPOCHS + 1)) if target == rundir.LAST else 1
            _run_to_end(run_dir, (target, nth))
        code = _run_to_end(run_dir)
        row = table[kind]
        row[0] += 1
        row[1] += int(code == 0 and _metrics(run_dir) == reference)
        row[2] += int(code != 0)
        if code != 0 or _metrics(run_dir) != reference:
            print(f"  {kind}, run {k}: exit code {code}, files "
                  f"{sorted(p.name for p in run_dir.iterdir())}")
        shutil.rmtree(run_dir, ignore_errors=True)
    return table


def _flips(root: Path, reference_dir: Path, reference: dict, n_flips: int, rng) -> dict:
    table = {}
    for name in (rundir.BEST, rundir.LAST):
        saved = state_digest(load_checkpoint(reference_dir / name))
        counts = {"flips": 0, "detected": 0, "harmless": 0, "silent": 0,
                  "rerun identical": 0, "rerun error": 0, "rerun wrong": 0}
        size = (reference_dir / name).stat().st_size
        for offset in rng.choice(size, n_flips, replace=False):
            run_dir = root / f"flip_{name}_{offset}"
            shutil.copytree(reference_dir, run_dir)
            (run_dir / rundir.METRICS).unlink()
            data = bytearray((run_dir / name).read_bytes())
            data[int(offset)] ^= 1 << int(rng.integers(8))
            (run_dir / name).write_bytes(bytes(data))
            counts["flips"] += 1
            try:
                same = state_digest(load_checkpoint(run_dir / name)) == saved
                counts["harmless" if same else "silent"] += 1
            except TrainingError:
                counts["detected"] += 1
            code = _run_to_end(run_dir)
            if code != 0:
                counts["rerun error"] += 1
            elif _metrics(run_dir) == reference:
                counts["rerun identical"] += 1
            else:
                counts["rerun wrong"] += 1
            shutil.rmtree(run_dir, ignore_errors=True)
        table[name] = counts
    return table


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=50)
    parser.add_argument("--flips", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    root = Path(tempfile.mkdtemp(prefix="neurodecode_faults_"))
    load_recipe(REPO / "recipes" / "demo.yaml")  # the registries' imports, once, before forking
    try:
        start = time.perf_counter()
        assert _run_to_end(root / "reference") == 0, "the uninterrupted run failed"
        duration = time.perf_counter() - start
        reference = _metrics(root / "reference")
        assert _run_to_end(root / "again") == 0 and _metrics(root / "again") == reference, \
            "a rerun of a finished run changed its metrics"
        print(f"uninterrupted run: {duration:.1f} s, best epoch {reference['best_epoch']} "
              f"of {EPOCHS}, test top-1 {reference['top1']:.3f}, top-5 {reference['top5']:.3f}")
        kills = _kills(root, reference, args.kills, duration, rng)
        print(f"\n{'kill -9':<28}{'runs':>6}{'identical':>11}{'unrecoverable':>15}")
        for kind, (runs, same, bad) in kills.items():
            print(f"{kind:<28}{runs:>6}{same:>11}{bad:>15}")
        total = [sum(col) for col in zip(*kills.values())]
        print(f"{'all':<28}{total[0]:>6}{total[1]:>11}{total[2]:>15}")
        flips = _flips(root, root / "reference", reference, args.flips, rng)
        keys = list(next(iter(flips.values())))
        print("\nbyte flips   " + "".join(f"{k:>17}" for k in keys))
        for name, counts in flips.items():
            print(f"{name:<13}" + "".join(f"{counts[k]:>17}" for k in keys))
        print(f"\ntotal {time.perf_counter() - start:.0f} s")
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
