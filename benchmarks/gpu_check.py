"""One device check for issue 19: CUDA correctness, DDP, and timings as ratios.

Writes ``gpu_check.json`` and ``gpu_check.txt`` (a table) under ``--out``:

- ``gpu_tests``: ``pytest -m gpu tests/test_gpu.py`` (ConvEncoder CUDA vs CPU, AMP bf16/fp16,
  rsa and ridge torch backends vs numpy, checkpoints across devices);
- ``ddp_gloo``: two processes on the one device through gloo (CUDA tensors on a GPU):
  DDP with CLIP negatives gathered across processes gives the single-process gradient;
- ``ddp_nccl_world1``: the same code path through NCCL with one process (CUDA only);
- timings: ConvEncoder training steps/s (batch 256, 208 x 360, 1,024 outputs) in fp32, AMP
  bf16 and ``torch.compile``; DataLoader batches/s from the streamed store vs the step rate;
  RidgeCV 2,000 x 512 -> 50,000 targets vs himalaya (``torch_cuda`` on a GPU); time-resolved
  RSA (92 conditions x 306 channels x 700 times, Spearman vs 10 models) on the device vs the
  CPU path vs rsatoolbox; the peak GPU memory of each.

``--device cpu --quick`` runs every part on the CPU at a tiny size (CUDA-only checks say
``skipped: no CUDA``); ``tests/benchmarks/test_gpu_check.py`` runs it so. On one GPU:
``python benchmarks/gpu_check.py --out benchmarks/results/gpu`` (under 8 minutes).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
FULL = {"batch": 256, "channels": 208, "times": 360, "outputs": 1024, "subjects": 27,
        "steps": 5, "ridge": (2000, 512, 50_000), "rsa": (92, 306, 700, 10), "trials": 8,
        "recording_subjects": 4}
QUICK = {"batch": 8, "channels": 16, "times": 40, "outputs": 12, "subjects": 2,
         "steps": 2, "ridge": (100, 16, 200), "rsa": (8, 10, 12, 2), "trials": 2,
         "recording_subjects": 2}
NO_CUDA = "skipped: no CUDA"


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _peak_start(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)


def _peak_mib(device: torch.device) -> float | None:
    return torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else None


def _timed(fn: Callable[[], object], device: torch.device, *,
           warmup: bool = True) -> tuple[object, float]:
    """(result, seconds of one run, after a warm-up run on a GPU or when asked)."""
    out = fn() if warmup or device.type == "cuda" else None
    best, repeat = np.inf, 1
    for _ in range(repeat):
        _sync(device)
        start = time.perf_counter()
        out = fn()
        _sync(device)
        best = min(best, time.perf_counter() - start)
    return out, best


# -- correctness ------------------------------------------------------------------------

def check_gpu_tests(device: torch.device, size: dict) -> dict:
    """``pytest -m gpu tests/test_gpu.py``: counts of passed, failed and skipped tests."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-m", "pytest", "-m", "gpu", "-q", "-p",
                           "no:cacheprovider", str(REPO / "tests" / "test_gpu.py")],
                          capture_output=True, text=True, env=env, cwd=REPO, timeout=300)
    tail = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr[-300:]
    counts = {k: _count(tail, k) for k in ("passed", "failed", "skipped", "error")}
    if counts["failed"] or counts["error"] or done.returncode not in (0, 5):
        return {"status": "fail", **counts, "summary": tail, "log": done.stdout[-4000:]}
    if not counts["passed"]:
        return {"status": NO_CUDA, **counts, "summary": tail}
    return {"status": "pass", **counts, "summary": tail}


def _count(line: str, word: str) -> int:
    parts = line.replace(",", " ").split()
    return sum(int(parts[i - 1]) for i, p in enumerate(parts)
               if p.startswith(word) and i and parts[i - 1].isdigit())


def _ddp_worker(rank: int, world: int, backend: str, device: str, init: str,
                result: str) -> None:
    """Each rank: DDP(Linear) + CLIP with gathered negatives on its half of a batch."""
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel

    from neurodecode.losses import ClipLoss

    dist.init_process_group(backend, init_method=init, rank=rank, world_size=world)
    try:
        dev = torch.device(device)
        brain, target, model = _ddp_problem(dev)
        ddp = DistributedDataParallel(model, device_ids=[dev.index] if backend == "nccl" else None)
        n = len(brain) // world
        part = slice(rank * n, (rank + 1) * n)
        ClipLoss()(ddp(brain[part]), target[part]).backward()
        if rank == 0:
            torch.save([p.grad.cpu() for p in model.parameters()], result)
    finally:
        dist.destroy_process_group()


