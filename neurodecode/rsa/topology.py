"""Topological RSA: geo-topological RDM transforms and topology model selection.

Lin & Kriegeskorte (2024), "The topology and geometry of neural representations",
PNAS 121(42), e2317881121. The geo-topological transform keeps the local geometry of
a representation (distances below a lower quantile become 0, "the same place") and
discards the global geometry (distances above an upper quantile become 1, "far"),
grading linearly in between. With ``geodesic=True`` the distances are first replaced
by shortest paths over the graph of the pairs closer than the upper quantile, so a
curved or stretched manifold keeps the distances of its topology.

Example
-------
>>> import numpy as np
>>> from neurodecode.rsa import compute_rdm, topology_model_rdms, select_topology
>>> angle = np.linspace(0, 2 * np.pi, 24, endpoint=False)
>>> ring = np.c_[np.cos(angle), 4 * np.sin(angle), np.cos(3 * angle)]
>>> models = topology_model_rdms(24)
>>> select_topology(compute_rdm(ring, "euclidean"), models, lower=0.0, upper=0.2).best
'ring'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import shortest_path

from .compare import compare_rdms
from .rdm import n_conditions_from_pairs, to_condensed

TOPOLOGIES = ("ring", "chain", "grid", "clusters")


def _check_thresholds(lower: float, upper: float, names: tuple = ("lower", "upper")) -> None:
    for name, value in zip(names, (lower, upper)):
        if not np.isfinite(value) or not 0.0 <= value <= 1.0:
            raise ValueError(
                f"{name} must be a quantile in [0, 1] of the RDM's distances; got {value!r}."
            )
    if lower > upper:
        raise ValueError(
            f"{names[0]} must be <= {names[1]} (quantiles of the distances); got "
            f"{names[0]}={lower!r} and {names[1]}={upper!r}. Swap them."
        )


def _graded(d: np.ndarray, low: float, high: float) -> np.ndarray:
    """Distances to [0, 1]: 0 at or below ``low``, 1 at or above ``high``, linear between."""
    if high <= low:
        return (d > low).astype(np.float64)
    return np.clip((d - low) / (high - low), 0.0, 1.0)


def _geodesic(rdm: np.ndarray, high: float) -> np.ndarray:
    """Shortest paths over the pairs closer than ``high`` (disconnected pairs: inf)."""
    n = n_conditions_from_pairs(rdm.size)
    i, j = np.triu_indices(n, 1)
    keep = rdm <= high
    eps = 1e-9 * max(float(np.max(np.abs(rdm))), 1.0)  # zero-distance pairs stay edges
    graph = coo_matrix((np.maximum(rdm[keep], eps), (i[keep], j[keep])), shape=(n, n))
    paths = to_condensed(shortest_path(graph.tocsr(), method="D", directed=False))
    return np.where(paths < eps * n, 0.0, paths)


def geotopological_transform(
    rdms: Any, lower: float = 0.0, upper: float = 1.0, *, geodesic: bool = False,
    neighbours: float | None = None,
) -> np.ndarray:
    """Geo-topological transform of condensed RDMs (Lin & Kriegeskorte 2024).

    Parameters
    ----------
    rdms : array of shape (..., n_pairs)
        Condensed RDMs (one per leading index: time, subject, ...).
    lower, upper : float
        Quantiles in [0, 1] of each RDM's distances, ``lower <= upper``. Distances at or
        below the ``lower`` quantile map to 0, at or above the ``upper`` quantile to 1,
        linearly in between. ``lower=0, upper=1`` is a min-max rescaling (the geometry),
        ``lower == upper`` a binary neighbourhood graph (pure topology).
    geodesic : bool
        Replace the distances by shortest paths over the graph of pairs closer than the
        ``neighbours`` quantile first (then grade the geodesic distances between their
        own ``lower`` and ``upper`` quantiles; pairs in different components map to 1).
    neighbours : float or None
        Quantile in [0, 1] of the distances that join two conditions in the geodesic
        graph; ``None``: ``upper``.

    Returns
    -------
    transformed : array of shape (..., n_pairs)
        Values in [0, 1].
    """
    _check_thresholds(lower, upper)
    graph_q = upper if neighbours is None else neighbours
    _check_thresholds(0.0, graph_q, ("lower", "neighbours"))
    x = np.asarray(rdms, dtype=np.float64)
    n_conditions_from_pairs(x.shape[-1], "rdms")
    flat = x.reshape(-1, x.shape[-1])
    out = np.empty_like(flat)
    for i, rdm in enumerate(flat):
        d = rdm
        if geodesic:
            d = _geodesic(rdm, np.quantile(rdm, graph_q))
            finite = np.isfinite(d)
            low, high = np.quantile(d[finite], [lower, upper])
            out[i] = np.where(finite, _graded(np.where(finite, d, 0.0), low, high), 1.0)
            continue
        low, high = np.quantile(d, [lower, upper])
        out[i] = _graded(d, low, high)
    return out.reshape(x.shape)


def topology_model_rdms(n_conditions: int, kinds: Any = TOPOLOGIES) -> dict[str, np.ndarray]:
    """Geodesic RDMs of ideal topologies over conditions in their natural order.

    Parameters
    ----------
    n_conditions : int
        Number of conditions (>= 4; ``"grid"`` uses the largest near-square grid).
    kinds : sequence of {"ring", "chain", "grid", "clusters"}
        ``"ring"``: circular index distance; ``"chain"``: ``|i - j|``; ``"grid"``:
        Manhattan distance on a ``rows x cols`` grid filled row by row; ``"clusters"``:
        two halves, 0 within and 1 between.

    Returns
    -------
    models : dict of {kind: array of shape (n_pairs,)}
    """
    if int(n_conditions) < 4:
        raise ValueError(f"n_conditions must be >= 4 for a topology; got {n_conditions!r}.")
    n = int(n_conditions)
    i, j = np.triu_indices(n, 1)
    cols = int(np.ceil(np.sqrt(n)))
    builders = {
        "ring": lambda: np.minimum(j - i, n - (j - i)),
        "chain": lambda: j - i,
        "grid": lambda: np.abs(i // cols - j // cols) + np.abs(i % cols - j % cols),
        "clusters": lambda: (i < n // 2) != (j < n // 2),
    }
    out = {}
    for kind in kinds:
        if kind not in builders:
            raise ValueError(f"kinds holds {kind!r}; expected some of {TOPOLOGIES}.")
        out[kind] = builders[kind]().astype(np.float64)
    return out


@dataclass(frozen=True)
class TopologySelection:
    """Result of :func:`select_topology`.

    Parameters
    ----------
    names : list of str
        Model names, length n_models (the keys of ``models``, in order).
    similarity : array of shape (..., n_models)
        Similarity of the transformed data RDM(s) with each transformed model RDM.
    best : str or array of str of shape (...)
        Name of the most similar model (per leading index of the data RDMs).
    """

    names: list
    similarity: np.ndarray
    best: Any


def select_topology(
    data_rdms: Any,
    models: dict,
    *,
    lower: float = 0.0,
    upper: float = 0.5,
    geodesic: bool = True,
    neighbours: float | None = None,
    method: str = "pearson",
) -> TopologySelection:
    """Topological RSA model selection: compare geo-topologically transformed RDMs.

    Both the data RDMs and every model RDM go through
    :func:`geotopological_transform` with the same thresholds, then are compared
    with :func:`compare_rdms`. ``lower=0, upper=1, geodesic=False`` with
    ``method="spearman"`` is plain RSA.

    Parameters
    ----------
    data_rdms : array of shape (..., n_pairs)
        Condensed data RDMs.
    models : dict of {name: array of shape (n_pairs,)}
        Candidate model RDMs (e.g. from :func:`topology_model_rdms`).
    lower, upper, geodesic, neighbours
        Transform parameters (see :func:`geotopological_transform`).
    method : str
        Comparison method (see :func:`compare_rdms`).

    Returns
    -------
    result : TopologySelection
    """
    if not isinstance(models, dict) or not models:
        raise TypeError(f"models must be a non-empty dict {{name: RDM}}; got {type(models).__name__}.")
    names = [str(k) for k in models]
    data = geotopological_transform(data_rdms, lower, upper, geodesic=geodesic,
                                    neighbours=neighbours)
    stacked = np.stack([np.asarray(m, dtype=np.float64) for m in models.values()])
    model_t = geotopological_transform(stacked, lower, upper, geodesic=geodesic,
                                       neighbours=neighbours)
    sim = np.atleast_1d(compare_rdms(data, model_t, method))
    best = np.asarray(names)[np.argmax(sim, axis=-1)]
    return TopologySelection(names, sim, str(best) if best.ndim == 0 else best)


__all__ = ["TOPOLOGIES", "TopologySelection", "geotopological_transform", "select_topology",
           "topology_model_rdms"]
