"""The recipe's objects: its feature, model and loss, and the contract between them."""

from __future__ import annotations

from ..config import Recipe
from ..exceptions import ConfigError


def build_feature(recipe: Recipe, sfreq: float | None = None):
    """The stimulus feature of the recipe (``neurodecode.features.FEATURES``).

    Parameters
    ----------
    recipe : Recipe
        The validated recipe (``neurodecode.config.load_recipe``).
    sfreq : float or None
        Rate of a timeline feature that takes one (its own default otherwise).

    Returns
    -------
    feature : Feature
        The feature of ``features.name`` with ``features.params``.
    """
    from ..features import FEATURES, get_feature

    params = dict(recipe.features.params)
    cls = FEATURES.get(recipe.features.name)
    if sfreq is not None and cls is not None and cls.takes_sfreq:
        params.setdefault("sfreq", sfreq)
    try:
        return get_feature(recipe.features.name, **params)
    except TypeError as err:
        raise ConfigError(f"features.params {params} do not fit feature "
                          f"{recipe.features.name!r}: {err}") from err


def build_model(recipe: Recipe, *, n_channels: int, n_outputs: int, n_subjects: int):
    """The model of the recipe (``neurodecode.models.MODELS``) sized for the data.

    Parameters
    ----------
    recipe : Recipe
        The validated recipe (``neurodecode.config.load_recipe``).
    n_channels : int
        Input channels (or voxels).
    n_outputs : int
        Feature dimension predicted.
    n_subjects : int
        Subjects of the subject layer.

    Returns
    -------
    model : torch.nn.Module
        The model of ``model.name`` with ``model.params``.
    """
    from ..models import get_model
    from ..models.base import BrainEncoder

    cls = get_model(recipe.model.name)
    try:
        if issubclass(cls, BrainEncoder):
            return cls.from_sizes(n_inputs=n_channels, n_outputs=n_outputs,
                                  n_subjects=n_subjects, **recipe.model.params)
        return cls(n_channels, n_outputs, n_subjects, **recipe.model.params)
    except TypeError as err:
        raise ConfigError(f"model.params {recipe.model.params} do not fit model "
                          f"{recipe.model.name!r}: {err}") from err


def feature_kind(recipe: Recipe) -> str:
    """The declared kind (``"timeline"``/``"item"``) of the recipe's feature, no model loaded.

    Parameters
    ----------
    recipe : Recipe
        The validated recipe (``neurodecode.config.load_recipe``).

    Returns
    -------
    kind : {"timeline", "item"}
        The kind declared by the feature class.
    """
    from ..features import FEATURES, get_feature

    if recipe.features.name not in FEATURES:
        get_feature(recipe.features.name)  # raises, listing the valid names
    return FEATURES[recipe.features.name].kind


def check_recipe_contract(recipe: Recipe, data_rank: str | None = None) -> None:
    """Check feature kind, encoder ranks and data rank of the recipe before training.

    Parameters
    ----------
    recipe : Recipe
        The validated recipe (``neurodecode.config.load_recipe``).
    data_rank : str or None
        Rank of the data segments, when they are known.
    """
    from ..models import get_model
    from ..models.base import check_contract

    check_contract(feature=recipe.features.name, feature_kind=feature_kind(recipe),
                   encoder=recipe.model.name, encoder_cls=get_model(recipe.model.name),
                   params=recipe.model.params, data_rank=data_rank)


def build_loss(recipe: Recipe, name: str | None = None):
    """The loss of the recipe (``neurodecode.losses.LOSSES``).

    Parameters
    ----------
    recipe : Recipe
        The validated recipe (``neurodecode.config.load_recipe``).
    name : str or None
        Another loss of ``LOSSES`` (without parameters); None: ``loss.name``.

    Returns
    -------
    loss : torch.nn.Module
        The loss.
    """
    from ..losses import get_loss

    name = name or recipe.loss.name
    params = recipe.loss.params if name == recipe.loss.name else {}
    try:
        return get_loss(name)(**params)
    except TypeError as err:
        raise ConfigError(f"loss.params {params} do not fit loss {name!r}: {err}") from err


__all__ = ["build_feature", "build_loss", "build_model", "check_recipe_contract", "feature_kind"]
