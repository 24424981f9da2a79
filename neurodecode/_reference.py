"""The recipe reference: every key of a recipe, its type, default and meaning, generated
from the config dataclasses (``neurodecode.config``) into ``recipes/README.md``.

A field's meaning is the comment on its line in ``config.py`` (``key: type = default  #
meaning``); a section's is its class docstring. ``python -m neurodecode.config
--reference`` prints the file; ``tests/test_config_reference.py`` keeps it current.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import io
import tokenize
import typing
from typing import Any

HEADER = """# Recipes

One YAML file per dataset x task (plus demo recipes on simulated data). Run one with
`neurodecode run recipes/<name>.yaml`; override any key with `key=value`
(e.g. `training.epochs=5`). A mistyped key or name, or a value out of range, is an error
naming the key and the nearest valid value, before any data is read.

This reference is generated from the config dataclasses of `neurodecode/config.py`
(`python -m neurodecode.config --reference > recipes/README.md`); do not edit it by hand.
"""


def field_comments(cls: type) -> dict[str, str]:
    """The comment on each field's line of the dataclass ``cls`` (its meaning), by name."""
    source = inspect.getsource(cls)
    comments = {tok.start[0]: tok.string.lstrip("#").strip()
                for tok in tokenize.generate_tokens(io.StringIO(source).readline)
                if tok.type == tokenize.COMMENT}
    out = {}
    class_def = ast.parse(source).body[0]
    assert isinstance(class_def, ast.ClassDef)
    for node in class_def.body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            lines = range(node.lineno, (node.end_lineno or node.lineno) + 1)
            out[node.target.id] = " ".join(comments[i] for i in lines if i in comments)
    return out


def _type_name(annotation: Any) -> str:
    text = annotation if isinstance(annotation, str) else getattr(
        annotation, "__name__", str(annotation))
    return text.replace("typing.", "").replace("|", "\\|")


def _default(f: dataclasses.Field) -> str:
    if f.default is not dataclasses.MISSING:
        return "`null`" if f.default is None else f"`{_yaml(f.default)}`"
    if f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
        value = f.default_factory()  # type: ignore[misc]
        return "(section)" if dataclasses.is_dataclass(value) else f"`{_yaml(value)}`"
    return "required"


def _yaml(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, tuple | list):
        return "[" + ", ".join(_yaml(v) if v is not None else "null" for v in value) + "]"
    if isinstance(value, str) and not value:
        return '""'
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_yaml(v)}" for k, v in value.items()) + "}"
    return str(value)


def _sections(cls: type, prefix: str) -> list[tuple[str, type]]:
    """(dotted key, dataclass) of ``cls`` and its nested sections, depth first."""
    out = [(prefix, cls)]
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        if dataclasses.is_dataclass(hints[f.name]):
            out += _sections(hints[f.name], f"{prefix}.{f.name}" if prefix else f.name)
    return out


def undocumented(recipe_cls: type) -> list[str]:
    """Keys whose field has no comment (each key must say what it means)."""
    missing = []
    for prefix, cls in _sections(recipe_cls, ""):
        hints = typing.get_type_hints(cls)
        docs = field_comments(cls)
        missing += [f"{prefix}.{f.name}".lstrip(".") for f in dataclasses.fields(cls)
                    if not docs.get(f.name) and not dataclasses.is_dataclass(hints[f.name])]
    return missing


def reference(recipe_cls: type) -> str:
    """The markdown reference of every key of ``recipe_cls`` (the ``Recipe`` dataclass)."""
    parts = [HEADER]
    for prefix, cls in _sections(recipe_cls, ""):
        hints = typing.get_type_hints(cls)
        docs = field_comments(cls)
        title = f"`{prefix}`" if prefix else "top level"
        doc = inspect.cleandoc(cls.__doc__ or "").replace("\n", " ")
        rows = ["| key | type | default | meaning |", "|---|---|---|---|"]
        for f in dataclasses.fields(cls):
            if dataclasses.is_dataclass(hints[f.name]):
                continue
            key = f"{prefix}.{f.name}" if prefix else f.name
            meaning = docs.get(f.name, "").replace("|", "\\|")
            rows.append(f"| `{key}` | `{_type_name(f.type)}` | {_default(f)} | {meaning} |")
        parts.append(f"## {title}\n\n{doc}\n\n" + "\n".join(rows) + "\n")
    return "\n".join(parts)


__all__ = ["field_comments", "reference", "undocumented"]
