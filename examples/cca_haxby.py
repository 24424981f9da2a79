"""Cross-validated CCA between the Haxby BOLD slice and the stimulus model.

Canonical correlation analysis between the 530 voxels of ``fmri_haxby`` (subject 1, one
slice; per-run detrended and z-scored) and the 8 HRF-convolved category regressors, fit
on 11 runs and scored on the held-out run (leave one run out; the voxel covariance is
shrunk, ``reg_x=0.5``, as there are about as many voxels as volumes per fold), with a
null of circularly shifted regressors. Prints the held-out canonical correlations and
their p-values and writes ``cca.png``::

    python examples/cca_haxby.py out_folder [--data ../shared/data] [--n-permutations 50]
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import pandas as pd  # noqa: E402
from nilearn.maskers import NiftiMasker  # noqa: E402

from neurodecode.encoding import (  # noqa: E402
    cross_validated_cca,
    events_from_labels,
    make_hrf_regressors,
)
from neurodecode.viz import plot_canonical_correlations  # noqa: E402

T_R = 2.5


def haxby_cca(root: Path, n_components: int = 4, n_permutations: int = 50):
    """CCAResult of the BOLD slice against the category regressors (leave one run out)."""
    attrs = pd.read_csv(root / "attributes_literal.txt", sep=" ", header=None,
                        names=["label", "run"])
    runs = attrs.run.to_numpy()
    masker = NiftiMasker(mask_img=str(root / "mask.nii.gz"), detrend=True,
                         standardize="zscore_sample", runs=runs, t_r=T_R).fit()
    bold = masker.transform(str(root / "bold.nii.gz"))
    design, _ = make_hrf_regressors(events_from_labels(attrs.label.to_numpy(), T_R, runs=runs),
                                    len(bold), T_R, runs)
    return cross_validated_cca(bold, design, n_components, reg_x=0.5, cv="logo", groups=runs,
                               n_permutations=n_permutations)


def main() -> None:
    repo = Path(__file__).resolve().parents[1]
    default = os.environ.get("NEURODECODE_TEST_DATA", str(repo.parent / "shared" / "data"))
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("out", type=Path, help="folder for cca.png")
    parser.add_argument("--data", type=Path, default=Path(default), help="real-data root")
    parser.add_argument("--n-permutations", type=int, default=50)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    res = haxby_cca(args.data / "fmri_haxby", n_permutations=args.n_permutations)
    for k, (r, p) in enumerate(zip(res.correlations, res.pvalue), 1):
        print(f"component {k}: held-out canonical r = {r:.3f} (p = {p:.3f})")
    plot_canonical_correlations(res, title="Haxby: BOLD vs category model (CCA)",
                                fname=args.out / "cca.png")


if __name__ == "__main__":
    main()
