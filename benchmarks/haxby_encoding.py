"""Haxby et al. 2001 (subject 1, one slice): voxelwise encoding of the 8 categories.

HRF-convolved (Glover) category regressors from the per-volume labels, per-run
detrended and z-scored BOLD, leave-one-run-out ridge (alpha per voxel chosen by inner
leave-one-run-out), held-out r per voxel, circular-shift permutation test within runs
with Benjamini-Hochberg FDR. Run: ``python benchmarks/haxby_encoding.py [data_root]``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from nilearn.maskers import NiftiMasker

from neurodecode.encoding import (
    events_from_labels,
    fit_voxelwise,
    make_hrf_regressors,
    permutation_test,
    scores_to_nifti,
)

T_R = 2.5


def main(root: Path, out_dir: Path) -> None:
    attrs = pd.read_csv(root / "attributes_literal.txt", sep=" ", header=None,
                        names=["label", "run"])
    runs = attrs.run.to_numpy()
    masker = NiftiMasker(mask_img=str(root / "mask.nii.gz"), detrend=True,
                         standardize="zscore_sample", runs=runs, t_r=T_R).fit()
    data = masker.transform(str(root / "bold.nii.gz"))
    events = events_from_labels(attrs.label.to_numpy(), T_R, runs=runs)
    design, conditions = make_hrf_regressors(events, len(data), T_R, runs)
    t0 = time.perf_counter()
    res = fit_voxelwise(design, data, runs)
    perm = permutation_test(data, res.predictions, n_permutations=1000, groups=runs)
    elapsed = time.perf_counter() - t0
    img = scores_to_nifti(res.scores, masker)
    out_dir.mkdir(parents=True, exist_ok=True)
    img.to_filename(out_dir / "haxby_encoding_r.nii.gz")
    print(f"{data.shape[0]} volumes x {data.shape[1]} voxels, {len(np.unique(runs))} runs, "
          f"conditions: {', '.join(conditions)}")
    print(f"held-out r per voxel: median {np.median(res.scores):.3f}, "
          f"max {res.scores.max():.3f}, min {res.scores.min():.3f}")
    print(f"significant after FDR (q<0.05, 1000 circular shifts within runs): "
          f"{perm['significant'].mean():.3f} of voxels ({int(perm['significant'].sum())}/"
          f"{len(res.scores)})")
    print(f"median chosen alpha {np.median(res.alphas):.3g}; fit + permutations {elapsed:.1f} s")
    print(f"map saved to {out_dir / 'haxby_encoding_r.nii.gz'}")


if __name__ == "__main__":
    default = Path(__file__).resolve().parents[1].parent / "shared" / "data"
    data_root = Path(sys.argv[1]) if len(sys.argv) > 1 else default
    main(data_root / "fmri_haxby", Path("/tmp/neurodecode_haxby"))
