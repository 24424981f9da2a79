"""fit: a planted problem is learnt, kill-and-resume is exact, early stopping, NaN, errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from scipy.ndimage import gaussian_filter1d
from torch import nn

from neurodecode.evaluation import compute_topk_accuracy, predict
from neurodecode.exceptions import TrainingError
from neurodecode.losses import ClipLoss, MSELoss
from neurodecode.models import ConvEncoder, FmriEncoder
from neurodecode.training import SegmentDataset, fit

C, F, T, S = 12, 6, 32, 3
SMALL = {"n_virtual": 12, "hidden": 16, "depth": 2, "fourier_freqs": 4}


def planted(rng, n=300, noise=1.0):
    """Brain = subject-specific mixing of smooth stimulus features + noise."""
    stim = gaussian_filter1d(rng.standard_normal((n, F, T)), 1.5, axis=-1)
    stim = (stim / stim.std()).astype(np.float32)
    mixing = rng.standard_normal((S, C, F))
    subject = rng.integers(0, S, n)
    brain = np.einsum("ncf,nft->nct", mixing[subject], stim)
    brain = (brain + noise * rng.standard_normal(brain.shape)).astype(np.float32)
    return brain, stim, subject, rng.uniform(0, 1, (C, 2))


def _split(brain, stim, subject, a, b):
    return SegmentDataset(brain[a:b], stim[a:b], subject[a:b])


def _model(seed=0, **kw):
    torch.manual_seed(seed)
    return ConvEncoder(C, F, S, **{**SMALL, **kw})


def test_trained_encoder_retrieves_far_above_chance(rng, tmp_path):
    brain, stim, subject, pos = planted(rng)
    train, valid = _split(brain, stim, subject, 0, 200), _split(brain, stim, subject, 200, 240)
    test = _split(brain, stim, subject, 240, 300)
    with torch.random.fork_rng():
        model = _model()
        untrained = compute_topk_accuracy(predict(model, test, pos), stim[240:], ks=(1,))
        result = fit(model, ClipLoss(), train, valid, positions=pos, run_dir=tmp_path,
                     epochs=8, batch_size=32, lr=3e-3, progress=False)
    scores = compute_topk_accuracy(predict(model, test, pos, batch_size=16), stim[240:],
                                   ks=(1, 5), subjects=subject[240:], n_bootstraps=200)
    assert scores.n_candidates == 60 and scores.chance[1] == pytest.approx(1 / 60)
    assert scores.topk[1] > 0.5 > 10 * scores.chance[1] > untrained.topk[1]
    assert scores.ci[1][0] < scores.topk[1] < scores.ci[1][1]
    assert set(scores.per_subject) == {0, 1, 2}
    assert result.best_valid_loss < result.history[0]["valid_loss"] < np.log(32)
    records = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in records] == list(range(1, 9))
    assert (tmp_path / "best.pt").is_file() and (tmp_path / "last.pt").is_file()


def _strip_time(history):
    return [{k: v for k, v in record.items() if k != "time_s"} for record in history]


def test_kill_and_resume_gives_identical_results(rng, tmp_path):
    brain, stim, subject, pos = planted(rng, n=96)
    train, valid = _split(brain, stim, subject, 0, 64), _split(brain, stim, subject, 64, 96)
    kw = {"positions": pos, "batch_size": 16, "lr": 3e-3, "progress": False, "seed": 3}
    with torch.random.fork_rng():
        straight = _model(dropout=0.2)
        full = fit(straight, ClipLoss("infonce"), train, valid, run_dir=tmp_path / "a",
                   epochs=4, **kw)
        # "Killed" after epoch 2, then resumed by a fresh process with a fresh model.
        fit(_model(dropout=0.2), ClipLoss("infonce"), train, valid, run_dir=tmp_path / "b",
            epochs=2, **kw)
        resumed_model = _model(seed=99, dropout=0.2)
        resumed = fit(resumed_model, ClipLoss("infonce"), train, valid, run_dir=tmp_path / "b",
                      epochs=4, **kw)
    assert _strip_time(resumed.history) == _strip_time(full.history)
    assert resumed.best_epoch == full.best_epoch
    for name, value in straight.state_dict().items():
        assert torch.equal(value, resumed_model.state_dict()[name]), name
    lines = (tmp_path / "b" / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line)["epoch"] for line in lines] == [1, 2, 3, 4]


class _EvalConstant(nn.Module):
    """MSE when training, a constant validation loss: validation never improves."""

    def forward(self, pred, target):
        value = MSELoss()(pred, target)
        return value if self.training else value.detach() * 0 + 1.0


def test_early_stopping_keeps_the_best_epoch(rng, tmp_path):
    brain, stim, subject, pos = planted(rng, n=64)
    result = fit(_model(), _EvalConstant(), _split(brain, stim, subject, 0, 48),
                 _split(brain, stim, subject, 48, 64), positions=pos, run_dir=tmp_path,
                 epochs=20, patience=2, batch_size=16, progress=False)
    assert result.stopped_early and result.best_epoch == 1 and len(result.history) == 3
    # Resuming a finished run does nothing more.
    again = fit(_model(), _EvalConstant(), _split(brain, stim, subject, 0, 48),
                _split(brain, stim, subject, 48, 64), positions=pos, run_dir=tmp_path,
                epochs=20, patience=2, batch_size=16, progress=False)
    assert len(again.history) == 3


class _NaNAfter(nn.Module):
    """MSE that turns NaN from training call ``n`` on (a planted divergence)."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self.n, self.calls = n, 0

    def forward(self, pred, target):
        self.calls += self.training
        value = MSELoss()(pred, target)
        return value * float("nan") if self.training and self.calls > self.n else value


