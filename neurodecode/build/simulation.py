"""Simulated recordings of a recipe (``data.source: simulated``): speech or images."""

from __future__ import annotations

from typing import Any

from ..config import SimulationConfig
from ..exceptions import ConfigError
from ..io.recording import Recording
from .paths import expand_path

#: Rate (Hz) of simulated recordings when ``segments.sfreq`` is null: brainmagick's 120 Hz
#: for speech, 100 Hz (THINGS-EEG2's preprocessed rate) for images.
SIMULATED_SFREQ = {"speech": 120.0, "images": 100.0}


def build_simulated(sim: SimulationConfig, feature: Any, *, sfreq: float, seed: int,
                    progress: bool = False) -> tuple[list[Recording], Any]:
    """Simulated recordings of ``sim.n_subjects`` listening to speech, and its features.

    The audio is the audiobook in ``sim.audio_root`` (``trialNN.wav``) or, when it is
    ``None``, synthetic speech-like sound; each trial is cut to ``sim.trial_duration`` s.

    Parameters
    ----------
    sim : SimulationConfig
        The ``data.simulation`` section.
    feature : Feature
        The stimulus feature.
    sfreq : float
        Rate of the simulated recordings (Hz).
    seed : int
        Seed of the audio and the simulation.
    progress : bool
        Show progress bars.

    Returns
    -------
    recordings : list of Recording
        One per simulated subject.
    features : StimulusFeatures
        The feature of each trial's audio.
    """
    from ..features import StimulusFeatures
    from ..simulate import load_audiobook, make_speech_like_audio, simulate_meeg

    if sim.audio_root is not None:
        trials = load_audiobook(sim.audio_root, n_trials=sim.n_trials)
        sounds = [(t.name, t.wav[: int(sim.trial_duration * t.sr)], t.sr) for t in trials]
    else:
        sounds = [(f"trial{k + 1:02d}", make_speech_like_audio(sim.trial_duration, 16000,
                                                                 seed=seed + k), 16000)
                  for k in range(sim.n_trials)]
    values = dict(zip([s[0] for s in sounds],
                      feature.compute([(wav, sr) for _, wav, sr in sounds], progress=progress)))
    subjects = simulate_meeg(list(values.values()), sfreq, stimulus_ids=list(values),
                             n_subjects=sim.n_subjects, sensors=sim.sensors, snr_db=sim.snr_db,
                             response=sim.response, subject_variability=sim.subject_variability,
                             seed=seed, progress=progress)
    features = StimulusFeatures(values, sfreq, feature.name)
    return [s.to_recording() for s in subjects], features


def build_simulated_images(sim: SimulationConfig, feature: Any, *, sfreq: float, seed: int,
                           progress: bool = False) -> tuple[list[Recording], Any]:
    """Simulated EEG of ``sim.n_subjects`` viewing images, and the images' features.

    The images are the 92 of ``sim.image_root`` (rsatoolbox's Kriegeskorte et al. 2008
    file) or, when it is ``None`` or absent, ``sim.n_images`` generated images; the last
    ``sim.n_test_images`` (after a seeded shuffle) are the zero-shot test images.

    Parameters
    ----------
    sim : SimulationConfig
        The ``data.simulation`` section.
    feature : Feature
        The image feature.
    sfreq : float
        Rate of the simulated EEG (Hz).
    seed : int
        Seed of the images, the test split and the simulation.
    progress : bool
        Show progress bars.

    Returns
    -------
    recordings : list of Recording
        One per simulated subject.
    features : StimulusFeatures
        The feature of each image.
    """
    import numpy as np

    from ..features import StimulusFeatures
    from ..simulate.images import generated_images, load_92_images, simulate_image_eeg

    root = expand_path(sim.image_root)
    if root is not None and root.is_dir():
        images = load_92_images(root)[: sim.n_images]
    else:
        images = generated_images(sim.n_images, seed=seed)
    if not 2 <= sim.n_test_images <= len(images) - 2:
        raise ConfigError(f"data.simulation.n_test_images={sim.n_test_images} must be between "
                          f"2 and {len(images) - 2} (n_images - 2) for {len(images)} images.")
    ids = [f"image{k + 1:03d}" for k in range(len(images))]
    values = np.stack(feature.compute(images, progress=progress))
    test = list(np.random.default_rng(seed).permutation(ids)[: sim.n_test_images])
    recordings, _ = simulate_image_eeg(
        values, ids, test, n_subjects=sim.n_subjects, n_repetitions=sim.n_repetitions,
        n_test_repetitions=sim.n_test_repetitions, sfreq=sfreq, snr_db=sim.snr_db,
        subject_variability=sim.subject_variability, seed=seed)
    return recordings, StimulusFeatures(dict(zip(ids, values)), None, feature.name)


__all__ = ["SIMULATED_SFREQ", "build_simulated", "build_simulated_images"]
