"""Topological RSA (Lin & Kriegeskorte 2024) on a representation of known topology.

Twenty-four conditions lie on a ring, but the "brain" sees them through a hairpin
geometry: the ring is squashed into a long thin loop, so conditions facing each other
across the loop are close in Euclidean distance. Plain RSA compares raw distances;
topological RSA compares geo-topological transforms (geodesic distances over each
condition's nearest neighbours, graded between quantiles). Prints both model
selections among ring, chain, grid and two clusters, and writes ``topology_rdms.png``
(the data RDM raw, geo-topologically transformed, and the ring model)::

    python examples/topological_rsa.py out_folder
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402

from neurodecode.rsa import (  # noqa: E402
    compute_rdm,
    geotopological_transform,
    select_topology,
    topology_model_rdms,
)
from neurodecode.viz import plot_rdms  # noqa: E402


def hairpin_ring(seed: int = 0, noise: float = 0.05) -> np.ndarray:
    """(24, 2) points: a ring squashed to a 12 x 2.5 loop, walked in order."""
    rng = np.random.default_rng(seed)
    top = np.c_[np.arange(1, 12), np.zeros(11)]
    bottom = np.c_[np.arange(11, 0, -1), np.full(11, 2.5)]
    x = np.r_[top, [[12, 1.25]], bottom, [[0, 1.25]]]
    return x + noise * rng.standard_normal(x.shape)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("out", type=Path, help="folder for topology_rdms.png")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    data = compute_rdm(hairpin_ring(), "euclidean")
    models = topology_model_rdms(24)
    plain = select_topology(data, models, upper=1.0, geodesic=False, method="spearman")
    topo = select_topology(data, models, upper=1.0, neighbours=0.1)
    for name, res in (("plain RSA", plain), ("topological RSA", topo)):
        scores = ", ".join(f"{m} {s:.2f}" for m, s in zip(res.names, res.similarity))
        print(f"{name}: best {res.best} ({scores})")
    transformed = geotopological_transform(data, 0.0, 1.0, geodesic=True, neighbours=0.1)
    plot_rdms({"data (Euclidean)": data, "data (geo-topological)": transformed,
               "ring model": models["ring"]}, n_cols=3, fname=args.out / "topology_rdms.png")


if __name__ == "__main__":
    main()
