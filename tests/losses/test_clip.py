"""ClipLoss and MSELoss against hand-computed references; gathered negatives with 2 processes."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from neurodecode.losses import LOSSES, ClipLoss, MSELoss, brainmagick_scores, get_loss


def _reference_brainmagick(pred: np.ndarray, target: np.ndarray) -> float:
    """Loop-by-loop brainmagick CLIP loss (brain -> stimulus cross-entropy)."""
    n = len(pred)
    scores = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            norm = np.sqrt(np.sum(target[j] ** 2))
            scores[i, j] = np.sum(pred[i] * target[j]) / norm
    losses = [np.log(np.sum(np.exp(scores[i]))) - scores[i, i] for i in range(n)]
    return float(np.mean(losses))


def _reference_infonce(pred: np.ndarray, target: np.ndarray, temperature: float) -> float:
    p = pred.reshape(len(pred), -1)
    t = target.reshape(len(target), -1)
    p = p / np.linalg.norm(p, axis=1, keepdims=True)
    t = t / np.linalg.norm(t, axis=1, keepdims=True)
    logits = p @ t.T / temperature

    def xent(m):
        return np.mean([np.log(np.exp(row).sum()) - row[i] for i, row in enumerate(m)])

    return float((xent(logits) + xent(logits.T)) / 2)


@pytest.mark.parametrize("shape", [(6, 4, 5), (6, 4)])
def test_brainmagick_clip_equals_hand_computed(rng, shape):
    pred, target = rng.standard_normal(shape), rng.standard_normal(shape)
    value = ClipLoss("brainmagick")(torch.tensor(pred), torch.tensor(target))
    assert value.item() == pytest.approx(_reference_brainmagick(pred, target), rel=1e-5)


def test_infonce_equals_hand_computed(rng):
    pred, target = rng.standard_normal((7, 3, 4)), rng.standard_normal((7, 3, 4))
    loss = ClipLoss("infonce", temperature=0.2)
    assert isinstance(loss.log_scale, torch.nn.Parameter)
    value = loss(torch.tensor(pred), torch.tensor(target))
    assert value.item() == pytest.approx(_reference_infonce(pred, target, 0.2), rel=1e-5)
    value.backward()
    assert loss.log_scale.grad is not None and loss.temperature == pytest.approx(0.2)


def test_clip_prefers_matching_pairs(rng):
    target = torch.tensor(rng.standard_normal((16, 4, 10)), dtype=torch.float32)
    loss = ClipLoss()
    matched = loss(target * 5, target)
    shuffled = loss(target[torch.randperm(16, generator=torch.Generator().manual_seed(0))] * 5,
                    target)
    assert matched < 0.1 < np.log(16) < shuffled


def test_brainmagick_scores_normalise_only_the_candidates(rng):
    pred = torch.tensor(rng.standard_normal((3, 2, 4)))
    cand = torch.tensor(rng.standard_normal((5, 2, 4)))
    assert torch.allclose(brainmagick_scores(pred * 2, cand * 7), 2 * brainmagick_scores(pred, cand))


def test_mse(rng):
    pred, target = rng.standard_normal((4, 3, 5)), rng.standard_normal((4, 3, 5))
    value = MSELoss()(torch.tensor(pred), torch.tensor(target))
    assert value.item() == pytest.approx(np.mean((pred - target) ** 2))


def _reference_multi_positive(pred: np.ndarray, target: np.ndarray, temperature: float) -> float:
    """Symmetric InfoNCE whose positives are all the windows of the query's image (soft labels
    uniform over them: SupCon's L_out, Khosla et al. 2020)."""
    p = pred / np.linalg.norm(pred, axis=1, keepdims=True)
    t = target / np.linalg.norm(target, axis=1, keepdims=True)
    logits = p @ t.T / temperature
    same = (target[:, None] == target[None]).all(-1)

    def xent(m):
        log_p = m - np.log(np.exp(m).sum(1, keepdims=True))
        return np.mean([-log_p[i, same[i]].mean() for i in range(len(m))])

    return float((xent(logits) + xent(logits.T)) / 2)


