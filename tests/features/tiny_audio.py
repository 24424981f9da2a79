"""Tiny randomly initialised audio models of every preset, saved with their feature extractors.

Built from ``transformers`` configs (the architectures of the public checkpoints, shrunk):
wav2vec2 / HuBERT / WavLM / data2vec-audio keep the 7-layer conv front-end (400-sample
receptive field, 320-sample hop at 16 kHz, per-frame layer norm as in the large models), AST keeps 16 x 16 patches with a time stride of
10 fbank frames, CLAP keeps the HTS-AT 256 x 256 spectrogram image, EnCodec keeps the
(8, 5, 4, 2) strides at 24 kHz, Whisper keeps 80 mel bins and 1500 positions.
"""

from __future__ import annotations

from pathlib import Path

_CONV = dict(hidden_size=16, num_hidden_layers=3, num_attention_heads=2, intermediate_size=32,
             conv_dim=(16,) * 7, conv_stride=(5, 2, 2, 2, 2, 2, 2),
             conv_kernel=(10, 3, 3, 3, 3, 2, 2), num_conv_pos_embeddings=16,
             num_conv_pos_embedding_groups=2, vocab_size=10,
             feat_extract_norm="layer")  # as wav2vec2-large-xlsr-53: per-frame conv norm


def _conv_model(kind: str):
    import transformers as tr

    config_cls, model_cls = {
        "wav2vec2": (tr.Wav2Vec2Config, tr.Wav2Vec2Model),
        "hubert": (tr.HubertConfig, tr.HubertModel),
        "wavlm": (tr.WavLMConfig, tr.WavLMModel),
        "data2vec_audio": (tr.Data2VecAudioConfig, tr.Data2VecAudioModel),
    }[kind]
    extra = {"wavlm": {"num_buckets": 16, "max_bucket_distance": 80},
             "data2vec_audio": {"conv_pos_kernel_size": 5}}.get(kind, {})
    conv = dict(_CONV, num_conv_pos_embeddings=2) if kind == "data2vec_audio" else _CONV  # layers
    return model_cls(config_cls(**conv, **extra)), tr.Wav2Vec2FeatureExtractor(
        do_normalize=True)


def _whisper():
    import transformers as tr

    config = tr.WhisperConfig(
        d_model=16, encoder_layers=2, decoder_layers=1, encoder_attention_heads=2,
        decoder_attention_heads=2, encoder_ffn_dim=32, decoder_ffn_dim=32, num_mel_bins=80,
        vocab_size=100, max_source_positions=1500, max_target_positions=32, pad_token_id=0,
        bos_token_id=1, eos_token_id=2, decoder_start_token_id=1, suppress_tokens=None,
        begin_suppress_tokens=None)
    return tr.WhisperModel(config), tr.WhisperFeatureExtractor(feature_size=80)


def _ast():
    import transformers as tr

    config = tr.ASTConfig(hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                          intermediate_size=32, max_length=1024, num_mel_bins=128)
    return tr.ASTModel(config), tr.ASTFeatureExtractor()


def _clap():
    import transformers as tr

    audio = dict(patch_embeds_hidden_size=8, depths=(1, 1, 1), hidden_size=32,
                 num_attention_heads=(1, 2, 4), projection_dim=8)
    text = dict(vocab_size=50, hidden_size=8, num_hidden_layers=1, num_attention_heads=2,
                intermediate_size=16, projection_dim=8)
    config = tr.ClapConfig(text_config=text, audio_config=audio, projection_dim=8)
    return tr.ClapModel(config), tr.ClapFeatureExtractor()  # the public checkpoints' format


def _encodec():
    import transformers as tr

    config = tr.EncodecConfig(target_bandwidths=[1.5], hidden_size=16, num_filters=4,
                              num_lstm_layers=1, codebook_size=16)
    return tr.EncodecModel(config), tr.EncodecFeatureExtractor(feature_size=1,
                                                               sampling_rate=24000)


BUILDERS = {"wav2vec2": lambda: _conv_model("wav2vec2"), "hubert": lambda: _conv_model("hubert"),
            "wavlm": lambda: _conv_model("wavlm"),
            "data2vec_audio": lambda: _conv_model("data2vec_audio"),
            "whisper_encoder": _whisper, "ast": _ast, "clap_audio": _clap, "encodec": _encodec}


def save_tiny_model(name: str, folder: str | Path, seed: int = 0) -> Path:
    """Save the tiny model of preset ``name`` and its feature extractor under ``folder``."""
    import torch

    torch.manual_seed(seed)
    model, extractor = BUILDERS[name]()
    folder = Path(folder)
    model.save_pretrained(folder)
    extractor.save_pretrained(folder)
    return folder


def save_tiny_models(root: str | Path, seed: int = 0) -> dict[str, Path]:
    """Every preset's tiny model under ``root / <preset>``."""
    return {name: save_tiny_model(name, Path(root) / name, seed) for name in BUILDERS}


def save_tiny_panns(path: str | Path, seed: int = 0) -> Path:
    """A tiny CNN14 checkpoint in the released format (``{"model": state_dict}`` with the
    torchlibrosa front-end buffers, as in ``Cnn14_mAP=0.431.pth``, Zenodo record 3987831)."""
    import torch

    from neurodecode.features.panns import Cnn14

    torch.manual_seed(seed)
    state = Cnn14(widths=(4, 4, 8, 8, 16, 16), n_classes=5).state_dict()
    state["logmel_extractor.melW"] = torch.zeros(513, 64)  # ignored: the mel is recomputed
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"model": state, "iteration": 0}, path)
    return path
