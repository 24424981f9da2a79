"""Where a recipe meets objects: recordings, features, models, losses and the run itself.

Everything downstream (models, losses, the training loop, the jobs) receives typed
arguments built here, never a config object. One module per step of a run:

- ``recipe``: :func:`run_recipe` and :func:`job_name` (which ``JOBS`` entry runs);
- ``data``: the recordings of a study, a BIDS root or files; ``simulation``: simulated ones;
- ``objects``: the feature, model and loss, and the contract between them;
- ``segments``: the recordings filtered and cut into windows;
- ``inputs``: the typed inputs of each job (``neurodecode.jobs.inputs``); ``decoding``: those
  of the timeline decoding job (windows streamed from the run directory's store);
- ``paths``: recipe paths and globs.
"""

from .data import bold_path, build_item_data, build_recordings
from .decoding import (
           DECODING_BASELINES,
           build_decoding_baselines,
           build_decoding_segments,
           build_streamed,
           decoding_inputs,
           resolve_device,
)
from .inputs import (
           INPUTS,
           build_model_rdm,
           classification_inputs,
           encoding_inputs,
           item_decoding_inputs,
           rsa_inputs,
)
from .objects import build_feature, build_loss, build_model, check_recipe_contract, feature_kind
from .recipe import job_name, run_recipe
from .segments import build_item_segments, build_segments, check_classes
from .simulation import build_simulated, build_simulated_images

__all__ = ["DECODING_BASELINES", "INPUTS", "build_decoding_baselines",
           "build_decoding_segments", "build_streamed", "decoding_inputs", "resolve_device", "bold_path", "build_feature", "build_item_data", "build_item_segments",
           "build_loss", "build_model", "build_model_rdm", "build_recordings", "build_segments",
           "build_simulated", "build_simulated_images", "check_classes", "check_recipe_contract",
           "classification_inputs", "encoding_inputs", "feature_kind", "item_decoding_inputs",
           "job_name", "rsa_inputs", "run_recipe"]
