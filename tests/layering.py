"""The architecture as import contracts, checked with the standard library's `ast` (every import, function-level ones
included: a lazy import is still a dependency).

Layers, lowest first. A module may import its own layer and the layers below it, never one above; the packages'
import graph has no cycle; and the "never" rules hold.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

PACKAGE = "rakuten_edge"

# (layer name, the top-level modules or packages of rakuten_edge in it)
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    (
        "base",
        ("errors", "paths", "choices", "categories", "atomic", "quiet", "pools", "progress", "machine", "resources"),
    ),
    ("tables", ("tables",)),
    ("runtime", ("runtime",)),
    ("records", ("run", "bundles", "reports", "gates", "plots")),
    ("data and models", ("data", "models")),
    ("training and export", ("training", "export")),
    ("surfaces", ("bench", "evaluate", "predict", "catalogue", "serve", "web", "tune")),
    ("commands", ("cli", "cli_data", "cli_measure", "cli_render", "__main__", "__init__")),
]

# Third-party packages a layer may import at all. The runtime stays light: other engines come in through the engine
# table's "module:Class" strings, which are not imports; only an engine's own adapter module imports its package.
ALLOWED_THIRD_PARTY = {
    "tables": set(),
    "runtime": {"numpy", "onnxruntime", "PIL", "tokenizers"},
}


def adapter_packages() -> dict[str, set[str]]:
    """{adapter module: the packages it wraps}, from the engine table."""
    from rakuten_edge.tables.engines import ENGINES

    return {e.adapter.partition(":")[0]: set(e.modules) for e in ENGINES.values()}


@dataclass(frozen=True)
class Import:
    importer: str  # dotted module name
    imported: str  # dotted module name (absolute)
    line: int


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__" and len(parts) > 1:
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path, root: Path) -> list[Import]:
    """Every import statement of one file, relative ones made absolute."""
    name = _module_name(path, root)
    is_package = path.name == "__init__.py"
    package = name if is_package else name.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [Import(name, a.name, node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            # `from . import x` / `from pkg import sub`: the names may be submodules; count the package itself
            found.append(Import(name, target, node.lineno))
            # `from . import x` / `from .pkg import sub`: a name counts when it is a module of ours, not when it is
            # a plain name (`from .. import __version__`)
            folder = root.parent.joinpath(*target.split("."))
            found += [
                Import(name, f"{target}.{a.name}", node.lineno)
                for a in node.names
                if (folder / f"{a.name}.py").is_file() or (folder / a.name / "__init__.py").is_file()
            ]
    return found


def top(module: str) -> str | None:
    """The top-level part of rakuten_edge a module belongs to (None: not ours)."""
    parts = module.split(".")
    if parts[0] != PACKAGE:
        return None
    return parts[1] if len(parts) > 1 else "__init__"


def layer_of(part: str) -> int:
    for i, (_, members) in enumerate(LAYERS):
        if part in members:
            return i
    raise KeyError(f"{PACKAGE}.{part} is in no layer: add it to tests/layering.py's LAYERS")


def check(root: Path) -> list[str]:
    """Every broken contract under the package folder `root`, one line each."""
    problems = []
    edges: dict[str, set[str]] = {}
    adapters = adapter_packages()
    for path in sorted(root.rglob("*.py")):
        for imp in imports_of(path, root):
            if imp.imported in adapters and imp.importer != imp.imported:
                problems.append(
                    f"{path.relative_to(root.parent)}:{imp.line}: imports the engine adapter "
                    f"{imp.imported} (engines are opened through the engine table only)"
                )
            src, dst = top(imp.importer), top(imp.imported)
            where = f"{path.relative_to(root.parent)}:{imp.line}"
            src_layer = layer_of(src)
            if dst is None:
                allowed = ALLOWED_THIRD_PARTY.get(LAYERS[src_layer][0])
                if allowed is not None and imp.importer in adapters:
                    allowed = allowed | adapters[imp.importer]
                third = imp.imported.split(".")[0]
                if allowed is not None and third and not _stdlib(third) and third not in allowed:
                    problems.append(f"{where}: {LAYERS[src_layer][0]} imports {third} (allowed: {sorted(allowed)})")
                continue
            if dst == src or imp.imported == PACKAGE:
                continue
            edges.setdefault(src, set()).add(dst)
            if layer_of(dst) > src_layer:
                problems.append(
                    f"{where}: {imp.importer} imports {imp.imported} "
                    f"({LAYERS[src_layer][0]} -> {LAYERS[layer_of(dst)][0]}: upward)"
                )
    problems += [f"import cycle: {' -> '.join(c)}" for c in _cycles(edges)]
    return problems


def _stdlib(name: str) -> bool:
    import sys

    return name in sys.stdlib_module_names or name == "__future__"


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """One cycle per strongly connected group of the top-level import graph (Tarjan's algorithm)."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                out.append(sorted(group) + [sorted(group)[0]])

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out
