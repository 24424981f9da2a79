"""Stimulus-driven M/EEG with known ground truth.

The model, for subject ``i``, channel ``c`` and time ``t``::

    x(t)    = stimulus features, centred per feature and divided by their global SD,
              concatenated over stimuli with silent gaps (zeros) between them
    u_s(t)  = sum_f sum_l kernel_i[s, f, l] * x[f, t - l]       (temporal response functions)
    s_s(t)  = u_s(t)                       for response="trf"
            = softplus rectification of u  for response="nonlinear" (see ``_response``)
    y_c(t)  = sum_s maps_i[c, s] * s_s(t) + noise_i[c, t]

Spatial maps are smooth random fields over the sensor positions (random Fourier
features of a squared-exponential Gaussian process) under a Gaussian envelope centred
on a lateral point of the head, evaluated as a value for magnetometers, axial
gradiometers and EEG and as a spatial derivative for planar gradiometers. Subjects
share group-level maps and kernels and differ by a head rotation, a subject-specific
field mixed into each map, jittered latencies, scaled amplitudes and mixed spectral
weights, all scaled by ``subject_variability``.

SNR is defined per channel type as the signal power over the noise power, summed over
the channels of that type and time: ``sum_c var(signal_c) / sum_c var(noise_c)``. It
holds exactly in the returned data (``GroundTruth.realised_snr``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import mne
import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from .._backend import single_threaded_blas
from .._validation import check_option, check_positive, check_type
from ..io.recording import EVENT_COLUMNS, EVENT_KINDS
from . import _response as resp
from ._checks import check_features, check_ids, check_snr
from .noise import NOISE_RMS, sensor_noise
from .sensors import SENSORS, RandomField, SensorArray, make_sensor_array, random_rotation

logger = logging.getLogger("neurodecode")

#: Response models: name -> description.
RESPONSES: dict[str, str] = {
    "trf": "linear temporal response functions",
    "nonlinear": "linear TRFs followed by a softplus rectification of each source",
}


@dataclass
class GroundTruth:
    """What was planted in one simulated subject.

    Parameters
    ----------
    features : array of shape (n_features, n_times)
        The drive actually convolved: the stimulus features normalised (centred per
        feature, divided by the global SD) on the recording's timeline, 0 in gaps.
    kernels : array of shape (n_sources, n_features, n_lags)
        Temporal response functions (source units per feature unit).
    lags : array of shape (n_lags,)
        Lag of each kernel sample in seconds (0 to ``trf_length``).
    maps : array of shape (n_channels, n_sources)
        Spatial maps in SI units per source unit (T, T/m or V).
    sources : array of shape (n_sources, n_times)
        Source time courses (after the nonlinearity for ``response="nonlinear"``).
    signal : array of shape (n_channels, n_times)
        The clean signal ``maps @ sources``.
    snr : float
        Requested SNR (power ratio), holding for each channel type.
    response : str
    rotation : array of shape (3, 3)
        The subject's head rotation relative to the group.
    ch_types : list of str
        MNE type of each channel.
    _raw : mne.io.RawArray or None
        The simulated recording (internal, for :attr:`noise`).
    """

    features: np.ndarray
    kernels: np.ndarray
    lags: np.ndarray
    maps: np.ndarray
    sources: np.ndarray
    signal: np.ndarray
    snr: float
    response: str
    rotation: np.ndarray
    ch_types: list[str] = field(default_factory=list, repr=False)
    _raw: Any = field(default=None, repr=False)

    @property
    def noise(self) -> np.ndarray:
        """The noise, array of shape (n_channels, n_times): raw data minus ``signal``.

        Computed on access (not stored) to halve the memory of long simulations, so
        it is only the noise while the Raw's data are unchanged (copy the Raw before
        filtering it in place).
        """
        return self._raw.get_data() - self.signal

    def channel_trf(self) -> np.ndarray:
        """Per-channel TRFs ``sum_s maps[c, s] kernels[s]``, shape (n_channels, n_features, n_lags).

        This is what a linear TRF fitted on each channel recovers when
        ``response="trf"``.

        Returns
        -------
        trf : array of shape (n_channels, n_features, n_lags)
            The TRF of each channel.
        """
        return np.einsum("cs,sfl->cfl", self.maps, self.kernels)

    def realised_snr(self) -> dict[str, float]:
        """Signal power over noise power summed over channels, per channel type.

        Returns
        -------
        snr : dict of str to float
            Channel type -> realised SNR (power ratio).
        """
        types = np.asarray(self.ch_types)
        noise = self.noise
        return {
            kind: float(np.sum(np.var(self.signal[types == kind], axis=1))
                        / np.sum(np.var(noise[types == kind], axis=1)))
            for kind in np.unique(types)
        }


@dataclass
class SimulatedSubject:
    """One simulated recording: an MNE Raw, its events and the planted ground truth.

    Parameters
    ----------
    subject : str
    raw : mne.io.RawArray
        Sensor data in SI units with positions set; annotations hold one entry per
        stimulus (description = stimulus id).
    events : DataFrame
        Columns ``EVENT_COLUMNS``, one row per stimulus.
    ground_truth : GroundTruth
    """

    subject: str
    raw: mne.io.RawArray
    events: pd.DataFrame
    ground_truth: GroundTruth

    def to_recording(self):
        """This subject as a :class:`~neurodecode.io.recording.Recording` (via ``read_meeg``).

        Returns
        -------
        recording : Recording
            The simulated data and events.
        """
        from ..io.meeg import read_meeg

        return read_meeg(self.raw, events=self.events, subject=self.subject, preload=True)

    def save(self, folder: str | Path) -> Path:
        """Write ``sub-<subject>_raw.fif`` and ``sub-<subject>_events.tsv`` into ``folder``.

        Returns the path of the FIF file.

        Parameters
        ----------
        folder : str or Path
            Destination folder (created).

        Returns
        -------
        path : Path
            The FIF file.
        """
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        fif = folder / f"sub-{self.subject}_raw.fif"
        self.raw.save(fif, overwrite=True, verbose="error")
        self.events.to_csv(folder / f"sub-{self.subject}_events.tsv", sep="\t", index=False)
        return fif


def simulate_meeg(
    features: np.ndarray | Sequence[np.ndarray],
    sfreq: float,
    *,
    stimulus_ids: Sequence[str] | None = None,
    texts: Sequence[str] | None = None,
    gap: float = 1.0,
    n_subjects: int = 1,
    sensors: str = "kit208",
    response: str = "trf",
    trf_length: float = 0.5,
    n_sources: int = 4,
    snr: float | None = None,
    snr_db: float | None = None,
    noise_exponent: float = 1.0,
    subject_variability: float = 0.3,
    kind: str = "sound",
    condition: str = "stimulus",
    seed: int = 0,
    progress: bool = False,
) -> list[SimulatedSubject]:
    """Simulate M/EEG recordings of subjects perceiving stimuli described by ``features``.

    Parameters
    ----------
    features : array of shape (n_features, n_times) or list of such arrays
        Stimulus features at ``sfreq`` (e.g. a mel spectrogram), one array per stimulus;
        all with the same ``n_features``. Several stimuli are concatenated with ``gap``
        seconds of silence before, between and after them.
    sfreq : float
        Sampling frequency of the features and of the simulated data, in Hz.
    stimulus_ids : list of str, optional
        One id per stimulus (default ``"stim01"``, ``"stim02"``, ...); used as the
        events' ``stimulus`` and ``block``.
    texts : list of str, optional
        Transcript of each stimulus, the events' ``text`` (default ``""``).
    gap : float
        Seconds of silence around each stimulus (>= 0).
    n_subjects : int
    sensors : str
        A sensor set of :data:`~neurodecode.simulate.sensors.SENSORS`: ``"kit208"``,
        ``"kit157"``, ``"neuromag306"``, ``"ctf275"``, ``"magnes248"``, ``"eeg32"``,
        ``"eeg64"``, ``"eeg128"``.
    response : {"trf", "nonlinear"}
        Response model (:data:`RESPONSES`).
    trf_length : float
        Length of the planted kernels in seconds (lags 0 to ``trf_length``).
    n_sources : int
        Number of responding sources, each with its own kernel and spatial map.
    snr, snr_db : float, optional
        Signal-to-noise ratio as a power ratio (> 0) or in decibels
        (``snr = 10 ** (snr_db / 10)``); give at most one. Default ``snr=0.1`` (-10 dB).
        Defined per channel type as summed signal power over summed noise power.
    noise_exponent : float
        Exponent ``alpha`` of the noise spectrum ``1 / f**alpha`` (>= 0).
    subject_variability : float in [0, 1]
        0 gives identical maps and kernels for every subject (only the noise differs);
        1 gives unrelated subject-specific maps and spectral weights.
    kind, condition : str
        ``kind`` (one of ``EVENT_KINDS``) and ``condition`` of the stimulus events.
    seed : int
        Seed of every random draw: the same seed gives identical output.
    progress : bool
        Show a progress bar over subjects.

    Returns
    -------
    subjects : list of SimulatedSubject
        Subjects ``"01"``, ``"02"``, ...
    """
    stims = check_features(features)
    check_positive("sfreq", sfreq)
    ids = check_ids("stimulus_ids", stimulus_ids, len(stims), default="stim")
    texts = check_ids("texts", texts, len(stims), default=None, unique=False)
    check_positive("gap", gap, strict=False)
    check_type("n_subjects", n_subjects, int)
    check_positive("n_subjects", n_subjects)
    check_option("response", response, RESPONSES)
    check_positive("trf_length", trf_length)
    n_lags = int(round(trf_length * sfreq)) + 1
    if n_lags < 2:
        raise ValueError(f"trf_length={trf_length} s is shorter than one sample at "
                         f"sfreq={sfreq} Hz; expected at least {1 / sfreq:.4g} s.")
    check_type("n_sources", n_sources, int)
    check_positive("n_sources", n_sources)
    ratio = check_snr(snr, snr_db)
    check_positive("noise_exponent", noise_exponent, strict=False)
    _check_unit("subject_variability", subject_variability)
    check_option("kind", kind, EVENT_KINDS)
    check_type("seed", seed, int)
    array = make_sensor_array(sensors, float(sfreq))

    drive, onsets = _timeline(stims, sfreq, gap)
    events = _events(onsets, [s.shape[1] / sfreq for s in stims], ids, texts, kind, condition)
    seeds = np.random.SeedSequence(seed).spawn(n_subjects + 1)
    group = _draw_group(np.random.default_rng(seeds[0]), array, n_sources, drive.shape[0])
    out = []
    for i in tqdm(range(n_subjects), desc="simulate", disable=not progress):
        rng = np.random.default_rng(seeds[i + 1])
        out.append(_simulate_subject(
            rng, f"{i + 1:02d}", group, array, drive, events, response=response,
            n_lags=n_lags, trf_length=trf_length, snr=ratio, exponent=noise_exponent,
            variability=subject_variability))
    logger.info("simulated %d subjects x %.1f s x %d channels", n_subjects,
                drive.shape[1] / sfreq, len(array.ch_names))
    return out


def _check_unit(name: str, value: float) -> None:
    # bool(): np.isscalar is a TypeGuard in numpy's stubs and would retype ``value``.
    if not (bool(np.isscalar(value)) and np.isfinite(value) and 0.0 <= value <= 1.0):
        raise ValueError(f"{name} must be a number in [0, 1]; got {value!r}.")


def _timeline(stims: list[np.ndarray], sfreq: float,
              gap: float) -> tuple[np.ndarray, list[float]]:
    """Normalised features on the recording's timeline, and each stimulus' onset (s)."""
    joined = np.concatenate(stims, axis=1)
    centred = joined - joined.mean(axis=1, keepdims=True)
    scale = np.sqrt(np.mean(centred**2))
    if scale == 0:
        raise ValueError("features are constant over time; expected stimulus features that "
                         "vary (e.g. a spectrogram or an envelope).")
    centred /= scale
    n_gap = int(round(gap * sfreq))
    lengths = [s.shape[1] for s in stims]
    n_times = sum(lengths) + n_gap * (len(stims) + 1)
    drive = np.zeros((joined.shape[0], n_times))
    onsets, start, pos = [], n_gap, 0
    for length in lengths:
        drive[:, start:start + length] = centred[:, pos:pos + length]
        onsets.append(start / sfreq)
        start, pos = start + length + n_gap, pos + length
    return drive, onsets


def _events(onsets, durations, ids, texts, kind, condition) -> pd.DataFrame:
    table = pd.DataFrame({
        "onset": np.asarray(onsets, dtype=float),
        "duration": np.asarray(durations, dtype=float),
        "kind": kind,
        "condition": condition,
        "stimulus": list(ids),
        "text": list(texts) if texts is not None else "",
        "block": list(ids),
        "value": np.arange(1, len(ids) + 1),
    })
    return table[list(EVENT_COLUMNS)]


def _draw_group(rng: np.random.Generator, array: SensorArray, n_sources: int,
                n_features: int) -> dict:
    """Group-level kernels parameters and spatial fields (one per source)."""
    radius = float(np.median(np.linalg.norm(array.pos, axis=1)))
    fields = []
    for _ in range(n_sources):
        polar = rng.uniform(np.deg2rad(55), np.deg2rad(100))
        azimuth = rng.uniform(0, 2 * np.pi)
        centre = radius * np.array([np.sin(polar) * np.cos(azimuth),
                                    np.sin(polar) * np.sin(azimuth), np.cos(polar)])
        fields.append(RandomField.draw(rng, 0.35 * radius, centre=centre, width=0.4 * radius))
    return {"kernels": resp.draw_kernel_params(rng, n_sources, n_features),
            "fields": fields, "radius": radius}


def _subject_maps(rng: np.random.Generator, group: dict, array: SensorArray,
                  variability: float) -> tuple[np.ndarray, np.ndarray]:
    """Unit-RMS (per channel type) maps of shape (n_channels, n_sources) and the rotation."""
    rotation = random_rotation(rng, 20.0 * variability)
    pos, direction = array.pos @ rotation.T, array.direction @ rotation.T
    is_grad = np.array([t == "grad" for t in array.ch_types])
    columns = []
    for group_field in group["fields"]:
        own = RandomField.draw(rng, 0.35 * group["radius"])
        columns.append(group_field.mix(own, variability).evaluate(pos, direction, is_grad))
    maps = np.stack(columns, axis=1)
    types = np.asarray(array.ch_types)
    for kind in np.unique(types):
        rows = types == kind
        maps[rows] /= np.sqrt(np.mean(maps[rows] ** 2, axis=0))
    return maps, rotation


def _simulate_subject(rng, subject, group, array, drive, events, *, response, n_lags,
                      trf_length, snr, exponent, variability) -> SimulatedSubject:
    params = resp.perturb_kernel_params(rng, group["kernels"], variability)
    kernels = resp.build_kernels(params, n_lags)
    linear = resp.convolve_components(drive, params, n_lags)
    scale = np.std(linear, axis=1)
    kernels /= scale[:, None, None]
    linear /= scale[:, None]
    sources = linear if response == "trf" else resp.nonlinear(linear)
    sources /= np.std(sources, axis=1, keepdims=True)
    maps, rotation = _subject_maps(rng, group, array, variability)
    maps = _scale_maps(maps, sources, array.ch_types, snr)
    with single_threaded_blas():  # the same bits whatever BLAS's thread count
        signal = maps @ sources
    noise = sensor_noise(rng, array, drive.shape[1], array.info["sfreq"], exponent=exponent)
    info = array.info.copy()
    info["subject_info"] = {"his_id": subject}
    raw = mne.io.RawArray(signal + noise, info, verbose="error")
    raw.set_annotations(mne.Annotations(events["onset"].to_numpy(),
                                        events["duration"].to_numpy(),
                                        events["stimulus"].to_list()))
    truth = GroundTruth(
        features=drive, kernels=kernels, lags=np.arange(n_lags) / array.info["sfreq"],
        maps=maps, sources=sources, signal=signal, snr=snr, response=response,
        rotation=rotation, ch_types=list(array.ch_types), _raw=raw)
    return SimulatedSubject(subject, raw, events.copy(), truth)


def _scale_maps(maps: np.ndarray, sources: np.ndarray, ch_types: list[str],
                snr: float) -> np.ndarray:
    """Scale the rows of each channel type so that its signal power is ``snr`` x noise power."""
    types = np.asarray(ch_types)
    cov = np.cov(sources, bias=True)
    cov = np.atleast_2d(cov)
    out = maps.copy()
    for kind in np.unique(types):
        rows = types == kind
        power = np.einsum("cs,st,ct->", maps[rows], cov, maps[rows]) / rows.sum()
        out[rows] *= NOISE_RMS[kind] * np.sqrt(snr / power)
    return out


__all__ = ["RESPONSES", "SENSORS", "GroundTruth", "SimulatedSubject", "simulate_meeg"]
