"""Training losses: contrastive (CLIP) and regression (MSE).

``LOSSES`` maps a recipe name to its class; ``get_loss`` looks one up and lists the
valid names when the name is unknown.
"""

from __future__ import annotations

from torch import nn

from .._validation import check_option
from .clip import CLIP_KINDS, ClipLoss, brainmagick_scores
from .regression import MSELoss

LOSSES: dict[str, type[nn.Module]] = {"clip": ClipLoss, "mse": MSELoss}


def get_loss(name: str) -> type[nn.Module]:
    """Return the loss class registered under ``name`` (see ``LOSSES``).

    Parameters
    ----------
    name : str
        A key of ``LOSSES``; another name raises ``ValueError`` listing them.

    Returns
    -------
    cls : type of torch.nn.Module
        The loss class.
    """
    return LOSSES[check_option("loss", name, LOSSES)]


__all__ = ["CLIP_KINDS", "LOSSES", "ClipLoss", "MSELoss", "brainmagick_scores", "get_loss"]
