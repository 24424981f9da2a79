"""Geo-topological transforms and topological RSA model selection (planted topologies)."""

from __future__ import annotations

import numpy as np
import pytest

from neurodecode.rsa import (
    compute_rdm,
    geotopological_transform,
    select_topology,
    topology_model_rdms,
)


def _hairpin_ring(rng, noise=0.05):
    """A ring squashed into a long thin loop: opposite sides 2.5 apart, neighbours 1 apart.

    Its Euclidean geometry says that points facing each other across the loop are close
    (as a folded chain); its topology, read from the neighbours, is a ring.
    """
    top = np.c_[np.arange(1, 12), np.zeros(11)]
    bottom = np.c_[np.arange(11, 0, -1), np.full(11, 2.5)]
    x = np.r_[top, [[12, 1.25]], bottom, [[0, 1.25]]]
    return x + noise * rng.standard_normal(x.shape)


def test_transform_thresholds_and_range(rng):
    d = rng.random(45)
    t = geotopological_transform(d, 0.2, 0.8)
    low, high = np.quantile(d, [0.2, 0.8])
    assert np.all(t[d <= low] == 0) and np.all(t[d >= high] == 1)
    mid = (d > low) & (d < high)
    np.testing.assert_allclose(t[mid], (d[mid] - low) / (high - low))
    # lower == upper: a binary neighbourhood graph; 0, 1: min-max rescaling
    assert set(np.unique(geotopological_transform(d, 0.5, 0.5))) == {0.0, 1.0}
    np.testing.assert_allclose(geotopological_transform(d, 0, 1), (d - d.min()) / np.ptp(d))


def test_transform_is_vectorised_over_leading_axes(rng):
    d = rng.random((3, 2, 28))
    out = geotopological_transform(d, 0.1, 0.4, geodesic=True)
    assert out.shape == d.shape
    np.testing.assert_allclose(out[1, 0], geotopological_transform(d[1, 0], 0.1, 0.4, geodesic=True))


def test_geodesic_recovers_chain_distances():
    """Points on a folded line: the geodesic over neighbours is |i - j| again."""
    s = np.linspace(0, 3 * np.pi, 20)
    x = np.c_[np.cos(s), np.sin(s), 0.3 * s]  # a helix: far along, close in space
    rdm = compute_rdm(x, "euclidean")
    geo = geotopological_transform(rdm, 0, 1, geodesic=True, neighbours=0.1)
    chain = topology_model_rdms(20, ["chain"])["chain"]
    assert np.corrcoef(geo, chain)[0, 1] > 0.99
    assert np.corrcoef(geotopological_transform(rdm, 0, 1), chain)[0, 1] < 0.9


def test_topological_rsa_separates_the_planted_ring_better_than_plain_rsa(rng):
    data = compute_rdm(_hairpin_ring(rng), "euclidean")
    models = topology_model_rdms(24)
    topo = select_topology(data, models, lower=0.0, upper=1.0, neighbours=0.1)
    plain = select_topology(data, models, lower=0.0, upper=1.0, geodesic=False, method="spearman")
    assert topo.best == "ring" and topo.similarity[0] > 0.95 > plain.similarity[0]
    margin = [np.sort(r.similarity)[-1] - np.sort(r.similarity)[-2] for r in (topo, plain)]
    assert margin[0] > margin[1] + 0.1
    assert topo.similarity.shape == (4,) and topo.names == list(models)


def test_select_topology_per_leading_index(rng):
    n = 16
    angle = np.linspace(0, 2 * np.pi, n, endpoint=False)
    ring = np.c_[np.cos(angle), np.sin(angle)]
    chain = np.c_[np.linspace(0, 1, n), np.zeros(n)]
    data = compute_rdm(np.stack([ring, chain]), "euclidean")
    res = select_topology(data, topology_model_rdms(n, ["ring", "chain"]), upper=0.3)
    assert list(res.best) == ["ring", "chain"] and res.similarity.shape == (2, 2)


@pytest.mark.parametrize(("lower", "upper", "match"), [
    (-0.1, 0.5, r"lower must be a quantile in \[0, 1\].*got -0.1"),
    (0.2, 1.5, r"upper must be a quantile in \[0, 1\].*got 1.5"),
    (0.2, float("nan"), r"upper must be a quantile in \[0, 1\].*got nan"),
    (0.8, 0.3, r"lower must be <= upper.*lower=0.8 and upper=0.3"),
])
def test_bad_thresholds(rng, lower, upper, match):
    with pytest.raises(ValueError, match=match):
        geotopological_transform(rng.random(10), lower, upper)
    with pytest.raises(ValueError, match=match):
        select_topology(rng.random(10), {"a": rng.random(10)}, lower=lower, upper=upper)
    with pytest.raises(ValueError, match=r"neighbours must be a quantile in \[0, 1\].*got 2"):
        geotopological_transform(rng.random(10), geodesic=True, neighbours=2)


def test_bad_models_and_sizes(rng):
    with pytest.raises(TypeError, match="models must be a non-empty dict"):
        select_topology(rng.random(10), {})
    with pytest.raises(ValueError, match="n_conditions must be >= 4"):
        topology_model_rdms(3)
    with pytest.raises(ValueError, match="kinds holds 'torus'"):
        topology_model_rdms(8, ["torus"])
    with pytest.raises(ValueError, match="rdms must be condensed RDMs"):
        geotopological_transform(rng.random(11))
