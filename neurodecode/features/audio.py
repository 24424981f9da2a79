"""Acoustic features computed with torch/scipy: log-mel spectrogram, envelope, onsets.

All functions take a mono waveform ``wav`` of shape ``(n_samples,)`` at ``sr`` Hz
and return a time-resolved array ``(n_features, n_frames)`` whose frame ``i``
describes time ``i / frame_rate`` seconds from the start of the waveform. Long
waveforms are processed in chunks, so memory stays bounded by the output size.
"""

from __future__ import annotations

import logging
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import torch
from scipy import signal

from neurodecode._validation import check_option, check_positive, check_type
from neurodecode.exceptions import DataFormatError, DataNotFoundError
from neurodecode.features.base import Feature, resample_frames

logger = logging.getLogger("neurodecode")

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3", ".aiff", ".aif")


# ----------------------------------------------------------------------------- input
_MAX_AUDIO_CHANNELS = 16


def _as_float_audio(wav: np.ndarray) -> np.ndarray:
    """float32 in [-1, 1]: integer PCM is scaled as soundfile reads it (int16 / 32768;
    unsigned 8-bit centred on 128)."""
    if np.issubdtype(wav.dtype, np.unsignedinteger):
        half = float(np.iinfo(wav.dtype).max // 2 + 1)
        return ((wav.astype(np.float64) - half) / half).astype(np.float32)
    if np.issubdtype(wav.dtype, np.integer):
        return (wav.astype(np.float64) / (float(np.iinfo(wav.dtype).max) + 1)).astype(np.float32)
    return wav.astype(np.float32, copy=False)


def check_waveform(wav: Any, sr: Any, *, allow_silent: bool = True) -> np.ndarray:
    """Validate a waveform and return it as float32 mono.

    Parameters
    ----------
    wav : array of shape (n_samples,) or (n_samples, n_channels)
        Multi-channel audio is averaged to mono (channels may also come first, as
        librosa's ``(n_channels, n_samples)``); integer PCM is scaled to [-1, 1].
    sr : int
        Sampling rate in Hz.
    allow_silent : bool
        If False, an all-zero waveform raises ``ValueError`` (models that normalise
        by the signal's power cannot handle it).

    Returns
    -------
    wav : array of shape (n_samples,), float32
    """
    check_positive("sr", sr)
    wav = _as_float_audio(np.asarray(wav))
    if wav.ndim == 2:  # channels on the short axis: (n_samples, n_ch) or (n_ch, n_samples)
        short = int(np.argmin(wav.shape))
        if wav.shape[short] > _MAX_AUDIO_CHANNELS or wav.shape[0] == wav.shape[1]:
            raise ValueError(
                f"wav of shape {wav.shape}: expected (n_samples,) or (n_samples, n_channels) "
                f"with at most {_MAX_AUDIO_CHANNELS} channels."
            )
        wav = wav.mean(axis=short)
    if wav.ndim != 1:
        raise ValueError(f"wav must have shape (n_samples,) or (n_samples, n_channels); got {wav.shape}.")
    if wav.size == 0:
        raise ValueError("wav is empty (0 samples); expected a waveform with at least one sample.")
    if not np.all(np.isfinite(wav)):
        raise ValueError("wav contains NaN or Inf values; clean the audio before computing features.")
    if not allow_silent and float(np.max(np.abs(wav))) == 0.0:
        raise ValueError(
            f"wav is silent (all {wav.size} samples are 0); this feature needs sound. "
            "Drop silent stimuli or use an acoustic feature such as 'mel'."
        )
    return wav


def read_audio(path: str | Path) -> tuple[np.ndarray, int]:
    """Read a mono float32 waveform and its sampling rate from an audio file.

    Raises
    ------
    DataNotFoundError
        If ``path`` does not exist.
    DataFormatError
        If the file cannot be decoded as audio.
    """
    import soundfile as sf

    path = Path(path)
    if not path.is_file():
        raise DataNotFoundError(f"audio file {str(path)!r} does not exist; check the stimulus folder.")
    try:
        wav, sr = sf.read(str(path), dtype="float32", always_2d=False)
    except Exception as err:  # soundfile raises LibsndfileError / RuntimeError
        raise DataFormatError(
            f"audio file {str(path)!r} cannot be read as audio ({err}); expected one of "
            f"{', '.join(AUDIO_SUFFIXES)} readable by soundfile."
        ) from err
    return check_waveform(wav, sr), int(sr)


def resample_audio(wav: np.ndarray, sr: int, target_sr: int) -> np.ndarray:
    """Resample ``wav`` from ``sr`` to ``target_sr`` Hz with a polyphase filter (logged)."""
    if int(sr) == int(target_sr):
        return wav
    ratio = Fraction(int(target_sr), int(sr))
    logger.info("resampling audio from %d Hz to %d Hz", sr, target_sr)
    return signal.resample_poly(wav, ratio.numerator, ratio.denominator).astype(np.float32)


def as_waveform(stimulus: Any, target_sr: int | None = None) -> tuple[np.ndarray, int]:
    """Turn a stimulus (a path or a ``(wav, sr)`` tuple) into ``(wav, sr)``, resampled if asked."""
    if isinstance(stimulus, (str, Path)):
        wav, sr = read_audio(stimulus)
    elif isinstance(stimulus, tuple) and len(stimulus) == 2:
        wav, sr = check_waveform(stimulus[0], stimulus[1]), int(stimulus[1])
    else:
        raise TypeError(
            f"audio stimulus must be a path or a (wav, sr) tuple; got {type(stimulus).__name__}."
        )
    if target_sr is not None and sr != target_sr:
        wav, sr = resample_audio(wav, sr, target_sr), int(target_sr)
    return wav, sr


# ----------------------------------------------------------------------------- mel
def hz_to_mel(freq: np.ndarray | float, scale: str = "htk") -> np.ndarray:
    """Hertz to mel, HTK (``2595 log10(1 + f / 700)``) or Slaney scale."""
    freq = np.asarray(freq, dtype=np.float64)
    if scale == "htk":
        return 2595.0 * np.log10(1.0 + freq / 700.0)
    f_sp, min_log_hz = 200.0 / 3, 1000.0
    logstep = np.log(6.4) / 27.0
    mel = freq / f_sp
    log_part = min_log_hz / f_sp + np.log(np.maximum(freq, 1e-10) / min_log_hz) / logstep
    return np.where(freq >= min_log_hz, log_part, mel)


def mel_to_hz(mel: np.ndarray | float, scale: str = "htk") -> np.ndarray:
    """Inverse of :func:`hz_to_mel`."""
    mel = np.asarray(mel, dtype=np.float64)
    if scale == "htk":
        return 700.0 * (10.0 ** (mel / 2595.0) - 1.0)
    f_sp, min_log_hz = 200.0 / 3, 1000.0
    logstep = np.log(6.4) / 27.0
    min_log_mel = min_log_hz / f_sp
    return np.where(mel >= min_log_mel, min_log_hz * np.exp(logstep * (mel - min_log_mel)), f_sp * mel)


def mel_filterbank(
    sr: int, n_fft: int, n_mels: int, fmin: float = 0.0, fmax: float | None = None,
    scale: str = "htk", norm: str | None = None,
) -> np.ndarray:
    """Triangular mel filters of shape (n_mels, n_fft // 2 + 1), as torchaudio / librosa.

    ``norm="slaney"`` scales each filter to unit area (librosa's default); ``None``
    gives peak-one triangles (torchaudio's and brainmagick's default).
    """
    check_option("scale", scale, ["htk", "slaney"])
    check_option("norm", norm, [None, "slaney"])
    fmax = sr / 2.0 if fmax is None else fmax
    if not 0 <= fmin < fmax <= sr / 2.0:
        raise ValueError(f"need 0 <= fmin < fmax <= sr / 2 = {sr / 2}; got fmin={fmin}, fmax={fmax}.")
    fft_freqs = np.linspace(0, sr / 2.0, n_fft // 2 + 1)
    mel_pts = np.linspace(hz_to_mel(fmin, scale), hz_to_mel(fmax, scale), n_mels + 2)
    hz_pts = mel_to_hz(mel_pts, scale)
    fdiff = np.diff(hz_pts)
    ramps = hz_pts[:, None] - fft_freqs[None, :]
    lower = -ramps[:-2] / fdiff[:-1, None]
    upper = ramps[2:] / fdiff[1:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper))
    if norm == "slaney":
        weights *= (2.0 / (hz_pts[2:] - hz_pts[:-2]))[:, None]
    return weights


def _power_stft_chunks(wav: torch.Tensor, n_fft: int, hop: int, window: torch.Tensor,
                       pad_mode: str, chunk_frames: int):
    """Yield |STFT|^2 of consecutive frame blocks (centred frames, exact across blocks)."""
    mode = "constant" if pad_mode == "constant" else "reflect"
    half = n_fft // 2
    if mode == "reflect" and wav.numel() <= half:
        mode = "constant"
    padded = torch.nn.functional.pad(wav[None, None], (half, half), mode=mode)[0, 0]
    n_frames = 1 + (padded.numel() - n_fft) // hop
    for start in range(0, n_frames, chunk_frames):
        stop = min(n_frames, start + chunk_frames)
        seg = padded[start * hop: (stop - 1) * hop + n_fft]
        spec = torch.stft(seg, n_fft, hop_length=hop, window=window, center=False,
                          return_complex=True)
        yield spec.abs().pow(2)


def compute_mel(
    wav: np.ndarray, sr: int, *, n_mels: int = 120, n_fft: int = 512,
    hop_length: int | None = None, fmin: float = 0.0, fmax: float | None = None,
    log: bool = True, eps: float = 1e-5, normalized: bool = True, scale: str = "htk",
    norm: str | None = None, pad_mode: str = "reflect", out_sfreq: float | None = None,
    chunk_frames: int = 4096,
) -> np.ndarray:
    """Log-mel spectrogram computed with ``torch.stft`` (brainmagick's ``MelSpectrum``).

    Defaults follow brainmagick: 120 mel bands, ``n_fft=512``, hop ``n_fft // 2``, Hann
    window, power spectrum normalised by the window energy, HTK mel scale, peak-one
    filters, ``log10(mel + 1e-5)``.

    Parameters
    ----------
    wav : array of shape (n_samples,)
        Mono waveform.
    sr : int
        Sampling rate of ``wav`` in Hz.
    n_mels, n_fft : int
        Number of mel bands and FFT size (also the window length).
    hop_length : int or None
        Samples between frames; default ``n_fft // 2``. Frame ``i`` is centred on sample
        ``i * hop_length``, so the frame rate is ``sr / hop_length``.
    fmin, fmax : float
        Frequency range of the filters in Hz (``fmax`` defaults to ``sr / 2``).
    log : bool
        Return ``log10(mel + eps)`` instead of the mel power.
    eps : float
        Floor added before the log.
    normalized : bool
        Divide the power spectrum by ``sum(window ** 2)`` (torchaudio ``normalized=True``).
    scale : {"htk", "slaney"}
        Mel scale.
    pad_mode : {"reflect", "constant"}
        Padding of the centred first and last frames.
    out_sfreq : float or None
        If given, resample the frames to this rate (e.g. the brain's 120 Hz).
    chunk_frames : int
        Frames computed at once; bounds memory for long audio.
    norm : {None, "slaney"}
        Normalisation of the mel filters (``None``: peak one).

    Returns
    -------
    mel : array of shape (n_mels, n_frames), float32
        ``n_frames = 1 + n_samples // hop_length`` (or the resampled count).
    """
    wav = check_waveform(wav, sr)
    check_option("pad_mode", pad_mode, ["reflect", "constant"])
    hop = n_fft // 2 if hop_length is None else int(hop_length)
    check_positive("hop_length", hop)
    fbank = torch.as_tensor(mel_filterbank(sr, n_fft, n_mels, fmin, fmax, scale, norm),
                            dtype=torch.float32)
    window = torch.hann_window(n_fft, periodic=True, dtype=torch.float32)
    scale_factor = float(window.pow(2).sum()) if normalized else 1.0
    blocks = []
    with torch.no_grad():
        for power in _power_stft_chunks(torch.from_numpy(wav), n_fft, hop, window, pad_mode,
                                        chunk_frames):
            mel = fbank @ (power / scale_factor)
            blocks.append((torch.log10(mel + eps) if log else mel).numpy())
    mel = np.concatenate(blocks, axis=1)
    if out_sfreq is not None:
        n_out = int(round(wav.size / sr * out_sfreq))
        mel = resample_frames(mel, sr / hop, out_sfreq, n_out=max(1, n_out))
    return mel.astype(np.float32)


# ----------------------------------------------------------------------------- envelope
def _chunked_rate_change(x_fn, wav: np.ndarray, sr: int, out_sfreq: float, chunk_s: float):
    """Apply ``x_fn`` to overlapping chunks of ``wav`` and resample each to ``out_sfreq``."""
    ratio = Fraction(out_sfreq / sr).limit_denominator(10_000)
    up, down = ratio.numerator, ratio.denominator
    chunk = max(1, int(chunk_s * sr) // down) * down
    margin = max(1, int(0.5 * sr) // down) * down
    out = []
    for start in range(0, wav.size, chunk):
        lo, hi = max(0, start - margin), min(wav.size, start + chunk + margin)
        seg = signal.resample_poly(x_fn(wav[lo:hi]), up, down)
        skip = (start - lo) * up // down
        n_keep = int(np.ceil(min(chunk, wav.size - start) * up / down))
        out.append(seg[skip: skip + n_keep])
    return np.concatenate(out)


def compute_envelope(
    wav: np.ndarray, sr: int, *, out_sfreq: float = 100.0, compression: float | None = None,
    chunk_s: float = 30.0,
) -> np.ndarray:
    """Broadband amplitude envelope: ``|hilbert(wav)|``, low-passed and resampled.

    Parameters
    ----------
    wav : array of shape (n_samples,)
    sr : int
    out_sfreq : float
        Output frame rate in Hz.
    compression : float or None
        If given, raise the envelope to this power (e.g. 0.6) as in TRF studies.
    chunk_s : float
        Seconds processed at once (with 0.5 s margins), bounding memory.

    Returns
    -------
    envelope : array of shape (1, n_frames), ``n_frames = ceil(n_samples * out_sfreq / sr)``
    """
    wav = check_waveform(wav, sr)
    check_positive("out_sfreq", out_sfreq)
    env = _chunked_rate_change(lambda x: np.abs(signal.hilbert(x)), wav, sr, out_sfreq, chunk_s)
    env = np.maximum(env, 0.0)
    if compression is not None:
        env = env ** compression
    return env[None].astype(np.float32)


def compute_onsets(
    wav: np.ndarray, sr: int, *, out_sfreq: float = 100.0, peaks: bool = False,
    threshold: float = 0.3, min_interval: float = 0.05,
) -> np.ndarray:
    """Acoustic onsets: the half-wave rectified derivative of the log envelope.

    Parameters
    ----------
    wav : array of shape (n_samples,)
    sr : int
    out_sfreq : float
        Output frame rate in Hz.
    peaks : bool
        If True, return impulses (1 at detected onsets, 0 elsewhere) instead of the
        continuous onset strength.
    threshold : float
        With ``peaks``, minimum strength as a fraction of the maximum.
    min_interval : float
        With ``peaks``, minimum seconds between two onsets.

    Returns
    -------
    onsets : array of shape (1, n_frames)
    """
    env = compute_envelope(wav, sr, out_sfreq=out_sfreq)[0].astype(np.float64)
    log_env = np.log10(env + 1e-2 * max(float(env.max()), 1e-12))
    strength = np.maximum(0.0, np.diff(log_env, prepend=log_env[0]))
    if not peaks:
        return strength[None].astype(np.float32)
    impulses = np.zeros_like(strength)
    if strength.max() > 0:
        idx, _ = signal.find_peaks(strength, height=threshold * strength.max(),
                                   distance=max(1, int(min_interval * out_sfreq)))
        impulses[idx] = 1.0
    return impulses[None].astype(np.float32)


# ----------------------------------------------------------------------------- features
class _AcousticFeature(Feature):
    modality = "audio"
    kind = "timeline"
    takes_sfreq = True  # computed on the brain's clock: build passes the recording's rate
    sfreq: float  # acoustic features are always time-resolved

    def _compute_one(self, stimulus: Any, **kwargs: Any) -> np.ndarray:
        wav, sr = as_waveform(stimulus, getattr(self, "audio_sr", None))
        return self._from_wav(wav, sr)

    def _from_wav(self, wav: np.ndarray, sr: int) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError


class MelSpectrum(_AcousticFeature):
    """Log-mel spectrogram (:func:`compute_mel`) resampled to ``sfreq`` frames per second.

    Parameters
    ----------
    sfreq : float
        Output frame rate (brainmagick: the brain's 120 Hz).
    n_mels, n_fft : int
    audio_sr : int or None
        Resample the audio to this rate first (brainmagick: 16000); None keeps the file's rate.
    fmin, fmax : float
    """

    name = "mel"

    def __init__(self, sfreq: float = 120.0, n_mels: int = 120, n_fft: int = 512,
                 audio_sr: int | None = 16000, fmin: float = 0.0, fmax: float | None = None):
        self.sfreq = sfreq
        self.n_mels = n_mels
        self.n_fft = n_fft
        self.audio_sr = audio_sr
        self.fmin = fmin
        self.fmax = fmax

    @property
    def dimension(self) -> int:  # type: ignore[override]
        return self.n_mels

    def _from_wav(self, wav: np.ndarray, sr: int) -> np.ndarray:
        return compute_mel(wav, sr, n_mels=self.n_mels, n_fft=self.n_fft, fmin=self.fmin,
                           fmax=self.fmax, out_sfreq=self.sfreq)


class Envelope(_AcousticFeature):
    """Amplitude envelope (:func:`compute_envelope`), 1 feature at ``sfreq``."""

    name = "envelope"

    dimension = 1

    def __init__(self, sfreq: float = 100.0, compression: float | None = None):
        check_type("compression", compression, (float, int, type(None)))
        if compression is not None:
            check_positive("compression", compression)
        self.sfreq = sfreq
        self.compression = compression

    def _from_wav(self, wav: np.ndarray, sr: int) -> np.ndarray:
        return compute_envelope(wav, sr, out_sfreq=self.sfreq, compression=self.compression)


class Onsets(_AcousticFeature):
    """Acoustic onsets (:func:`compute_onsets`), 1 feature at ``sfreq``."""

    name = "onsets"

    dimension = 1

    def __init__(self, sfreq: float = 100.0, peaks: bool = False, threshold: float = 0.3):
        self.sfreq = sfreq
        self.peaks = peaks
        self.threshold = threshold

    def _from_wav(self, wav: np.ndarray, sr: int) -> np.ndarray:
        return compute_onsets(wav, sr, out_sfreq=self.sfreq, peaks=self.peaks,
                              threshold=self.threshold)


__all__ = [
    "Envelope", "MelSpectrum", "Onsets", "as_waveform", "check_waveform", "compute_envelope",
    "compute_mel", "compute_onsets", "mel_filterbank", "read_audio", "resample_audio",
]
