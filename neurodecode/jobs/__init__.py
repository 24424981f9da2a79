"""Jobs run by a recipe: one function per task, registered in ``JOBS``.

``neurodecode.build.run_recipe`` picks the entry (``build.job_name``: the task, or
``item_decoding`` for a decoding recipe with an item feature) and builds its typed inputs
(``build.INPUTS``, and ``build.decoding_inputs`` for the decoding job, whose windows are
stored in the run directory).
"""

from __future__ import annotations

from collections.abc import Callable

from .classification import run_classification
from .decoding import run_decoding
from .encoding import run_encoding
from .inputs import (
    ClassificationInputs,
    DecodingInputs,
    EncodingInputs,
    ItemDecodingInputs,
    RSAInputs,
)
from .item_decoding import run_item_decoding
from .rsa import run_rsa

JOBS: dict[str, Callable[..., dict]] = {
    "decoding": run_decoding, "item_decoding": run_item_decoding,
    "classification": run_classification, "rsa": run_rsa, "encoding": run_encoding}

__all__ = ["JOBS", "ClassificationInputs", "DecodingInputs", "EncodingInputs",
           "ItemDecodingInputs", "RSAInputs", "run_classification", "run_decoding",
           "run_encoding", "run_item_decoding", "run_rsa"]
