"""Word targets come from the timeline of the sound they belong to, at their own time.

Each study layout is written in the dataset's real format and read by its reader:
- MEG-MASC (Gwilliams et al. 2023, OSF ag3kj, ``sub-*/ses-*/meg/*_events.tsv``): every
  sound, word and phoneme row's ``trial_type`` is a dict literal naming its WAV
  (``'sound': 'Stimuli/Audio/lw1_0.0.wav'``), as brainmagick's ``bm/studies/
  gwilliams2022.py`` reads them;
- Brennan & Hale 2019 (Deep Blue ``AliceChapterOne-EEG.csv`` word onsets within each
  ``DownTheRabbitHoleFinal_SoundFile<N>.wav`` plus ``proc/S*.mat`` ``trl`` epochs);
- MOUS (Schoffelen et al. 2019, BIDS ``events.tsv`` with ``type``/``value``: a
  ``Sound`` row ``Start File N.wav`` and ``Word`` rows without a file).
The sound's envelope grows linearly, so a right placement gives r = 1 between a word's
target and its offset into its sound.
"""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pandas as pd
import pytest
from scipy.io import savemat

from neurodecode.align import make_segments
from neurodecode.exceptions import AlignmentError
from neurodecode.features import compute_stimulus_features
from neurodecode.features.base import resample_frames
from neurodecode.io.studies import get_study
from tests.io_studies._fake import events_tsv, meg_raw, write_bids

SFREQ = 120.0
SOUND_S = 12.0


def ramp_wav(path, seconds: float = SOUND_S, sr: int = 16000):
    """A 200 Hz tone whose amplitude grows linearly from 0.05 to 1."""
    import soundfile

    t = np.arange(int(seconds * sr)) / sr
    path.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(path, ((0.05 + 0.95 * t / seconds) * np.sin(2 * np.pi * 200 * t))
                    .astype(np.float32), sr)
    return path


def _word_times(n: int = 24) -> np.ndarray:
    return 0.5 + 0.4 * np.arange(n)  # offsets into the sound, 0.5 .. 9.7 s


def masc_layout(root, rng, sound_onset: float = 2.0, subject: str = "01"):
    rows = [(sound_onset, SOUND_S, "{'story': 'lw1', 'sound_id': 0.0, 'kind': 'sound', "
             "'sound': 'Stimuli/Audio/lw1_0.0.wav', 'condition': 'sentence'}")]
    for k, off in enumerate(_word_times()):
        rows.append((sound_onset + off, 0.3, "{'story': 'lw1', 'sound_id': 0.0, 'kind': "
                     f"'word', 'word': 'w{k}', 'sound': 'Stimuli/Audio/lw1_0.0.wav', "
                     "'condition': 'sentence', 'pronounced': nan}"))
        rows.append((sound_onset + off, 0.1, "{'story': 'lw1', 'sound_id': 0.0, 'kind': "
                     "'phoneme', 'phoneme': 't_B', 'sound': 'Stimuli/Audio/lw1_0.0.wav', "
                     "'condition': 'sentence'}"))
    folder = write_bids(meg_raw(rng, seconds=20.0), root, subject=subject, session="0",
                        task="0")
    events_tsv(folder, f"sub-{subject}_ses-0_task-0",
               pd.DataFrame(rows, columns=["onset", "duration", "trial_type"]).assign(value=1))
    ramp_wav(root / "stimuli" / "audio" / "lw1_0.wav")
    return root


def brennan_layout(root, rng, sound_onset: float = 1.0):
    root.mkdir(parents=True, exist_ok=True)
    sfreq, n = 500.0, 10_000
    labels = np.array(["1", "2", "3", "VEOG"], dtype=object)
    savemat(root / "S01.mat", {"raw": {"hdr": {"label": labels, "Fs": sfreq},
                                       "trial": rng.standard_normal((4, n)), "fsample": sfreq}})
    offsets = _word_times()
    begsample = np.round((sound_onset + offsets) * sfreq) + 1 - 150  # offset -150, 1-based
    trl = np.c_[begsample, begsample + 399, np.full(len(offsets), -150.0), np.ones(len(offsets)),
                np.zeros(len(offsets)), np.arange(1, len(offsets) + 1)]
    buf = io.BytesIO()
    savemat(buf, {"proc": {"trl": trl}})
    with zipfile.ZipFile(root / "proc.zip", "w") as handle:
        handle.writestr("proc/S01.mat", buf.getvalue())
    zipfile.ZipFile(root / "proc.zip").extractall(root)
    pd.DataFrame({"Word": [f"w{k}" for k in range(len(offsets))], "Segment": 1,
                  "onset": offsets, "offset": offsets + 0.3, "Sentence": 1}).to_csv(
        root / "AliceChapterOne-EEG.csv", index=False)
    ramp_wav(root / "audio" / "DownTheRabbitHoleFinal_SoundFile1.wav")
    return root


