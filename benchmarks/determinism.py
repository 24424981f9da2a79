"""Deterministic training on CPU: which ops differ on 1 and 2 threads, bit-identity, cost.

The demo's ``ConvEncoder`` (KIT-208 sensors, 64 virtual, 64 hidden, 4 blocks, 40 mel
outputs, 3 s at 120 Hz, batch 32) in three settings of ``fit``:

- ``old default``: oneDNN's convolution gradients (``fit(deterministic=False)``),
- ``new default``: the fixed-order convolution gradients (``fit(deterministic=True)``),
- ``old opt-in``: oneDNN off (what ``deterministic=True`` did before this change).

(``--model nice_eeg``: ``NiceEncoder`` at THINGS-EEG2's size, for parts 2 and 3).
``python benchmarks/determinism.py`` (about 10 minutes on 2 loaded cores) prints:

1. ``--ops`` part: every module of one training step recomputed alone on 1 and on 2
   threads from the same input, weights and output gradient: which outputs, input
   gradients and parameter gradients differ, at the old and the new default;
2. ``fit`` for 2 epochs on 1 and on 2 threads in each setting: bit-identical or not
   (history without timings and the trained weights);
3. seconds per training step (forward, backward, AdamW) on 1 and 2 threads, the settings
   interleaved, median of ``--repeats`` rounds, with the load average;

and with ``--demo`` (or ``--only-demo``) it runs ``neurodecode run recipes/demo.yaml`` on
1 and on 2 torch threads and compares the two ``metrics.json`` (timings left out), with
numpy's BLAS on one thread in both runs (``--demo-numpy-threads 0``: on as many as torch;
then the simulated MEG itself differs, ``simulate/``'s OpenBLAS products).
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

os.environ.setdefault("MKL_CBWR", "AUTO,STRICT")  # as the neurodecode command sets it

import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

from neurodecode.losses import ClipLoss  # noqa: E402
from neurodecode.models import ConvEncoder, NiceEncoder  # noqa: E402
from neurodecode.training import SegmentDataset, fit  # noqa: E402
from neurodecode.training.determinism import FixedOrderConvolutions  # noqa: E402
from neurodecode.training.loop import _deterministic  # noqa: E402

warnings.filterwarnings("ignore", message="TF32 acceleration")  # torch.backends.mkldnn.flags

C, F, T, S, N, BATCH = 208, 40, 360, 4, 128, 32
REPO = Path(__file__).resolve().parents[1]
SETTINGS = {"old default": (False, True), "new default": (True, True),
            "old opt-in": (False, False)}  # name: (fit's deterministic, oneDNN on)


# name: (model, brain (channels, times), stimulus shape): the demo's ConvEncoder, and
# NiceEncoder at THINGS-EEG2's size (63 channels, 1 s at 250 Hz, 768-d CLIP embeddings)
MODELS = {
    "conv_encoder": (lambda: ConvEncoder(C, F, S, n_virtual=64, hidden=64, depth=4,
                                         fourier_freqs=8), (C, T), (F, T)),
    "nice_eeg": (lambda: NiceEncoder(63, 768, S), (63, 250), (768,)),
}


def _model(name: str = "conv_encoder") -> nn.Module:
    torch.manual_seed(0)
    return MODELS[name][0]()


def _arrays(n: int = N, name: str = "conv_encoder"):
    rng = np.random.default_rng(0)
    _, brain_shape, stim_shape = MODELS[name]
    brain = rng.standard_normal((n, *brain_shape)).astype(np.float32)
    stim = rng.standard_normal((n, *stim_shape)).astype(np.float32)
    return brain, stim, rng.integers(0, S, n), rng.uniform(0, 1, (brain_shape[0], 2))


@contextlib.contextmanager
def _setting(name: str, model: nn.Module):
    deterministic, mkldnn = SETTINGS[name]
    with (torch.backends.mkldnn.flags(enabled=mkldnn),
          _deterministic(torch.device("cpu"), deterministic, model)):
        yield


# -- 1. which ops -------------------------------------------------------------------

def _record(model: nn.Module, batch) -> dict:
    """Input and output gradient of every leaf module (and the two custom layers)."""
    records: dict = {}
    names = [n for n, m in model.named_modules()
             if n in ("spatial", "subject_layers")
             or (n and not n.startswith("spatial.") and not list(m.children()))]
    modules = dict(model.named_modules())

    def hook(name):
        def save(module, inputs, output):
            output.retain_grad()
            records[name] = ([i.detach().clone() if torch.is_tensor(i) else i for i in inputs],
                             output)
        return save

    handles = [modules[n].register_forward_hook(hook(n)) for n in names]
    brain, stim, subject, pos = batch
    ClipLoss()(model(brain, subject, pos), stim).backward()
    for handle in handles:
        handle.remove()
    return {n: (inputs, out.grad) for n, (inputs, out) in records.items()
            if out.grad is not None}


def _alone(module: nn.Module, inputs, grad, n_threads: int, mode: bool, pos):
    torch.set_num_threads(n_threads)
    module = copy.deepcopy(module)
    inputs = [inputs[0].clone().requires_grad_(), *inputs[1:]]
    with FixedOrderConvolutions() if mode else contextlib.nullcontext():
        torch.manual_seed(1)
        out = module(*inputs)
        out.backward(grad)
    return ([out.detach()], [i.grad for i in inputs if torch.is_tensor(i) and i.grad is not None],
            [p.grad for p in module.parameters()])


def ops_table() -> None:
    """Print which modules give other bits on 1 and 2 threads, at the old and new default."""
    brain, stim, subject, pos = (torch.as_tensor(a) for a in _arrays(BATCH))
    pos = pos.float()
    model = _model().train()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True, warn_only=True)
    records = _record(model, (brain, stim, subject, pos))
    modules = dict(model.named_modules())
    print("1. each module alone, same input and output gradient, 1 vs 2 threads "
          "('=': same bits, 'DIFF': differ)")
    print(f"{'module':<18}{'type':<17}{'old default: out/d_in/d_params':>34}"
          f"{'new default':>18}")
    for name, (inputs, grad) in records.items():
        if isinstance(modules[name], nn.Dropout):
            continue
        cells = []
        for mode in (False, True):
            one, two = (_alone(modules[name], inputs, grad, n, mode, pos) for n in (1, 2))
            cells.append("/".join("=" if all(torch.equal(a, b) for a, b in zip(x, y))
                                  else "DIFF" for x, y in zip(one, two)))
        print(f"{name:<18}{type(modules[name]).__name__:<17}{cells[0]:>34}{cells[1]:>18}")
    torch.use_deterministic_algorithms(False)


# -- 2. bit-identity through fit ----------------------------------------------------

def _fit_digest(name: str, n_threads: int, model_name: str) -> str:
    torch.set_num_threads(n_threads)
    brain, stim, subject, pos = _arrays(name=model_name)
    train = SegmentDataset(brain[:96], stim[:96], subject[:96])
    valid = SegmentDataset(brain[96:], stim[96:], subject[96:])
    model = _model(model_name)
    deterministic, mkldnn = SETTINGS[name]
    with tempfile.TemporaryDirectory() as run_dir, torch.backends.mkldnn.flags(enabled=mkldnn):
        result = fit(model, ClipLoss(), train, valid, positions=pos, run_dir=Path(run_dir),
                     epochs=2, batch_size=BATCH, lr=1e-3, progress=False,
                     deterministic=deterministic)
    digest = hashlib.sha256(repr([(r["train_loss"], r["valid_loss"])
                                  for r in result.history]).encode())
    for value in model.state_dict().values():
        digest.update(value.numpy().tobytes())
    return digest.hexdigest()


# -- 3. seconds per step ------------------------------------------------------------

def _steps(name: str, n_steps: int, model_name: str) -> float:
    """Median seconds of ``n_steps`` training steps on one batch of ``BATCH``."""
    brain, stim, subject, pos = (torch.as_tensor(a) for a in _arrays(BATCH, model_name))
    model, loss = _model(model_name).train(), ClipLoss()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    times = []
    with _setting(name, model):
        for _ in range(n_steps + 1):
            start = time.perf_counter()
            opt.zero_grad()
            loss(model(brain, subject, pos.float()), stim).backward()
            opt.step()
            times.append(time.perf_counter() - start)
    return statistics.median(times[1:])  # the first step warms the kernels up


def timing_table(repeats: int, n_steps: int, n_threads: int, model_name: str) -> None:
    torch.set_num_threads(n_threads)
    seconds: dict[str, list[float]] = {name: [] for name in SETTINGS}
    load = [os.getloadavg()[0]]
    for _ in range(repeats):
        for name in SETTINGS:
            seconds[name].append(_steps(name, n_steps, model_name))
        load.append(os.getloadavg()[0])
    base = statistics.median(seconds["old default"])
    print(f"3. {model_name}: seconds per training step on {n_threads} thread(s) (median of "
          f"{repeats} "
          f"interleaved rounds "
          f"of {n_steps} steps; load average {min(load):.1f}-{max(load):.1f} on "
          f"{os.cpu_count()} cores)")
    for name, values in seconds.items():
        value = statistics.median(values)
        print(f"{name:<14}{value:>8.3f} s/step  {value / base:>5.2f}x  "
              f"(rounds: {', '.join(f'{v:.3f}' for v in values)})")


# -- the demo ------------------------------------------------------------------------

def _demo_metrics(n_threads: int, out: Path, numpy_threads: int | None,
                  *overrides: str) -> tuple[dict, float]:
    env = {**os.environ, "OMP_NUM_THREADS": str(n_threads), "MKL_NUM_THREADS": str(n_threads),
           "PYTHONPATH": str(REPO)}
    env["OPENBLAS_NUM_THREADS"] = str(numpy_threads or n_threads)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "neurodecode.cli", "run", "recipes/demo.yaml",
                    "--out", str(out), "--overwrite", "--no-progress",
                    *(f"--set={o}" for o in overrides)], cwd=REPO, env=env,
                   check=True, capture_output=True)
    seconds = time.perf_counter() - start
    return _without_timings(json.loads((out / "metrics.json").read_text())), seconds


def _without_timings(value):
    if isinstance(value, dict):
        return {k: _without_timings(v) for k, v in value.items()
                if not (k in ("seconds", "time_s") or k.endswith("_seconds"))}
    if isinstance(value, list):
        return [_without_timings(v) for v in value]
    return value


def demo(numpy_threads: int | None) -> None:
    """The demo on 1 and 2 torch threads; numpy's BLAS (OpenBLAS) on ``numpy_threads`` in
    both, or (None) on as many as torch: the simulated MEG's products depend on it."""
    with tempfile.TemporaryDirectory() as tmp:
        (one, t1), (two, t2) = (_demo_metrics(n, Path(tmp) / str(n), numpy_threads)
                                for n in (1, 2))
    same = "bit-identical" if one == two else "DIFFER"
    blas = "as many as torch" if numpy_threads is None else numpy_threads
    print(f"demo metrics.json (timings left out) on 1 vs 2 torch threads, numpy's BLAS on "
          f"{blas}: {same}; wall time {t1:.0f} s on 1 thread, {t2:.0f} s on 2 (load "
          f"average {os.getloadavg()[0]:.1f})")
    if one != two:
        print(json.dumps({"1 thread": one, "2 threads": two})[:2000])


