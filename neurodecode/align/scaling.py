"""Per-channel scaling of segments, fitted on the training split only (brainmagick's recipe)."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from .._validation import check_finite, check_option

SCALERS = ("robust", "standard")


class SegmentScaler(TransformerMixin, BaseEstimator):
    """Scale each channel by statistics of the training segments, then clamp.

    A scikit-learn transformer (``get_params``, ``set_params``, ``clone``, pipelines) on
    3-D arrays of segments: the statistics are per channel, over segments and times.

    Parameters
    ----------
    method : {"robust", "standard"}
        ``robust``: subtract the median and divide by the inter-quartile range
        (scikit-learn's ``RobustScaler``); ``standard``: mean and standard deviation.
    clamp : float or None
        Clip scaled values to ``[-clamp, clamp]`` (brainmagick: 20); ``None`` disables.

    Attributes
    ----------
    center_ : array of shape (n_channels,)
    scale_ : array of shape (n_channels,)
    n_channels_ : int
        Number of channels seen in ``fit``.
    """

    def __init__(self, method: str = "robust", clamp: float | None = 20.0):
        self.method = method
        self.clamp = clamp

    def fit(self, brain: np.ndarray, y: None = None) -> SegmentScaler:
        """Learn per-channel statistics.

        Parameters
        ----------
        brain : array of shape (n_segments, n_channels, n_times)
            The training segments.
        y : None
            Ignored (scikit-learn's transformer signature).

        Returns
        -------
        self : SegmentScaler
        """
        check_option("method", self.method, SCALERS)
        if np.asarray(brain).ndim != 3 or len(brain) == 0:
            raise ValueError(
                "brain must be a non-empty array of shape (n_segments, n_channels, n_times); "
                f"got shape {np.shape(brain)}."
            )
        check_finite("brain", np.asarray(brain), ("segment", "channel", "time"))
        flat = np.moveaxis(np.asarray(brain, dtype=np.float64), 1, 0).reshape(brain.shape[1], -1)
        std = flat.std(axis=1)
        if self.method == "robust":
            q1, med, q3 = np.percentile(flat, [25, 50, 75], axis=1)
            # a channel that is mostly constant with sparse deflections has no IQR: its
            # standard deviation scales it instead of 1 (which, in SI units, is no scaling)
            self.center_, scale = med, np.where(q3 > q1, q3 - q1, std)
        else:
            self.center_, scale = flat.mean(axis=1), std
        self.scale_ = np.where(scale > 0, scale, 1.0)
        self.n_channels_ = int(brain.shape[1])
        return self

    def transform(self, brain: np.ndarray) -> np.ndarray:
        """Scaled (and clamped) float32 copy of ``brain``.

        Parameters
        ----------
        brain : array of shape (n_segments, n_channels, n_times)

        Returns
        -------
        scaled : array of shape (n_segments, n_channels, n_times), float32
        """
        check_is_fitted(self, "scale_", msg="SegmentScaler is not fitted: call "
                        "fit(train.brain) first.")
        if np.ndim(brain) != 3 or np.shape(brain)[1] != len(self.scale_):
            raise ValueError(
                f"brain must have shape (n_segments, {len(self.scale_)} channels, n_times) as "
                f"in fit; got {np.shape(brain)}."
            )
        out = (brain - self.center_[:, None].astype(np.float32)) / self.scale_[:, None].astype(
            np.float32)
        if self.clamp is not None:
            np.clip(out, -self.clamp, self.clamp, out=out)
        return out.astype(np.float32, copy=False)


__all__ = ["SCALERS", "SegmentScaler"]
