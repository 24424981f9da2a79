"""Stimulus-driven M/EEG and fMRI simulations with known ground truth.

``simulate_meeg`` turns stimulus features (e.g. the mel spectrogram of real speech)
into MNE recordings through planted temporal response functions, smooth spatial maps
over a real sensor layout, between-subject variation and 1/f spatially correlated
noise at a chosen SNR. ``simulate_fmri`` does the same for a small fMRI volume with a
haemodynamic response and AR(1) noise.
"""

from .meeg import RESPONSES, GroundTruth, SimulatedSubject, simulate_meeg
from .noise import NOISE_RMS, pink_noise
from .sensors import SENSORS, make_sensor_array

__all__ = [
    "NOISE_RMS",
    "RESPONSES",
    "SENSORS",
    "GroundTruth",
    "SimulatedSubject",
    "make_sensor_array",
    "pink_noise",
    "simulate_meeg",
]
