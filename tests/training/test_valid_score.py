"""fit(valid_score=...): the best epoch and early stopping follow a score, not the loss."""

from __future__ import annotations

import torch

from neurodecode.losses import MSELoss
from neurodecode.training import fit
from tests.training.test_fit import _model, _split, planted


def test_valid_score_picks_the_best_epoch_and_stops_early(rng, tmp_path):
    """Planted scores 0.2, 0.6, 0.4, 0.5: epoch 2 is best, patience 2 stops after epoch 4,
    and the model returned holds epoch 2's weights whatever the validation loss did."""
    brain, stim, subject, pos = planted(rng, n=64)
    planted_scores, seen = iter([0.2, 0.6, 0.4, 0.5, 0.9]), []

    def score(model):
        seen.append({k: v.clone() for k, v in model.state_dict().items()})
        return next(planted_scores)

    model = _model()
    result = fit(model, MSELoss(), _split(brain, stim, subject, 0, 48),
                 _split(brain, stim, subject, 48, 64), positions=pos, run_dir=tmp_path,
                 epochs=20, patience=2, batch_size=16, lr=1e-2, progress=False,
                 valid_score=score)
    assert result.stopped_early and result.best_epoch == 2 and len(result.history) == 4
    assert [h["valid_score"] for h in result.history] == [0.2, 0.6, 0.4, 0.5]
    assert result.best_valid_loss == -0.6
    assert all(torch.equal(v, seen[1][k]) for k, v in model.state_dict().items())
    assert not all(torch.equal(v, seen[3][k]) for k, v in model.state_dict().items())
