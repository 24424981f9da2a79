"""Which layer of which model does the brain follow? A planted-ground-truth study.

Two tiny randomly initialised speech models (wav2vec2 and HuBERT architectures, saved
to a temporary folder as their tests do: real pretrained weights cannot be downloaded
here) encode the real audiobook speech of ``speech_audiobook``; every hidden layer of
both is put on a 50 Hz clock. A simulated EEG follows one chosen layer of one chosen
model through a delayed, smoothed response (100 ms latency) in noise, recorded twice
(two independent noise draws, for the noise ceiling). ``neurodecode.similarity_map``
scores every model x layer by cross-validated encoding (lagged ridge, folds by trial)
and the planted model and layer should come out on top. Writes
``which_layer.png`` (models x layers, noise-ceiling-normalised, with 95 % CIs) and
prints the table and the winner::

    python examples/which_layer.py out_folder [--data ../shared/data] [--n-trials 4]
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402

import neurodecode  # noqa: E402
from neurodecode.features import get_feature  # noqa: E402
from neurodecode.features.audio import as_waveform  # noqa: E402
from neurodecode.simulate.audio import load_audiobook  # noqa: E402
from neurodecode.viz import plot_models_by_layers  # noqa: E402

SFREQ = 50.0  # the models' native frame rate (20 ms frames)
MODELS = {"wav2vec2": ("Wav2Vec2Config", "Wav2Vec2Model"), "hubert": ("HubertConfig", "HubertModel")}


def save_tiny_models(folder: Path, n_layers: int = 4, seed: int = 0) -> dict[str, Path]:
    """Tiny random wav2vec2 and HuBERT models (16 wide, ``n_layers`` deep) in ``folder``.

    Weights are drawn with a wide spread (``initializer_range=1``): with the default
    0.02 the residual stream makes every layer of a random model nearly the same linear
    code (layer k predicts layer k+1 with R^2 = 1.000), which no analysis can tell apart.
    """
    import torch
    import transformers

    paths = {}
    for k, (name, (config_cls, model_cls)) in enumerate(MODELS.items()):
        torch.manual_seed(seed + k)
        config = getattr(transformers, config_cls)(
            hidden_size=16, num_hidden_layers=n_layers, num_attention_heads=2,
            intermediate_size=32, conv_dim=(16,) * 7, conv_stride=(5, 2, 2, 2, 2, 2, 2),
            conv_kernel=(10, 3, 3, 3, 3, 2, 2), num_conv_pos_embeddings=16,
            num_conv_pos_embedding_groups=2, vocab_size=10, initializer_range=1.0)
        getattr(transformers, model_cls)(config).save_pretrained(folder / name)
        paths[name] = folder / name
    return paths


def layer_timelines(paths: dict[str, Path], trials: list) -> tuple[dict, np.ndarray]:
    """{model: {layer: (n_frames, 16)}} over all trials at 50 Hz, and each frame's trial."""
    features: dict[str, dict[str, list]] = {}
    groups = []
    for name, path in paths.items():
        feat = get_feature(name, model_path=path, chunk_s=20.0, context_s=1.0)
        feat.load()
        indices = list(range(len(feat.layer_names())))
        per_layer: dict[str, list] = {f"layer {i}": [] for i in indices}
        for t, trial in enumerate(trials):
            wav, _ = as_waveform((trial.wav, trial.sr), 16000)
            for i, state in zip(indices, feat.hidden_states(wav, indices)):
                per_layer[f"layer {i}"].append(state.T)
            if name == next(iter(paths)):
                groups.append(np.full(state.shape[1], t))
        features[name] = {k: np.concatenate(v) for k, v in per_layer.items()}
    return features, np.concatenate(groups)


def simulate_brain(drive: np.ndarray, groups: np.ndarray, *, n_channels: int = 16,
                   snr: float = 0.2, n_repeats: int = 2, seed: int = 0) -> np.ndarray:
    """Repeated EEG (n_repeats, n_frames, n_channels) following ``drive`` (n_frames, n_feat).

    The drive is z-scored, mixed into channels, convolved with a 100 ms-latency kernel
    within each trial and buried in white noise of ``1 / snr`` times its power.
    """
    rng = np.random.default_rng(seed)
    z = (drive - drive.mean(0)) / (drive.std(0) + 1e-12)
    lags = np.arange(int(0.3 * SFREQ))
    kernel = np.exp(-0.5 * ((lags / SFREQ - 0.1) / 0.03) ** 2)
    mixed = z @ rng.standard_normal((z.shape[1], n_channels))
    clean = np.empty_like(mixed)
    for g in np.unique(groups):
        rows = groups == g
        clean[rows] = np.apply_along_axis(lambda c: np.convolve(c, kernel)[: c.size], 0,
                                          mixed[rows])
    noise_sd = np.sqrt(clean.var(0).mean() / snr)
    return clean[None] + noise_sd * rng.standard_normal((n_repeats,) + clean.shape)


def which_layer(data: Path, n_trials: int, planted: tuple[str, str], *, snr: float = 0.2,
                n_bootstrap: int = 100, seed: int = 0):
    """Run the study; return the similarity map (rows: model x layer)."""
    trials = load_audiobook(data, n_trials=n_trials)
    with tempfile.TemporaryDirectory() as tmp:
        features, groups = layer_timelines(save_tiny_models(Path(tmp), seed=seed), trials)
    repeats = simulate_brain(features[planted[0]][planted[1]], groups, snr=snr, seed=seed)
    return neurodecode.similarity_map(
        repeats.mean(0), features, method="encoding", over="layers", repeats=repeats,
        delays=range(int(0.3 * SFREQ)), groups=groups, cv=min(5, n_trials),
        n_bootstrap=n_bootstrap, seed=seed)


def main() -> None:
    repo = Path(__file__).resolve().parents[1]
    default = os.environ.get("NEURODECODE_TEST_DATA", str(repo.parent / "shared" / "data"))
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("out", type=Path, help="folder for which_layer.png")
    parser.add_argument("--data", type=Path, default=Path(default), help="real-data root")
    parser.add_argument("--n-trials", type=int, default=4, help="audiobook trials (<= 10)")
    parser.add_argument("--model", default="hubert", choices=list(MODELS))
    parser.add_argument("--layer", type=int, default=2, help="planted hidden layer (0-4)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    planted = (args.model, f"layer {args.layer}")
    res = which_layer(args.data, args.n_trials, planted)
    models, layers, table = res.grid()
    print("encoding r / noise ceiling (rows: models, columns: layers)")
    print(" " * 10 + "".join(f"{name:>10}" for name in layers))
    for m, row in zip(models, table):
        print(f"{m:<10}" + "".join(f"{v:10.3f}" for v in row))
    peak = res.peak()
    print(f"planted {planted[0]} {planted[1]}; recovered {peak['model']} {peak['layer']} "
          f"(normalised score {peak['value']:.3f})")
    plot_models_by_layers(res, title="which layer of which model",
                          fname=args.out / "which_layer.png")


if __name__ == "__main__":
    main()