def demo_cost(n_threads: int) -> None:
    """Wall time of the demo with ``training.deterministic`` false, then true."""
    seconds = {}
    with tempfile.TemporaryDirectory() as tmp:
        for flag in ("false", "true"):
            _, seconds[flag] = _demo_metrics(n_threads, Path(tmp) / flag, None,
                                             f"training.deterministic={flag}")
    print(f"demo wall time on {n_threads} thread(s): {seconds['false']:.0f} s with "
          f"training.deterministic=false, {seconds['true']:.0f} s with true "
          f"({seconds['true'] / seconds['false']:.2f}x; load average "
          f"{os.getloadavg()[0]:.1f})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--only-demo", action="store_true", help="skip parts 1-3")
    parser.add_argument("--demo-cost", type=int, default=0, metavar="N_THREADS",
                        help="only time the demo with deterministic false and true")
    parser.add_argument("--model", choices=list(MODELS), default="conv_encoder",
                        help="the model of parts 2-3 (part 1 is the ConvEncoder's)")
    parser.add_argument("--demo", action="store_true", help="also run the demo twice")
    parser.add_argument("--demo-numpy-threads", type=int, default=1,
                        help="numpy's BLAS threads in both demo runs (0: as many as torch)")
    args = parser.parse_args()
    if args.demo_cost:
        demo_cost(args.demo_cost)
        return 0
    if not args.only_demo:
        if args.model == "conv_encoder":
            ops_table()
        print(f"2. {args.model}: fit for 2 epochs on 1 vs 2 threads (history and weights)")
        for name in SETTINGS:
            same = _fit_digest(name, 1, args.model) == _fit_digest(name, 2, args.model)
            print(f"{name:<14}{'bit-identical' if same else 'differ':>16}")
        for n_threads in args.threads:
            timing_table(args.repeats, args.steps, n_threads, args.model)
    if args.demo or args.only_demo:
        demo(args.demo_numpy_threads or None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