def _ddp_problem(device: torch.device):
    g = torch.Generator().manual_seed(0)
    brain = torch.randn(16, 24, generator=g).to(device)
    target = torch.randn(16, 8, generator=g).to(device)
    torch.manual_seed(0)
    return brain, target, torch.nn.Linear(24, 8).to(device)


def _ddp_run(world: int, backend: str, device: torch.device) -> dict:
    import torch.multiprocessing as mp

    from neurodecode.losses import ClipLoss

    with tempfile.TemporaryDirectory() as tmp:
        init, result = f"file://{tmp}/rendezvous", f"{tmp}/grad.pt"
        context = mp.start_processes(_ddp_worker, args=(world, backend, str(device), init,
                                                        result),
                                     nprocs=world, start_method="spawn", join=False)
        _join_or_stop(context, Path(result), deadline_s=120.0)
        got = torch.load(result)
    brain, target, model = _ddp_problem(device)
    ClipLoss()(model(brain), target).backward()
    ref = [p.grad.cpu() for p in model.parameters()]
    err = max(float((a - b).abs().max()) for a, b in zip(got, ref))
    return {"status": "pass" if err < 1e-5 else "fail", "max_abs_grad_diff": err,
            "world_size": world, "backend": backend, "device": str(device)}


def _join_or_stop(context, result: Path, *, deadline_s: float, grace_s: float = 10.0) -> None:
    """Wait for the DDP processes; once ``result`` is written, a process still alive after
    ``grace_s`` is stopped (a worker whose interpreter does not exit, seen with gloo on a
    loaded machine, would otherwise hang the check); past ``deadline_s`` it is an error."""
    start, written = time.monotonic(), None
    while not context.join(timeout=1.0):
        now = time.monotonic()
        if written is None and result.exists():
            written = now
        if written is not None and now - written > grace_s:
            for proc in context.processes:
                if proc.is_alive():
                    proc.terminate()
            return
        if now - start > deadline_s:
            for proc in context.processes:
                proc.terminate()
            raise TimeoutError(f"the DDP processes did not finish within {deadline_s:g} s")


def check_ddp_gloo(device: torch.device, size: dict) -> dict:
    """Two gloo processes on one device equal one process with the whole batch."""
    return _ddp_run(2, "gloo", device)


def check_ddp_nccl(device: torch.device, size: dict) -> dict:
    """NCCL with world size 1: the code path runs and equals the single-process gradient."""
    if device.type != "cuda":
        return {"status": NO_CUDA}
    return _ddp_run(1, "nccl", device)


# -- timings ----------------------------------------------------------------------------

def _encoder_step(device: torch.device, size: dict, amp: str, compile_: bool):
    from neurodecode.losses import ClipLoss
    from neurodecode.models import ConvEncoder
    from neurodecode.training.loop import AMP

    torch.manual_seed(0)
    kw = {} if size is FULL else {"n_virtual": 16, "hidden": 16, "depth": 2}
    model = ConvEncoder(size["channels"], size["outputs"], size["subjects"], **kw).to(device)
    # quick (a CPU test): dynamo's graph capture without inductor's C++ build (minutes)
    task = torch.compile(model, backend="eager" if size is QUICK else "inductor") if compile_ \
        else model
    loss, opt = ClipLoss().to(device), torch.optim.AdamW(model.parameters(), lr=3e-4)
    n, c, t = size["batch"], size["channels"], size["times"]
    brain, pos = torch.randn(n, c, t, device=device), torch.rand(c, 2, device=device)
    target = torch.randn(n, size["outputs"], t, device=device)
    subject = torch.randint(0, size["subjects"], (n,), device=device)
    dtype = AMP[amp]

    def step() -> float:
        opt.zero_grad(set_to_none=True)
        with torch.autocast(device.type, dtype=dtype or torch.float32, enabled=dtype is not None):
            value = loss(task(brain, subject, pos), target)
        value.backward()
        opt.step()
        return float(value.detach())
    return step


def time_training(device: torch.device, size: dict) -> dict:
    """Steps/s of fp32, AMP bf16 and torch.compile (each relative to fp32)."""
    out: dict = {}
    for name, amp, compile_ in (("fp32", "none", False), ("bf16", "bf16", False),
                                ("compile", "none", True)):
        try:
            _peak_start(device)
            step = _encoder_step(device, size, amp, compile_)
            _, seconds = _timed(lambda step=step: [step() for _ in range(size["steps"])], device)
            out[name] = {"steps_per_s": size["steps"] / seconds, "peak_mib": _peak_mib(device)}
        except Exception as err:  # noqa: BLE001  (torch.compile may not compile here)
            out[name] = {"status": f"fail: {type(err).__name__}: {str(err)[:200]}"}
    base = out["fp32"].get("steps_per_s")
    for name in ("bf16", "compile"):
        if base and "steps_per_s" in out[name]:
            out[name]["ratio_vs_fp32"] = out[name]["steps_per_s"] / base
    out["status"] = "pass" if base else "fail"
    return out


