"""RSA of the Kriegeskorte et al. (2008) 92 images: which model layer looks most like IT?

Draws the human and monkey IT RDMs with the model-layer RDMs (``rdms.png``) and the
layer-wise similarity to human IT and monkey IT with bootstrap confidence intervals and
the human noise ceiling (``layer_profile.png``) into the folder given on the command line::

    python examples/rsa_92images.py out_folder [--data ../shared/data] [--pixels]

Model layers come from EfficientNet-Lite0 (``neurodecode.features.extract_layers``) when
that is available, else from raw pixels and simple derived pixel features.
"""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from scipy.io import loadmat  # noqa: E402
from scipy.spatial.distance import squareform  # noqa: E402
from scipy.stats import rankdata  # noqa: E402

from neurodecode.rsa import bootstrap_ci, compare_rdms, layer_rdms, noise_ceiling  # noqa: E402

logger = logging.getLogger("neurodecode")


def load_92(root: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Images (92, 175, 175, 3) uint8, human IT RDMs (4 subjects, n_pairs), monkey IT RDM."""
    folder = root / "rsa_92images"
    sup = loadmat(folder / "Kriegeskorte_Neuron2008_supplementalData.mat")
    images = np.stack([s["image"] for s in sup["stimuli_92objs"][0]])
    it = {str(r["name"][0]): r["RDM"].ravel() for r in sup["RDMs_mIT_hIT_fig1"][0]}
    brain = loadmat(folder / "92_brainRDMs.mat")["RDMs"][0]  # (subject, session)
    iu = np.triu_indices(92, 1)
    human = np.stack([np.mean([brain[s, k]["RDM"] for k in range(2)], 0)[iu] for s in range(4)])
    return images, human, it["mIT_674neurons"]


def pixel_layers(images: np.ndarray) -> dict:
    """Raw pixels and derived pixel features, stand-ins for network layers."""
    rgb = images.astype(np.float64)
    grey = rgb.mean(-1)
    down = grey.reshape(92, 35, 5, 35, 5).mean((2, 4))
    return {"rgb": rgb, "grey": grey, "grey 35x35": down,
            "grey 7x7": down.reshape(92, 7, 5, 7, 5).mean((2, 4))}


def model_layers(images: np.ndarray, force_pixels: bool) -> tuple[str, dict]:
    if not force_pixels:
        try:
            from neurodecode.features import extract_layers

            return "EfficientNet-Lite0", extract_layers("efficientnet_lite0", list(images))
        except Exception as err:  # the features module or its weights may be unavailable
            logger.warning("EfficientNet-Lite0 layers unavailable (%s); using pixels", err)
    return "pixels", pixel_layers(images)


def plot_rdms(rdms: dict, path: Path) -> None:
    fig, axes = plt.subplots(1, len(rdms), figsize=(2.6 * len(rdms), 2.8))
    for ax, (name, rdm) in zip(np.atleast_1d(axes), rdms.items()):
        ax.imshow(squareform(rankdata(rdm) / len(rdm)), cmap="viridis")
        ax.set_title(name, fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_profile(names, results, ceiling, source, path: Path) -> None:
    fig, ax = plt.subplots(figsize=(max(4, 0.8 * len(names)), 3.2))
    x = np.arange(len(names))
    ax.axhspan(*ceiling, color="0.85", label="human IT noise ceiling")
    for offset, (target, res) in zip((-0.1, 0.1), results.items()):
        err = [res.estimate - res.ci_low, res.ci_high - res.estimate]
        ax.errorbar(x + offset, res.estimate, yerr=err, fmt="o-", capsize=3, label=target)
    ax.set_xticks(x, names, rotation=30, ha="right", fontsize=8)
    ax.set_ylabel("Spearman rho (95% CI)")
    ax.set_title(f"{source}: layer-wise similarity to IT")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main() -> None:
    repo = Path(__file__).resolve().parents[1]
    default = os.environ.get("NEURODECODE_TEST_DATA", str(repo.parent / "shared" / "data"))
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("out", type=Path, help="folder for the PNG files")
    parser.add_argument("--data", type=Path, default=Path(default), help="real-data root")
    parser.add_argument("--pixels", action="store_true", help="use pixel features only")
    parser.add_argument("--n-bootstrap", type=int, default=1000)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    args.out.mkdir(parents=True, exist_ok=True)

    images, human, monkey = load_92(args.data)
    lower, upper = noise_ceiling(human, "spearman")
    print(f"human IT noise ceiling (Spearman): lower {lower:.3f}, upper {upper:.3f}")
    print(f"human IT vs monkey IT (Spearman): {compare_rdms(human.mean(0), monkey):.3f}")
    source, layers = model_layers(images, args.pixels)
    names, rdms = layer_rdms(layers)
    results = {
        "human IT": bootstrap_ci(human, rdms, n_bootstraps=args.n_bootstrap),
        "monkey IT": bootstrap_ci(monkey, rdms, n_bootstraps=args.n_bootstrap),
    }
    for target, res in results.items():
        for k, name in enumerate(names):
            print(f"{target:9s} {name:14s} rho {res.estimate[k]:.3f} "
                  f"[{res.ci_low[k]:.3f}, {res.ci_high[k]:.3f}]")
    plot_rdms({"human IT": human.mean(0), "monkey IT": monkey, **dict(zip(names, rdms))},
              args.out / "rdms.png")
    plot_profile(names, results, (lower, upper), source, args.out / "layer_profile.png")
    print(f"wrote {args.out / 'rdms.png'} and {args.out / 'layer_profile.png'}")


if __name__ == "__main__":
    main()
