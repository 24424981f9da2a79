"""Faults: checkpoints carry a SHA-256 (a flipped byte is never returned as good), a missing
or corrupt ``best.pt``/``last.pt`` is rebuilt by training again, never replaced silently by
the last epoch; same seed -> bit-identical training on 1 and 2 threads; global state kept."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from neurodecode.exceptions import TrainingError
from neurodecode.losses import ClipLoss
from neurodecode.models.subject_layers import SubjectLayers, gather_subjects
from neurodecode.training import fit, load_checkpoint, save_checkpoint
from neurodecode.training.checkpoint import state_digest

from .test_fit import _EvalConstant, _model, _split, _strip_time, planted

KW = {"batch_size": 16, "lr": 3e-3, "progress": False, "seed": 1}


def _data(rng, n=80):
    brain, stim, subject, pos = planted(rng, n=n)
    return _split(brain, stim, subject, 0, 56), _split(brain, stim, subject, 56, n), pos


def _flip(path, offset):
    data = bytearray(path.read_bytes())
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))


def test_a_flipped_byte_in_a_checkpoint_is_never_returned_as_good(tmp_path):
    path = tmp_path / "c.pt"
    state = {"model": {"w": torch.linspace(0, 1, 400)}, "epoch": 3, "h": [0.5, 0.25]}
    save_checkpoint(state, path)
    original, size = path.read_bytes(), path.stat().st_size
    rng = np.random.default_rng(0)
    outcomes = {"error": 0, "intact": 0}
    for offset in rng.choice(size, 40, replace=False):
        path.write_bytes(original)
        _flip(path, int(offset))
        try:
            loaded = load_checkpoint(path)
        except TrainingError:
            outcomes["error"] += 1
            continue
        assert state_digest(loaded) == state_digest(state)  # untouched content, never wrong
        outcomes["intact"] += 1
    assert outcomes["error"] > 0


def test_changed_tensor_or_missing_checksum_is_an_error(tmp_path):
    path = tmp_path / "c.pt"
    save_checkpoint({"w": torch.ones(3)}, path)
    raw = torch.load(path, weights_only=True)
    raw["w"][1] = 2.0  # a tensor changed behind the checksum's back
    torch.save(raw, path)
    with pytest.raises(TrainingError, match=r"'.*c.pt' is corrupt: its content does not match "
                                            r"its SHA-256 \([0-9a-f]{12}\.\.\.\)"):
        load_checkpoint(path)
    torch.save({"w": torch.ones(3)}, path)
    with pytest.raises(TrainingError, match="has no sha256 checksum"):
        load_checkpoint(path)


def test_missing_best_checkpoint_is_rebuilt_by_training_again(rng, tmp_path, caplog):
    train, valid, pos = _data(rng)
    first = fit(_model(), _EvalConstant(), train, valid, positions=pos, run_dir=tmp_path,
                epochs=6, patience=2, **KW)
    assert first.best_epoch == 1 and len(first.history) == 3  # best is not the last epoch
    (tmp_path / "best.pt").unlink()
    model = _model()
    again = fit(model, _EvalConstant(), train, valid, positions=pos, run_dir=tmp_path,
                epochs=6, patience=2, **KW)
    assert "training again from the start to rebuild it" in caplog.text
    assert _strip_time(again.history) == _strip_time(first.history)
    assert load_checkpoint(tmp_path / "best.pt")["epoch"] == 1


def test_corrupt_last_checkpoint_trains_again_to_the_same_result(rng, tmp_path, caplog):
    train, valid, pos = _data(rng)
    with torch.random.fork_rng():
        first = fit(_model(), ClipLoss(), train, valid, positions=pos, run_dir=tmp_path / "a",
                    epochs=3, **KW)
        fit(_model(), ClipLoss(), train, valid, positions=pos, run_dir=tmp_path / "b",
            epochs=2, **KW)
        _flip(tmp_path / "b" / "last.pt", 2000)
        again = fit(_model(), ClipLoss(), train, valid, positions=pos, run_dir=tmp_path / "b",
                    epochs=3, **KW)
    assert "training again from the start" in caplog.text
    assert _strip_time(again.history) == _strip_time(first.history)


def test_best_of_the_last_epoch_is_rewritten_from_last(rng, tmp_path, caplog):
    train, valid, pos = _data(rng)
    with torch.random.fork_rng():
        first = fit(_model(), ClipLoss(), train, valid, positions=pos, run_dir=tmp_path,
                    epochs=2, **KW)
        assert first.best_epoch == 2
        _flip(tmp_path / "best.pt", 1500)
        model = _model(seed=5)
        again = fit(model, ClipLoss(), train, valid, positions=pos, run_dir=tmp_path,
                    epochs=2, **KW)
    assert again.best_epoch == 2 and "is corrupt" in caplog.text
    assert load_checkpoint(tmp_path / "best.pt")["epoch"] == 2


def test_a_best_checkpoint_lost_after_training_is_an_error(rng, tmp_path, monkeypatch):
    from neurodecode.training import loop

    train, valid, pos = _data(rng)
    real = loop.save_checkpoint

    def skip_best(state, path):  # best.pt never reaches the disk
        return None if path.name == "best.pt" else real(state, path)

    monkeypatch.setattr(loop, "save_checkpoint", skip_best)
    with pytest.raises(TrainingError, match=r"best.pt' is missing, corrupt or not of the best "
                                            r"epoch 1; the model of the best epoch is lost"):
        fit(_model(), _EvalConstant(), train, valid, positions=pos, run_dir=tmp_path,
            epochs=4, patience=2, **KW)


_THREADS_SCRIPT = """
import hashlib, json, sys
from pathlib import Path
import numpy as np, torch
from tests.training.test_faults import KW, _data, _model
from neurodecode.losses import ClipLoss
from neurodecode.training import fit
torch.set_num_threads(int(sys.argv[1]))
train, valid, pos = _data(np.random.default_rng(4), n=112)  # the last batches hold 8
model = _model(dropout=0.1)
fit(model, ClipLoss(), train, valid, positions=pos, run_dir=sys.argv[2], epochs=3, **KW)
records = [json.loads(line) for line in (Path(sys.argv[2]) / "metrics.jsonl").open()]
digest = hashlib.sha256(repr([{k: v for k, v in r.items() if k != "time_s"}
                              for r in records]).encode())