def _streamed_dataset(size: dict, root: Path):
    from neurodecode.align.dataset import make_streamed
    from neurodecode.align.store import RecordingStore
    from neurodecode.build import build_recordings
    from neurodecode.config import load_recipe

    sets = [f"data.simulation.n_trials={size['trials']}",
            f"data.simulation.n_subjects={size['recording_subjects']}"]
    if size is QUICK:
        sets += ["data.simulation.trial_duration=8", "features.params.n_mels=8"]
    recipe = load_recipe(REPO / "recipes" / "demo.yaml", sets)
    recordings, features = build_recordings(recipe)
    seg = recipe.segments
    windows = make_streamed(recordings, features, RecordingStore(root), tmin=seg.tmin,
                            tmax=seg.tmax, on=seg.on, stride=seg.stride, sfreq=seg.sfreq)
    scalers = windows.fit_scalers(windows.meta, "robust", 20.0, seed=0)
    return windows.dataset(windows.meta, scalers)


def time_loader(device: torch.device, size: dict, step_rate: float | None) -> dict:
    """Batches/s of ``fit``'s DataLoader over the streamed store vs the fp32 step rate."""
    from neurodecode.training.loop import make_loader

    with tempfile.TemporaryDirectory() as tmp:
        data = _streamed_dataset(size, Path(tmp))
        batch = min(size["batch"], len(data) // 2)

        def epoch() -> int:
            loader = make_loader(data, batch, train=True, seed=0, epoch=0,
                                 pin=device.type == "cuda")
            return sum(1 for b in loader if b["brain"].to(device, non_blocking=True) is not None)
        n_batches, seconds = _timed(epoch, device)
    rate = int(n_batches) / seconds  # type: ignore[call-overload]
    ratio = rate / step_rate if step_rate else None
    ok = ratio is not None and ratio >= 3
    status = "pass" if ok else ("measured (checked at full size)" if size is QUICK else "fail")
    return {"status": status, "batches_per_s": rate, "batch": batch,
            "n_windows": len(data), "ratio_vs_step_rate": ratio, "needs": ">= 3"}


def time_ridge(device: torch.device, size: dict) -> dict:
    """RidgeCV on the device vs himalaya (torch_cuda on a GPU, numpy on the CPU)."""
    from himalaya.backend import set_backend
    from himalaya.ridge import RidgeCV as HimalayaRidgeCV

    from neurodecode.encoding import RidgeCV

    n, p, t = size["ridge"]
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, p), dtype=np.float32)
    Y = (X @ rng.standard_normal((p, t), dtype=np.float32)
         + 3 * rng.standard_normal((n, t), dtype=np.float32))
    alphas = np.logspace(-1, 4, 6)

    def ours(dev: str, backend: str):
        model = RidgeCV(alphas=alphas, device=dev, backend=backend, dtype="float32")
        return model.fit(X, Y), np.asarray(model.predict(X))
    _peak_start(device)
    (fitted, pred), t_ours = _timed(lambda: ours(str(device), "torch"), device)
    peak = _peak_mib(device)
    (_, ref), t_numpy = _timed(lambda: ours("cpu", "numpy"), torch.device("cpu"), warmup=False)
    set_backend("torch_cuda" if device.type == "cuda" else "numpy", on_error="raise")
    try:
        peer, t_peer = _timed(lambda: HimalayaRidgeCV(alphas=alphas, fit_intercept=True).fit(X, Y),
                              device)
        peer_alphas = np.asarray(torch.as_tensor(peer.best_alphas_).cpu())
    finally:
        set_backend("numpy")
    diff = float(np.abs(pred - ref).max() / (np.abs(ref).max() + 1e-12))
    return {"status": "pass" if diff < 1e-4 else "fail", "seconds": t_ours,
            "numpy_seconds": t_numpy, "himalaya_seconds": t_peer,
            "speedup_vs_himalaya": t_peer / t_ours, "max_rel_diff_vs_numpy": diff,
            "same_alpha_as_himalaya": float(np.mean(np.asarray(fitted.alpha_) == peer_alphas)),
            "peak_mib": peak, "himalaya_backend": "torch_cuda" if device.type == "cuda"
            else "numpy"}


