"""Searchlight RSA over sensors (M/EEG) and voxel spheres (fMRI), streamed over centres.

With the Spearman, Pearson or cosine comparison (the default is Spearman) a compiled
kernel computes each neighbourhood's RDM at each time and compares it with the models
in one pass, on blocks of times transposed into one reused buffer; the RDMs it cannot
finish (NaN pairs, constant RDMs, correlations over 2 features) and the other methods
take the general path: patterns of each neighbourhood gathered chunk by chunk (the
chunk size follows a memory budget), padded to a common size with zeros, and turned
into RDMs through Gram matrices that account for the padding. The peak memory does not
grow with the number of centres.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from .._validation import check_finite, check_option, check_positive
from . import _backend as B
from .compare import compare_rdms
from .methods import get_method
from .timecourse import as_model_matrix, condition_means

logger = logging.getLogger("neurodecode")

SEARCHLIGHT_METRICS = ("correlation", "euclidean", "sqeuclidean", "cosine")


def _padded(neighbors: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    k = max(len(n) for n in neighbors)
    idx = np.zeros((len(neighbors), k), dtype=np.intp)
    valid = np.zeros((len(neighbors), k), dtype=bool)
    for c, nb in enumerate(neighbors):
        idx[c, : len(nb)] = nb
        valid[c, : len(nb)] = True
    return idx, valid


def _check_neighbors(neighbors: list[np.ndarray], radius: Any, unit: str) -> None:
    if max(len(n) for n in neighbors) < 2:
        raise ValueError(
            f"radius={radius!r} {unit} selects no neighbour around any centre (each "
            f"searchlight holds only its centre); use a larger radius."
        )


def _chunk_rdms(x: np.ndarray, idx: np.ndarray, valid: np.ndarray, metric: str) -> np.ndarray:
    """RDMs of padded neighbourhoods: x (n_cond, n_feat, n_times) -> (c, n_times, n_pairs)."""
    mask = valid[:, None, None, :]
    sub = np.ascontiguousarray(x[:, idx, :].transpose(1, 3, 0, 2))  # (c, n_times, n_cond, k)
    sub *= mask  # padded features are exactly zero
    if metric == "correlation":
        # a pattern constant over the neighbourhood is exactly zero once centred (its
        # distances NaN), whatever the rounding of its mean and the padding
        flat = ((sub == sub[..., :1]) | ~mask).all(-1)  # feature 0 is always a real one
        sub -= sub.sum(-1, keepdims=True) * mask / valid.sum(-1)[:, None, None, None]
        sub *= ~flat[..., None]
    gram = sub @ sub.swapaxes(-1, -2)
    iu = np.triu_indices(x.shape[0], 1)
    g = gram[..., iu[0], iu[1]]
    diag = np.diagonal(gram, axis1=-2, axis2=-1)
    di, dj = diag[..., iu[0]], diag[..., iu[1]]
    if metric in ("correlation", "cosine"):  # NaN for a one-channel (or flat) neighbourhood
        with np.errstate(divide="ignore", invalid="ignore"):
            return 1.0 - g / np.sqrt(di * dj)
    sq = np.maximum(di + dj - 2 * g, 0.0)
    return sq if metric == "sqeuclidean" else np.sqrt(sq)


def _chunks(n: int, size: int) -> Iterator[slice]:
    for start in range(0, n, size):
        yield slice(start, min(n, start + size))


def _run(
    patterns: np.ndarray,
    neighbor_chunks: Iterator[list[np.ndarray]],
    n_centres: int,
    models: np.ndarray,
    setting: tuple[str, str, float],
    verbose: bool,
) -> np.ndarray:
    """Similarities (n_centres, n_times, n_models); ``setting``: metric, method, max_memory."""
    metric, method, max_memory = setting
    out = np.empty((n_centres, patterns.shape[-1], len(models)))
    fast = _fast_models(models, method)
    start = 0
    with B.single_threaded_blas(), tqdm(
        total=n_centres, disable=not verbose, desc="searchlight"
    ) as bar:
        for nbrs in neighbor_chunks:
            idx, valid = _padded(nbrs)
            part = out[start : start + len(nbrs)]
            if fast is None:
                part[...] = compare_rdms(_chunk_rdms(patterns, idx, valid, metric), models,
                                         method)
            else:
                ok = _fast_chunk(patterns, idx, valid, metric, fast, part, max_memory)
                _fill_undefined(patterns, idx, valid, (metric, method), models, part, ok)
            start += len(nbrs)
            bar.update(len(nbrs))
    return out


_FAST_MODES = {"spearman": 0, "pearson": 1, "cosine": 2}  # compiled path of _kernels
_KINDS = {"correlation": 0, "cosine": 0, "sqeuclidean": 1, "euclidean": 2}
_ITEM_TIMES, _ITEM_CENTRES = 4, 64  # RDMs of one work item: threads take them in turn
_BLOCK_BYTES = 16e6  # patterns of one block of times (transposed into a reused buffer)


def _fast_models(models: np.ndarray, method: str) -> tuple[int, np.ndarray] | None:
    """The mode and the unit-norm transformed models (n_models, n_pairs) of the
    compiled path, or None where the general path must compare (another method, or
    models that are not finite or constant)."""
    if method not in _FAST_MODES or not np.isfinite(models).all():
        return None
    transform = get_method(method).transform
    if transform is None:  # a function kernel: no compiled path
        return None
    transformed = transform(models, None)
    norms = np.linalg.norm(transformed, axis=1)
    if not (norms > 0).all():
        return None
    return _FAST_MODES[method], np.ascontiguousarray(transformed / norms[:, None])


def _fast_chunk(
    patterns: np.ndarray, idx: np.ndarray, valid: np.ndarray, metric: str,
    fast: tuple[int, np.ndarray], out: np.ndarray, max_memory: float,
) -> np.ndarray:
    """Fill ``out`` (c, n_times, n_models) by the compiled kernel, blocks of times
    transposed to (times, features, conditions) within ``max_memory``; return where the
    kernel gave a value (False: left to :func:`_fill_undefined`)."""
    from ._kernels import searchlight_similarity

    mode, mt = fast
    n_cond, n_feat, n_times = patterns.shape
    lens = valid.sum(1)
    ok = np.zeros(out.shape[:2], dtype=bool)
    step = int(min(n_times, max(_ITEM_TIMES, min(max_memory, _BLOCK_BYTES) // (8 * n_feat * n_cond))))
    buf = np.empty((step, n_feat, n_cond))  # one block of times, reused
    for t0 in range(0, n_times, step):
        xt = buf[: min(step, n_times - t0)]
        np.copyto(xt, patterns[:, :, t0 : t0 + len(xt)].transpose(2, 1, 0))

        def item(ct: tuple[int, int], xt: np.ndarray = xt, t0: int = t0) -> None:
            cs, ts = slice(ct[0], ct[0] + _ITEM_CENTRES), slice(ct[1], ct[1] + _ITEM_TIMES)
            tt = slice(t0 + ct[1], t0 + ct[1] + _ITEM_TIMES)
            searchlight_similarity(xt[ts], idx[cs], lens[cs], _KINDS[metric],
                                   metric == "correlation", mode, mt, out[cs, tt], ok[cs, tt])

        items = [(c, t) for t in range(0, len(xt), _ITEM_TIMES)
                 for c in range(0, len(idx), _ITEM_CENTRES)]
        B.parallel_map(item, items, -1)
    return ok


def _fill_undefined(
    patterns: np.ndarray, idx: np.ndarray, valid: np.ndarray, setting: tuple[str, str],
    models: np.ndarray, out: np.ndarray, ok: np.ndarray,
) -> None:
    """The similarities the kernel left (NaN pairs, constant RDMs), by the general
    path, centre by centre: each RDM compared on its own defined pairs."""
    metric, method = setting
    for c in np.flatnonzero(~ok.all(1)):
        times = np.flatnonzero(~ok[c])
        sub = patterns[:, idx[c]][:, :, times]
        local = np.arange(idx.shape[1])[None]
        rdms = _chunk_rdms(sub, local, valid[c : c + 1], metric)
        out[c, times] = compare_rdms(rdms, models, method)[0]


def _chunk_size(patterns: np.ndarray, k: int, max_memory: float, method: str) -> int:
    """Centres per chunk (shared between the threads) within ``max_memory`` bytes."""
    n_cond, _, n_times = patterns.shape
    if method in _FAST_MODES:  # the compiled path keeps only the neighbour indices
        per_centre = 16 * k + 8 * n_times
    else:
        per_centre = 8 * n_times * (4 * n_cond * k + 6 * n_cond * n_cond)
    return int(max(1, max_memory // per_centre))


def _as_patterns(data: Any, conditions: Any, condition_order: Any) -> tuple[np.ndarray, list]:
    x = np.asarray(data, dtype=np.float64)
    if x.ndim == 2:
        x = x[..., None]
    if conditions is not None:
        return condition_means(x, conditions, condition_order)
    check_finite("data", x)
    if x.shape[0] < 3:
        raise ValueError(f"data must hold at least 3 conditions (axis 0); got {x.shape[0]}.")
    return x, list(range(x.shape[0]))


# ----------------------------------------------------------------------------- sensors
_SEARCHLIGHT_TYPES = ("mag", "grad", "eeg")  # those mne.channels.find_ch_adjacency knows


def sensor_neighbors(info: Any, radius: float | None = None) -> list[np.ndarray]:
    """Neighbours of each channel (itself included).

    Parameters
    ----------
    info : mne.Info
        Measurement info of the channels, in data order.
    radius : float or None
        Distance in metres between sensor positions; ``None`` uses MNE's channel
        adjacency (``mne.channels.find_ch_adjacency``) for each channel type, joining
        channels of different types found at the same location (Neuromag triplets).

    Returns
    -------
    neighbors : list of array of int
        One array of channel indices per channel.
    """
    types = info.get_channel_types()
    other = sorted({t for t in types if t not in _SEARCHLIGHT_TYPES})
    if other:
        raise ValueError(
            f"info holds channels of type {other}, which have no sensor neighbourhood; "
            f"keep only MEG/EEG channels (e.g. epochs.pick(['meg', 'eeg'])) before the "
            f"searchlight. Types supported: {list(_SEARCHLIGHT_TYPES)}."
        )
    pos = np.array([ch["loc"][:3] for ch in info["chs"]])
    if not np.isfinite(pos).all() or not np.abs(pos).any(-1).all():
        missing = [info["ch_names"][i] for i in
                   np.flatnonzero(~np.isfinite(pos).all(-1) | ~np.abs(pos).any(-1))]
        raise ValueError(
            f"info has no sensor position for {len(missing)} channel(s) (e.g. {missing[:3]}); "
            "set a montage (raw.set_montage('standard_1020') for EEG) before the searchlight."
        )
    dist = np.linalg.norm(pos[:, None] - pos[None], axis=-1)
    if radius is not None:
        check_positive("radius", radius)
        neighbors = [np.flatnonzero(row <= radius) for row in dist]
        _check_neighbors(neighbors, radius, "m")
        return neighbors
    import mne

    adjacency = np.zeros((len(pos), len(pos)), dtype=bool)
    for ch_type in sorted(set(types)):
        picks = np.flatnonzero(np.array(types) == ch_type)
        sub = mne.pick_info(info, picks)
        adj, _ = mne.channels.find_ch_adjacency(sub, ch_type)
        adjacency[np.ix_(picks, picks)] = adj.toarray().astype(bool)
    colocated = dist < 1e-3
    joined = (colocated.astype(int) @ adjacency.astype(int) @ colocated.astype(int)) > 0
    return [np.flatnonzero(row) for row in joined | np.eye(len(pos), dtype=bool)]


def sensor_searchlight(
    data: Any,
    model_rdms: Any,
    info: Any,
    *,
    conditions: Any = None,
    condition_order: Any = None,
    radius: float | None = None,
    metric: str = "correlation",
    method: str = "spearman",
    tmin: float = 0.0,
    window: int = 1,
    max_memory: float = 256e6,
    verbose: bool = False,
) -> dict:
    """Sensor-space (spatio-temporal) searchlight RSA at every time point.

    Parameters
    ----------
    data : array of shape (n_trials, n_channels, n_times) or (n_conditions, n_channels, n_times)
        Trials (with ``conditions``) or condition means (``conditions=None``).
    model_rdms : dict, array of shape (n_models, n_pairs) or (n_pairs,)
        Condensed model RDMs.
    info : mne.Info
        Channel info in the order of ``data``'s channels.
    conditions, condition_order
        Trial labels and the condition order of the model RDMs.
    radius : float or None
        Neighbourhood radius in metres; ``None``: MNE channel adjacency.
    metric : {"correlation", "euclidean", "sqeuclidean", "cosine"}
        Dissimilarity of the neighbourhood RDMs.
    method : str
        Comparison method (see :func:`compare_rdms`).
    tmin : float
        Time of the first sample in seconds.
    window : int
        Samples per searchlight in time (odd): the patterns hold the neighbourhood's
        channels at ``window`` consecutive samples, centred on each time point that
        has them all (mne-rsa's ``temporal_radius = (window - 1) / 2``); 1: one sample.
    max_memory : float
        Bytes allowed for the working arrays of one chunk of centres.
    verbose : bool
        Show a progress bar.

    Returns
    -------
    maps : dict of {model name: mne.EvokedArray}
        Model similarity for each channel (as the centre) and time: n_times - window + 1
        time points, the first at ``tmin + (window - 1) / 2 / sfreq``.
    """
    import mne

    check_option("metric", metric, SEARCHLIGHT_METRICS)
    patterns, order = _as_patterns(data, conditions, condition_order)
    if patterns.shape[1] != len(info["ch_names"]):
        raise ValueError(
            f"data has {patterns.shape[1]} channels but info has {len(info['ch_names'])}."
        )
    names, models = as_model_matrix(model_rdms, len(order))
    neighbors = sensor_neighbors(info, radius)
    patterns, neighbors = _time_windows(patterns, neighbors, window)
    size = _chunk_size(patterns, max(len(n) for n in neighbors), max_memory, method)
    chunks = (neighbors[s] for s in _chunks(len(neighbors), size))
    out = _run(patterns, chunks, len(neighbors), models, (metric, method, max_memory), verbose)
    start = tmin + (window - 1) / 2 / info["sfreq"]
    return {
        name: mne.EvokedArray(out[:, :, k], info, tmin=start, comment=name, nave=1)
        for k, name in enumerate(names)
    }


def _time_windows(
    patterns: np.ndarray, neighbors: list[np.ndarray], window: int
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Patterns (n_cond, n_ch * window, n_windows) of ``window`` consecutive samples per
    channel (feature ``ch * window + w``), and the neighbourhoods over those features."""
    check_positive("window", window)
    if int(window) != window or window % 2 == 0 or window > patterns.shape[-1]:
        raise ValueError(
            f"window must be an odd whole number of samples <= n_times={patterns.shape[-1]}; "
            f"got {window!r}."
        )
    if window == 1:
        return patterns, neighbors
    window = int(window)
    view = np.lib.stride_tricks.sliding_window_view(patterns, window, axis=-1)
    n_cond, n_ch, n_win = view.shape[:3]
    stacked = np.ascontiguousarray(view.transpose(0, 1, 3, 2)).reshape(n_cond, n_ch * window,
                                                                        n_win)
    offsets = np.arange(window)
    return stacked, [(nb[:, None] * window + offsets).ravel() for nb in neighbors]


# ----------------------------------------------------------------------------- volumes
def volume_searchlight(
    data: Any,
    model_rdms: Any,
    mask_img: Any,
    radius: float,
    *,
    conditions: Any = None,
    condition_order: Any = None,
    metric: str = "correlation",
    method: str = "spearman",
    max_memory: float = 256e6,
    verbose: bool = False,
) -> dict:
    """Volume searchlight RSA with spheres of ``radius`` mm inside a mask.

    Parameters
    ----------
    data : array of shape (n_trials or n_conditions, n_voxels) or 4-D NIfTI image
        Patterns of the voxels inside the mask in C order (as
        ``nilearn.maskers.NiftiMasker`` gives them), or an image whose last axis holds
        the trials / conditions.
    model_rdms : dict, array of shape (n_models, n_pairs) or (n_pairs,)
        Condensed model RDMs.
    mask_img : NIfTI image or path
        Voxels to use; every voxel of the mask is a centre.
    radius : float
        Sphere radius in millimetres (world coordinates of the mask affine).
    conditions, condition_order, metric, method, max_memory, verbose
        As in :func:`sensor_searchlight`.

    Returns
    -------
    maps : dict of {model name: nibabel.Nifti1Image}
        3-D similarity maps (0 outside the mask).
    """
    import nibabel as nib
    from nibabel.affines import apply_affine
    from scipy.spatial import cKDTree

    check_option("metric", metric, SEARCHLIGHT_METRICS)
    check_positive("radius", radius)
    mask_img = nib.load(mask_img) if isinstance(mask_img, str | os.PathLike) else mask_img
    mask = np.asarray(mask_img.dataobj).astype(bool)
    if hasattr(data, "dataobj"):
        data = np.asarray(data.dataobj)[mask].T
    patterns, order = _as_patterns(data, conditions, condition_order)
    ijk = np.argwhere(mask)
    if patterns.shape[1] != len(ijk):
        raise ValueError(
            f"data has {patterns.shape[1]} voxels but the mask holds {len(ijk)}."
        )
    names, models = as_model_matrix(model_rdms, len(order))
    xyz = apply_affine(mask_img.affine, ijk)
    tree = cKDTree(xyz)
    nearest = tree.query(xyz, k=2)[0][:, 1].min() if len(xyz) > 1 else np.inf
    if radius < nearest:
        _check_neighbors([np.zeros(1)], radius, f"mm (the closest voxels are {nearest:.3g} mm apart)")
    k = len(tree.query_ball_point(xyz[len(xyz) // 2], radius))
    size = _chunk_size(patterns, k, max_memory, method)
    chunks = (
        [np.asarray(n) for n in tree.query_ball_point(xyz[s], radius)]
        for s in _chunks(len(xyz), size)
    )
    out = _run(patterns, chunks, len(xyz), models, (metric, method, max_memory), verbose)
    maps = {}
    for k, name in enumerate(names):
        vol = np.zeros(mask.shape, dtype=np.float32)
        vol[mask] = out[:, 0, k]
        maps[name] = nib.Nifti1Image(vol, mask_img.affine)
    return maps


def searchlight(
    data: Any,
    model_rdms: Any,
    *,
    info: Any = None,
    mask_img: Any = None,
    radius: float | None = None,
    **kwargs: Any,
) -> dict:
    """Searchlight RSA: sensors when ``info`` is given, voxel spheres when ``mask_img`` is.

    Parameters
    ----------
    data : array or NIfTI image
        Trials or condition means (see :func:`sensor_searchlight` and
        :func:`volume_searchlight`).
    model_rdms : dict, array of shape (n_models, n_pairs) or (n_pairs,)
        Condensed model RDMs.
    info : mne.Info or None
        Sensor space.
    mask_img : NIfTI image, path or None
        Volume space.
    radius : float or None
        Metres between sensors (``None``: MNE adjacency) or millimetres (required).
    **kwargs
        Passed on (``conditions``, ``metric``, ``method``, ``max_memory`` ...).

    Returns
    -------
    maps : dict of {model name: mne.EvokedArray or nibabel.Nifti1Image}
    """
    if (info is None) == (mask_img is None):
        raise ValueError(
            "searchlight needs exactly one of info (sensor space) or mask_img (volume); "
            f"got info={'set' if info is not None else None}, "
            f"mask_img={'set' if mask_img is not None else None}."
        )
    if info is not None:
        return sensor_searchlight(data, model_rdms, info, radius=radius, **kwargs)
    if radius is None:
        raise ValueError("radius (in mm) is required for a volume searchlight; got None.")
    return volume_searchlight(data, model_rdms, mask_img, radius, **kwargs)


__all__ = ["SEARCHLIGHT_METRICS", "searchlight", "sensor_neighbors", "sensor_searchlight",
           "volume_searchlight"]