def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(rng, tmp_path):
    brain, stim, subject, pos = planted(rng, n=64)
    train, valid = _split(brain, stim, subject, 0, 48), _split(brain, stim, subject, 48, 64)
    with pytest.raises(TrainingError, match=r"epoch 3, batch 1.*kept at.*learning rate.*scaling"):
        fit(_model(), _NaNAfter(6), train, valid, positions=pos, run_dir=tmp_path, epochs=5,
            batch_size=16, progress=False)
    last = torch.load(tmp_path / "last.pt", weights_only=True)
    assert last["epoch"] == 2 and all(torch.isfinite(v).all() for v in last["model"].values())
    assert len((tmp_path / "metrics.jsonl").read_text().splitlines()) == 2
    with pytest.raises(TrainingError, match="no epoch completed"):
        fit(_model(), _NaNAfter(0), train, valid, positions=pos, run_dir=tmp_path / "new",
            epochs=5, batch_size=16, progress=False)


def test_fit_errors(rng, tmp_path):
    brain, stim, subject, pos = planted(rng, n=32)
    train = _split(brain, stim, subject, 0, 24)
    empty = _split(brain, stim, subject, 24, 24)
    kw = {"positions": pos, "run_dir": tmp_path, "progress": False}
    with pytest.raises(ValueError, match=r"valid_set is empty \(0 segments\)"):
        fit(_model(), ClipLoss(), train, empty, **kw)
    with pytest.raises(ValueError, match="n_outputs=4 features but the stimulus features have "
                                         "dimension 6"):
        fit(ConvEncoder(C, 4, S, **SMALL), ClipLoss(), train, train, **kw)
    with pytest.raises(ValueError, match="optimizer='sgd' is not valid"):
        fit(_model(), ClipLoss(), train, train, optimizer="sgd", **kw)
    with pytest.raises(ValueError, match="lr must be a finite number > 0"):
        fit(_model(), ClipLoss(), train, train, lr=0.0, **kw)
    fit(_model(), ClipLoss(), train, train, epochs=1, **kw)
    with pytest.raises(TrainingError, match="different model or loss.*resume=False"):
        fit(_model(hidden=8), ClipLoss(), train, train, epochs=2, **kw)
    result = fit(_model(hidden=8), ClipLoss(), train, train, epochs=1, resume=False, **kw)
    assert len(result.history) == 1
    # same shapes, other settings: a fixed temperature, a dropout rate, the loss kind
    for other in (ClipLoss(temperature=0.1), ClipLoss("infonce")):
        with pytest.raises(TrainingError, match=r"other model or loss settings \{'loss\."):
            fit(_model(hidden=8), other, train, train, epochs=2, **kw)
    with pytest.raises(TrainingError, match=r"other model or loss settings .*\.p': \(None, '0.3'\)"):
        fit(_model(hidden=8, dropout=0.3), ClipLoss(), train, train, epochs=2, **kw)
    with pytest.raises(ValueError, match=r"temperature must be >= 0.01 .* got 0.001"):
        ClipLoss(temperature=0.001)


def test_fmri_encoder_trains_without_positions(rng, tmp_path):
    features = rng.standard_normal((120, 5)).astype(np.float32)
    mixing = rng.standard_normal((2, 5, 40))
    subject = rng.integers(0, 2, 120)
    voxels = np.einsum("nf,nfv->nv", features, mixing[subject]).astype(np.float32)
    voxels += 0.3 * rng.standard_normal(voxels.shape).astype(np.float32)
    data = SegmentDataset(voxels, features, subject)
    torch.manual_seed(0)
    model = FmriEncoder(40, 5, 2, hidden=32, depth=1, dropout=0.0)
    result = fit(model, MSELoss(), data, data, run_dir=tmp_path, epochs=15, batch_size=20,
                 lr=1e-2, progress=False)
    assert result.best_valid_loss < 0.3 * result.history[0]["train_loss"]
    assert predict(model, data).shape == (120, 5)


def test_amp_on_cpu_and_worker_processes(rng, tmp_path):
    brain, stim, subject, pos = planted(rng, n=64)
    train, valid = _split(brain, stim, subject, 0, 48), _split(brain, stim, subject, 48, 64)
    result = fit(_model(), ClipLoss(), train, valid, positions=pos, run_dir=tmp_path, epochs=2,
                 batch_size=16, lr=3e-3, amp=True, num_workers=1, progress=True)
    assert len(result.history) == 2
    assert all(np.isfinite(r["train_loss"]) for r in result.history)
