"""Brain-model similarity maps: layer x (time | sensor | voxel) similarities."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .compare import compare_rdms
from .rdm import compute_rdm


@dataclass(frozen=True)
class SimilarityMap:
    """Result of :func:`similarity_map`.

    Parameters
    ----------
    layer_names : list of str
    similarity : array of shape (n_layers, ...)
        Similarity of each layer's RDM with the brain RDMs (leading axes of
        ``brain_rdms``: time, sensor, voxel, subject ...).
    normalized : array of shape (n_layers, ...) or None
        ``similarity`` divided by the noise ceiling, when one was given.
    layer_rdms : array of shape (n_layers, n_pairs)
    """

    layer_names: list
    similarity: np.ndarray
    normalized: np.ndarray | None
    layer_rdms: np.ndarray


def layer_rdms(
    layers: dict, metric: str = "correlation", *, backend: str | None = None, device: str | None = None
) -> tuple[list, np.ndarray]:
    """RDMs of model layers.

    Parameters
    ----------
    layers : dict of {name: array of shape (n_conditions, ...)}
        Features of each layer; all axes after the first are flattened.
    metric : str
        Dissimilarity (see :func:`compute_rdm`).
    backend, device
        Array library and torch device.

    Returns
    -------
    names : list of str
    rdms : array of shape (n_layers, n_pairs)
    """
    if not isinstance(layers, dict) or not layers:
        raise TypeError(
            f"layers must be a non-empty dict {{layer name: features}}; got {type(layers).__name__}."
        )
    sizes = {np.shape(v)[0] for v in layers.values()}
    if len(sizes) != 1:
        raise ValueError(f"every layer must have the same number of conditions; got {sorted(sizes)}.")
    rdms = []
    for value in layers.values():
        feats = np.asarray(value, dtype=np.float64).reshape(len(value), -1)
        rdm = compute_rdm(feats, metric, backend=backend, device=device)
        rdms.append(np.asarray(rdm if isinstance(rdm, np.ndarray) else rdm.cpu().numpy()))
    return [str(k) for k in layers], np.stack(rdms)


def similarity_map(
    layers: dict,
    brain_rdms: Any,
    *,
    metric: str = "correlation",
    method: str = "spearman",
    ceiling: Any = None,
    backend: str | None = None,
    device: str | None = None,
) -> SimilarityMap:
    """Similarity of every model layer with brain RDMs over time, sensors or voxels.

    For a searchlight map (layer x sensor x time, or layer x voxel), pass the layer
    RDMs of :func:`layer_rdms` as the ``model_rdms`` of :func:`sensor_searchlight` or
    :func:`volume_searchlight`: they stream the neighbourhood RDMs instead of storing them.

    Parameters
    ----------
    layers : dict of {name: array of shape (n_conditions, ...)}
        Features of each layer for the same conditions as the brain RDMs.
    brain_rdms : array of shape (..., n_pairs)
        Condensed brain RDMs (e.g. (n_times, n_pairs), (n_sensors, n_pairs)).
    metric : str
        Dissimilarity for the layer RDMs.
    method : str
        Comparison method.
    ceiling : float, array broadcastable to (...), or None
        Noise ceiling (e.g. the upper bound of :func:`noise_ceiling`) to divide by.
    backend, device
        Array library and torch device for the layer RDMs.

    Returns
    -------
    result : SimilarityMap
    """
    names, rdms = layer_rdms(layers, metric, backend=backend, device=device)
    brain = np.asarray(brain_rdms, dtype=np.float64)
    sim = np.moveaxis(compare_rdms(brain, rdms, method), -1, 0)
    normalized = None
    if ceiling is not None:
        with np.errstate(divide="ignore", invalid="ignore"):
            normalized = sim / np.asarray(ceiling, dtype=np.float64)
    return SimilarityMap(names, sim, normalized, rdms)


__all__ = ["layer_rdms", "similarity_map", "SimilarityMap"]
