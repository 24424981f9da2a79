"""Stimulus audio for simulations: the real audiobook speech, or speech-like synthetic sound."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .._validation import check_positive, check_type
from ..exceptions import DataNotFoundError

_TRIAL = re.compile(r"^trial(\d+)\.wav$")


@dataclass
class AudioTrial:
    """One stimulus sound.

    Parameters
    ----------
    name : str
        Identifier, e.g. ``"trial01"`` (the file stem).
    wav : array of shape (n_samples,)
        Mono waveform, float32 in [-1, 1].
    sr : int
        Sampling rate in Hz.
    text : str
        Transcript (``""`` when none).
    """

    name: str
    wav: np.ndarray
    sr: int
    text: str = ""

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.wav.size / self.sr


def load_audiobook(root: str | Path, n_trials: int | None = None) -> list[AudioTrial]:
    """Read the audiobook trials ``trialNN.wav`` (and ``trialNN.txt``) of ``root``.

    Parameters
    ----------
    root : path
        The ``speech_audiobook`` folder, or a data root that contains it.
    n_trials : int, optional
        Read the first ``n_trials`` trials (in numeric order); all when ``None``.

    Returns
    -------
    trials : list of AudioTrial
        Mono float32 waveforms at the files' sampling rate.
    """
    import soundfile

    folder = _audiobook_folder(Path(root))
    files = sorted((p for p in folder.iterdir() if _TRIAL.match(p.name)), key=_trial_number)
    if n_trials is not None:
        check_type("n_trials", n_trials, int)
        check_positive("n_trials", n_trials)
        if n_trials > len(files):
            raise ValueError(f"n_trials={n_trials} but {str(folder)!r} holds only "
                             f"{len(files)} trialNN.wav files.")
        files = files[:n_trials]
    trials = []
    for path in files:
        wav, sr = soundfile.read(path, dtype="float32", always_2d=True)
        text_path = path.with_suffix(".txt")
        text = text_path.read_text(encoding="utf-8").strip() if text_path.exists() else ""
        trials.append(AudioTrial(path.stem, wav.mean(axis=1), int(sr), text))
    return trials


def _trial_number(path: Path) -> int:
    match = _TRIAL.match(path.name)
    assert match is not None, path  # callers keep only names matching _TRIAL
    return int(match.group(1))


def _audiobook_folder(root: Path) -> Path:
    for folder in (root, root / "speech_audiobook"):
        if folder.is_dir() and any(_TRIAL.match(p.name) for p in folder.iterdir()):
            return folder
    raise DataNotFoundError(
        f"root={str(root)!r} holds no trialNN.wav files (nor does its speech_audiobook "
        "folder). Point it at the speech_audiobook data, or use make_speech_like_audio."
    )


def make_speech_like_audio(duration: float, sr: int = 16000, seed: int = 0) -> np.ndarray:
    """Synthetic sound with the temporal and spectral structure of speech.

    Phrases of 1 to 3 s separated by pauses of 0.2 to 0.7 s; each phrase is a train of
    syllables of 120 to 300 ms (about 4-5 per second, the syllable rate of speech).
    Each syllable is a harmonic tone whose fundamental (100-220 Hz per "speaker",
    declining over the phrase, gliding within the syllable) is shaped by three
    formant-like resonances (F1 300-800 Hz, F2 900-2300 Hz, F3 2400-3000 Hz, drawn per
    syllable as for a vowel) under a raised-cosine amplitude envelope; half of the
    syllables start with a 20-50 ms noise burst, like a consonant.

    Parameters
    ----------
    duration : float
        Length in seconds (> 0).
    sr : int
        Sampling rate in Hz (>= 8000).
    seed : int

    Returns
    -------
    wav : array of shape (round(duration * sr),)
        float32, peak amplitude 0.9.
    """
    check_positive("duration", duration)
    check_type("sr", sr, int)
    if sr < 8000:
        raise ValueError(f"sr={sr} Hz is too low for speech-like sound; expected >= 8000.")
    check_type("seed", seed, int)
    rng = np.random.default_rng(seed)
    n_total = int(round(duration * sr))
    wav = np.zeros(n_total)
    f0_speaker = rng.uniform(100, 220)
    start = int(0.1 * sr)
    while start < n_total:
        start = _phrase(rng, wav, start, sr, f0_speaker)
        start += int(rng.uniform(0.2, 0.7) * sr)
    peak = np.max(np.abs(wav))
    return (0.9 * wav / peak if peak > 0 else wav).astype(np.float32)


def _phrase(rng: np.random.Generator, wav: np.ndarray, start: int, sr: int,
            f0_speaker: float) -> int:
    """Write one phrase into ``wav`` from sample ``start``; return the sample after it."""
    length = rng.uniform(1.0, 3.0)
    t, end = 0.0, start
    while t < length and end < wav.size:
        dur = rng.uniform(0.12, 0.3)
        f0 = f0_speaker * (1.1 - 0.2 * t / length) * rng.uniform(0.95, 1.05)
        syl = _syllable(rng, int(dur * sr), sr, f0)
        stop = min(end + syl.size, wav.size)
        wav[end:stop] += syl[: stop - end]
        end, t = stop, t + dur
    return end


def _syllable(rng: np.random.Generator, n: int, sr: int, f0: float) -> np.ndarray:
    """A formant-shaped harmonic tone with a raised-cosine envelope (and maybe a burst)."""
    glide = np.linspace(1.0, rng.uniform(0.9, 1.1), n)
    phase = 2 * np.pi * np.cumsum(f0 * glide) / sr
    n_harm = int(min(4000.0, 0.45 * sr) // f0)
    k = np.arange(1, n_harm + 1)
    formants = (rng.uniform(300, 800), rng.uniform(900, 2300), rng.uniform(2400, 3000))
    amp = sum(np.exp(-0.5 * ((k * f0 - f) / bw) ** 2) / (j + 1)
              for j, (f, bw) in enumerate(zip(formants, (90.0, 120.0, 160.0))))
    amp = amp + 0.05 / k
    tone = amp @ np.sin(k[:, None] * phase[None, :])
    attack, release = int(0.25 * n), int(0.4 * n)
    env = np.ones(n)
    env[:attack] = np.sin(np.linspace(0, np.pi / 2, attack)) ** 2
    env[n - release:] = np.cos(np.linspace(0, np.pi / 2, release)) ** 2
    out = tone * env * rng.uniform(0.5, 1.0)
    if rng.random() < 0.5:
        n_burst = min(n, int(rng.uniform(0.02, 0.05) * sr))
        burst = np.diff(rng.standard_normal(n_burst + 1)) * np.hanning(n_burst)
        out[:n_burst] += 0.3 * np.max(np.abs(out)) * burst / np.max(np.abs(burst))
    return out


__all__ = ["AudioTrial", "load_audiobook", "make_speech_like_audio"]
