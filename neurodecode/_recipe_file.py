"""Reading a recipe file: safe YAML, ``key.sub=value`` overrides, typed dataclasses.

:func:`read_yaml` refuses a key given twice and aliases that expand past
``MAX_ALIAS_NODES``; :func:`apply_override` sets a dotted key; :func:`build_dataclass`
builds a (nested) frozen dataclass from a mapping, coercing each value to its field's
type hint and naming the key, the value and what was expected when it cannot.
:func:`neurodecode.config.load_recipe` chains them.
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from pathlib import Path
from typing import Any

import yaml

from .exceptions import ConfigError

#: Most YAML nodes that aliases may add to a recipe (a few hundred; a "billion laughs"
#: bomb of a few hundred bytes expands to millions).
MAX_ALIAS_NODES = 500


def read_yaml(path: Path) -> Any:
    """Parse ``path`` safely: unique keys, alias expansion bounded, empty file refused."""
    text = path.read_text()
    if not text.strip():
        raise ConfigError(f"recipe {str(path)!r} is empty; expected a YAML mapping with at "
                          "least name and task (see recipes/demo.yaml).")
    try:
        loader = _UniqueKeyLoader(text)
        try:
            node = loader.get_single_node()
            if node is None:
                raise ConfigError(f"recipe {str(path)!r} holds no YAML document (only "
                                  "comments?); expected a mapping with name and task.")
            _check_aliases(node, path)
            return loader.construct_document(node)
        finally:
            loader.dispose()
    except yaml.YAMLError as err:
        raise ConfigError(f"recipe {str(path)!r} is not valid YAML: {err}") from err


def _check_aliases(root: yaml.Node, path: Path) -> None:
    """Refuse a document in which aliases add more than ``MAX_ALIAS_NODES`` nodes."""
    seen: set[int] = set()
    added, stack = 0, [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            added += 1
            if added > MAX_ALIAS_NODES:
                raise ConfigError(
                    f"recipe {str(path)!r}: YAML aliases expand to more than "
                    f"{MAX_ALIAS_NODES} nodes (an alias bomb?); write the values out.")
        seen.add(id(node))
        if isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
        elif isinstance(node, yaml.MappingNode):
            stack.extend(n for pair in node.value for n in pair)


class _UniqueKeyLoader(yaml.SafeLoader):
    """A safe YAML loader that refuses a key given twice in one mapping (PyYAML would
    silently keep the last, dropping e.g. a whole earlier ``training:`` section)."""

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        seen: dict = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping", node.start_mark,
                    f"found the key {key!r} twice (first at line {seen[key] + 1})",
                    key_node.start_mark)
            seen[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep=deep)


def apply_override(raw: dict, item: str, path: Path) -> None:
    """Set the dotted key of ``item`` (``"key.sub=value"``, the value read as YAML) in
    ``raw``, in place, creating missing sections; ``path`` names the recipe in errors."""
    if "=" not in item:
        raise ConfigError(f"override {item!r} for {path.name} must look like key.sub=value.")
    key, value = item.split("=", 1)
    node = raw
    parts = key.strip().split(".")
    for part in parts[:-1]:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise ConfigError(f"override {item!r}: {part!r} is not a section in {path.name}.")
    node[parts[-1]] = yaml.safe_load(value)


def build_dataclass(cls: type, raw: Any, path: Path, prefix: str) -> Any:
    """``cls(**raw)``, each value coerced to its field's type hint (nested dataclasses
    built in turn); an unknown key names the nearest valid one. ``prefix`` is the dotted
    section of ``raw`` in the recipe (``""`` at the top), ``path`` the recipe file."""
    if not isinstance(raw, dict):
        raise ConfigError(
            f"{path.name}: section {prefix.rstrip('.') or '<top>'!r} must be a mapping; "
            f"got {raw!r}."
        )
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    kwargs = {}
    for key, value in raw.items():
        if key is True and "on" in fields:
            key = "on"  # YAML 1.1 reads a bare `on:` key as the boolean true
        if key not in fields:
            close = difflib.get_close_matches(str(key), list(fields), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ConfigError(
                f"{path.name}: unknown key {prefix + str(key)!r}{hint} Valid keys here: "
                f"{sorted(fields)}."
            )
        kwargs[key] = _coerce(hints[key], value, path, prefix + key)
    return cls(**kwargs)


def _coerce(hint: Any, value: Any, path: Path, key: str) -> Any:
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return build_dataclass(hint, value, path, key + ".")
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in (a for a in args if a is not type(None)):
            try:
                return _coerce(arg, value, path, key)
            except ConfigError as err:
                errors.append(str(err))
        raise ConfigError(errors[0])
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{path.name}: {key} must be a list; got {value!r}.")
        inner = args[0] if args else Any
        return tuple(_coerce(inner, v, path, key) for v in value)
    if hint is Any:
        return value
    if hint is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if hint is float and isinstance(value, str):  # YAML 1.1 reads 1e-3 (no dot) as text
        try:
            return float(value)
        except ValueError:
            pass
    if hint is dict and isinstance(value, dict):
        return dict(value)
    if isinstance(hint, type) and isinstance(value, hint) and not (
            hint is int and isinstance(value, bool)):
        return value
    name = getattr(hint, "__name__", str(hint))
    raise ConfigError(f"{path.name}: {key} must be {name}; got {value!r}.")


__all__ = ["MAX_ALIAS_NODES", "apply_override", "build_dataclass", "read_yaml"]
