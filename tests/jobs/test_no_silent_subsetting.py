"""Issue 15, findings 1 and 3: names that match nothing and filters that leave < 2 classes
are errors before any fitting. Data: the MNE sample crop (eeglabio 0.1.4 sdist) placed in
the fetched mne_sample layout."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from neurodecode.align import Segments
from neurodecode.align.conditions import condition_mask
from neurodecode.build import build_segments as load_segments
from neurodecode.build import check_classes
from neurodecode.config import load_recipe
from neurodecode.exceptions import ConfigError

RECIPES = Path(__file__).resolve().parents[2] / "recipes"


def _segments(conditions):
    meta = pd.DataFrame({"condition": conditions})
    return Segments(brain=np.zeros((len(conditions), 1, 2), np.float32), meta=meta, sfreq=1.0,
                    tmin=0.0, subject=np.zeros(len(conditions), int), subjects=["01"])


def test_a_misspelt_condition_is_an_error_listing_the_valid_ones():
    segs = _segments(["face", "house", "cat"])
    assert condition_mask(segs, ["face", "house"]).tolist() == [True, True, False]
    with pytest.raises(ValueError, match=r"conditions \['face', 'house', 'cats'\]: "
                                          r"\['cats'\] match no window; the data has conditions "
                                          r"\['cat', 'face', 'house'\]"):
        condition_mask(segs, ["face", "house", "cats"])


def test_fewer_than_two_classes_is_an_error():
    with pytest.raises(ConfigError, match=r"hold 3 sample\(s\) of 1 class\(es\) \['a'\]; the "
                                          "analysis needs at least 2 classes"):
        check_classes(np.array(["a", "a", "a"]))
    with pytest.raises(ConfigError, match=r"hold 0 sample\(s\) of 0 class\(es\)"):
        check_classes(np.array([]))


@pytest.fixture(scope="module")
def sample_root(data_root, tmp_path_factory):
    meg = tmp_path_factory.mktemp("studies") / "mne_sample" / "MNE-sample-data" / "MEG" / "sample"
    meg.mkdir(parents=True)
    (meg / "sample_audvis_raw.fif").symlink_to(data_root / "meg_sample_crop" / "test_raw.fif")
    (meg / "sample_audvis_raw-eve.fif").symlink_to(data_root / "meg_sample_crop" / "test-eve.fif")
    return meg.parents[2]


@pytest.mark.realdata
def test_mne_sample_with_a_misspelt_or_single_condition_fails_before_fitting(sample_root):
    path = RECIPES / "mne_sample_classification.yaml"
    typo = load_recipe(path, [f"data.root={sample_root}", "analysis.categories={}",
                              "analysis.conditions=[auditory/left, visual/left, visuall/right]"])
    with pytest.raises(ConfigError, match=r"\['visuall/right'\] match no window; the data has "
                                          r"conditions \['auditory/left', 'auditory/right', "
                                          r"'visual/left', 'visual/right'\]"):
        load_segments(typo)
    single = load_recipe(path, [f"data.root={sample_root}", "analysis.categories={}",
                                "analysis.conditions=[visual/left]"])
    with pytest.raises(ConfigError, match=r"of 1 class\(es\) \['visual/left'\]; the analysis "
                                          "needs at least 2 classes"):
        load_segments(single)
