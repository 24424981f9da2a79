"""Forward hooks to read the activations of named layers, and pretrained-folder helpers."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from neurodecode.exceptions import DataNotFoundError


def check_layers(layers: Sequence[str], valid: Sequence[str], model_name: str) -> list[str]:
    """Return ``layers`` as a list, raising ``ValueError`` listing ``valid`` on an unknown name."""
    valid_set = set(valid)
    unknown = [layer for layer in layers if layer not in valid_set]
    if unknown:
        shown = ", ".join(repr(v) for v in list(valid)[:60])
        more = f" (and {len(valid) - 60} more)" if len(valid) > 60 else ""
        raise ValueError(
            f"layers={unknown!r}: unknown layer name(s) for {model_name}; valid layers are "
            f"{shown}{more}."
        )
    return list(layers)


def _first_tensor(output: Any) -> torch.Tensor:
    if isinstance(output, torch.Tensor):
        return output
    if isinstance(output, (tuple, list)) and output and isinstance(output[0], torch.Tensor):
        return output[0]
    if hasattr(output, "last_hidden_state"):
        return output.last_hidden_state
    raise TypeError(f"cannot read a tensor from a layer output of type {type(output).__name__}.")


def hook_activations(model: nn.Module, run: Callable[[], Any], layers: Sequence[str]) -> dict[str, torch.Tensor]:
    """Run ``run()`` with forward hooks on the modules named ``layers``; return their outputs.

    Parameters
    ----------
    model : nn.Module
        The model whose ``named_modules()`` hold the layers.
    run : callable
        Runs the forward pass (e.g. ``lambda: model(x)``).
    layers : sequence of str
        Module names; an unknown one raises ``ValueError`` listing the valid ones.

    Returns
    -------
    activations : dict of str to tensor of shape (batch, ...)
    """
    modules = dict(model.named_modules())
    check_layers(layers, [n for n in modules if n], type(model).__name__)
    captured: dict[str, torch.Tensor] = {}
    handles = []
    for name in layers:
        def hook(_module, _inputs, output, name=name):
            captured[name] = _first_tensor(output).detach()
        handles.append(modules[name].register_forward_hook(hook))
    try:
        with torch.no_grad():
            run()
    finally:
        for handle in handles:
            handle.remove()
    return captured


def check_model_dir(path: str | Path | None, what: str, example_id: str) -> Path:
    """Check that a local pretrained-model folder exists (nothing is downloaded).

    Raises
    ------
    DataNotFoundError
        Naming the path and how to provide the model.
    """
    how = (
        f"download it once on a machine with network (e.g. `huggingface-cli download "
        f"{example_id} --local-dir <folder>`) or save one with `model.save_pretrained(<folder>)`, "
        f"then pass model_path=<folder>."
    )
    if path is None:
        raise DataNotFoundError(f"{what} needs model_path (a local folder); {how}")
    path = Path(path).expanduser()
    if not (path / "config.json").is_file():
        raise DataNotFoundError(
            f"model path {str(path)!r} does not exist or holds no config.json; {how}"
        )
    return path


__all__ = ["check_layers", "check_model_dir", "hook_activations"]
