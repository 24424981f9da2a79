"""PANNs CNN14 (Kong et al. 2020) from its released checkpoint, block by block, on our clock.

The ``panns_inference`` package is not used: importing it runs ``wget`` (its ``config.py``
downloads the AudioSet label list into ``~/panns_data``). The network is small and written
here from the paper's code: a 64-band log-mel (32 kHz, 1024-sample Hann window, 10 ms hop,
50-14,000 Hz, librosa's Slaney filters, ``10 log10``), batch norm over bands, six blocks of
two 3 x 3 conv + batch norm + ReLU, each followed by 2 x 2 average pooling (none after the
sixth), then the 2048-d embedding ``relu(fc1(max_t + mean_t))``. It loads the released
``Cnn14_mAP=0.431.pth`` (``{"model": state_dict}``, Zenodo record 3987831) from a local file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from neurodecode.exceptions import DataFormatError, DataNotFoundError
from neurodecode.features.audio import mel_filterbank
from neurodecode.features.audio_models import AudioModelFeature

PANNS_SR = 32000
_N_FFT, _HOP, _N_MELS, _FMIN, _FMAX = 1024, 320, 64, 50.0, 14000.0
_N_BLOCKS = 6


class _ConvBlock(nn.Module):
    def __init__(self, n_in: int, n_out: int):
        super().__init__()
        self.conv1 = nn.Conv2d(n_in, n_out, 3, padding=1, bias=False)
        self.conv2 = nn.Conv2d(n_out, n_out, 3, padding=1, bias=False)
        self.bn1, self.bn2 = nn.BatchNorm2d(n_out), nn.BatchNorm2d(n_out)

    def forward(self, x: torch.Tensor, pool: int) -> torch.Tensor:
        x = F.relu(self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x))))))
        return F.avg_pool2d(x, pool) if pool > 1 else x


class Cnn14(nn.Module):
    """CNN14 on a log-mel ``(batch, 1, time, 64)``; widths read from the checkpoint."""

    def __init__(self, widths: tuple[int, ...] = (64, 128, 256, 512, 1024, 2048),
                 n_classes: int = 527):
        super().__init__()
        self.bn0 = nn.BatchNorm2d(_N_MELS)
        blocks = zip((1, *widths[:-1]), widths)
        for i, (n_in, n_out) in enumerate(blocks, start=1):
            setattr(self, f"conv_block{i}", _ConvBlock(n_in, n_out))
        self.fc1 = nn.Linear(widths[-1], widths[-1])
        self.fc_audioset = nn.Linear(widths[-1], n_classes)

    def forward(self, logmel: torch.Tensor) -> list[torch.Tensor]:
        """Every block's output averaged over frequency ``(batch, time, width)``, then the
        clip embedding ``(batch, 1, width)``."""
        x = self.bn0(logmel.transpose(1, 3)).transpose(1, 3)
        outs = []
        for i in range(1, _N_BLOCKS + 1):
            x = getattr(self, f"conv_block{i}")(x, 2 if i < _N_BLOCKS else 1)
            outs.append(x.mean(dim=3).transpose(1, 2))
        pooled = outs[-1].max(dim=1).values + outs[-1].mean(dim=1)
        return outs + [F.relu(self.fc1(pooled))[:, None]]


def _widths_of(state: dict[str, torch.Tensor]) -> tuple[int, ...]:
    return tuple(int(state[f"conv_block{i}.conv1.weight"].shape[0]) for i in range(1, 7))


class PannsCnn14Feature(AudioModelFeature):
    """PANNs CNN14 block outputs (averaged over frequency) and its 2048-d embedding.

    ``conv_block{i}`` has a hop of ``10 * 2**i`` ms for ``i <= 5`` (block 6 keeps block 5's
    320 ms), frame ``j`` centred on its pooled mel frames; ``"embedding"`` is one vector
    per chunk at the chunk's centre. ``model_path`` is the ``.pth`` checkpoint.
    """

    name = "panns_cnn14"
    display = "PANNs CNN14"
    example_id = "Cnn14_mAP=0.431.pth (zenodo.org/record/3987831)"
    sampling_rate = PANNS_SR
    needs_sound = False

    def _path(self) -> Path:
        if self.model_path is None or not Path(self.model_path).expanduser().is_file():
            raise DataNotFoundError(
                f"PANNs checkpoint {str(self.model_path)!r} does not exist; download "
                f"{self.example_id} once on a machine with network and pass model_path=<file>.")
        return Path(self.model_path).expanduser()

    def _state(self) -> dict[str, torch.Tensor]:
        if "_state_obj" not in vars(self):
            path = self._path()
            blob = torch.load(path, map_location="cpu", weights_only=True)
            state = blob.get("model", blob) if isinstance(blob, dict) else None
            if not isinstance(state, dict) or "conv_block1.conv1.weight" not in state:
                raise DataFormatError(f"model_path {str(path)!r} is not a PANNs CNN14 checkpoint "
                                      "(expected {'model': state_dict} with conv_block1..6).")
            self._state_obj = state
        return self._state_obj

    def _config(self) -> Any:
        return None

    def _n_layers(self) -> int:
        return _N_BLOCKS

    def layer_names(self) -> list[str]:
        return [f"conv_block{i}" for i in range(1, _N_BLOCKS + 1)] + ["embedding"]

    def _layer_name(self, index: int) -> str:
        return f"conv_block{index}"  # blocks count from 1, as in the paper

    def _widths(self, indices: list[int]) -> list[int]:
        widths = _widths_of(self._state())
        return [widths[min(i, _N_BLOCKS - 1)] for i in indices]

    def _hop(self, index: int) -> int | None:
        return None if index == _N_BLOCKS else _HOP * 2 ** min(index + 1, _N_BLOCKS - 1)

    def _offset(self, index: int, hop: int) -> float:
        return (hop - _HOP) / 2  # centre of the pooled (centred) mel frames

    def _load(self) -> None:
        state = self._state()
        model = Cnn14(_widths_of(state), int(state["fc_audioset.weight"].shape[0]))
        front_end = ("spectrogram_extractor.", "logmel_extractor.")
        model.load_state_dict({k: v for k, v in state.items() if not k.startswith(front_end)})
        self._model = model.eval().to(self.device)
        mel = mel_filterbank(PANNS_SR, _N_FFT, _N_MELS, _FMIN, _FMAX, scale="slaney", norm="slaney")
        self._melw = torch.from_numpy(mel.T.astype(np.float32))  # = librosa.filters.mel

    def _encode(self, wav: np.ndarray) -> list[torch.Tensor]:
        x = torch.from_numpy(wav)
        spec = torch.stft(x, _N_FFT, _HOP, window=torch.hann_window(_N_FFT), center=True,
                          pad_mode="reflect", return_complex=True).abs().pow(2)
        logmel = 10 * torch.log10(torch.clamp(spec.T @ self._melw, min=1e-10))
        outs = self._model(logmel[None, None].to(self.device))
        return [o[0] for o in outs]


__all__ = ["PANNS_SR", "Cnn14", "PannsCnn14Feature"]
