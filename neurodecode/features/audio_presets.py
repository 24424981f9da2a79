"""Named presets of :class:`AudioModelFeature`: each model family's framing and quirks.

See :mod:`neurodecode.features.audio_models` for the table of rates, hops and tokens.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from neurodecode.features.audio_models import WAV2VEC_HOP, AudioModelFeature


class Wav2Vec2Feature(AudioModelFeature):
    """wav2vec2 hidden states (20 ms frames; see :class:`AudioModelFeature`)."""

    name = "wav2vec2"
    model_types = ("wav2vec2",)
    display = "wav2vec2"
    example_id = "facebook/wav2vec2-large-xlsr-53"
    sampling_rate = 16000
    hop = WAV2VEC_HOP
    legacy_extractor = True


class HubertFeature(Wav2Vec2Feature):
    """HuBERT hidden states (20 ms frames; see :class:`AudioModelFeature`)."""

    name = "hubert"
    model_types = ("hubert",)
    display = "HuBERT"
    example_id = "facebook/hubert-base-ls960"


class WavLMFeature(Wav2Vec2Feature):
    """WavLM hidden states (20 ms frames; see :class:`AudioModelFeature`)."""

    name = "wavlm"
    model_types = ("wavlm",)
    display = "WavLM"
    example_id = "microsoft/wavlm-base-plus"
    legacy_extractor = False  # base-plus does not normalise: the folder must say so


class Data2VecAudioFeature(Wav2Vec2Feature):
    """data2vec-audio hidden states (20 ms frames; see :class:`AudioModelFeature`)."""

    name = "data2vec_audio"
    model_types = ("data2vec-audio",)
    display = "data2vec-audio"
    example_id = "facebook/data2vec-audio-base"
    legacy_extractor = False


class WhisperEncoderFeature(AudioModelFeature):
    """Whisper encoder hidden states: 30 s log-mel windows, 20 ms frames, frame ``j`` centred
    on sample ``320 j`` (two convs of kernel 3 on a centred 10 ms mel)."""

    name = "whisper_encoder"
    model_types = ("whisper",)
    display = "Whisper"
    example_id = "openai/whisper-base"
    sampling_rate = 16000
    hop = WAV2VEC_HOP
    legacy_extractor = True

    def _max_window_s(self) -> float:
        return 30.0

    def _default_extractor(self) -> Any:
        from transformers import WhisperFeatureExtractor

        return WhisperFeatureExtractor(feature_size=self._config().num_mel_bins)

    def _offset(self, index: int, hop: int) -> float:
        return 0.0

    def _load(self) -> None:
        super()._load()
        self._model = self._model.encoder

    def _encode(self, wav: np.ndarray) -> list[torch.Tensor]:
        feats = self._extractor()(wav, sampling_rate=16000, return_tensors="pt").input_features
        out = self._model(feats.to(self.device), output_hidden_states=True)
        n_keep = math.ceil(wav.size / WAV2VEC_HOP)
        return [h[0, :n_keep] for h in out.hidden_states]


class ASTFeature(AudioModelFeature):
    """Audio Spectrogram Transformer hidden states, one frame per patch time step.

    The CLS and distillation tokens are dropped; the patches of one time step are averaged
    over frequency. A step is ``time_stride`` fbank frames (10 ms each): 100 ms for the
    AudioSet checkpoints, patch ``t`` centred 140 ms after its first sample.
    """

    name = "ast"
    model_types = ("audio-spectrogram-transformer",)
    display = "AST"
    example_id = "MIT/ast-finetuned-audioset-10-10-0.4593"
    sampling_rate = 16000
    default_chunk_s = 6.0
    needs_sound = False

    def _max_window_s(self) -> float:
        frames = int(self._config().max_length) if self.model_path is not None else 1024
        return (160 * (frames - 1) + 400) / 16000  # Kaldi fbank: 25 ms windows, 10 ms shift

    def _hop(self, index: int) -> int:
        return 160 * int(self._config().time_stride)

    def _offset(self, index: int, hop: int) -> float:
        patch = int(self._config().patch_size)
        return 160 * (patch - 1) / 2 + 199.5  # centre of the patch's first and last windows

    def _encode(self, wav: np.ndarray) -> list[torch.Tensor]:
        config = self._config()
        inputs = self._extractor()(wav, sampling_rate=16000, return_tensors="pt")
        out = self._model(inputs.input_values.to(self.device), output_hidden_states=True)
        n_freq = (config.num_mel_bins - config.patch_size) // config.frequency_stride + 1
        # tokens: [CLS, distillation, patches frequency-major (f * n_time + t)]
        return [h[0, 2:].reshape(n_freq, -1, h.shape[-1]).mean(0) for h in out.hidden_states]


class ClapAudioFeature(AudioModelFeature):
    """CLAP audio tower (HTS-AT) stage outputs unfolded to time, and the projection.

    Reads a full CLAP checkpoint (``laion/clap-htsat-unfused``: only its audio tower is
    loaded) or a ``ClapAudioModelWithProjection`` folder. Layers ``hidden_states.i`` are the
    Swin stages (widths grow with depth, so ``average=True`` needs layers of one stage
    width); ``"projection"`` is the contrastive audio embedding of each chunk.
    """

    name = "clap_audio"
    model_types = ("clap", "clap_audio_model")
    display = "CLAP"
    example_id = "laion/clap-htsat-unfused"
    sampling_rate = 48000
    default_chunk_s = 6.0
    needs_sound = False

    def _audio_config(self) -> Any:
        config = self._config()
        return getattr(config, "audio_config", config)

    def _max_window_s(self) -> float:
        if self.model_path is None:
            return 1023 * 480 / 48000
        audio = self._audio_config()
        return (audio.spec_size * (audio.spec_size // audio.num_mel_bins) - 1) * 480 / 48000

    def _n_layers(self) -> int:
        return len(self._audio_config().depths)

    def layer_names(self) -> list[str]:
        return super().layer_names() + ["projection"]

    def _stage(self, index: int) -> int:
        return min(index, self._n_layers() - 1)

    def _widths(self, indices: list[int]) -> list[int]:
        audio = self._audio_config()
        return [audio.projection_dim if i == self._n_layers() + 1
                else audio.patch_embeds_hidden_size * 2 ** self._stage(i) for i in indices]

    def _hop(self, index: int) -> int | None:
        if index == self._n_layers() + 1:
            return None  # the projection: one embedding per chunk
        audio = self._audio_config()
        width = audio.spec_size // audio.patch_stride[1] // 2 ** self._stage(index)
        return 480 * audio.spec_size // width  # 1024 mel frames over 4 * width tokens

    def _offset(self, index: int, hop: int) -> float:
        return (hop - 480) / 2  # centre of the token's mel frames (centred, 10 ms apart)

    def _load(self) -> None:
        from transformers import ClapAudioModelWithProjection

        self._extractor()
        self._model = ClapAudioModelWithProjection.from_pretrained(
            self._path(), local_files_only=True).eval().to(self.device)

    def _encode(self, wav: np.ndarray) -> list[torch.Tensor]:
        audio = self._audio_config()
        fusion = bool(audio.enable_fusion)
        inputs = self._extractor()(
            wav, sampling_rate=48000, return_tensors="pt", padding="pad",
            max_length=int(round(self._max_window_s() * 48000)),
            truncation="fusion" if fusion else "rand_trunc")  # no crop: chunks fit the window
        out = self._model(input_features=inputs.input_features.to(self.device),
                          is_longer=inputs.is_longer.to(self.device), output_hidden_states=True)
        ratio = audio.spec_size // audio.num_mel_bins
        states = []
        for h in out.hidden_states:  # (1, width, height, time in block): blocks stacked
            _, width, height, n_time = h.shape
            blocks = h[0].reshape(width, ratio, height // ratio, n_time).mean(2)
            states.append(blocks.reshape(width, ratio * n_time).T)
        return states + [out.audio_embeds]


class EncodecFeature(AudioModelFeature):
    """EnCodec encoder: its downsampling stages and the latent (75 Hz at 24 kHz)."""

    name = "encodec"
    model_types = ("encodec",)
    display = "EnCodec"
    example_id = "facebook/encodec_24khz"
    needs_sound = False

    def _stages(self) -> list[int]:
        """Indices in ``encoder.layers`` of the strided convs, then of the last conv."""
        config = self._config()
        if config.audio_channels != 1:
            raise ValueError(f"model_path {str(self.model_path)!r} is a {config.audio_channels}-"
                             "channel EnCodec; only mono models (encodec_24khz) are supported.")
        n_ratios = len(config.upsampling_ratios)
        per_stage = config.num_residual_layers + 2  # residual blocks, ELU, strided conv
        strided = [per_stage * (k + 1) for k in range(n_ratios)]
        return strided + [strided[-1] + 3]  # + LSTM, ELU, final conv

    def _n_layers(self) -> int:
        return len(self._stages()) - 1

    def _widths(self, indices: list[int]) -> list[int]:
        config = self._config()
        n_ratios = len(config.upsampling_ratios)
        return [config.hidden_size if i == n_ratios else config.num_filters * 2 ** (i + 1)
                for i in indices]

    def _hop(self, index: int) -> int:
        strides = list(reversed(self._config().upsampling_ratios))
        return math.prod(strides[: index + 1])

    def _offset(self, index: int, hop: int) -> float:
        """Centre of the receptive field of the conv chain (first conv, strided convs, and
        the last conv for the latent; the residual blocks and the LSTM are residual)."""
        config = self._config()
        convs = [(config.kernel_size, 1)] + [(2 * r, r) for r in reversed(config.upsampling_ratios)]
        convs = convs[: index + 2] + ([(config.last_kernel_size, 1)] if index == self._n_layers()
                                      else [])
        step, centre = 1, 0.0
        for kernel, stride in convs:
            pad = kernel - stride  # transformers' EncodecConv1d: (kernel - 1) - (stride - 1)
            left = pad if config.use_causal_conv else pad - pad // 2
            centre += step * ((kernel - 1) / 2 - left)
            step *= stride
        return centre

    def _encode(self, wav: np.ndarray) -> list[torch.Tensor]:
        from neurodecode.features._hooks import hook_activations

        encoder = self._model.encoder
        inputs = self._extractor()(wav, sampling_rate=self._model_sr(), return_tensors="pt")
        names = [f"layers.{i}" for i in self._stages()]
        acts = hook_activations(encoder, lambda: encoder(inputs.input_values.to(self.device)),
                                names)
        return [acts[n][0].T for n in names]


__all__ = ["ASTFeature", "ClapAudioFeature", "Data2VecAudioFeature", "EncodecFeature",
           "HubertFeature", "Wav2Vec2Feature", "WavLMFeature", "WhisperEncoderFeature"]
