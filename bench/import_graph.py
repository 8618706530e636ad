"""Import circles in the code: strongly connected groups of the module graph (core and gui) and of the graph of
core's subpackages, from grimp (the library under import-linter); prints JSON. `lint-imports` checks the layers;
this counts what the layers cannot see (circles inside one package).

    python bench/import_graph.py
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import grimp  # noqa: E402


def circles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The groups of two or more nodes that import each other, directly or not (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in edges.get(node, ()):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = []
            while True:
                other = stack.pop()
                on_stack.discard(other)
                group.append(other)
                if other == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    sys.setrecursionlimit(10_000)
    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def package(module: str) -> str:
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "core" and len(parts) > 2 else parts[0] if parts[0] == "gui" else module


def main() -> None:
    graph = grimp.build_graph("core", "gui", cache_dir=None)
    modules = {m: set(graph.find_modules_directly_imported_by(m)) & set(graph.modules) for m in graph.modules}
    packages: dict[str, set[str]] = {}
    for module, imported in modules.items():
        for other in imported:
            if package(module) != package(other) and package(other) != "core":
                packages.setdefault(package(module), set()).add(package(other))
    print(json.dumps({"module_circles": circles(modules), "package_circles": circles(packages)}, indent=1))


if __name__ == "__main__":
    main()
