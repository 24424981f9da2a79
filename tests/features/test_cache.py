"""HDF5 feature cache: hits never load the model, parameters and content key it, corruption rebuilds."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from neurodecode.exceptions import CacheError
from neurodecode.features import FeatureCache, compute_cached, get_feature
from neurodecode.features.audio import MelSpectrum
from neurodecode.features.cache import stimulus_hash

SR = 16000


class CountingMel(MelSpectrum):
    """Mel feature that counts model loads and computations."""

    name = "mel"

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._n_loads = 0
        self._n_computed = 0

    def _load(self):
        self._n_loads += 1

    def _compute_one(self, stimulus, **kwargs):
        self._n_computed += 1
        return super()._compute_one(stimulus, **kwargs)


@pytest.fixture
def wav_files(tmp_path, rng):
    paths = []
    for k in range(2):
        path = tmp_path / f"stim{k}.wav"
        sf.write(path, rng.standard_normal(SR // 2).astype(np.float32) * 0.1, SR)
        paths.append(path)
    return paths


def test_hit_never_loads_the_model(tmp_path, wav_files):
    cache = FeatureCache(tmp_path / "cache")
    first = CountingMel(sfreq=100.0)
    values = compute_cached(first, wav_files, cache)
    assert first._n_loads == 1 and first._n_computed == 2
    second = CountingMel(sfreq=100.0)
    again = compute_cached(second, [str(p) for p in wav_files], cache)
    assert second._n_loads == 0 and second._n_computed == 0
    for a, b in zip(values, again):
        np.testing.assert_array_equal(a, b)


def test_changed_parameter_or_content_misses(tmp_path, wav_files, rng):
    cache = FeatureCache(tmp_path / "cache")
    compute_cached(CountingMel(sfreq=100.0), wav_files, cache)
    other = CountingMel(sfreq=100.0, n_mels=64)
    out = compute_cached(other, wav_files, cache)
    assert other._n_computed == 2 and out[0].shape[0] == 64
    sf.write(wav_files[0], rng.standard_normal(SR // 2).astype(np.float32) * 0.1, SR)
    third = CountingMel(sfreq=100.0)
    compute_cached(third, wav_files, cache)
    assert third._n_computed == 1  # only the rewritten file
    renamed = wav_files[1].rename(wav_files[1].with_name("renamed.wav"))
    fourth = CountingMel(sfreq=100.0)
    compute_cached(fourth, [renamed], cache)
    assert fourth._n_computed == 0  # keyed by content, not by name


def test_weights_hash_is_part_of_the_key(tmp_path):
    feat = get_feature("efficientnet_lite0")
    other_weights = tmp_path / "w.pth"
    other_weights.write_bytes(feat._weights_path().read_bytes()[:-1] + b"\0")
    cache = FeatureCache(tmp_path)
    img = np.zeros((8, 8, 3), np.uint8)
    assert cache.key(feat, img) != cache.key(get_feature("efficientnet_lite0", weights=other_weights), img)
    assert stimulus_hash("a") != stimulus_hash("b")


def test_corrupted_file_is_rebuilt_with_warning(tmp_path, wav_files):
    cache = FeatureCache(tmp_path / "cache")
    feat = CountingMel(sfreq=100.0)
    ref = compute_cached(feat, wav_files[:1], cache)[0]
    (entry,) = (tmp_path / "cache" / "mel").glob("*.h5")
    entry.write_bytes(b"garbage")
    again = CountingMel(sfreq=100.0)
    with pytest.warns(RuntimeWarning, match="is corrupted .* it is rebuilt"):
        out = compute_cached(again, wav_files[:1], cache)[0]
    assert again._n_computed == 1
    np.testing.assert_array_equal(out, ref)
    assert not list((tmp_path / "cache" / "mel").glob("*.tmp"))  # atomic: no leftovers


def test_unwritable_cache(tmp_path, wav_files):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(CacheError, match="cannot write the feature cache"):
        compute_cached(CountingMel(), wav_files[:1], FeatureCache(blocker))


def test_altered_values_or_identity_are_rebuilt(tmp_path, wav_files):
    import h5py

    cache = FeatureCache(tmp_path / "cache")
    ref = compute_cached(CountingMel(sfreq=100.0), wav_files[:1], cache)[0]
    (entry,) = (tmp_path / "cache" / "mel").glob("*.h5")
    with h5py.File(entry, "r+") as handle:
        handle["values"][0, 0] += 1.0
    again = CountingMel(sfreq=100.0)
    with pytest.warns(RuntimeWarning, match="is corrupted \\(checksum mismatch\\); it is rebuilt"):
        np.testing.assert_array_equal(compute_cached(again, wav_files[:1], cache)[0], ref)
    assert again._n_computed == 1
    with h5py.File(entry, "r+") as handle:
        handle.attrs["meta"] = handle.attrs["meta"].replace("100.0", "200.0")
    with pytest.warns(RuntimeWarning, match="checksum mismatch"):
        compute_cached(CountingMel(sfreq=100.0), wav_files[:1], cache)


def _features_in_child(args):
    import warnings

    root, paths = args
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(compute_cached(CountingMel(sfreq=100.0), paths, FeatureCache(root))[0].sum())


def test_concurrent_readers_of_a_corrupt_feature_entry_all_succeed(tmp_path, wav_files):
    import multiprocessing

    root = tmp_path / "cache"
    expected = _features_in_child((root, wav_files[:1]))
    (entry,) = (root / "mel").glob("*.h5")
    entry.write_bytes(entry.read_bytes()[:500])
    with multiprocessing.get_context("fork").Pool(3) as pool:
        got = pool.map(_features_in_child, [(root, wav_files[:1])] * 4)
    assert got == pytest.approx([expected] * 4)
