"""Running a recipe: which job it is, and the run itself in its run directory."""

from __future__ import annotations

from pathlib import Path

from ..config import Recipe
from .decoding import decoding_inputs
from .inputs import INPUTS
from .objects import check_recipe_contract, feature_kind


def run_recipe(recipe: Recipe, run_dir: str | Path, *, progress: bool = True,
               overwrite: bool = False) -> dict:
    """Run the recipe's task and write its run directory; returns the metrics.

    The directory is locked for the run (a second run on it is an error while this one
    is alive). Re-running the same recipe into it resumes it, as does one that differs
    only in keys that leave the trained model unchanged (``evaluation.*``, more
    ``training.epochs``); another recipe there is an error naming the keys that differ,
    unless ``overwrite``, which first removes the run files of a neurodecode run
    directory (and refuses any other folder).

    Parameters
    ----------
    recipe : Recipe
        The validated recipe (``neurodecode.config.load_recipe``).
    run_dir : str or Path
        The run directory (created, locked while the run lasts).
    progress : bool
        Show progress bars.
    overwrite : bool
        Replace the run files of another recipe in ``run_dir``.

    Returns
    -------
    metrics : dict
        The metrics written to ``metrics.json``.

    Examples
    --------
    >>> from neurodecode.build import run_recipe
    >>> from neurodecode.config import load_recipe
    >>> recipe = load_recipe("recipes/demo.yaml", ["training.epochs=1"])
    >>> recipe.task
    'decoding'
    >>> metrics = run_recipe(recipe, "runs/demo", progress=False)  # doctest: +SKIP
    """
    from ..jobs import JOBS
    from ..rundir import open_run

    job = job_name(recipe)
    with open_run(run_dir, recipe, overwrite=overwrite) as path:
        if job in INPUTS:
            return JOBS[job](INPUTS[job](recipe, progress=progress), path, progress=progress)
        # decoding: its inputs stream into the run directory's store
        return JOBS[job](decoding_inputs(recipe, path, progress=progress), path,
                         progress=progress)


def job_name(recipe: Recipe) -> str:
    """The ``JOBS`` entry of the recipe: its task, or ``item_decoding`` for a decoding task
    whose feature is an item feature (images, sentence embeddings).

    Parameters
    ----------
    recipe : Recipe
        The validated recipe (``neurodecode.config.load_recipe``).

    Returns
    -------
    name : str
        A key of ``neurodecode.jobs.JOBS``.
    """
    if recipe.task == "decoding":
        check_recipe_contract(recipe)
        if feature_kind(recipe) == "item":
            return "item_decoding"
    return recipe.task


__all__ = ["job_name", "run_recipe"]
