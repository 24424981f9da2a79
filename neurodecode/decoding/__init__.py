"""Decoding stimuli from brain data.

``linear``: cross-validated linear decoding of conditions, over time (MNE's
``SlidingEstimator``/``GeneralizingEstimator``) with Haufe patterns; ``items``: image
(item) decoding with brain encoders; ``windows``: timeline (speech) decoding with brain
encoders on streamed windows, scored among stimulus positions without holding the test
split (import ``neurodecode.decoding.items`` or ``.windows``, they need torch).
"""

from .linear import (
    CLASSIFIERS,
    above_chance,
    accuracy_over_time,
    cross_validate,
    fold_ci,
    generalization_over_time,
    make_classifier,
    make_cv,
    peak_index,
    spatial_pattern,
    window_features,
)

__all__ = ["CLASSIFIERS", "above_chance", "accuracy_over_time", "cross_validate", "fold_ci",
           "generalization_over_time", "make_classifier", "make_cv", "peak_index",
           "spatial_pattern", "window_features"]
