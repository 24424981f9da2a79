"""Recordings (and stimulus features) to aligned, scaled, leak-free ``Segments``."""

from .cache import cached_make_segments, read_segments, write_segments
from .scaling import SegmentScaler
from .segments import Segments, concatenate_segments, make_segments
from .splits import cv_splits, split_segments
from .windows import select_events

__all__ = [
    "SegmentScaler",
    "Segments",
    "cached_make_segments",
    "concatenate_segments",
    "cv_splits",
    "make_segments",
    "read_segments",
    "select_events",
    "split_segments",
    "write_segments",
]
