"""Brain-model similarity maps: planted layers, and the 92-image data set."""

from __future__ import annotations

import numpy as np
import pytest

from neurodecode.rsa import (
    bootstrap_ci,
    compare_rdms,
    compute_rdm,
    layer_rdms,
    noise_ceiling,
    similarity_map,
)


def test_planted_layer_wins_where_planted(rng):
    feats_a = rng.standard_normal((10, 40))
    feats_b = rng.standard_normal((10, 3, 8))  # any trailing shape is flattened
    rdm_a, rdm_b = compute_rdm(feats_a), compute_rdm(feats_b.reshape(10, -1))
    brain = np.stack([rdm_a if t < 10 else rdm_b for t in range(25)])
    brain = brain + 0.02 * rng.standard_normal(brain.shape)
    res = similarity_map({"a": feats_a, "b": feats_b}, brain, method="pearson", ceiling=0.5)
    assert res.layer_names == ["a", "b"] and res.similarity.shape == (2, 25)
    assert (res.similarity.argmax(0) == (np.arange(25) >= 10)).all()
    np.testing.assert_allclose(res.normalized, res.similarity / 0.5)
    np.testing.assert_allclose(res.similarity[:, 3], compare_rdms(brain[3], res.layer_rdms, "pearson"))


def test_errors(rng):
    with pytest.raises(TypeError, match="layers must be a non-empty dict"):
        layer_rdms([rng.random((5, 3))])
    with pytest.raises(ValueError, match="same number of conditions"):
        layer_rdms({"a": rng.random((5, 3)), "b": rng.random((6, 3))})


def _load_92(root):
    from scipy.io import loadmat

    folder = root / "rsa_92images"
    sup = loadmat(folder / "Kriegeskorte_Neuron2008_supplementalData.mat")
    images = np.stack([s["image"] for s in sup["stimuli_92objs"][0]]).astype(np.float64)
    it = {str(r["name"][0]): r["RDM"].ravel() for r in sup["RDMs_mIT_hIT_fig1"][0]}
    brain = loadmat(folder / "92_brainRDMs.mat")["RDMs"][0]  # (subject, session)
    iu = np.triu_indices(92, 1)
    subjects = np.stack([np.mean([brain[s, k]["RDM"] for k in range(2)], 0)[iu] for s in range(4)])
    return images, subjects, it["mIT_674neurons"], it["hITvisStim_316vx"]


def pixel_layers(images):
    """Raw pixels and simple derived pixel features, as stand-ins for network layers."""
    grey = images.mean(-1)
    down = grey.reshape(92, 35, 5, 35, 5).mean((2, 4))
    return {"rgb": images, "grey": grey, "grey_35x35": down, "grey_7x7": down.reshape(92, 7, 5, 7, 5).mean((2, 4))}


@pytest.mark.realdata
def test_92_images_ceiling_and_layer_profile(data_root):
    images, subjects, monkey_it, human_it = _load_92(data_root)
    assert np.isfinite(subjects).all()
    lower, upper = noise_ceiling(subjects, "spearman")
    print(f"92 images, human IT (4 subjects) noise ceiling, Spearman: lower {lower:.3f}, upper {upper:.3f}")
    assert 0 < lower < upper < 1
    from rsatoolbox.inference import boot_noise_ceiling
    from rsatoolbox.rdm import RDMs

    np.testing.assert_allclose([lower, upper], boot_noise_ceiling(RDMs(subjects), "spearman"), atol=1e-10)
    h_vs_m = compare_rdms(human_it, monkey_it, "spearman")
    print(f"human IT vs monkey IT, Spearman: {h_vs_m:.3f}")
    assert 0.25 < h_vs_m < 0.6
    layers = pixel_layers(images)
    names, rdms = layer_rdms(layers)
    res = similarity_map(layers, np.stack([subjects.mean(0), monkey_it]), ceiling=np.array([upper, 1.0]))
    assert res.similarity.shape == (4, 2)
    for target, data in [("human IT", subjects), ("monkey IT", monkey_it)]:
        boot = bootstrap_ci(data, rdms, "spearman", n_bootstraps=100, seed=0)
        for k, name in enumerate(names):
            print(f"{target:9s} {name:10s} rho={boot.estimate[k]:.3f} "
                  f"95% CI [{boot.ci_low[k]:.3f}, {boot.ci_high[k]:.3f}]")
        assert (boot.ci_low <= boot.estimate).all() and (boot.estimate <= boot.ci_high).all()
        # pixels explain IT far less than IT explains itself
        assert (boot.ci_high < 0.3).all()
    assert (res.similarity[:, 0] < lower).all()


@pytest.mark.realdata
@pytest.mark.slow
def test_92_images_efficientnet_profile(data_root):
    features = pytest.importorskip("neurodecode.features")
    images, subjects, monkey_it, _ = _load_92(data_root)
    try:
        layers = features.extract_layers("efficientnet_lite0", list(images.astype(np.uint8)))
    except Exception as err:  # weights or the architecture may be missing here
        pytest.skip(f"EfficientNet-Lite0 features unavailable: {err}")
    names, rdms = layer_rdms(layers)
    human = compare_rdms(subjects, rdms).mean(0)
    monkey = compare_rdms(monkey_it, rdms)
    lower, _ = noise_ceiling(subjects)
    best = names[int(np.argmax(monkey))]
    print(f"EfficientNet-Lite0 best layer for monkey IT: {best} rho={monkey.max():.3f}; "
          f"human IT best rho={human.max():.3f} (noise ceiling lower bound {lower:.3f})")
    # deep layers beat the stem for both species, and stay under the human ceiling
    assert monkey.max() > monkey[0] + 0.1 and human.max() > human[0] + 0.05
    assert human.max() < lower
