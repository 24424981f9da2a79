"""Voxel selectivity on Haxby et al. (2001): each voxel's preferred category, from an
encoding model.

The 8 categories of ``fmri_haxby`` (subject 1, one posterior axial slice) are HRF-
convolved regressors; a voxelwise ridge (:class:`neurodecode.encoding.RidgeCV`, alpha
per voxel by leave-one-run-out) maps them to the BOLD signal, held-out r per voxel from
leave-one-run-out (:func:`neurodecode.encoding.fit_voxelwise`). The stimulus set is the 8
categories themselves (one regressor on at a time); :func:`preferred_stimuli` ranks them
by each voxel's predicted response (BrainDiVE's "top stimuli"). Prints how many of the
best-predicted voxels prefer each category and writes ``selectivity.png`` (the slice,
each reliable voxel coloured by its preferred category)::

    python examples/selectivity_haxby.py out_folder [--data ../shared/data] [--top 100]
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from nilearn.maskers import NiftiMasker  # noqa: E402

from neurodecode.encoding import (  # noqa: E402
    RidgeCV,
    events_from_labels,
    fit_voxelwise,
    make_hrf_regressors,
    preferred_stimuli,
)

T_R = 2.5


def haxby_selectivity(root: Path, top: int = 100):
    """(categories, preferred category per voxel, held-out r per voxel, masker)."""
    attrs = pd.read_csv(root / "attributes_literal.txt", sep=" ", header=None,
                        names=["label", "run"])
    runs = attrs.run.to_numpy()
    masker = NiftiMasker(mask_img=str(root / "mask.nii.gz"), detrend=True,
                         standardize="zscore_sample", runs=runs, t_r=T_R).fit()
    data = masker.transform(str(root / "bold.nii.gz"))
    events = events_from_labels(attrs.label.to_numpy(), T_R, runs=runs)
    design, conditions = make_hrf_regressors(events, len(data), T_R, runs)
    scores = fit_voxelwise(design, data, runs).scores
    model = RidgeCV(cv="logo").fit(design, data, groups=runs)
    unit = np.eye(len(conditions)) * design.max(0)  # each category at its peak regressor
    pref = preferred_stimuli(model, unit, top_k=1, labels=conditions)
    return conditions, pref.labels[:, 0], scores, masker


def plot_preference(labels: np.ndarray, keep: np.ndarray, conditions: list, masker,
                    fname: Path) -> None:
    codes = np.where(keep, [conditions.index(c) for c in labels], -1).astype(float)
    vol = masker.inverse_transform(codes[None] + 1).get_fdata()[..., 0, 0] - 1
    vol = np.where(vol >= 0, vol, np.nan)  # outside the mask or unreliable
    fig = Figure(figsize=(6, 4), layout="constrained")
    ax = fig.add_subplot()
    cmap = matplotlib.colormaps["tab10"].resampled(len(conditions))
    im = ax.imshow(vol.T, origin="lower", cmap=cmap, vmin=-0.5, vmax=len(conditions) - 0.5,
                   interpolation="nearest")
    ax.set_axis_off()
    cbar = fig.colorbar(im, ax=ax, ticks=range(len(conditions)))
    cbar.ax.set_yticklabels(conditions)
    ax.set_title("preferred category of the best-predicted voxels")
    fig.savefig(fname, dpi=200)


def main() -> None:
    repo = Path(__file__).resolve().parents[1]
    default = os.environ.get("NEURODECODE_TEST_DATA", str(repo.parent / "shared" / "data"))
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("out", type=Path, help="folder for selectivity.png")
    parser.add_argument("--data", type=Path, default=Path(default), help="real-data root")
    parser.add_argument("--top", type=int, default=100, help="best-predicted voxels to map")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    conditions, labels, scores, masker = haxby_selectivity(args.data / "fmri_haxby")
    keep = np.zeros(scores.size, bool)
    keep[np.argsort(-scores)[: args.top]] = True
    print(f"{scores.size} voxels; the {args.top} best predicted (held-out r >= "
          f"{np.sort(scores)[-args.top]:.2f}) prefer:")
    for c in conditions:
        print(f"  {c:<13} {int(np.sum(labels[keep] == c)):3d} voxels")
    plot_preference(labels, keep, conditions, masker, args.out / "selectivity.png")


if __name__ == "__main__":
    main()
