"""The bad inputs of the issue-17 audit: each is refused with a message naming it.

The table of cases (input -> expected error) is in ``tests/README.md``; the recipe and
configuration cases are in ``tests/test_config.py``.
"""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pandas as pd
import pytest
import torch

from neurodecode.align import make_segments
from neurodecode.exceptions import AlignmentError, DataFormatError
from neurodecode.io import Recording, read_fmri
from neurodecode.io.events import normalize_events
from neurodecode.losses.clip import ClipLoss
from neurodecode.rsa.rdm import compute_rdm

WINDOW = {"tmin": 0.0, "tmax": 0.5}


def _recording(rng, n_channels=3, subject="01", **kwargs) -> Recording:
    events = pd.DataFrame({"onset": [1.0, 5.0, 9.0], "duration": 1.0, "kind": "sound",
                           "condition": "a", "stimulus": list("xyz"), "text": "", "block": "b",
                           "value": 1})
    args = dict(data_loader=rng.standard_normal((n_channels, 2000)), sfreq=100.0,
                events=events, modality="meeg", subject=subject,
                ch_names=[f"MEG{k:03d}" for k in range(n_channels)],
                ch_types=["mag"] * n_channels)
    return Recording(**{**args, **kwargs})


@pytest.mark.parametrize("kwargs, message", [
    ({"sfreq": 0}, "sfreq must be a finite number > 0; got 0"),
    ({"sfreq": -120.0}, "sfreq must be a finite number > 0; got -120.0"),
    ({"sfreq": float("nan")}, "sfreq must be a finite number > 0; got nan"),
    ({"tmax": float("inf")}, "tmax must be a finite number of seconds; got inf"),
    ({"tmin": float("-inf")}, "tmin must be a finite number of seconds; got -inf"),
    ({"tmin": float("nan")}, "tmin must be a finite number of seconds; got nan"),
    ({"tmin": 0.5}, "tmin must be smaller than tmax; got tmin=0.5, tmax=0.5"),
    ({"delay": float("nan")}, "delay must be a finite number of seconds; got nan"),
    ({"chunk_duration": 0}, "chunk_duration must be a finite number > 0; got 0"),
    ({"chunk_duration": -1.0}, "chunk_duration must be a finite number > 0; got -1.0"),
    ({"stride": float("inf")}, "stride must be a positive number of seconds; got inf"),
    ({"stride": 0.0}, "stride must be a positive number of seconds; got 0.0"),
    ({"max_pad": -0.1}, "max_pad must be a finite number >= 0; got -0.1"),
    ({"baseline": (0.2, 0.1)}, r"baseline must be \(start or None, stop\) in finite seconds "
                               r"with start <= stop; got \(0.2, 0.1\)"),
    ({"baseline": (None, float("nan"))}, "baseline must be .* got \\(None, nan\\)"),
])
def test_make_segments_window_arguments(rng, kwargs, message):
    with pytest.raises(ValueError, match=message):
        make_segments(_recording(rng), **{**WINDOW, **kwargs})


@pytest.mark.parametrize("kwargs, message", [
    ({"ch_names": ["MEG000", "MEG000", "MEG002"]},
     r"subject '01' has duplicate channel names \['MEG000'\]; give every channel a unique name"),
    ({"ch_names": ["MEG000", "MEG001"], "ch_types": ["mag"] * 2},
     "subject '01' has 3 channels in its data but 2 ch_names; give one name and type per"),
    ({"ch_types": ["mag"] * 2}, "subject '01' has 2 ch_types but 3 ch_names"),
    ({"sfreq": 0.0}, "sfreq of the recording of subject '01' must be a finite number > 0; "
                     "got 0.0"),
])
def test_make_segments_recording_checks(rng, kwargs, message):
    with pytest.raises(ValueError, match=message):
        make_segments(_recording(rng, **kwargs), **WINDOW)


@pytest.mark.parametrize("other, message", [
    ({"n_channels": 4}, r"subject '02' has 4 channels, subject '01' 3, first difference at "
                        r"index 3 \('MEG003' vs 'none'\)"),
    ({"ch_names": ["MEG002", "MEG001", "MEG000"]},
     r"first difference at index 0 \('MEG002' vs 'MEG000'\)\. Pick the common channels"),
])
def test_make_segments_mismatched_channel_names(rng, other, message):
    first = _recording(rng)
    second = _recording(rng, subject="02", **other)
    with pytest.raises(AlignmentError, match="recordings must share their channels .*" + message):
        make_segments([first, second], **WINDOW)