def test_repeated_images_are_multi_positive_already(rng):
    """Windows of one image in a batch share a target row, so their logits are equal: the
    CLIP loss with the diagonal labels equals the multi-positive loss (no false negatives to
    remove; issue 13 measured a sampler-free loss with the repeats masked out, no better)."""
    images = rng.standard_normal((5, 6))
    target = images[[0, 1, 0, 2, 3, 0, 4, 1]]  # image 0 three times, image 1 twice
    pred = rng.standard_normal(target.shape)
    value = ClipLoss("infonce", temperature=0.3)(torch.tensor(pred), torch.tensor(target))
    assert value.item() == pytest.approx(_reference_multi_positive(pred, target, 0.3), rel=1e-6)


def test_loss_errors():
    with pytest.raises(ValueError, match="n_outputs must equal the feature dimension"):
        ClipLoss()(torch.zeros(4, 3, 5), torch.zeros(4, 2, 5))
    with pytest.raises(ValueError, match="pred and target must have the same shape"):
        MSELoss()(torch.zeros(4, 3, 5), torch.zeros(4, 3, 6))
    with pytest.raises(ValueError, match="kind='clip' is not valid"):
        ClipLoss("clip")
    with pytest.raises(ValueError, match="temperature must be a finite number > 0"):
        ClipLoss(temperature=0.0)
    with pytest.raises(ValueError, match="Did you mean 'clip'"):
        get_loss("clap")
    assert get_loss("mse") is MSELoss and set(LOSSES) == {"clip", "mse"}


# --- two processes (gloo), launched like torchrun -------------------------------------

_WORKER = Path(__file__).with_name("_dist_worker.py")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _launch(out: Path, *flags: str) -> list[dict]:
    """Run the worker as 2 gloo processes with torchrun's environment variables."""
    env = {**os.environ, "WORLD_SIZE": "2", "MASTER_ADDR": "127.0.0.1",
           "MASTER_PORT": str(_free_port()), "OMP_NUM_THREADS": "1"}
    procs = [subprocess.Popen([sys.executable, str(_WORKER), str(out), *flags],
                              env={**env, "RANK": str(r), "LOCAL_RANK": str(r)},
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
             for r in range(2)]
    logs = [p.communicate(timeout=120)[0].decode() for p in procs]
    for proc, log in zip(procs, logs):
        assert proc.returncode == 0, log[-3000:]
    return [torch.load(out / f"rank{r}.pt", weights_only=True) for r in range(2)]


@pytest.fixture(scope="module")
def two_process_results(tmp_path_factory):
    return _launch(tmp_path_factory.mktemp("dist"))


def _single_process_gradients(kind: str) -> dict:
    sys.path.insert(0, str(_WORKER.parent))
    try:
        from _dist_worker import Task, make_problem
    finally:
        sys.path.pop(0)
    brain, target, model = make_problem()
    task = Task(model, ClipLoss(kind))
    task(brain, target).backward()
    return {k: p.grad.clone() for k, p in task.named_parameters()}


@pytest.mark.distributed
@pytest.mark.parametrize("kind", ["brainmagick", "infonce"])
def test_gathered_negatives_give_the_full_batch_gradient(two_process_results, kind):
    ranks = two_process_results
    assert all(r["world_size"] == 2 for r in ranks)
    full = _single_process_gradients(kind)
    for result in ranks:
        gathered = result["clip"][f"{kind}/True"]
        local = result["clip"][f"{kind}/False"]
        for name, grad in full.items():
            assert torch.allclose(gathered[name], grad, atol=1e-6, rtol=1e-5), name
        # Without gathering, the negatives are only the local half: another gradient.
        assert not all(torch.allclose(local[n], g, atol=1e-4) for n, g in full.items())


@pytest.mark.distributed
def test_uneven_all_gather_sums_gradients(two_process_results):
    ranks = two_process_results
    weights = torch.arange(8.0) * 3  # rank 0 weights x1 + rank 1 weights x2
    assert torch.equal(ranks[0]["uneven"], weights[:3])
    assert torch.equal(ranks[1]["uneven"], weights[3:])


@pytest.mark.slow
@pytest.mark.distributed
def test_ddp_fit_keeps_replicas_in_sync(tmp_path):
    ranks = _launch(tmp_path, "--fit")
    out = tmp_path
    lines = (out / "run" / "metrics.jsonl").read_text().splitlines()
    assert len(lines) == 2
    assert ranks[0]["fit"]["history"] == ranks[1]["fit"]["history"]
    for name, value in ranks[0]["fit"]["state"].items():
        assert torch.equal(value, ranks[1]["fit"]["state"][name]), name
