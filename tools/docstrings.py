"""numpydoc validation of the public API: every name a subpackage exports in ``__all__``
(and the public methods its classes define), with the checks of
``[tool.numpydoc_validation]`` in ``pyproject.toml``.

``python -m tools.docstrings`` prints each error and exits 1 when there is one that is not
in the baseline (``tools/docstrings_baseline.txt``, errors known when the check was added,
to be fixed and removed, one ``path: CODE`` per line; ``--update-baseline`` rewrites it,
``--all`` ignores it).
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import sys
from collections.abc import Iterator
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "tools" / "docstrings_baseline.txt"
#: The public packages and modules whose ``__all__`` is the API.
PUBLIC = ("neurodecode.align", "neurodecode.decoding", "neurodecode.encoding",
          "neurodecode.evaluation", "neurodecode.features", "neurodecode.io",
          "neurodecode.losses", "neurodecode.models", "neurodecode.rsa", "neurodecode.simulate",
          "neurodecode.training", "neurodecode.viz", "neurodecode.build", "neurodecode.rundir",
          "neurodecode.jobs")


def checks() -> set[str]:
    """The numpydoc checks enforced (``[tool.numpydoc_validation] checks``)."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return set(config["tool"]["numpydoc_validation"]["checks"])


def public_names() -> Iterator[str]:
    """Import paths of the public API: exported names and their classes' public methods."""
    seen = set()
    for package in PUBLIC:
        module = importlib.import_module(package)
        for name in getattr(module, "__all__", ()):
            obj = getattr(module, name)
            if not (inspect.isfunction(obj) or inspect.isclass(obj)) or id(obj) in seen:
                continue
            seen.add(id(obj))
            path = f"{obj.__module__}.{obj.__qualname__}"
            yield path
            if inspect.isclass(obj):
                yield from (f"{path}.{m}" for m, v in vars(obj).items()
                            if inspect.isfunction(v) and not m.startswith("_"))


def errors(enforced: set[str]) -> list[str]:
    """``path: CODE message`` for each enforced check that fails."""
    from numpydoc.validate import validate

    out = []
    for path in sorted(set(public_names())):
        out += [f"{path}: {code} {message}" for code, message in validate(path)["errors"]
                if code in enforced]
    return out


def _key(error: str) -> str:
    """``path: CODE`` of an error (its message may list a set in any order)."""
    path, _, rest = error.partition(": ")
    return f"{path}: {rest.split(' ', 1)[0]}"


def main(argv: list[str] | None = None) -> int:
    """Entry point: print the errors; 1 when one is new (not in the baseline)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--update-baseline", action="store_true")
    parser.add_argument("--all", action="store_true", help="ignore the baseline")
    args = parser.parse_args(argv)
    found = errors(checks())
    if args.update_baseline:
        BASELINE.write_text("".join(f"{k}\n" for k in sorted({_key(e) for e in found})))
        print(f"{len(found)} known error(s) written to {BASELINE.relative_to(ROOT)}")
        return 0
    known = set() if args.all or not BASELINE.is_file() else set(
        BASELINE.read_text().splitlines())
    new = [e for e in found if _key(e) not in known]
    for line in new:
        print(line)
    print(f"numpydoc ({', '.join(sorted(checks()))}): {len(found)} error(s) in the public "
          f"API, {len(found) - len(new)} in the baseline, {len(new)} new")
    return 1 if new else 0


if __name__ == "__main__":
    sys.exit(main())
