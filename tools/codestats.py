"""Architecture figures of the package, read statically from its source.

``python -m tools.codestats [--json] [--root neurodecode]`` prints:

- import cycles between modules (every import counts, function-local ones too; importing
  a package means importing its ``__init__``);
- public functions per subpackage, and how many of them the subpackage exports;
- functions over 60 lines without their docstring, and files over 500 lines;
- config reads outside ``build/``/``config.py`` (attribute reads on a name ``recipe``, on a
  parameter annotated ``Recipe``, or on a name bound to one of their sections);
- concepts defined under one name in more than one module (the review's list);
- numpydoc coverage of the public API (a ``Parameters`` section when the callable takes
  arguments, a ``Returns`` section when a function returns a value);
- duplicated-run pairs, from the ``duplicates`` command when it is installed.

The figures are what issue 14 asks to measure before and after; the tests keep the
invariants (no cycle, no config read in jobs) from coming back.
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import shutil
import subprocess
import sys
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

#: Concepts that the architecture review found defined twice.
WATCHED_CONCEPTS = ("permutation_test", "bootstrap_ci", "noise_ceiling", "events_from_labels",
                    "subset", "category_rdm", "condition_impulses", "fit_trf_cv", "config_hash",
                    "positions_2d", "sensor_positions")
#: Concepts with two homes under different names (review section "one concept, two homes"):
#: a concept counts as duplicated while two or more of its homes exist.
WATCHED_HOMES = {
    "array backend": ("neurodecode.rsa._backend", "neurodecode.encoding._backend"),
    "config hash": ("neurodecode.config.Recipe.digest", "neurodecode.viz.report.config_hash"),
    "2-D sensor positions": ("neurodecode.models.spatial_attention.positions_from_info",
                             "neurodecode.io.meeg.sensor_positions"),
}
LONG_FUNCTION = 60
LONG_FILE = 500


def module_name(path: Path, root: Path) -> str:
    """Dotted name of the module at ``path`` inside the package folder ``root``."""
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def iter_modules(root: Path) -> Iterator[tuple[str, Path, ast.Module]]:
    """Every module of the package: (dotted name, path, parsed tree)."""
    for path in sorted(root.rglob("*.py")):
        yield module_name(path, root), path, ast.parse(path.read_text(), str(path))


def _resolve(node: ast.ImportFrom, name: str, is_package: bool) -> str:
    base = name if is_package else name.rpartition(".")[0]
    for _ in range(node.level - 1):
        base = base.rpartition(".")[0]
    if node.level == 0:
        return node.module or ""
    return f"{base}.{node.module}" if node.module else base


def import_graph(modules: dict[str, tuple[Path, ast.Module]], top: str) -> dict[str, set[str]]:
    """Edges module -> modules of the package it imports (anywhere in the file)."""
    graph: dict[str, set[str]] = defaultdict(set)
    for name, (path, tree) in modules.items():
        is_package = path.name == "__init__.py"
        for node in ast.walk(tree):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = _resolve(node, name, is_package)
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base
                           for a in node.names]
            for target in targets:
                while target and target not in modules:
                    target = target.rpartition(".")[0]
                if target.startswith(top) and target != name:
                    graph[name].add(target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    sys.setrecursionlimit(10_000)
    for v in list(graph):
        if v not in index:
            visit(v)
    return sorted(found)


def _code_lines(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    total = (fn.end_lineno or fn.lineno) - fn.lineno + 1
    body0 = fn.body[0]
    if isinstance(body0, ast.Expr) and isinstance(getattr(body0, "value", None), ast.Constant) \
            and isinstance(body0.value.value, str):
        total -= (body0.end_lineno or body0.lineno) - body0.lineno + 1
    return total


def _functions(tree: ast.Module) -> Iterator[ast.FunctionDef | ast.AsyncFunctionDef]:
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield node


def _exported(tree: ast.Module) -> set[str]:
    """Names a module lists in ``__all__`` or imports (for a package ``__init__``)."""
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "__all__"
                                                for t in node.targets):
            if isinstance(node.value, (ast.List, ast.Tuple)):
                names |= {e.value for e in node.value.elts if isinstance(e, ast.Constant)}
        elif isinstance(node, ast.ImportFrom):
            names |= {a.asname or a.name for a in node.names}
    return names


def public_functions(modules: dict[str, tuple[Path, ast.Module]], top: str) -> dict[str, dict]:
    """Per subpackage: public module-level functions and how many its ``__init__`` exports."""
    out: dict[str, dict] = {}
    for name, (_, tree) in modules.items():
        parts = name.split(".")
        if len(parts) < 2 or any(p.startswith("_") for p in parts[1:]):
            continue
        package = ".".join(parts[:2])
        row = out.setdefault(package, {"public": 0, "exported": 0, "names": set()})
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) \
                    and not node.name.startswith("_"):
                row["public"] += 1
                row["names"].add(node.name)
    for package, row in out.items():
        init = modules.get(package)
        exported = _exported(init[1]) if init else set()
        row["exported"] = len(row.pop("names") & exported)
    return dict(sorted(out.items()))


def config_reads(modules: dict[str, tuple[Path, ast.Module]]) -> dict[str, int]:
    """Attribute reads on the recipe per module (``build`` and ``config`` excluded)."""
    counts: dict[str, int] = {}
    for name, (_, tree) in modules.items():
        if name.split(".")[1:2] in (["build"], ["config"]):
            continue
        recipe_names = {"recipe"}
        for fn in _functions(tree):
            for arg in fn.args.args + fn.args.kwonlyargs:
                if arg.annotation is not None and "Recipe" in ast.unparse(arg.annotation):
                    recipe_names.add(arg.arg)
        for node in ast.walk(tree):  # aliases of a config section: seg = recipe.segments
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Attribute) \
                    and isinstance(node.value.value, ast.Name) \
                    and node.value.value.id in recipe_names:
                recipe_names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
        n = sum(1 for node in ast.walk(tree) if isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name) and node.value.id in recipe_names)
        if n:
            counts[name] = n
    return dict(sorted(counts.items()))


def duplicated_concepts(modules: dict[str, tuple[Path, ast.Module]]) -> dict[str, list[str]]:
    """Watched concept names defined at module level in more than one module."""
    homes: dict[str, list[str]] = defaultdict(list)
    for name, (_, tree) in modules.items():
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)) \
                    and node.name.lstrip("_") in WATCHED_CONCEPTS:
                homes[node.name.lstrip("_")].append(f"{name}.{node.name}")
    defined = set(modules)
    for name, (_, tree) in modules.items():
        defined |= {f"{name}.{n.name}" for n in tree.body
                    if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
        defined |= {f"{name}.{c.name}.{m.name}" for c in tree.body if isinstance(c, ast.ClassDef)
                    for m in c.body if isinstance(m, ast.FunctionDef)}
    for concept, names in WATCHED_HOMES.items():
        homes[concept] = [n for n in names if n in defined]
    return {k: v for k, v in sorted(homes.items()) if len(v) > 1}


def _returns_value(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    if fn.returns is not None:
        return ast.unparse(fn.returns) != "None"
    return any(isinstance(n, ast.Return) and n.value is not None for n in ast.walk(fn))


def numpydoc_coverage(modules: dict[str, tuple[Path, ast.Module]]) -> dict[str, float | int]:
    """Share of public module-level callables whose docstring has the sections they need."""
    total = complete = 0
    for name, (_, tree) in modules.items():
        if any(p.startswith("_") for p in name.split(".")[1:]):
            continue
        for node in tree.body:
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) \
                    or node.name.startswith("_"):
                continue
            total += 1
            doc = ast.get_docstring(node) or ""
            fn = node
            if isinstance(node, ast.ClassDef):
                init = [n for n in node.body if isinstance(n, ast.FunctionDef)
                        and n.name == "__init__"]
                if not init:
                    complete += bool(doc)
                    continue
                fn = init[0]
            n_args = len([a for a in fn.args.args if a.arg not in ("self", "cls")]) \
                + len(fn.args.kwonlyargs)
            ok = bool(doc) and (n_args == 0 or re.search(r"^Parameters\n-+", doc, re.M))
            if ok and isinstance(node, ast.FunctionDef) and _returns_value(node):
                ok = bool(re.search(r"^(Returns|Yields)\n-+", doc, re.M))
            complete += bool(ok)
    return {"public_callables": total, "complete": complete,
            "coverage": round(complete / total, 3) if total else 1.0}


def duplicated_pairs(root: Path) -> int | None:
    """Pairs of six or more shared lines, from the ``duplicates`` tool (None if absent)."""
    exe = shutil.which("duplicates")
    if exe is None:
        return None
    out = subprocess.run([exe, "--repo", str(root), "--most", "1", "--seconds", "120"],
                         capture_output=True, text=True, check=False).stdout
    match = re.search(r"(\d+) pairs?", out)
    return int(match.group(1)) if match else (0 if "no duplicates" in out else None)


def collect(root: Path) -> dict:
    """Every figure of the module docstring for the package at ``root``."""
    parsed = {name: (path, tree) for name, path, tree in iter_modules(root)}
    top = root.name
    graph = import_graph(parsed, top)
    long_fns = sorted(
        (f"{name}.{fn.name}", _code_lines(fn)) for name, (_, tree) in parsed.items()
        for fn in _functions(tree) if _code_lines(fn) > LONG_FUNCTION)
    reads = config_reads(parsed)
    long_files = sorted(((name, n) for name, (path, _) in parsed.items()
                         if (n := len(path.read_text().splitlines())) > LONG_FILE),
                        key=lambda row: -row[1])
    return {
        "modules": len(parsed),
        "import_cycles": cycles(graph),
        "public_functions": public_functions(parsed, top),
        "functions_over_60_lines": long_fns,
        "files_over_500_lines": long_files,
        "config_reads_outside_build": reads,
        "config_reads_in_jobs": sum(v for k, v in reads.items() if f"{top}.jobs" in k),
        "duplicated_concepts": duplicated_concepts(parsed),
        "numpydoc": numpydoc_coverage(parsed),
        "duplicated_pairs": duplicated_pairs(root),
    }


def _print(stats: dict) -> None:
    print(f"modules: {stats['modules']}")
    print(f"import cycles: {len(stats['import_cycles'])}")
    for comp in stats["import_cycles"]:
        print("  " + " <-> ".join(comp))
    print("public functions per subpackage (exported):")
    for pkg, row in stats["public_functions"].items():
        print(f"  {pkg:32s} {row['public']:4d} ({row['exported']})")
    print(f"functions over {LONG_FUNCTION} code lines: {len(stats['functions_over_60_lines'])}")
    for fn, n in stats["functions_over_60_lines"]:
        print(f"  {n:4d} {fn}")
    print(f"files over {LONG_FILE} lines: {len(stats['files_over_500_lines'])}")
    for mod, n in stats["files_over_500_lines"]:
        print(f"  {n:4d} {mod}")
    reads = stats["config_reads_outside_build"]
    print(f"config reads outside build: {sum(reads.values())} "
          f"(in jobs: {stats['config_reads_in_jobs']})")
    for mod, n in reads.items():
        print(f"  {n:4d} {mod}")
    print(f"duplicated concepts: {len(stats['duplicated_concepts'])}")
    for concept, homes in stats["duplicated_concepts"].items():
        print(f"  {concept}: {', '.join(homes)}")
    doc = stats["numpydoc"]
    print(f"numpydoc coverage: {doc['complete']}/{doc['public_callables']} = {doc['coverage']}")
    print(f"duplicated-run pairs: {stats['duplicated_pairs']}")


def main(argv: list[str] | None = None) -> int:
    """Entry point: print the figures (or ``--json``)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parents[1]
                        / "neurodecode")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    stats = collect(args.root)
    if args.json:
        print(json.dumps(stats, indent=1))
    else:
        _print(stats)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
