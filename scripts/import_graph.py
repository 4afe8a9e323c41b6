"""The plugin's import graph, checked: no import cycle, no private name imported or used across modules, every
import of the plugin's own modules at the top of its file (a function-level import is how a cycle hides), and the
engine (core/) importing nothing of the plugin's outer parts (ui, training, the generator, setup, scripts).

    python -m sar_coastline.scripts.import_graph        # prints the figures; exits 1 and lists what is wrong

Only the standard library: it reads the files, it imports none of them. Third-party imports may stay inside
functions (torch, GDAL and matplotlib load on first use, so the plugin starts fast and runs where they are absent).
"""

from __future__ import annotations

import argparse
import ast
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "sar_coastline"
ENGINE = f"{PACKAGE}.core"
OUTER = tuple(f"{PACKAGE}.{name}" for name in ("ui", "training", "synthetic", "setup", "scripts", "benchmarks",
                                                "plugin", "batch"))
SKIPPED = {".venv", ".pkg", ".git", ".qgis-profile", ".stamps", "tests", "demo_output", "dist", "__pycache__"}
# Where the plugin's own modules are imported inside functions on purpose, and why (a folder ends with /).
LAZY_BY_DESIGN = {
    "__init__.py": "classFactory puts the dependency folder on sys.path before the plugin's modules import",
    "plugin.py": "QGIS loads the plugin before its dependencies may be installed",
    "ui/": "the provider loads, and offers Setup, in a QGIS without scipy, scikit-image or torch",
    "benchmarks/bench_memory.py": "its probes measure a fresh process's peak memory, which imports would inflate",
}


@dataclass
class Graph:
    edges: dict[str, set[str]] = field(default_factory=dict)
    private: list[str] = field(default_factory=list)  # "file:line: what"
    late: list[str] = field(default_factory=list)
    outward: list[str] = field(default_factory=list)  # core importing an outer part


def module_files(root: Path = ROOT) -> dict[str, Path]:
    """Module name (sar_coastline.core.io.scene) -> file, for every .py of the plugin but its tests."""
    found = {}
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root).parts
        if any(part in SKIPPED or part.startswith(".") for part in parts[:-1]):
            continue
        names = [PACKAGE, *parts[:-1]] + ([] if parts[-1] == "__init__.py" else [parts[-1][:-3]])
        found[".".join(names)] = path
    return found


def lazy_by_design(relative_path: str) -> bool:
    return any(relative_path.startswith(place) if place.endswith("/") else relative_path == place
               for place in LAZY_BY_DESIGN)


def _absolute(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[:len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def build(root: Path = ROOT) -> Graph:
    files = module_files(root)
    graph = Graph()
    for module, path in files.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        top_level = {id(node) for node in tree.body}
        targets = graph.edges.setdefault(module, set())
        bound_modules = {}  # local name -> plugin module it is bound to (for `module._private` uses)
        where = f"{path.relative_to(root)}"
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                imported = [alias.name for alias in node.names if alias.name.split(".")[0] == PACKAGE]
                pairs = [(name, None) for name in imported]
            elif isinstance(node, ast.ImportFrom):
                source = _absolute(module, path.name == "__init__.py", node)
                if source.split(".")[0] != PACKAGE:
                    continue
                pairs = [(source, alias) for alias in node.names]
            else:
                continue
            if pairs and id(node) not in top_level and not lazy_by_design(where):
                graph.late.append(f"{where}:{node.lineno}: import of {pairs[0][0]} inside a function or block")
            for source, alias in pairs:
                submodule = f"{source}.{alias.name}" if alias is not None else None
                target = submodule if submodule in files else source  # `from package import module`
                targets.add(target)
                if module.startswith(ENGINE) and target.startswith(OUTER):
                    graph.outward.append(f"{where}:{node.lineno}: the engine imports {target}")
                if target == submodule:
                    bound_modules[alias.asname or alias.name] = submodule
                elif alias is not None and alias.name.startswith("_") and source != module:
                    graph.private.append(f"{where}:{node.lineno}: imports {alias.name} from {source}")
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                    and node.value.id in bound_modules and node.attr.startswith("_")
                    and not node.attr.startswith("__")):
                graph.private.append(f"{where}:{node.lineno}: uses {bound_modules[node.value.id]}.{node.attr}")
    for targets in graph.edges.values():
        targets &= set(files)
    return graph


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module, or a module importing itself (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(edges.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1 or node in edges.get(node, ()):
                found.append(sorted(component))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10 * len(edges) + 100))
    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def problems(graph: Graph) -> list[str]:
    return ([f"import cycle: {' <-> '.join(component)}" for component in cycles(graph.edges)]
            + graph.private + graph.late + graph.outward)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog=f"python -m {PACKAGE}.scripts.import_graph", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.parse_args(argv)
    graph = build()
    found = problems(graph)
    imports = sum(len(targets) for targets in graph.edges.values())
    print(f"{len(graph.edges)} modules, {imports} imports between them: {len(cycles(graph.edges))} cycle(s), "
          f"{len(graph.private)} private cross-module name(s), {len(graph.late)} import(s) of the plugin below the "
          f"top of a file, {len(graph.outward)} import(s) of an outer part by the engine.")
    for problem in found:
        print(problem)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
