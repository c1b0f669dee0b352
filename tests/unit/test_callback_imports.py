"""callbacks/ imports run one way: no module reaches itself through others (function-level imports included)."""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = "callbacks"


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph(package: str) -> dict[str, set[str]]:
    """Each module of the package -> the package's modules it imports, wherever the import statement is."""
    files = {module_name(path): path for path in sorted((ROOT / package).rglob("*.py"))}
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        is_package = path.name == "__init__.py"
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:  # relative: from . import x, from .x import y
                    anchor = name.split(".") if is_package else name.split(".")[:-1]
                    anchor = anchor[: len(anchor) - (node.level - 1)]
                    base = ".".join([*anchor, *([base] if base else [])])
                # `from callbacks import _guard` imports the module callbacks._guard, not only the package.
                targets.update(f"{base}.{a.name}" if f"{base}.{a.name}" in files else base for a in node.names)
        graph[name] = {t for t in targets if t in files and t != name}
    return graph


def test_the_graph_sees_function_level_and_from_package_imports():
    graph = import_graph(PACKAGE)
    assert "callbacks._guard" in graph["callbacks.overview"]  # `from callbacks import _guard`
    assert "callbacks.router" in graph["callbacks"]  # imported inside register()


def test_callbacks_have_no_import_cycle():
    graph = import_graph(PACKAGE)
    try:
        tuple(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as exc:
        pytest.fail(f"import cycle in {PACKAGE}/: {' -> '.join(exc.args[1])}")


def test_a_cycle_would_be_caught():
    """The check itself can fail: the old circle (_guard asked router, router imports the pages, each page
    imports _guard) is found when it is put back."""
    graph = import_graph(PACKAGE)
    graph["callbacks._guard"] = graph["callbacks._guard"] | {"callbacks.router"}
    with pytest.raises(graphlib.CycleError):
        tuple(graphlib.TopologicalSorter(graph).static_order())


def test_every_page_has_a_builder_and_only_pages_do():
    from callbacks import pages, router

    assert set(router.BUILDERS) == {page.path for page in pages.PAGES}
