"""read_fmri: runs, masks, label files, OpenFMRI onsets, and its errors."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pandas as pd
import pytest

from neurodecode.exceptions import AlignmentError, DataFormatError, DataNotFoundError
from neurodecode.io import labels_at_volumes, read_fmri, read_openfmri_onsets


def _bold(rng, n_vol=40, tr=2.0, shape=(4, 5, 3)):
    affine = np.diag([3.0, 3.0, 3.0, 1.0])
    data = rng.standard_normal((*shape, n_vol)).astype(np.float32) + 100
    img = nib.Nifti1Image(data, affine)
    img.header.set_zooms((3.0, 3.0, 3.0, tr))
    mask = nib.Nifti1Image(np.ones(shape, np.uint8), affine)
    return img, mask


def test_runs_events_and_masker(rng):
    img1, mask = _bold(rng)
    img2, _ = _bold(rng)
    ev = pd.DataFrame({"onset": [4.0, 20.0], "duration": [8.0, 8.0], "trial_type": ["a", "b"]})
    rec = read_fmri([img1, img2], events=[ev, ev], mask=mask)
    assert rec.data.shape == (60, 80) and rec.sfreq == 0.5  # (n_voxels, n_volumes)
    assert rec.runs.tolist() == [0] * 40 + [1] * 40
    np.testing.assert_allclose(rec.events["onset"], [4.0, 20.0, 84.0, 100.0])
    np.testing.assert_allclose(rec.data[:, :40].mean(1), 0, atol=1e-5)  # per-run z-scoring
    np.testing.assert_allclose(rec.data[:, :40].std(1, ddof=1), 1, atol=1e-4)
    back = rec.to_nifti(np.arange(60.0))
    assert back.shape == (4, 5, 3)
    assert rec.pos_3d.shape == (60, 3)


def test_label_file_and_runs(rng, tmp_path):
    img, mask = _bold(rng, n_vol=12)
    labels = tmp_path / "attributes.txt"
    rows = ["rest 0", "a 0", "a 0", "rest 0", "b 0", "b 0", "rest 1", "a 1", "a 1", "rest 1",
            "b 1", "rest 1"]
    labels.write_text("\n".join(rows))
    rec = read_fmri(img, events=labels, mask=mask)
    assert rec.runs.tolist() == [0] * 6 + [1] * 6
    assert rec.events["condition"].tolist() == ["a", "b", "a", "b"]
    np.testing.assert_allclose(rec.events["onset"], [2.0, 8.0, 14.0, 20.0])
    lab = labels_at_volumes(rec.events, 12, 2.0)
    assert lab.tolist() == [r.split()[0] for r in rows]


def test_events_table_as_csv_or_txt_with_a_header(rng, tmp_path):
    """A comma-separated events table is an events table, not a per-volume label file."""
    img, mask = _bold(rng)
    (tmp_path / "events.csv").write_text("onset,duration,trial_type\n4.0,8.0,a\n20.0,8.0,b\n")
    rec = read_fmri(img, events=tmp_path / "events.csv", mask=mask)
    assert rec.events["condition"].tolist() == ["a", "b"]
    np.testing.assert_allclose(rec.events["onset"], [4.0, 20.0])


def test_errors(rng, tmp_path):
    img, mask = _bold(rng)
    ev = pd.DataFrame({"onset": [4.0]})
    wrong = nib.Nifti1Image(np.ones((4, 5, 2), np.uint8), mask.affine)
    with pytest.raises(AlignmentError, match="expected the same grid"):
        read_fmri(img, events=ev, mask=wrong)
    shifted = nib.Nifti1Image(np.ones((4, 5, 3), np.uint8), np.diag([2.0, 3, 3, 1]))
    with pytest.raises(AlignmentError, match="expected the same grid"):
        read_fmri(img, events=ev, mask=shifted)
    no_tr = nib.Nifti1Image(np.asarray(img.dataobj), img.affine)
    no_tr.header.set_zooms((3.0, 3.0, 3.0, 0.0))
    with pytest.raises(DataFormatError, match="no repetition time"):
        read_fmri(no_tr, events=ev, mask=mask)
    assert read_fmri(no_tr, events=ev, mask=mask, tr=2.0).sfreq == 0.5
    labels = tmp_path / "labels.txt"
    labels.write_text("a 0\nb 0\n")
    with pytest.raises(AlignmentError, match="has 2 labels but the image has 40 volumes"):
        read_fmri(img, events=labels, mask=mask)
    with pytest.raises(DataNotFoundError, match="does not exist"):
        read_fmri(tmp_path / "none.nii.gz", events=ev)
    with pytest.raises(AlignmentError, match="outside the recording"):
        read_fmri(img, events=pd.DataFrame({"onset": [500.0]}), mask=mask)
    with pytest.raises(DataFormatError, match="expected a 4-D image"):
        read_fmri(mask, events=ev)
    with pytest.raises(ValueError, match="tr must be a positive"):
        read_fmri(img, events=ev, mask=mask, tr=-1)
    with pytest.raises(AlignmentError, match="confounds have 3 rows"):
        read_fmri(img, events=ev, mask=mask, confounds=np.zeros((3, 2)))


def test_confounds_are_regressed(rng):
    img, mask = _bold(rng)
    data = np.asarray(img.dataobj).copy()
    drift = np.sin(np.arange(40) / 3.0)
    data += 5 * drift
    img = nib.Nifti1Image(data, img.affine, img.header)
    rec = read_fmri(img, events=pd.DataFrame({"onset": [2.0]}), mask=mask, confounds=drift)
    corr = np.corrcoef(rec.data.mean(0), drift)[0, 1]
    assert abs(corr) < 0.05


@pytest.mark.realdata
def test_haxby_attribute_and_openfmri_agree(data_root):
    root = data_root / "fmri_haxby"
    rec = read_fmri(root / "bold.nii.gz", events=root / "attributes_literal.txt",
                    mask=root / "mask.nii.gz")
    assert rec.data.shape == (530, 1452)
    assert len(np.unique(rec.runs)) == 12
    sub = root / "openfmri" / "sub001"
    runs = sorted((sub / "BOLD").glob("task001_run*"))
    onsets = [read_openfmri_onsets(sub / "model" / "model001" / "onsets" / r.name,
                                   root / "openfmri" / "models" / "model001" / "condition_key.txt")
              for r in runs]
    rec2 = read_fmri([r / "bold_25mm.nii.gz" for r in runs], events=onsets)
    assert rec2.n_times == 1452
    tr = 1 / rec2.sfreq
    from_onsets = labels_at_volumes(rec2.events, 1452, tr)
    from_attrs = labels_at_volumes(rec.events, 1452, tr)
    category = from_attrs != "rest"
    agree = np.mean(from_onsets[category] == from_attrs[category])
    assert agree >= 0.95, agree