for value in model.state_dict().values():
    digest.update(value.numpy().tobytes())
print(digest.hexdigest())
"""


def _digest_on_threads(n_threads: int, run_dir, mkl_cbwr: str | None) -> str:
    import os
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parents[2]
    env = {k: v for k, v in os.environ.items() if k != "MKL_CBWR"}
    env.update({"OMP_NUM_THREADS": str(n_threads), "PYTHONPATH": str(repo)})
    if mkl_cbwr is not None:
        env["MKL_CBWR"] = mkl_cbwr
    out = subprocess.run([sys.executable, "-c", _THREADS_SCRIPT, str(n_threads), str(run_dir)],
                         env=env, cwd=repo, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip().splitlines()[-1]


@pytest.mark.parametrize("mkl_cbwr", [None, "AUTO,STRICT"])  # fit alone; the command's
def test_training_is_bit_identical_on_one_and_two_threads(tmp_path, mkl_cbwr):
    """fit's default: same seed -> the same metrics.jsonl (but timings) and weights, bit for
    bit, in a process on 1 and one on 2 threads."""
    assert (_digest_on_threads(1, tmp_path / "one", mkl_cbwr)
            == _digest_on_threads(2, tmp_path / "two", mkl_cbwr))


@pytest.mark.parametrize("deterministic", [True, False])
def test_two_runs_on_two_threads_are_bit_identical(rng, tmp_path, deterministic):
    previous = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        train, valid, pos = _data(rng, n=112)
        runs = []
        for name in ("a", "b"):
            model = _model(dropout=0.1)
            result = fit(model, ClipLoss(), train, valid, positions=pos,
                         run_dir=tmp_path / name, epochs=2, deterministic=deterministic, **KW)
            runs.append((_strip_time(result.history), model.state_dict()))
    finally:
        torch.set_num_threads(previous)
    assert runs[0][0] == runs[1][0]
    for name, value in runs[0][1].items():
        assert torch.equal(value, runs[1][1][name]), name


def test_fit_leaves_global_state_as_it_found_it(rng, tmp_path):
    train, valid, pos = _data(rng)
    model = _model()
    before = torch.get_rng_state()
    flags = (torch.are_deterministic_algorithms_enabled(),
             torch.is_deterministic_algorithms_warn_only_enabled(), torch.backends.mkldnn.enabled)
    fit(model, ClipLoss(), train, valid, positions=pos, run_dir=tmp_path, epochs=1,
        deterministic=True, **KW)
    assert torch.equal(torch.get_rng_state(), before)
    assert (torch.are_deterministic_algorithms_enabled(),
            torch.is_deterministic_algorithms_warn_only_enabled(),
            torch.backends.mkldnn.enabled) == flags


def test_seconds_count_every_part_of_a_resumed_run(rng, tmp_path):
    train, valid, pos = _data(rng)
    fit(_model(), ClipLoss(), train, valid, positions=pos, run_dir=tmp_path, epochs=1, **KW)
    result = fit(_model(), ClipLoss(), train, valid, positions=pos, run_dir=tmp_path, epochs=2,
                 **KW)
    assert len(result.history) == 2
    assert result.seconds == pytest.approx(sum(r["time_s"] for r in result.history))


def test_subject_gradient_is_thread_invariant_and_the_forward_is_brainmagicks():
    torch.manual_seed(0)
    layer = SubjectLayers(24, 16, 3)
    x, subject = torch.randn(64, 24, 40), torch.randint(0, 3, (64,))
    grads = []
    for n_threads in (1, 2):
        previous = torch.get_num_threads()
        torch.set_num_threads(n_threads)
        layer.zero_grad()
        out = layer(x, subject)
        (out ** 2).sum().backward()
        grads.append(layer.weights.grad.clone())
        torch.set_num_threads(previous)
    assert torch.equal(grads[0], grads[1])
    # brainmagick's SubjectLayers.forward: gather, then einsum
    _, C, D = layer.weights.shape
    gathered = layer.weights.gather(0, subject.view(-1, 1, 1).expand(-1, C, D))
    assert torch.equal(out, torch.einsum("bct,bcd->bdt", x, gathered))
    weights = layer.weights.detach().requires_grad_()
    (torch.einsum("bct,bcd->bdt", x, weights[subject]) ** 2).sum().backward()
    assert torch.allclose(grads[0], weights.grad, rtol=1e-5, atol=1e-4)
    assert torch.equal(gather_subjects(layer.weights, subject), gathered)
