"""The layering rules, enforced: maic never imports dash, layouts or callbacks; layouts never reach the database."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def python_files(folder: str) -> list[Path]:
    files = sorted((ROOT / folder).rglob("*.py"))
    assert files, f"no Python files under {folder}/"
    return files


@pytest.mark.parametrize("path", python_files("maic"), ids=lambda p: str(p.relative_to(ROOT)))
def test_domain_never_imports_the_ui(path):
    forbidden = {m for m in imported_modules(path) if m.split(".")[0] in {"dash", "layouts", "callbacks", "plotly"}}
    assert not forbidden, f"{path.relative_to(ROOT)} imports {sorted(forbidden)}"


@pytest.mark.parametrize("path", python_files("layouts"), ids=lambda p: str(p.relative_to(ROOT)))
def test_layouts_never_touch_the_database(path):
    forbidden = {m for m in imported_modules(path)
                 if m.split(".")[0] in {"sqlalchemy", "flask", "flask_login"} or m in {"maic.db", "maic.picture"} or m.startswith("maic.picture.")}
    assert not forbidden, f"{path.relative_to(ROOT)} imports {sorted(forbidden)}"
