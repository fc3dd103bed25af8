"""The package's import structure: no import cycle, no method importing another method.

Imports are read from the source with ``ast`` (every ``import`` statement, also inside functions),
so a lazy import cannot hide a cycle.
"""

from __future__ import annotations

import ast
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import vistool

ROOT = Path(vistool.__file__).resolve().parent


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in ROOT.rglob("*.py")}


def _imports(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The vistool modules that module ``name`` imports (a name imported from a package counts as its
    submodule when one of that name exists)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            found |= {f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names}
    return {m for m in found if m in known and m != name}


def import_graph() -> dict[str, set[str]]:
    """vistool module -> the vistool modules it imports."""
    known = _modules()
    return {name: _imports(name, path, known) for name, path in known.items()}


def method_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[2] if len(parts) > 3 and parts[:2] == ["vistool", "methods"] else None


def test_no_import_cycle_in_the_package():
    try:
        list(TopologicalSorter(import_graph()).static_order())
    except CycleError as exc:
        raise AssertionError(f"import cycle: {' -> '.join(exc.args[1])}") from None


def test_no_method_imports_another_method():
    crossing = [f"{a} imports {b}" for a, deps in import_graph().items() for b in deps
                if method_of(a) and method_of(b) and method_of(a) != method_of(b)]
    assert not crossing


def test_the_checker_sees_a_cross_method_import_and_a_cycle():
    """The two rules above can fail: a crafted graph breaks both."""
    assert method_of("vistool.methods.rgnnvis.model") == "rgnnvis" and method_of("vistool.methods.base") is None
    graph = {"a": {"b"}, "b": {"a"}}
    try:
        list(TopologicalSorter(graph).static_order())
        raise AssertionError("cycle not found")
    except CycleError:
        pass


def test_the_graph_holds_the_known_edges():
    graph = import_graph()
    assert "vistool.methods.base" in graph["vistool.methods.rgnnvis.session"]
    assert "vistool.tracking.slots" in graph["vistool.methods.rgnnvis.tracker"]
    assert "vistool.methods.efficientvis.session" in graph["vistool.methods.efficientvis.model"]  # relative import
