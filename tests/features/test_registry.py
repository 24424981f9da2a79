"""The feature registry is explicit (a literal dictionary, filled by no import side effect)
and every registered feature declares its time base (issue 14, item 6)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from neurodecode.features import FEATURES, Feature

PACKAGE = Path(__file__).resolve().parents[2] / "neurodecode"


def _declared(cls: type, attribute: str) -> bool:
    """Whether a class between ``cls`` and ``Feature`` sets ``attribute`` itself."""
    return any(attribute in vars(k) for k in cls.__mro__ if k is not Feature
               and issubclass(k, Feature))


@pytest.mark.parametrize("name", sorted(FEATURES))
def test_each_feature_declares_its_time_base(name):
    cls = FEATURES[name]
    assert _declared(cls, "kind") and _declared(cls, "takes_sfreq"), cls
    assert cls.kind in ("timeline", "item")
    assert not (cls.kind == "item" and cls.takes_sfreq)  # an item has no frame rate


def test_features_is_a_literal_dictionary():
    tree = ast.parse((PACKAGE / "features" / "registry.py").read_text())
    (node,) = [n for n in tree.body if isinstance(n, ast.AnnAssign)
               and getattr(n.target, "id", "") == "FEATURES"]
    assert isinstance(node.value, ast.Dict)
    assert [k.value for k in node.value.keys] == list(FEATURES)


def test_no_module_fills_features():
    """No ``FEATURES[...] = ...``, ``FEATURES.update``/``setdefault`` and no ``register``
    decorator anywhere in the package."""
    writes = []
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            target = (node.targets[0] if isinstance(node, ast.Assign) else None)
            if isinstance(target, ast.Subscript) and getattr(target.value, "id", "") == "FEATURES":
                writes.append(f"{path.name}:{node.lineno}")
            if isinstance(node, ast.Attribute) and getattr(node.value, "id", "") == "FEATURES" \
                    and node.attr in ("update", "setdefault", "__setitem__"):
                writes.append(f"{path.name}:{node.lineno}")
    assert writes == []


def test_the_registry_alone_holds_every_feature():
    """Importing only ``features.registry`` (nothing else of the package first) gives the
    same names as the package does after every import: nothing is added on the side."""
    code = ("import sys; from neurodecode.features.registry import FEATURES; "
            "print(','.join(FEATURES))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=PACKAGE.parent).stdout.strip()
    assert out.split(",") == list(FEATURES)
