"""Issue 15, item 8: long steps show a labelled tqdm bar when asked, and nothing when
``progress=False`` (the default in the library, the CLI's ``--no-progress``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.spatial.distance import pdist

from neurodecode.align import make_segments
from neurodecode.cli import main
from neurodecode.encoding import permutation_test as encoding_permutation_test
from neurodecode.encoding.fmri import fit_voxelwise
from neurodecode.io import Recording
from neurodecode.rsa import bootstrap_ci, permutation_test

from .recipes import _layouts

RECIPES = Path(__file__).resolve().parents[1] / "recipes"


def _bar(capsys, call) -> tuple[str, object]:
    """(stderr of ``call()``, its result)."""
    capsys.readouterr()
    result = call()
    return capsys.readouterr().err, result


def _rdms(rng, n_conditions=8, n=3):
    return np.stack([pdist(rng.normal(size=(n_conditions, 5))) for _ in range(n)])


def test_rsa_permutations_bar_and_blocks_give_the_same_null(rng, capsys):
    data, model = _rdms(rng), _rdms(rng, n=1)[0]
    err, quiet = _bar(capsys, lambda: permutation_test(data, model, n_permutations=250))
    assert err == ""
    err, shown = _bar(capsys, lambda: permutation_test(data, model, n_permutations=250,
                                                           progress=True))
    assert "RSA permutations (blocks of 100)" in err and "3/3" in err
    np.testing.assert_array_equal(shown.null, quiet.null)
    # in blocks of 100 as one block of 250 (the seeded relabellings are the same)
    single = permutation_test(data, model, n_permutations=100)
    np.testing.assert_array_equal(quiet.null[:100], single.null)


def test_rsa_bootstrap_bar(rng, capsys):
    subjects, model = _rdms(rng), _rdms(rng, n=1)[0]
    err, _ = _bar(capsys, lambda: bootstrap_ci(subjects, model, over="subjects",
                                                   n_bootstrap=20, progress=True))
    assert "RSA bootstrap" in err and "20/20" in err
    err, _ = _bar(capsys, lambda: bootstrap_ci(subjects, model, over="subjects",
                                                   n_bootstrap=20))
    assert err == ""


def test_encoding_cv_and_permutation_bars(rng, capsys):
    X = rng.normal(size=(60, 3))
    Y = X @ rng.normal(size=(3, 4)) + rng.normal(size=(60, 4))
    runs = np.repeat(np.arange(3), 20)
    err, _ = _bar(capsys, lambda: fit_voxelwise(X, Y, runs, alphas=[1.0], progress=True))
    assert "encoding CV (leave one run out)" in err and "3/3" in err
    err, _ = _bar(capsys, lambda: fit_voxelwise(X, Y, runs, alphas=[1.0]))
    assert err == ""
    err, _ = _bar(capsys, lambda: encoding_permutation_test(
        Y, X @ np.ones((3, 4)), n_permutations=5, groups=runs, progress=True))
    assert "encoding permutations" in err and "5/5" in err


def _recording(subject: str) -> Recording:
    events = pd.DataFrame({"onset": [1.0, 3.0], "duration": 0.0, "kind": "trial",
                           "condition": ["a", "b"], "stimulus": "", "text": "",
                           "block": "0", "value": 1})
    return Recording(data_loader=np.zeros((2, 600)), sfreq=100.0, events=events,
                     modality="meeg", ch_names=["c0", "c1"], ch_types=["mag", "mag"],
                     subject=subject)


def test_segmenting_bar_over_recordings(capsys):
    recs = [_recording("01"), _recording("02")]
    err, segs = _bar(capsys, lambda: make_segments(recs, tmin=0.0, tmax=0.5, sfreq=None,
                                                       progress=True))
    assert "segmenting (recordings)" in err and "2/2" in err and len(segs) == 4
    err, _ = _bar(capsys, lambda: make_segments(recs, tmin=0.0, tmax=0.5, sfreq=None))
    assert err == ""


@pytest.mark.parametrize("flag", [[], ["--no-progress"]])
def test_cli_honours_no_progress(flag, tmp_path, rng, capsys):
    root = _layouts.haxby2001(tmp_path / "haxby2001", rng, tmp_path)
    code = main(["run", str(RECIPES / "haxby2001_rsa.yaml"), "--out", str(tmp_path / "run"),
                 *flag, "--set", f"data.root={root}", "--set", "analysis.n_permutations=20"])
    assert code == 0
    err = capsys.readouterr().err
    assert ("RSA permutations" in err and "searchlight" in err) == (not flag), err[-2000:]