def mous_layout(root, rng, sound_onset: float = 2.0):
    folder = write_bids(meg_raw(rng, seconds=20.0), root, subject="A2002", task="auditory")
    offsets = _word_times()
    events_tsv(folder, "sub-A2002_task-auditory", pd.DataFrame({
        "onset": np.r_[sound_onset, sound_onset + offsets], "duration": 0.0,
        "type": ["Sound"] + ["Word"] * len(offsets),
        "value": ["Start File 1.wav"] + [f"w{k}" for k in range(len(offsets))]}))
    ramp_wav(root / "stimuli" / "audio_files" / "EQ_Ramp_Int2_Int1LPF001.wav")
    return root


LAYOUTS = {"gwilliams2022": (masc_layout, "01"), "brennan2019": (brennan_layout, "1"),
           "schoffelen2019": (mous_layout, "A2002")}


@pytest.mark.parametrize("study", sorted(LAYOUTS))
def test_word_target_is_its_sound_at_its_offset(study, tmp_path, rng):
    make, subject = LAYOUTS[study]
    root = make(tmp_path / study, rng)
    (rec,) = get_study(study).read(root, subject)
    features = compute_stimulus_features("envelope", rec.events, root, sfreq=100.0)
    segs = make_segments(rec, tmin=0.0, tmax=0.5, on="word", sfreq=SFREQ, baseline=None,
                         features=features)
    sounds = rec.events[rec.events["kind"] == "sound"]
    (sound_onset,), (stim,) = sounds["onset"].to_numpy(), sounds["stimulus"].to_numpy()
    timeline = resample_frames(features.values[stim], 100.0, SFREQ)
    offsets = segs.meta["onset"].to_numpy() - sound_onset
    np.testing.assert_allclose(offsets, _word_times(), atol=2e-3)
    first = int(round(sound_onset * SFREQ))
    for window, start in zip(segs.stimulus, segs.meta["start"]):
        np.testing.assert_array_equal(window, timeline[:, start - first:start - first + 60])
    r = np.corrcoef(segs.stimulus[:, 0, 0], offsets)[0, 1]
    assert r > 0.999  # the targets follow the word's offset into its sound


def test_words_of_one_sound_in_two_recordings_get_the_same_targets(tmp_path, rng):
    recs = [get_study("gwilliams2022").read(masc_layout(tmp_path / "d", rng, onset, s), s)[0]
            for onset, s in ((2.0, "01"), (3.37, "02"))]
    features = compute_stimulus_features("envelope", recs[0].events, tmp_path / "d", sfreq=100.0)
    a, b = (make_segments(r, tmin=0.0, tmax=0.5, on="word", sfreq=SFREQ, baseline=None,
                          features=features).stimulus for r in recs)
    assert np.abs(a - b).max() < 0.05 * np.abs(a).max()  # one sample of shift at most


def test_word_row_whose_sound_is_missing(tmp_path, rng):
    root = masc_layout(tmp_path / "m", rng)
    (rec,) = get_study("gwilliams2022").read(root, "01")
    features = compute_stimulus_features("envelope", rec.events, root, sfreq=100.0)
    no_sound = rec.events[rec.events["kind"] != "sound"]
    with pytest.raises(AlignmentError, match="names the sound .* but no sound event"):
        features.to_timeline(no_sound, 2400, SFREQ)
    late = rec.events.copy()
    late.loc[late["kind"] == "word", "onset"] += 30.0  # words after their sound ended
    with pytest.raises(AlignmentError, match="a word row at .* names the sound"):
        features.to_timeline(late, 6000, SFREQ)
