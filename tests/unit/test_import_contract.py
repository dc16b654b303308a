"""The import contract: the subsystems of src/smsgrid (its packages and top-level modules) depend on each other
without cycles, so each can be understood, tested and replaced from the bottom up (docs/architecture.md).

Read from the source with `ast` (no import runs): every `import smsgrid.x…` / `from smsgrid.x… import` counts,
including those under `if TYPE_CHECKING:`, since a type is a dependency too.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

import smsgrid

SOURCE = Path(smsgrid.__file__).parent

# Edges allowed while a refactor removes them; each names who removes it. Keep this empty.
KNOWN_EXCEPTIONS: frozenset[tuple[str, str]] = frozenset()


def subsystem(module: str) -> str:
    """`smsgrid.delivery.pump` → `delivery`; `smsgrid.runtime` → `runtime`; `smsgrid` → `smsgrid`."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def module_name(path: Path) -> str:
    parts = path.relative_to(SOURCE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(tree: ast.AST, module: str, is_package: bool) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against this module's package
                base = module.split(".") if is_package else module.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                found.add(".".join([*base, *([node.module] if node.module else [])]))
            elif node.module:
                found.add(node.module)
    return {name for name in found if name == "smsgrid" or name.startswith("smsgrid.")}


@functools.cache
def subsystem_edges() -> frozenset[tuple[str, str]]:
    """Every (importer, imported) pair of different subsystems in the source, read once per test run."""
    edges: set[tuple[str, str]] = set()
    for path in sorted(SOURCE.rglob("*.py")):
        module = module_name(path)
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for target in imported_modules(tree, module, path.name == "__init__.py"):
            edges.add((subsystem(module), subsystem(target)))
    return frozenset(edge for edge in edges if edge[0] != edge[1])


def subsystem_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for source, target in subsystem_edges():
        graph.setdefault(source, set())
        if (source, target) not in KNOWN_EXCEPTIONS:
            graph[source].add(target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one member (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component: list[str] = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_subsystems_import_each_other_without_cycles() -> None:
    graph = subsystem_graph()
    assert {"api", "delivery", "messaging", "store", "runtime"} <= graph.keys()  # the walk saw the tree
    assert cycles(graph) == []


def test_the_known_exceptions_are_still_needed() -> None:
    """An exception whose edge is gone must be deleted, so the list cannot hide a new cycle later."""
    real: set[tuple[str, str]] = set()
    for path in SOURCE.rglob("*.py"):
        module = module_name(path)
        tree = ast.parse(path.read_text(encoding="utf-8"))
        real.update(
            (subsystem(module), subsystem(t)) for t in imported_modules(tree, module, path.name == "__init__.py")
        )
    assert real >= KNOWN_EXCEPTIONS


def test_a_cycle_is_found_and_an_acyclic_graph_passes() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": {"c"}, "c": set()}) == []


def test_the_http_layer_is_above_the_domain() -> None:
    """Nothing below the HTTP layer imports it: the domain raises domain errors, the API maps them."""
    graph = subsystem_graph()
    below = ("messaging", "delivery", "carrier", "store", "events", "namespaces", "entra", "sms", "acs")
    assert [name for name in below if "api" in graph.get(name, set()) or "ui" in graph.get(name, set())] == []