@pytest.mark.parametrize("table, message", [
    ({"onset": [1.0, np.nan, 3.0]}, r"1 event\(s\) without a finite onset in seconds; the "
                                    r"first is row 1 \(onset nan\)"),
    ({"onset": [1.0, "n/a"]}, r"without a finite onset .* row 1 \(onset nan\)"),
    ({"onset": [1.0, np.inf]}, r"row 1 \(onset inf\)"),
    ({"onset": [1.0, 2.0], "duration": [-1.0, 1.0]},
     r"without a finite duration >= 0 in seconds; the first is row 0 \(duration -1.0\)"),
])
def test_events_need_finite_onsets_and_durations(table, message):
    with pytest.raises(DataFormatError, match=message):
        normalize_events(pd.DataFrame(table), source="events")


@pytest.mark.parametrize("metric", ["euclidean", "correlation", "cosine"])
def test_rdm_from_zero_features(metric):
    with pytest.raises(ValueError, match=r"patterns must hold at least 1 feature \(axis -1\) "
                       r"for an RDM; got 0 \(shape \(4, 0\)\)"):
        compute_rdm(np.zeros((4, 0)), metric)


@pytest.mark.parametrize("kind, shape", [("brainmagick", (1, 4, 5)), ("infonce", (1, 4)),
                                         ("brainmagick", (0, 4, 5))])
def test_clip_loss_of_fewer_than_two_segments(kind, shape):
    """A batch of one has no negative: its loss was 0.0, so fit(batch_size=1) learned nothing."""
    n = shape[0]
    with pytest.raises(ValueError, match=f"ClipLoss needs at least 2 segments per batch .*got "
                       f"a batch of {n}, whose loss would be 0 .*Use batch_size >= 2"):
        ClipLoss(kind)(torch.randn(shape), torch.randn(shape))


def test_clip_loss_of_two_segments_is_positive(rng):
    pred, target = torch.randn(2, 4, 5), torch.randn(2, 4, 5)
    assert float(ClipLoss()(pred, target)) > 0


def _bold(rng, bad):
    affine = np.diag([3.0, 3.0, 3.0, 1.0])
    data = rng.standard_normal((4, 5, 3, 30)).astype(np.float32) + 100
    bad(data)
    img = nib.Nifti1Image(data, affine)
    img.header.set_zooms((3.0, 3.0, 3.0, 2.0))
    return img, nib.Nifti1Image(np.ones((4, 5, 3), np.uint8), affine)


def _nan_voxel(data):
    data[1, 2, 0, :] = np.nan


def _inf_sample(data):
    data[2, 0, 1, 7] = np.inf


@pytest.mark.parametrize("bad, message", [
    (_nan_voxel, r"bold run 0 has 1 voxel\(s\) inside the mask with NaN or Inf values \(1 of "
                 r"them at every volume\); the first is voxel 21 at \[3.0, 6.0, 0.0\] mm, "
                 r"volume 0. Exclude them from the mask"),
    (_inf_sample, r"has 1 voxel\(s\) .* \(0 of them at every volume\); the first is voxel 31 "
                  r"at \[6.0, 0.0, 3.0\] mm, volume 7"),
])
def test_fmri_voxel_with_nan_or_inf_is_refused(rng, bad, message):
    """nilearn's masker turns NaN and Inf into 0 without a word: the voxel would look
    like a flat, valid one."""
    img, mask = _bold(rng, bad)
    events = pd.DataFrame({"onset": [4.0, 20.0], "duration": [8.0, 8.0], "trial_type": ["a", "b"]})
    with pytest.raises(DataFormatError, match=message):
        read_fmri(img, events=events, mask=mask)


def test_fmri_nan_outside_the_mask_is_fine(rng):
    img, mask = _bold(rng, _nan_voxel)
    inside = np.ones((4, 5, 3), np.uint8)
    inside[1, 2, 0] = 0
    events = pd.DataFrame({"onset": [4.0], "duration": [8.0], "trial_type": ["a"]})
    rec = read_fmri(img, events=events, mask=nib.Nifti1Image(inside, mask.affine))
    assert rec.data.shape == (59, 30) and np.isfinite(rec.data).all()
