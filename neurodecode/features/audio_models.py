"""Pretrained audio encoders from a local ``transformers`` folder, layer by layer.

One extractor, :class:`AudioModelFeature`, reads any ``transformers`` audio model saved in a
local folder (``config.json``, the weights and the model's own feature-extractor config
``preprocessor_config.json``; nothing is downloaded). It resamples the audio to the model's
rate (logged), frames it the model's own way, encodes long audio in chunks with context on
each side, keeps every hidden state asked for (averaged or concatenated) and places each
frame at the centre of its receptive field on the output clock (``sfreq`` frames per
second, frame 0 at the stimulus onset).

Chunks start and end on whole frames of every kept layer, so that frame ``i`` of a chunk is
frame ``start / hop + i`` of the whole file: chunked and whole-file features agree away from
the chunk edges (up to the context the model would have seen).

Presets (registry names) and the quirks they know:

=================  ======  ==============================================================
name               rate    framing
=================  ======  ==============================================================
``wav2vec2``,      16 kHz  conv front-end, 320-sample hop (20 ms), 400-sample receptive
``hubert``,                field (frame centre 12.5 ms after its start); audio normalised
``wavlm``,                 as the model's feature extractor says
``data2vec_audio``
``whisper_encoder`` 16 kHz log-mel padded to 30 s windows, 20 ms frames; only frames over
                           the real audio are kept
``ast``            16 kHz  16 x 16 spectrogram patches of a 10 ms Kaldi fbank; the CLS and
                           distillation tokens are dropped and the patches of one time step
                           averaged over frequency (100 ms per step for ``time_stride=10``);
                           at most ``max_length`` fbank frames (10.24 s) per window
``clap_audio``     48 kHz  HTS-AT: the 1024-frame mel is folded into a 256 x 256 image
                           (4 time blocks stacked along frequency); each stage's tokens are
                           unfolded back to time (40 ms per token at stage 0, 320 ms at the
                           last); ``"projection"`` is the contrastive audio embedding of the
                           CLAP projection head, one per chunk, at the chunk's centre
``encodec``        24 kHz  the SEANet encoder's downsampling stages (hops 2, 8, 40, 320
                           samples) and its 75 Hz latent
=================  ======  ==============================================================

PANNs CNN14 (``panns_cnn14``, :mod:`neurodecode.features.panns`) loads its released ``.pth``
checkpoint from a local file. Not supported, with the reason (:data:`UNSUPPORTED`, raised by
``get_feature``): BEATs and CED (no ``transformers`` implementation and no maintained package
on PyPI; their reference code loads only through ``trust_remote_code``, which runs code
shipped with a checkpoint), SSAST (no ``transformers`` class), the ``laion_clap`` package
(pins numpy < 2; its checkpoints load through ``clap_audio``), EnCodec 48 kHz (stereo).
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch

from neurodecode._validation import check_positive
from neurodecode.exceptions import DataNotFoundError
from neurodecode.features._hooks import check_layers, check_model_dir
from neurodecode.features.audio import as_waveform, check_waveform
from neurodecode.features.base import Feature, resample_frames

logger = logging.getLogger("neurodecode")

#: Samples between two frames of wav2vec2-style models at 16 kHz (20 ms); named once.
WAV2VEC_HOP = 320
#: Models that cannot be loaded here, and why.
UNSUPPORTED = {
    "beats": "BEATs has no transformers implementation and no maintained PyPI package; its "
             "reference code (microsoft/unilm) loads only with trust_remote_code.",
    "ced": "CED has no transformers implementation and no maintained PyPI package; its "
           "checkpoints (mispeech/ced-*) need trust_remote_code.",
    "ssast": "SSAST has no transformers class; convert it to an AST checkpoint (feature 'ast').",
    "laion_clap": "the laion_clap package pins numpy<2 (it would downgrade this environment); "
                  "LAION-CLAP checkpoints in transformers format (laion/clap-htsat-unfused) "
                  "load with feature 'clap_audio'.",
}
_FRAMED_ELSEWHERE = {"whisper": "whisper_encoder", "audio-spectrogram-transformer": "ast",
                     "clap": "clap_audio", "clap_audio_model": "clap_audio", "encodec": "encodec"}


class AudioModelFeature(Feature):
    """Hidden states of a local ``transformers`` audio model on the stimulus clock.

    The generic name ``audio_model`` reads any wav2vec2-style model (a convolutional
    front-end on the waveform: wav2vec2, HuBERT, WavLM, data2vec-audio, UniSpeech, SEW...);
    the presets (``ast``, ``clap_audio``, ``encodec``, ``whisper_encoder``...) know the
    framing of the others.

    Parameters
    ----------
    model_path : str or Path
        Local folder with ``config.json``, the weights and ``preprocessor_config.json``.
    layers : int, sequence of int or str, "all" or None
        Hidden-state indices (0 = input embeddings) or layer names (:meth:`layer_names`);
        ``"all"`` keeps every layer, None the last one. brainmagick averages
        ``range(14, 19)`` of wav2vec2-large-xlsr-53.
    average : bool
        Average the selected layers (they must have one width) or concatenate them.
    sfreq : float
        Output frames per second (each layer is placed on this clock).
    chunk_s, context_s : float or None
        Seconds encoded per chunk and context added on each side (then cropped); None
        takes the model's default (windowed models cap ``chunk_s + 2 * context_s``).
    device : str
    """

    name = "audio_model"
    modality = "audio"
    kind = "timeline"
    takes_sfreq = False  # its own frame rate (``sfreq``), placed on the brain's clock later
    sfreq: float  # always time-resolved
    model_types: ClassVar[tuple[str, ...]] = ()  # () = any conv-framed model
    display: ClassVar[str] = "audio model"
    example_id: ClassVar[str] = "facebook/wav2vec2-base"
    sampling_rate: ClassVar[int | None] = None  # None: the feature extractor's
    hop: ClassVar[int | None] = None  # frame hop in samples; None: from the config
    default_chunk_s: ClassVar[float] = 20.0
    needs_sound: ClassVar[bool] = True  # the waveform is normalised by its power
    #: Folders saved before the feature-extractor config was required (model only) still
    #: load, with the extractor's defaults and a warning (wav2vec2, HuBERT, Whisper).
    legacy_extractor: ClassVar[bool] = False

    def __init__(self, model_path: str | Path | None = None, layers: Any = None,
                 average: bool = True, sfreq: float = 50.0, chunk_s: float | None = None,
                 context_s: float = 2.0, device: str = "cpu"):
        self.model_path = model_path
        self.layers = layers if layers is None or isinstance(layers, (int, str)) else tuple(layers)
        self.average = average
        self.sfreq = check_positive("sfreq", sfreq)
        self.chunk_s = check_positive("chunk_s", self.default_chunk_s if chunk_s is None else chunk_s)
        self.context_s = check_positive("context_s", context_s, strict=False)
        self.device = device
        limit = self._max_window_s()
        if limit is not None and self.chunk_s + 2 * self.context_s > limit:
            raise ValueError(f"chunk_s + 2 * context_s must be <= {limit:g} s for {self.display}; "
                             f"got {self.chunk_s} + 2 * {self.context_s}.")

    # ------------------------------------------------------------------ the folder
    def _path(self) -> Path:
        path = check_model_dir(self.model_path, type(self).__name__, self.example_id)
        if not (path / "preprocessor_config.json").is_file() and not self.legacy_extractor:
            raise DataNotFoundError(
                f"model path {str(path)!r} holds no preprocessor_config.json (the model's "
                f"feature-extractor config: sampling rate, normalisation, framing); save it "
                f"next to the model with `AutoFeatureExtractor.from_pretrained("
                f"{self.example_id!r}).save_pretrained(<folder>)`.")
        return path

    def weights_location(self) -> Path:
        """The local model folder, ``model_path`` (checked to hold a model).

        Returns
        -------
        path : Path
            The folder whose files the feature-cache key hashes.
        """
        return self._path()

    def _config(self) -> Any:
        if "_config_obj" not in vars(self):
            from transformers import AutoConfig

            config = AutoConfig.from_pretrained(self._path(), local_files_only=True)
            self._check_model_type(config)
            self._config_obj = config
        return self._config_obj

    def _check_model_type(self, config: Any) -> None:
        kind = getattr(config, "model_type", "?")
        if self.model_types and kind not in self.model_types:
            raise ValueError(f"model_path {str(self.model_path)!r} holds a {kind!r} model; "
                             f"feature {self.name!r} expects {' or '.join(self.model_types)}.")
        if not self.model_types and kind in _FRAMED_ELSEWHERE:
            raise ValueError(f"model_path {str(self.model_path)!r} holds a {kind!r} model; use "
                             f"feature {_FRAMED_ELSEWHERE[kind]!r}, which knows its framing.")
        if not self.model_types and not hasattr(config, "conv_stride"):
            raise ValueError(
                f"model_path {str(self.model_path)!r} holds a {kind!r} model, not an audio "
                f"model with a convolutional front-end; use one of the presets "
                f"('ast', 'clap_audio', 'encodec', 'whisper_encoder', 'wav2vec2', ...) or a "
                f"speech model folder.")

    def _extractor(self) -> Any:
        if "_extractor_obj" not in vars(self):
            from transformers import AutoFeatureExtractor

            self._config()
            path = self._path()
            if (path / "preprocessor_config.json").is_file():
                self._extractor_obj = AutoFeatureExtractor.from_pretrained(path,
                                                                           local_files_only=True)
            else:
                logger.warning("model path %r holds no preprocessor_config.json; using the "
                               "%s feature extractor's defaults (16 kHz, normalised audio)",
                               str(path), self.display)
                self._extractor_obj = self._default_extractor()
        return self._extractor_obj

    def _default_extractor(self) -> Any:
        from transformers import Wav2Vec2FeatureExtractor

        return Wav2Vec2FeatureExtractor(do_normalize=True)

    def _model_sr(self) -> int:
        if self.sampling_rate is not None:
            return self.sampling_rate
        return int(self._extractor().sampling_rate)

    def _max_window_s(self) -> float | None:
        """Longest input (seconds) the model takes at once; None if unbounded."""
        return None

    # ------------------------------------------------------------------ layers
    def _n_layers(self) -> int:
        config = self._config()
        return int(getattr(config, "encoder_layers", None) or config.num_hidden_layers)

    def layer_names(self) -> list[str]:
        """Names of the layers this model offers (``hidden_states.0`` = input embeddings).

        Returns
        -------
        names : list of str
            ``hidden_states.<i>`` for each layer.
        """
        return [f"hidden_states.{i}" for i in range(self._n_layers() + 1)]

    def default_layers(self) -> list[str]:
        """The layers :func:`extract_layers` reads by default: every one.

        Returns
        -------
        names : list of str
            Every name of :meth:`layer_names`.
        """
        return self.layer_names()

    def _layer_indices(self) -> list[int]:
        names = self.layer_names()
        if self.layers is None:
            return [len(names) - 1]
        if self.layers == "all":
            return list(range(len(names)))
        given = [self.layers] if isinstance(self.layers, (int, str)) else list(self.layers)
        wanted = [self._layer_name(w) if isinstance(w, int) else str(w) for w in given]
        return [names.index(n) for n in check_layers(wanted, names, type(self).__name__)]

    def _layer_name(self, index: int) -> str:
        """The name of layer number ``index`` (``layers=index``)."""
        return f"hidden_states.{index}"

    def _widths(self, indices: list[int]) -> list[int]:
        config = self._config()
        return [int(getattr(config, "d_model", None) or config.hidden_size)] * len(indices)

    @property
    def dimension(self) -> int:  # type: ignore[override]
        widths = self._widths(self._layer_indices())
        return widths[0] if self.average else sum(widths)

    # ------------------------------------------------------------------ framing
    def _hop(self, index: int) -> int | None:
        """Samples between two frames of layer ``index``; None means one frame per chunk."""
        if self.hop is not None:
            return self.hop
        return math.prod(self._config().conv_stride)

    def _offset(self, index: int, hop: int) -> float:
        """Samples from the start of frame 0 to the centre of its receptive field."""
        config = self._config()
        field, step = 1, 1
        for kernel, stride in zip(config.conv_kernel, config.conv_stride):
            field += (kernel - 1) * step
            step *= stride
        return (field - 1) / 2

    def _load(self) -> None:
        from transformers import AutoModel

        self._extractor()
        self._model = AutoModel.from_pretrained(self._path(), local_files_only=True).eval()
        self._model.to(self.device)

    def _encode(self, wav: np.ndarray) -> list[torch.Tensor]:
        """Every hidden state of one chunk: list of (n_frames, width)."""
        inputs = self._extractor()(wav, sampling_rate=self._model_sr(), return_tensors="pt")
        out = self._model(inputs.input_values.to(self.device), output_hidden_states=True)
        return [h[0] for h in out.hidden_states]

    # ------------------------------------------------------------------ chunks
    def _chunk_grid(self, hops: list[int | None], sr: int) -> tuple[int, int]:
        """Chunk and context in samples: whole frames of every hop, within the window."""
        grid = math.lcm(*[h for h in hops if h is not None]) if any(hops) else 1
        chunk = max(grid, int(round(self.chunk_s * sr / grid)) * grid)
        ctx = int(round(self.context_s * sr / grid)) * grid
        limit = self._max_window_s()
        while limit is not None and chunk + 2 * ctx > limit * sr and chunk > grid:
            chunk -= grid  # rounding up to whole frames must not overflow the window
        return chunk, ctx

    def hidden_states(self, wav: np.ndarray, indices: list[int]) -> list[np.ndarray]:
        """Chunked hidden states of a waveform at the model's rate.

        Parameters
        ----------
        wav : array of shape (n_samples,)
            Mono waveform at the model's rate.
        indices : list of int
            Layers (0 = input embeddings).

        Returns
        -------
        states : list of array of shape (width, n_frames)
            One per index, frame ``i`` starting at sample ``i * hop`` of that layer.
        """
        sr = self._model_sr()
        hops = [self._hop(i) for i in indices]
        chunk, ctx = self._chunk_grid(hops, sr)
        parts: list[list[np.ndarray]] = [[] for _ in indices]
        with torch.no_grad():
            for start in range(0, wav.size, chunk):
                lo, hi = max(0, start - ctx), min(wav.size, start + chunk + ctx)
                states = self._encode(wav[lo:hi])
                n_core = min(chunk, wav.size - start)
                for k, (idx, hop) in enumerate(zip(indices, hops)):
                    # a layer without a hop gives one vector for the whole chunk
                    skip = 0 if hop is None else (start - lo) // hop
                    n_keep = 1 if hop is None else math.ceil(n_core / hop)
                    parts[k].append(states[idx][skip: skip + n_keep].float().cpu().numpy())
        return [_joined(p, math.ceil(wav.size / (hop or chunk))) for p, hop in zip(parts, hops)]

    def _frames(self, stimulus: Any, indices: list[int]) -> tuple[np.ndarray, list[np.ndarray]]:
        sr = self._model_sr()
        wav, _ = as_waveform(stimulus, sr)
        wav = check_waveform(wav, sr, allow_silent=not self.needs_sound)
        return wav, self.hidden_states(wav, indices)

    def _compute_one(self, stimulus: Any, **kwargs: Any) -> np.ndarray:
        indices = self._layer_indices()
        wav, states = self._frames(stimulus, indices)
        sr = self._model_sr()
        chunk, _ = self._chunk_grid([self._hop(i) for i in indices], sr)
        n_out = max(1, int(round(wav.size / sr * self.sfreq)))
        placed = []
        for idx, state in zip(indices, states):
            hop = self._hop(idx) or chunk
            t0 = self._offset(idx, hop) / sr
            placed.append(resample_frames(state, sr / hop, self.sfreq, n_out=n_out, t0=t0))
        if self.average:
            widths = sorted({p.shape[0] for p in placed})
            if len(widths) > 1:
                raise ValueError(f"average=True needs layers of one width; layers={self.layers!r} "
                                 f"have widths {widths}. Pass average=False to concatenate them.")
            return np.mean(placed, axis=0).astype(np.float32)
        return np.concatenate(placed).astype(np.float32)

    def activations(self, stimuli: list[Any], layers: list[str], *, pooled: bool = True,
                    progress: bool = False) -> dict[str, np.ndarray]:
        """Hidden states of ``layers`` per stimulus, for layer-wise RSA and encoding.

        Parameters
        ----------
        stimuli : list
            Waveforms ``(wav, sr)`` or audio paths.
        layers : list of str
            Names of :meth:`layer_names`.
        pooled : bool
            Average each layer over time (one vector per stimulus).
        progress : bool
            Show a progress bar.

        Returns
        -------
        activations : dict of str to array of shape (n_stimuli, width) when pooled over
            time, else (n_stimuli, width, n_frames) at each layer's native frame rate
            (stimuli must then have equal lengths).
        """
        from tqdm.auto import tqdm

        names = self.layer_names()
        indices = [names.index(n) for n in check_layers(layers, names, type(self).__name__)]
        self.load()
        result: dict[str, list[np.ndarray]] = {layer: [] for layer in layers}
        for stim in tqdm(stimuli, disable=not progress, desc=self.name):
            _, states = self._frames(stim, indices)
            for layer, state in zip(layers, states):
                result[layer].append(state.mean(axis=1) if pooled else state)
        lengths = {a.shape[-1] for v in result.values() for a in v}
        if not pooled and len(lengths) > 1:
            raise ValueError(f"pooled=False needs stimuli of equal length; got {sorted(lengths)} "
                             "frames. Use pooled=True or the time-resolved feature.")
        return {layer: np.stack(v) for layer, v in result.items()}


def _joined(parts: list[np.ndarray], n_total: int) -> np.ndarray:
    """Concatenate chunk frames to (width, n_total); a short end (a conv front-end drops the
    last partial frame) holds its last frame."""
    arr = np.concatenate(parts).T
    if arr.shape[1] < n_total:
        arr = np.pad(arr, ((0, 0), (0, n_total - arr.shape[1])), mode="edge")
    return arr[:, :n_total]


__all__ = ["UNSUPPORTED", "WAV2VEC_HOP", "AudioModelFeature"]
