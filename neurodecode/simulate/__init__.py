"""Stimulus-driven M/EEG and fMRI simulations with known ground truth.

``simulate_meeg`` turns stimulus features (e.g. the mel spectrogram of real speech)
into MNE recordings through planted temporal response functions, smooth spatial maps
over a real sensor layout, between-subject variation and 1/f spatially correlated
noise at a chosen SNR. ``simulate_fmri`` does the same for a small fMRI volume with a
haemodynamic response and AR(1) noise. ``load_audiobook`` reads the real speech
stimuli; ``make_speech_like_audio`` synthesises speech-like sound when they are absent.

Example
-------
>>> from neurodecode.features.audio import compute_mel
>>> wavs = [make_speech_like_audio(60.0, 16000, seed=k) for k in range(4)]
>>> mels = [compute_mel(w, 16000, n_mels=40, out_sfreq=120.0) for w in wavs]
>>> subjects = simulate_meeg(mels, 120.0, n_subjects=4, sensors="kit208", snr_db=-10)
>>> rec = subjects[0].to_recording()  # a Recording, as read_meeg gives for real data
"""

from .audio import AudioTrial, load_audiobook, make_speech_like_audio
from .fmri import FmriGroundTruth, SimulatedFmri, make_block_design, simulate_fmri, spm_hrf
from .meeg import RESPONSES, GroundTruth, SimulatedSubject, simulate_meeg
from .noise import NOISE_RMS, pink_noise
from .sensors import SENSORS, make_sensor_array

__all__ = [
    "NOISE_RMS",
    "RESPONSES",
    "SENSORS",
    "AudioTrial",
    "FmriGroundTruth",
    "GroundTruth",
    "SimulatedFmri",
    "SimulatedSubject",
    "load_audiobook",
    "make_block_design",
    "make_sensor_array",
    "make_speech_like_audio",
    "pink_noise",
    "simulate_fmri",
    "simulate_meeg",
    "spm_hrf",
]
