"""Brennan & Hale 2019: word onsets from ``proc.trl`` as the dataset's authors wrote it.

Fixture source: ``cnllab/alice-eeg-shared`` (the authors' pipeline), ``helpers/
get_alice2_trials.m`` as called by ``preprocessing/timelock_single.m``: one epoch per word
of ``AliceChapterOne-EEG.csv`` (columns Word, Trigger, Segment, onset, offset, Order, ...),
``epoch = [-.3 1]`` at 500 Hz, word sample ``a = po(passage) + ceil(onset * Fs)`` where
``po`` is the segment's trigger sample plus the e-prime lag (60 ms for segment 1, 50 ms
after), ``trl = [a - 150, a + 500, -150, trigger, passage, onset, <table columns 5..>,
trial_index]`` floored, and ``proc.varnames = {'trigger', 'passage', 'onset', <table
columns 5..>, 'trial_index'}``.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from scipy.io import savemat

from neurodecode.io.studies import get_study
from neurodecode.io.studies.brennan2019 import AUDIO, WORDS

SFREQ = 500.0
#: Segment trigger samples (1-based) in the recording; the e-prime lag is added to them.
TRIGGERS = {1: 2001, 2: 9001}


def _word_table() -> pd.DataFrame:
    """The first words of segments 1 and 2, in the release's column layout."""
    rows = [("Alice", 1, 1, 0.046, 0.608721, 1, 1, 1), ("was", 1, 1, 0.562721, 0.830543, 2, 2, 1),
            ("beginning", 1, 1, 0.784543, 1.302929, 3, 3, 1),
            ("Down", 1, 2, 0.131, 0.402, 4, 1, 2), ("the", 1, 2, 0.402, 0.533, 5, 2, 2)]
    return pd.DataFrame(rows, columns=["Word", "Trigger", "Segment", "onset", "offset", "Order",
                                       "Position", "Sentence"])


def _authors_trl(words: pd.DataFrame) -> tuple[np.ndarray, list[str], np.ndarray]:
    """``proc.trl`` and ``proc.varnames`` as ``get_alice2_trials.m`` builds them, and the
    planted word samples ``a`` (1-based)."""
    lag = {1: 0.060, 2: 0.050}
    po = {p: t + lag[p] * SFREQ for p, t in TRIGGERS.items()}
    a = np.array([po[p] + np.ceil(o * SFREQ) for p, o in zip(words["Segment"], words["onset"])])
    extra = words.columns[4:]  # MATLAB's predictors{e, 5:end}: offset, Order, ...
    trl = np.column_stack([a - 0.3 * SFREQ, a + 1.0 * SFREQ, np.full(len(a), -0.3 * SFREQ),
                           words["Trigger"], words["Segment"], words["onset"],
                           words[extra].to_numpy(float), np.arange(1, len(a) + 1)])
    trl[:, :3] = np.floor(trl[:, :3])
    return trl, ["trigger", "passage", "onset", *extra, "trial_index"], a


def _layout(root, trl, varnames, rng, words):
    (root / "proc").mkdir(parents=True)
    labels = np.array(["1", "2", "3", "VEOG"], dtype=object)
    savemat(root / "S01.mat", {"raw": {"hdr": {"label": labels, "Fs": SFREQ},
                                       "trial": rng.standard_normal((4, 12_000)),
                                       "fsample": SFREQ}})
    savemat(root / "proc" / "S01.mat", {"proc": {
        "trl": trl, "varnames": np.array(varnames, dtype=object), "tot_trials": len(trl),
        "tot_chans": 61, "subject": "S01"}})
    words.to_csv(root / WORDS, index=False)
    for segment in (1, 2):
        path = root / AUDIO.format(segment=segment)
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(b"RIFF")


def test_word_onsets_are_the_epochs_t0_as_the_authors_defined_it(tmp_path, rng):
    words = _word_table()
    trl, varnames, a = _authors_trl(words)
    _layout(tmp_path, trl, varnames, rng, words)
    (rec,) = get_study("brennan2019").read(tmp_path, "S01")
    events = rec.events
    onsets = events.loc[events.kind == "word", "onset"].to_numpy()
    assert np.allclose(onsets, (a - 1) / SFREQ)  # sample a is 1-based: (a - 1) / Fs s
    # brainmagick's begsample convention would put every word 0.3 s earlier
    assert np.allclose(onsets - (trl[:, 0] - 1) / SFREQ, 0.3)
    # each segment's sound starts at its trigger + e-prime lag (to the ceil of one sample)
    sounds = events.loc[events.kind == "sound", "onset"].to_numpy()
    starts = np.array([(TRIGGERS[1] - 1) / SFREQ + 0.060, (TRIGGERS[2] - 1) / SFREQ + 0.050])
    assert np.all((sounds >= starts - 1e-9) & (sounds < starts + 1 / SFREQ))


def test_epochs_out_of_the_tables_order_leave_the_participant_out(tmp_path, rng, caplog):
    """The authors note buggy triggers (S26, S34, S35, S36) whose word order is not the
    table's: such a participant is left out with a warning naming the column and epoch."""
    words = _word_table()
    trl, varnames, _ = _authors_trl(words)
    order = 3 + varnames.index("Order")
    trl[[1, 2], order] = trl[[2, 1], order]  # two epochs of another word
    _layout(tmp_path, trl, varnames, rng, words)
    with caplog.at_level(logging.WARNING, logger="neurodecode"):
        assert get_study("brennan2019").read(tmp_path, "S01") == []
    assert ("participant S01 is left out: S01.mat: proc.trl's 'Order' column does not match "
            "AliceChapterOne-EEG.csv's 'Order' at 2 epoch(s), the first epoch 2 (3 vs 2)"
            in caplog.text)


def test_a_trl_without_column_names_is_read_by_its_first_three_columns(tmp_path, rng):
    words = _word_table()
    trl, _, a = _authors_trl(words)
    _layout(tmp_path, trl[:, :6], ["no", "names"], rng, words)  # varnames do not fit: no check
    (rec,) = get_study("brennan2019").read(tmp_path, "S01")
    assert np.allclose(rec.events.loc[rec.events.kind == "word", "onset"], (a - 1) / SFREQ)