def time_rsa(device: torch.device, size: dict) -> dict:
    """Time-resolved RSA on the device vs the numpy CPU path vs rsatoolbox."""
    import rsatoolbox

    from neurodecode.rsa import compare_rdms, compute_rdm

    n_cond, n_ch, n_times, n_models = size["rsa"]
    rng = np.random.default_rng(0)
    data = rng.standard_normal((n_cond, n_ch, n_times))
    models = rng.random((n_models, n_cond * (n_cond - 1) // 2))
    per_time = data.transpose(2, 0, 1)

    def ours(backend: str, dev: str | None):
        rdms = compute_rdm(per_time, "correlation", backend=backend, device=dev)
        return np.asarray(compare_rdms(rdms, models, "spearman", backend=backend, device=dev))

    def rsatb():
        ds = rsatoolbox.data.TemporalDataset(
            data, obs_descriptors={"conds": np.arange(n_cond)},
            time_descriptors={"time": np.arange(n_times)})
        rdms = rsatoolbox.rdm.calc_rdm_movie(ds, method="correlation", descriptor="conds")
        return rsatoolbox.rdm.compare(rdms, rsatoolbox.rdm.RDMs(models), "spearman")

    _peak_start(device)
    dev_sim, t_dev = _timed(lambda: ours("torch", str(device)), device)
    peak = _peak_mib(device)
    cpu_sim, t_cpu = _timed(lambda: ours("numpy", None), torch.device("cpu"), warmup=False)
    ref, t_ref = _timed(rsatb, torch.device("cpu"), warmup=False)
    diff = max(float(np.abs(dev_sim - cpu_sim).max()), float(np.abs(cpu_sim - ref).max()))
    return {"status": "pass" if diff < 1e-5 else "fail", "seconds": t_dev,
            "cpu_seconds": t_cpu, "rsatoolbox_seconds": t_ref,
            "speedup_vs_cpu": t_cpu / t_dev, "speedup_vs_rsatoolbox": t_ref / t_dev,
            "max_abs_diff": diff, "peak_mib": peak}


# -- driver -----------------------------------------------------------------------------

def _guarded(fn: Callable[..., dict], *args) -> dict:
    start = time.perf_counter()
    try:
        out = fn(*args)
    except Exception as err:  # noqa: BLE001  (a failed part is reported, the others run)
        out = {"status": f"fail: {type(err).__name__}: {str(err)[:300]}",
               "traceback": traceback.format_exc()[-2000:]}
    out["wall_s"] = time.perf_counter() - start
    return out


def run_checks(device: torch.device, quick: bool) -> dict:
    """Every part, in order; each part's failure is recorded and the next part runs."""
    size = QUICK if quick else FULL
    parts: dict = {"gpu_tests": _guarded(check_gpu_tests, device, size),
                   "ddp_gloo": _guarded(check_ddp_gloo, device, size),
                   "ddp_nccl_world1": _guarded(check_ddp_nccl, device, size),
                   "training": _guarded(time_training, device, size)}
    step_rate = parts["training"].get("fp32", {}).get("steps_per_s")
    parts["loader"] = _guarded(time_loader, device, size, step_rate)
    parts["ridge"] = _guarded(time_ridge, device, size)
    parts["rsa"] = _guarded(time_rsa, device, size)
    return parts


def environment(device: torch.device) -> dict:
    cuda = device.type == "cuda"
    return {"device": str(device), "gpu": torch.cuda.get_device_name(device) if cuda else None,
            "torch": torch.__version__, "cuda": torch.version.cuda,
            "cudnn": torch.backends.cudnn.version() if cuda else None,
            "python": platform.python_version(), "host": platform.node()}


def table(report: dict) -> str:
    """One line per part: its status and its headline figures."""
    env = report["environment"]
    lines = [f"gpu_check on {env['gpu'] or env['device']} (torch {env['torch']}, CUDA "
             f"{env['cuda']}), quick={report['quick']}", f"{'part':18s} {'status':14s} figures"]
    for name, part in report["parts"].items():
        figures = ", ".join(f"{k}={_fmt(v)}" for k, v in _flat(part).items()
                            if k not in ("status", "traceback", "log", "summary"))
        lines.append(f"{name:18s} {_short(part):14s} {figures}")
    return "\n".join(lines) + "\n"


def _short(part: dict) -> str:
    status = str(part.get("status", "?"))
    return status if len(status) <= 14 else status[:11] + "..."


def _flat(part: dict, prefix: str = "") -> dict:
    out = {}
    for key, value in part.items():
        if isinstance(value, dict):
            out.update(_flat(value, f"{prefix}{key}."))
        else:
            out[prefix + key] = value
    return out


def _fmt(value) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="folder for the JSON and table")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--quick", action="store_true", help="tiny sizes (a CPU test)")
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    report = {"environment": environment(device), "quick": args.quick,
              "parts": run_checks(device, args.quick)}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "gpu_check.json").write_text(json.dumps(report, indent=2, default=str))
    text = table(report)
    (args.out / "gpu_check.txt").write_text(text)
    print(text)
    failed = [k for k, v in report["parts"].items() if str(v.get("status")).startswith("fail")]
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
