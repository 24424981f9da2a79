"""``neurodecode.build``: a package whose modules show the steps of a run (issue 14, item 1),
and the rate of a feature on the brain's clock chosen, not substituted (item 2)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

import neurodecode.build as build
from neurodecode.build.data import feature_rate
from neurodecode.config import load_recipe
from neurodecode.exceptions import ConfigError

RECIPES = Path(__file__).resolve().parents[1] / "recipes"
PACKAGE = Path(build.__file__).parent


def test_the_package_exports_every_builder_from_its_modules():
    assert {getattr(build, name).__module__.rsplit(".", 1)[1] for name in build.__all__
            if callable(getattr(build, name))} == {"data", "decoding", "inputs", "objects", "recipe",
                                                    "segments", "simulation"}
    assert build.run_recipe.__module__ == "neurodecode.build.recipe"


def test_each_module_is_small():
    sizes = {p.name: len(p.read_text().splitlines()) for p in PACKAGE.glob("*.py")}
    assert max(sizes.values()) < 300, sizes


def _recordings(*rates):
    return [SimpleNamespace(sfreq=rate) for rate in rates]


def test_feature_rate_is_segments_sfreq_else_the_recordings_one_rate():
    demo = load_recipe(RECIPES / "demo.yaml")
    assert feature_rate(demo, _recordings(1000.0, 600.0)) == demo.segments.sfreq == 120.0
    native = load_recipe(RECIPES / "demo.yaml", ["segments.sfreq=null"])
    assert feature_rate(native, _recordings(600.0, 600.0)) == 600.0  # was 120 silently


def test_feature_rate_of_different_recording_rates_is_an_error_for_a_timeline_feature():
    native = load_recipe(RECIPES / "demo.yaml", ["segments.sfreq=null"])
    with pytest.raises(ConfigError, match=r"segments.sfreq is null .* rates \[600.0, 1000.0\] "
                                          r"Hz; feature 'mel' is computed on the brain's clock"):
        feature_rate(native, _recordings(1000.0, 600.0))
    own_rate = load_recipe(RECIPES / "demo.yaml", ["segments.sfreq=null", "features.name=wav2vec2",
                                                   "features.params={}"])
    assert feature_rate(own_rate, _recordings(1000.0, 600.0)) is None  # its native rate
