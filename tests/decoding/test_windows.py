"""Timeline decoding on streamed windows: the streamed scorer gives the numbers of the
materialised path (every test prediction and target in memory, ``compute_topk_accuracy``),
reads a bounded number of targets at a time, and the training helpers leave the global
random state alone."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from neurodecode.align.dataset import candidate_ids, make_streamed
from neurodecode.align.store import RecordingStore
from neurodecode.decoding.windows import (
    CURVE_KS,
    fresh_model,
    rank_windows,
    score_model,
    split_windows,
    train_baselines,
    window_candidates,
)
from neurodecode.evaluation import compute_topk_accuracy, predict
from neurodecode.features import StimulusFeatures
from neurodecode.io.recording import Recording
from neurodecode.losses import MSELoss
from neurodecode.models import ConvEncoder

SFREQ = 120.0
N_CHANNELS = 5


def _recording(rng, subject: str, onset: float) -> Recording:
    """Story "a" (8 words, 5 distinct texts) and story "b", heard at ``onset`` and +10 s."""
    rows = []
    for stim, start in (("a", onset), ("b", onset + 10.0)):
        rows.append({"onset": start, "duration": 8.0, "kind": "sound", "stimulus": stim,
                     "text": "", "block": stim, "condition": "sound"})
        rows += [{"onset": start + 0.25 + 0.9 * k, "duration": 0.3, "kind": "word",
                  "stimulus": stim, "text": f"{stim}{k % 5}", "block": stim,
                  "condition": "word"} for k in range(8)]
    data = rng.standard_normal((N_CHANNELS, int(30 * SFREQ))).astype(np.float32)
    return Recording(data, SFREQ, pd.DataFrame(rows), "meeg", subject=subject,
                     ch_names=[f"MEG{i}" for i in range(N_CHANNELS)],
                     ch_types=["mag"] * N_CHANNELS, pos_2d=rng.uniform(0, 1, (N_CHANNELS, 2)))


@pytest.fixture
def windows(tmp_path, rng):
    features = StimulusFeatures({s: rng.standard_normal((3, 80)).cumsum(1).astype(np.float32)
                                 for s in "ab"}, 10.0, "planted")
    recs = [_recording(rng, f"s{s}", 1.0 + 0.37 * s) for s in range(3)]
    return make_streamed(recs, features, RecordingStore(tmp_path), tmin=-0.2, tmax=0.8,
                         on="word", sfreq=SFREQ, baseline=(None, 0.0))


def _make():
    return ConvEncoder(N_CHANNELS, 3, 3, n_virtual=4, hidden=8, depth=1, fourier_freqs=2)


def _model():
    return fresh_model(_make, 0)


def test_streamed_scoring_equals_the_materialised_path(windows):
    test = windows.dataset(windows.meta, windows.fit_scalers(windows.meta, "robust", 20.0))
    candidates = window_candidates(windows, test)
    model = _model()
    kw = dict(ks=(1, 5), pool_size=None, n_bootstraps=50, seed=2)
    result, curve = score_model(model, test, candidates, positions=windows.pos_2d,
                                device="cpu", **kw)
    # the materialised path: every prediction and target of the test split in memory
    pred = predict(model, test, positions=windows.pos_2d)
    target = test.stimulus(np.arange(len(test)))
    old = compute_topk_accuracy(pred, target, segment_ids=candidate_ids(windows, test.meta),
                                groups=test.meta["text"].astype(str).to_numpy(),
                                subjects=test.subject, **kw)
    np.testing.assert_array_equal(result.rank, old.rank)
    assert result.to_dict() == old.to_dict()
    assert result.n_candidates == 16 and result.n_words == 10  # 16 positions, 10 words
    assert list(curve.topk) == [k for k in CURVE_KS if k <= 16]
    old_curve = compute_topk_accuracy(pred, target, ks=list(curve.topk),
                                      segment_ids=candidate_ids(windows, test.meta),
                                      n_bootstraps=50, seed=2)
    assert curve.topk == old_curve.topk and curve.ci == old_curve.ci


def test_ranking_reads_bounded_blocks_of_targets(windows, monkeypatch):
    """Targets are cut a block at a time (the true ones of a query block, or one chunk of
    candidates), never all the test windows' at once; predicting cuts none."""
    test = windows.dataset(windows.meta)
    candidates = window_candidates(windows, test)
    sizes = []
    original = test.stimulus

    def spy(indices):
        sizes.append(len(indices))
        return original(indices)

    monkeypatch.setattr(test, "stimulus", spy)
    row_bytes = 4 * 3 * windows.width
    ranks = rank_windows(_model(), test, candidates, positions=windows.pos_2d, device="cpu",
                         max_bytes=5 * row_bytes)  # candidate chunks of 5 rows
    assert len(ranks["rank"]) == len(test) == 48 and ranks["n_candidates"] == 16
    # the true targets of the query block, 16 queries at a time, then 4 chunks of 5
    assert max(sizes) <= 16 < len(test) and sizes[-4:] == [5, 5, 5, 1]


def test_words_only_for_word_windows(windows):
    sounds = windows.meta.assign(kind="sound")
    assert window_candidates(windows, windows.dataset(sounds)).words is None
    words = window_candidates(windows, windows.dataset(windows.meta)).words
    assert words is not None and len(words) == 16 and set(words) == {
        f"{s}{k}" for s in "ab" for k in range(5)}


def test_split_windows_holds_out_stories_and_shuffles_validation(windows):
    kw = dict(by="block", test_size=0.5, valid_size=0.0, seed=0, shuffle_seed=0,
              allow_shared_stimuli=False)
    splits = split_windows(windows, **kw)
    assert set(splits["train"]["block"]).isdisjoint(splits["test"]["block"])
    again = split_windows(windows, **kw)
    for name in splits:
        pd.testing.assert_frame_equal(splits[name], again[name])


def test_baselines_trained_or_untrained_and_the_global_generator_untouched(windows, tmp_path):
    sets = {k: windows.dataset(windows.meta) for k in ("train", "valid")}
    state = torch.random.get_rng_state()
    models = train_baselines({"untrained": None, "regression": MSELoss()}, _make, sets,
                             windows.pos_2d, run_dir=tmp_path, seed=4, progress=False,
                             epochs=1, batch_size=16)
    assert torch.equal(torch.random.get_rng_state(), state)
    fresh = fresh_model(_make, 4)
    for a, b in zip(models["untrained"].parameters(), fresh.parameters()):
        assert torch.equal(a, b)
    assert (tmp_path / "baseline_regression" / "best.pt").is_file()
    assert not all(torch.equal(a, b) for a, b in zip(models["regression"].parameters(),
                                                     fresh.parameters()))
