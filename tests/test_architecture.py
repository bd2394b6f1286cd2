"""The packages of ``src/loa`` import each other in one direction only.

Read from the source with ``ast`` (nothing is imported), counting every import, also those inside a
function (a lazy import hides a loop, it does not remove it):

* the first-level packages and modules form no loop (issue 12 broke the last ones: a loop is fixed by
  moving the shared piece to the package that owns it, never listed as an exception);
* each import goes to a lower layer of the map drawn in ``docs/architecture.md`` (the table is read
  from there, so the drawing cannot drift from the code);
* composition modules (the entry points and what composes several domains) import anything and are
  imported by no package;
* inside a package, modules form no loop either.
"""

from __future__ import annotations

import ast
import functools
import re
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

import pytest

import loa

SRC = Path(loa.__file__).parent
DOCS = SRC.parents[1] / "docs" / "architecture.md"

# --- reading the imports -----------------------------------------------------------------------------


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES: dict[str, Path] = {_module_name(p): p for p in SRC.rglob("*.py")}


def _imported(path: Path) -> Iterator[str]:
    """The ``loa`` modules a file imports: ``from a.b import c`` names ``a.b.c`` when c is a module."""
    this = _module_name(path)
    package = this if path.name == "__init__.py" else this.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            for alias in node.names:
                yield f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base


@functools.cache
def module_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {name: set() for name in MODULES}
    for name, path in MODULES.items():
        graph[name] |= {m for m in _imported(path) if m in MODULES and m != name}
    return graph


def unit_of(module: str) -> str:
    """First-level package or module: ``loa.reports.wording`` → ``reports``."""
    return module.split(".")[1] if module.count(".") else ""


def package_graph() -> dict[str, dict[str, set[str]]]:
    """unit → imported unit → the files that import it (for the messages)."""
    graph: dict[str, dict[str, set[str]]] = {}
    for module, targets in module_graph().items():
        source = unit_of(module)
        if not source:
            continue  # loa/__init__.py: the version
        for target in map(unit_of, targets):
            if target and target != source:
                graph.setdefault(source, {}).setdefault(target, set()).add(module)
        graph.setdefault(source, {})
    return graph


def strongly_connected(graph: Mapping[str, Iterable[str]]) -> list[frozenset[str]]:
    """Tarjan's algorithm; only the components of two or more nodes (the loops)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[frozenset[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for succ in graph.get(node, ()):
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(frozenset(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


# --- the map in the docs ----------------------------------------------------------------------------

_ROW = re.compile(r"^\|\s*(\d+|composition)\s*\|(.+?)\|")


def documented_layers() -> dict[str, int | None]:
    """unit → its layer in docs/architecture.md ("Allowed imports" table); None for composition."""
    section = DOCS.read_text("utf-8").split("## Allowed imports", 1)[1].split("\n## ", 1)[0]
    layers: dict[str, int | None] = {}
    for line in section.splitlines():
        match = _ROW.match(line)
        if match:
            layer = None if match[1] == "composition" else int(match[1])
            for unit in re.findall(r"`([a-z_]+)`", match[2]):
                assert unit not in layers, f"{unit} appears twice in the table"
                layers[unit] = layer
    return layers


COMPOSITION = {unit for unit, layer in documented_layers().items() if layer is None}


# --- the tests --------------------------------------------------------------------------------------


def test_the_reader_sees_the_imports_that_exist() -> None:
    """Guards the tests below against reading nothing: known edges of today's code are found."""
    graph = package_graph()
    assert {"reports", "activities", "content", "topics", "vocab", "web"} <= set(graph)
    assert graph["reports"]["activities"] and graph["activities"]["topics"] and graph["content"]["topics"]
    assert "loa.wiring" in module_graph()["loa.cli"]  # imported in a function
    assert strongly_connected({"a": ["b"], "b": ["c"], "c": ["a"], "d": ["a"]}) == [frozenset("abc")]


def test_no_package_imports_a_composition_module() -> None:
    wrong = {
        f"{source} → {target} ({', '.join(sorted(files))})"
        for source, targets in package_graph().items()
        if source not in COMPOSITION
        for target, files in targets.items()
        if target in COMPOSITION
    }
    assert not wrong, "composition modules are imported by nothing: " + "; ".join(sorted(wrong))


def test_packages_form_no_loop() -> None:
    graph = package_graph()
    domain = {
        s: {t for t in targets if t not in COMPOSITION}
        for s, targets in graph.items()
        if s not in COMPOSITION
    }
    loops = strongly_connected(domain)
    new = [
        " ↔ ".join(sorted(loop))
        + ": "
        + "; ".join(
            f"{a} → {b} in {', '.join(sorted(graph[a][b]))}"
            for a in sorted(loop)
            for b in sorted(loop)
            if b in graph[a]
        )
        for loop in loops
    ]
    assert not new, "package import loop: " + " | ".join(new)


def test_every_import_goes_down_the_layers_drawn_in_the_docs() -> None:
    layers = documented_layers()
    graph = package_graph()
    missing = sorted(set(graph) - set(layers))
    assert not missing, f"add these to the table in docs/architecture.md: {missing}"
    stale = sorted(set(layers) - set(graph))
    assert not stale, f"the table in docs/architecture.md names what does not exist: {stale}"
    upward = []
    for source, targets in graph.items():
        for target, files in targets.items():
            low, high = layers[target], layers[source]
            if high is None:
                continue
            if low is None or low >= high:
                upward.append(
                    f"{source} (layer {high}) → {target} (layer {low}) in {', '.join(sorted(files))}"
                )
    assert not upward, "imports must go to a lower layer: " + "; ".join(sorted(upward))


@pytest.mark.parametrize("package", sorted({unit_of(m) for m in MODULES if unit_of(m)}))
def test_modules_inside_a_package_form_no_loop(package: str) -> None:
    prefix = f"loa.{package}"
    inside = {
        m: {t for t in targets if t == prefix or t.startswith(prefix + ".")}
        for m, targets in module_graph().items()
        if m == prefix or m.startswith(prefix + ".")
    }
    assert [sorted(loop) for loop in strongly_connected(inside)] == []
