"""Pretrained speech representations: wav2vec2, HuBERT, Whisper encoder, Resemblyzer.

Transformer models load from a local folder only (nothing is downloaded). Audio is
resampled to 16 kHz (logged) and processed in overlapping chunks, so memory is
bounded whatever the duration. Outputs are time-resolved ``(n_features, n_frames)``
at ``sfreq`` frames per second, frame 0 at the stimulus onset.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from neurodecode._validation import check_positive
from neurodecode.features._hooks import check_layers, check_model_dir
from neurodecode.features.audio import as_waveform, check_waveform, compute_mel
from neurodecode.features.base import Feature, register, resample_frames

MODEL_SR = 16000
_MODEL_CLASSES = {"wav2vec2": "Wav2Vec2Model", "hubert": "HubertModel", "whisper": "WhisperModel"}
_EXAMPLES = {"wav2vec2": "facebook/wav2vec2-large-xlsr-53", "hubert": "facebook/hubert-base-ls960",
             "whisper": "openai/whisper-base"}


class TransformerSpeechFeature(Feature):
    """Hidden states of a transformers speech model, chosen or averaged over layers.

    Parameters
    ----------
    model_path : str or Path
        Local folder with ``config.json`` and weights (e.g. wav2vec2-large-xlsr-53).
    layers : int or sequence of int or None
        Hidden-state indices (0 = input embeddings); None means the last one.
        brainmagick averages ``range(14, 19)`` of wav2vec2-large-xlsr-53.
    average : bool
        Average the selected layers (True) or concatenate them along features.
    sfreq : float
        Output frame rate (the model's native rate is 50 Hz).
    chunk_s, context_s : float
        Seconds encoded per chunk and context added on each side (then cropped).
    device : str
    """

    modality = "audio"
    family = "wav2vec2"
    sfreq: float  # always time-resolved

    def __init__(self, model_path: str | Path | None = None, layers: Any = None,
                 average: bool = True, sfreq: float = 50.0, chunk_s: float = 20.0,
                 context_s: float = 2.0, device: str = "cpu"):
        self.model_path = model_path
        self.layers = layers if layers is None or isinstance(layers, int) else tuple(layers)
        self.average = average
        self.sfreq = check_positive("sfreq", sfreq)
        self.chunk_s = check_positive("chunk_s", chunk_s)
        self.context_s = check_positive("context_s", context_s, strict=False)
        self.device = device
        if self.family == "whisper" and chunk_s + 2 * context_s > 30:
            raise ValueError(f"chunk_s + 2 * context_s must be <= 30 s for Whisper; got "
                             f"{chunk_s} + 2 * {context_s}.")

    def _path(self) -> Path:
        return check_model_dir(self.model_path, type(self).__name__, _EXAMPLES[self.family])

    def weights_location(self) -> Path:
        return self._path()

    def _config(self):
        from transformers import AutoConfig

        return AutoConfig.from_pretrained(self._path(), local_files_only=True)

    def _n_layers(self) -> int:
        config = self._config()
        return int(getattr(config, "encoder_layers", None) or config.num_hidden_layers)

    def layer_names(self) -> list[str]:
        return [f"hidden_states.{i}" for i in range(self._n_layers() + 1)]

    default_layers = layer_names

    def _layer_indices(self) -> list[int]:
        if self.layers is None:
            return [self._n_layers()]
        wanted = [self.layers] if isinstance(self.layers, int) else list(self.layers)
        names = check_layers([f"hidden_states.{i}" for i in wanted], self.layer_names(),
                             type(self).__name__)
        return [int(n.split(".")[1]) for n in names]

    @property
    def dimension(self) -> int:  # type: ignore[override]
        config = self._config()
        width = int(getattr(config, "d_model", None) or config.hidden_size)
        return width if self.average else width * len(self._layer_indices())

    def _load(self) -> None:
        import transformers

        cls = getattr(transformers, _MODEL_CLASSES[self.family])
        model = cls.from_pretrained(self._path(), local_files_only=True)
        self._model = (model.encoder if self.family == "whisper" else model).eval().to(self.device)
        if self.family == "whisper":
            from transformers import WhisperFeatureExtractor

            self._extractor = WhisperFeatureExtractor(feature_size=model.config.num_mel_bins)

    def _encode(self, wav: np.ndarray) -> list[torch.Tensor]:
        """Hidden states of one chunk: list of (n_frames, width) at 50 Hz."""
        if self.family == "whisper":
            feats = self._extractor(wav, sampling_rate=MODEL_SR, return_tensors="pt").input_features
            out = self._model(feats.to(self.device), output_hidden_states=True)
            n_keep = int(np.ceil(wav.size / 320))
            return [h[0, :n_keep] for h in out.hidden_states]
        x = torch.from_numpy((wav - wav.mean()) / np.sqrt(wav.var() + 1e-7))[None].float()
        out = self._model(x.to(self.device), output_hidden_states=True)
        return [h[0] for h in out.hidden_states]

    def hidden_states(self, wav: np.ndarray, indices: list[int]) -> list[np.ndarray]:
        """Chunked hidden states of a 16 kHz waveform: one (width, n_frames) array per index."""
        # whole 20 ms frames (320 samples), so that chunks join without drifting
        chunk = max(320, int(round(self.chunk_s * MODEL_SR / 320)) * 320)
        ctx = int(round(self.context_s * MODEL_SR / 320)) * 320
        n_total = int(np.ceil(wav.size / 320))
        parts: list[list[np.ndarray]] = [[] for _ in indices]
        with torch.no_grad():
            for start in range(0, wav.size, chunk):
                lo, hi = max(0, start - ctx), min(wav.size, start + chunk + ctx)
                states = self._encode(wav[lo:hi])
                skip = int(round((start - lo) / 320))
                n_keep = int(np.ceil(min(chunk, wav.size - start) / 320))
                for k, idx in enumerate(indices):
                    parts[k].append(states[idx][skip: skip + n_keep].float().cpu().numpy())
        out = []
        for p in parts:
            arr = np.concatenate(p).T
            if arr.shape[1] < n_total:  # the conv front-end drops the last partial frame
                arr = np.pad(arr, ((0, 0), (0, n_total - arr.shape[1])), mode="edge")
            out.append(arr[:, :n_total])
        return out

    def _compute_one(self, stimulus: Any, **kwargs: Any) -> np.ndarray:
        wav, _ = as_waveform(stimulus, MODEL_SR)
        wav = check_waveform(wav, MODEL_SR, allow_silent=False)
        states = self.hidden_states(wav, self._layer_indices())
        values = np.mean(states, axis=0) if self.average else np.concatenate(states)
        n_out = max(1, int(round(wav.size / MODEL_SR * self.sfreq)))
        return resample_frames(values, MODEL_SR / 320, self.sfreq, n_out=n_out).astype(np.float32)

    def activations(self, stimuli: list[Any], layers: list[str], *, pooled: bool = True,
                    progress: bool = False) -> dict[str, np.ndarray]:
        """Hidden states of ``layers`` per stimulus: (n_stimuli, width) when pooled over time,
        else (n_stimuli, width, n_frames) at 50 Hz (stimuli must then have equal lengths)."""
        from tqdm.auto import tqdm

        indices = [int(n.split(".")[1]) for n in check_layers(layers, self.layer_names(),
                                                                  type(self).__name__)]
        self.load()
        result: dict[str, list[np.ndarray]] = {layer: [] for layer in layers}
        for stim in tqdm(stimuli, disable=not progress, desc=self.name):
            wav, _ = as_waveform(stim, MODEL_SR)
            states = self.hidden_states(check_waveform(wav, MODEL_SR, allow_silent=False), indices)
            for layer, state in zip(layers, states):
                result[layer].append(state.mean(axis=1) if pooled else state)
        lengths = {a.shape[-1] for v in result.values() for a in v}
        if not pooled and len(lengths) > 1:
            raise ValueError(f"pooled=False needs stimuli of equal length; got {sorted(lengths)} "
                             "frames. Use pooled=True or the time-resolved feature.")
        return {layer: np.stack(v) for layer, v in result.items()}


@register("wav2vec2")
class Wav2Vec2Feature(TransformerSpeechFeature):
    """wav2vec2 hidden states (see :class:`TransformerSpeechFeature`)."""

    family = "wav2vec2"


@register("hubert")
class HubertFeature(TransformerSpeechFeature):
    """HuBERT hidden states (see :class:`TransformerSpeechFeature`)."""

    family = "hubert"


@register("whisper_encoder")
class WhisperEncoderFeature(TransformerSpeechFeature):
    """Whisper encoder hidden states (30 s windows; see :class:`TransformerSpeechFeature`)."""

    family = "whisper"


@register("resemblyzer")
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

    modality = "audio"
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


__all__ = ["HubertFeature", "ResemblyzerFeature", "TransformerSpeechFeature",
           "Wav2Vec2Feature", "WhisperEncoderFeature"]
