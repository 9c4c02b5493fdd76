"""The package's layers, as its imports encode them (docs/ARCHITECTURE.md, "Layers").

Every `import` and `from ... import` of every module under shapels/ counts, those inside function
bodies included: a deferred import is still a dependency, it only hides from a reader. Relative
imports are resolved against the importing module.

- `shapels.symbolic` imports nothing of shapels outside itself;
- `shapels.rules` never imports `shapels.analysis`;
- `shapels.analysis` imports neither `shapels.lsp`, `shapels.confirm` nor pygls/lsprotocol;
- the modules outside `shapels.analysis` form no import cycle;
- `shapels.analysis` is a one-way stack: no cycle either, deferred imports and TYPE_CHECKING ones
  counted (the semantic modules call back into the interpreter through `protocol.Interp`).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "shapels"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict:
    """Dotted name -> path, for every module of the package."""
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imported_names(path: Path, name: str) -> set:
    """Every dotted name this module imports, anywhere in it (`from a import b` gives both `a` and
    `a.b`: b may be a submodule)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    is_package = path.name == "__init__.py"
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".")
                base = base if is_package else base[:-1]
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.add(target)
            found.update(f"{target}.{alias.name}" for alias in node.names)
    return found


def import_graph() -> dict:
    """Module -> the package's modules it imports (names that are not modules, such as a class in
    `from shapels.x import C`, fall back to their module)."""
    known = modules()
    graph = {}
    for name, path in known.items():
        edges = set()
        for target in imported_names(path, name):
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name and target != "shapels":
                edges.add(target)
        graph[name] = edges
    return graph


def externals(name: str) -> set:
    """The top-level names of what a module imports from outside shapels."""
    path = modules()[name]
    return {target.split(".")[0] for target in imported_names(path, name) if not target.startswith("shapels")}


def cycles(graph: dict, members) -> list:
    """The import cycles among `members` (a set of module names): each strongly connected component
    of more than one module, or a module importing itself, as a sorted list (Tarjan's algorithm)."""
    members = set(members)
    index: dict = {}
    low: dict = {}
    stack: list = []
    on_stack: set = set()
    found = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in members:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1 or v in graph.get(v, ()):
                found.append(sorted(component))

    for v in sorted(members):
        if v not in index:
            visit(v)
    return sorted(found)


def in_package(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def analysis_cycles(graph: dict) -> list:
    """The cycles inside shapels.analysis (for the check that it has none)."""
    return cycles(graph, [m for m in graph if in_package(m, "shapels.analysis")])


@pytest.fixture(scope="module")
def graph() -> dict:
    return import_graph()


def test_the_graph_sees_every_kind_of_import(graph):
    # The checks below are only as good as the graph: a deferred import inside a function, a
    # relative import and `from package import submodule` must all be edges.
    assert "shapels.analysis.engine" in graph["shapels.cli"]  # imported inside a function
    assert "shapels.analysis.engine" in graph["shapels.config"]
    assert "shapels.rules.registry" in graph["shapels.rules"]  # the package's __init__
    assert "shapels.lsp.settings" in graph["shapels.lsp.server"]


def test_cycles_finds_a_cycle_and_only_its_members():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": {"e"}}
    assert cycles(graph, graph) == [["a", "b", "c"], ["e"]]
    assert cycles(graph, {"a", "b", "d"}) == []


def test_symbolic_imports_nothing_of_shapels(graph):
    bad = {m: sorted(t for t in graph[m] if not in_package(t, "shapels.symbolic"))
           for m in graph if in_package(m, "shapels.symbolic")}
    assert {m: t for m, t in bad.items() if t} == {}


def test_rules_never_import_analysis(graph):
    bad = {m: sorted(t for t in graph[m] if in_package(t, "shapels.analysis"))
           for m in graph if in_package(m, "shapels.rules")}
    assert {m: t for m, t in bad.items() if t} == {}


def test_analysis_imports_neither_the_server_nor_confirm(graph):
    outer = ("shapels.lsp", "shapels.confirm")
    bad = {}
    for m in graph:
        if in_package(m, "shapels.analysis"):
            wrong = sorted(t for t in graph[m] if any(in_package(t, p) for p in outer))
            wrong += sorted(externals(m) & {"pygls", "lsprotocol"})
            if wrong:
                bad[m] = wrong
    assert bad == {}


def test_no_cycle_outside_analysis(graph):
    outside = [m for m in graph if not in_package(m, "shapels.analysis")]
    assert cycles(graph, outside) == []


def test_analysis_is_a_one_way_stack(graph):
    # attributes, calls, builtins, enums... reach the interpreter through the `interp` they are
    # passed (protocol.Interp), never by importing interpreter.py: no import closes a loop
    assert analysis_cycles(graph) == []


def reachable(graph: dict, start: str) -> set:
    """Every module `start` imports, directly or through others."""
    seen: set = set()
    todo = [start]
    while todo:
        for target in graph.get(todo.pop(), ()):
            if target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


def test_the_linker_sits_below_the_interpreter(graph):
    # the linker resolves names across files and asks the interpreter to run a module's top level
    # through linker.ModuleHost: it reaches neither interpreter.py nor the semantic modules that
    # call back into it (attributes, calls), not even through another module
    below = reachable(graph, "shapels.analysis.linker")
    assert "shapels.analysis.linker" in graph["shapels.analysis.interpreter"]
    assert below & {"shapels.analysis.interpreter", "shapels.analysis.attributes", "shapels.analysis.calls",
                    "shapels.analysis.protocol", "shapels.analysis.engine"} == set()
