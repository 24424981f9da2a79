"""Segments as a torch ``Dataset``, read lazily from numpy arrays or h5py datasets."""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import Dataset


def _ndim(array) -> int:
    return len(array.shape)


class SegmentDataset(Dataset):
    """Aligned brain and stimulus segments with their subject index.

    Parameters
    ----------
    brain : array of shape (n_segments, n_channels, n_times)
        M/EEG segments (or (n_segments, n_voxels) for fMRI). numpy array, memory map or
        h5py dataset: rows are read on demand, in sorted order for h5py.
    stimulus : array of shape (n_segments, n_features, n_times) or (n_segments, n_features)
        Stimulus features aligned with ``brain`` (same ``n_times`` when time-resolved).
    subject : array of int of shape (n_segments,)
        Subject index of each segment, ``0..n_subjects-1``.
    positions : array of shape (n_segments, n_channels, 2) or None
        Per-segment sensor positions, for datasets mixing sensor sets; None when one
        ``positions`` array is passed to ``fit``/``predict``.

    Notes
    -----
    ``dataset[i]`` is a dict of float32/long tensors ``{"brain", "stimulus", "subject"}``
    (plus ``"positions"``); ``dataset.get_batch(indices)`` reads several rows at once
    and returns the same keys with a leading batch axis.
    """

    def __init__(self, brain, stimulus, subject, positions=None) -> None:
        subject = np.asarray(subject)
        if _ndim(brain) not in (2, 3) or _ndim(stimulus) not in (2, 3):
            raise ValueError(
                "brain must have shape (n_segments, n_channels, n_times) and stimulus "
                f"(n_segments, n_features[, n_times]); got brain {tuple(brain.shape)} and "
                f"stimulus {tuple(stimulus.shape)}."
            )
        if subject.ndim != 1 or not np.issubdtype(subject.dtype, np.integer):
            raise TypeError(
                f"subject must be a 1-D integer array (n_segments,); got dtype {subject.dtype} "
                f"and shape {subject.shape}."
            )
        n = {len(brain), len(stimulus), len(subject)}
        if positions is not None:
            n.add(len(positions))
        if len(n) != 1:
            raise ValueError(
                "brain, stimulus, subject (and positions) must have the same number of "
                f"segments; got {len(brain)}, {len(stimulus)}, {len(subject)}."
            )
        if _ndim(brain) == 3 and _ndim(stimulus) == 3 and brain.shape[2] != stimulus.shape[2]:
            raise ValueError(
                f"brain has {brain.shape[2]} time samples per segment but stimulus has "
                f"{stimulus.shape[2]}; resample the features to the brain's sampling rate."
            )
        self.brain, self.stimulus, self.subject = brain, stimulus, subject.astype(np.int64)
        self.positions = positions

    def __len__(self) -> int:
        return len(self.subject)

    @property
    def n_features(self) -> int:
        """Feature dimension of the stimulus."""
        return int(self.stimulus.shape[1])

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        batch = self.get_batch(np.array([index]))
        return {key: value[0] for key, value in batch.items()}

    def get_batch(self, indices) -> dict[str, torch.Tensor]:
        """Rows ``indices`` (n,) as a dict of tensors with a leading batch axis.

        Parameters
        ----------
        indices : array of int of shape (n,)
            Rows of the dataset.

        Returns
        -------
        batch : dict of str to tensor
            Each item stacked with a leading batch axis of size ``n``.
        """
        indices = np.asarray(indices, dtype=np.int64)
        order = np.argsort(indices, kind="stable")
        unique, inverse = np.unique(indices[order], return_inverse=True)
        back = np.empty_like(order)
        back[order] = np.arange(len(order))

        def read(array) -> np.ndarray:
            rows = np.asarray(array[unique])  # sorted, unique: h5py-compatible
            return rows[inverse][back]

        out = {
            "brain": torch.from_numpy(np.ascontiguousarray(read(self.brain), dtype=np.float32)),
            "stimulus": torch.from_numpy(
                np.ascontiguousarray(read(self.stimulus), dtype=np.float32)),
            "subject": torch.from_numpy(self.subject[indices]),
        }
        if self.positions is not None:
            out["positions"] = torch.from_numpy(
                np.ascontiguousarray(read(self.positions), dtype=np.float32))
        return out


class BatchView(Dataset):
    """Wrap a ``SegmentDataset`` so that a ``DataLoader`` fed by a ``BatchSampler`` (with
    ``batch_size=None``) reads each batch with one ``get_batch`` call."""

    def __init__(self, dataset: SegmentDataset) -> None:
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, indices) -> dict[str, torch.Tensor]:
        return self.dataset.get_batch(indices)


__all__ = ["BatchView", "SegmentDataset"]
