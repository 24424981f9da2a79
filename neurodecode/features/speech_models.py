"""Resemblyzer's speaker encoder as a time-resolved feature.

The transformer speech models (wav2vec2, HuBERT, WavLM, Whisper...) are presets of
:class:`neurodecode.features.audio_models.AudioModelFeature`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from neurodecode._validation import check_positive
from neurodecode.features.audio import as_waveform, check_waveform, compute_mel
from neurodecode.features.base import Feature

MODEL_SR = 16000  # Resemblyzer's rate


class ResemblyzerFeature(Feature):
    """Resemblyzer's pretrained speaker encoder as a time-resolved 256-d embedding.

    Each 1.6 s window (every ``1 / window_rate`` s) is embedded and its embedding is
    assigned to the window's centre; frames at ``sfreq`` are linearly interpolated
    between centres (held constant before the first and after the last). Works
    offline with the weights shipped in the package.

    Parameters
    ----------
    sfreq : float
        Output frame rate.
    window_rate : float
        Windows per second (at most 100). Each window costs a 160-step 3-layer LSTM pass
        (about 0.24 GMAC), so 16 windows per second cost 4 times the default 4.
    weights : str or Path or None
        A Resemblyzer ``.pt`` checkpoint; default the bundled ``pretrained.pt``.
    device : str
    batch_size : int
        Windows per forward pass (memory bound).
    """

    name = "resemblyzer"
    modality = "audio"
    kind = "timeline"
    takes_sfreq = False  # its own frame rate (``sfreq``), placed on the brain's clock later
    dimension = 256
    sfreq: float  # always time-resolved

    def __init__(self, sfreq: float = 16.0, window_rate: float = 4.0,
                 weights: str | Path | None = None, device: str = "cpu", batch_size: int = 512):
        self.sfreq = check_positive("sfreq", sfreq)
        self.window_rate = check_positive("window_rate", window_rate)
        self.weights = weights
        self.device = device
        self.batch_size = batch_size

    def _weights_path(self) -> Path:
        from neurodecode.exceptions import DataNotFoundError

        if self.weights is not None:
            path = Path(self.weights)
        else:
            import resemblyzer

            path = Path(resemblyzer.__file__).parent / "pretrained.pt"
        if not path.is_file():
            raise DataNotFoundError(f"Resemblyzer weights {str(path)!r} do not exist; install "
                                    "`resemblyzer` or pass weights=<path to a .pt checkpoint>.")
        return path

    def weights_location(self) -> Path:
        return self._weights_path()

    def _load(self) -> None:
        from resemblyzer import VoiceEncoder

        self._model = VoiceEncoder(device=self.device, verbose=False,
                                   weights_fpath=self._weights_path()).eval()

    def _compute_one(self, stimulus: Any, **kwargs: Any) -> np.ndarray:
        from resemblyzer.audio import normalize_volume

        wav, _ = as_waveform(stimulus, MODEL_SR)
        wav = normalize_volume(check_waveform(wav, MODEL_SR, allow_silent=False), -30,
                               increase_only=True)
        # Resemblyzer's input: librosa's mel (400-sample window, 10 ms hop, 40 slaney bands)
        mel = compute_mel(wav, MODEL_SR, n_mels=40, n_fft=400, hop_length=160, scale="slaney",
                          norm="slaney", normalized=False, log=False, pad_mode="constant").T
        step = max(1, int(round(100 / self.window_rate)))
        if mel.shape[0] < 160:
            mel = np.pad(mel, ((0, 160 - mel.shape[0]), (0, 0)))
        starts = np.arange(0, mel.shape[0] - 160 + 1, step)
        batches = []
        with torch.no_grad():
            for b in range(0, len(starts), self.batch_size):
                batch = np.stack([mel[s: s + 160] for s in starts[b: b + self.batch_size]])
                batches.append(self._model(torch.from_numpy(batch).to(self.device)).cpu().numpy())
        embeds = np.concatenate(batches).T  # (256, n_windows)
        centres = (starts + 80) / 100.0
        n_out = max(1, int(round(wav.size / MODEL_SR * self.sfreq)))
        t_out = np.arange(n_out) / self.sfreq
        return np.stack([np.interp(t_out, centres, row) for row in embeds]).astype(np.float32)


__all__ = ["ResemblyzerFeature"]
