"""The design card's one-way flow, checked: each package imports only those below it.

DESIGN.md's table is the source of truth; a change to either must change both. Imports
inside functions count too (a lazy import is still a dependency).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PROJECT = {"rdd", "catalog", "planner", "sql", "server", "tpch", "cli"}

#: package -> project packages it may import (DESIGN.md, "The one-way flow").
ALLOWED = {
    "rdd": set(),
    "catalog": {"rdd"},
    "planner": {"catalog", "rdd"},
    "sql": {"planner", "catalog", "rdd"},
    "server": {"sql"},
    "tpch": {"sql"},
    "cli": {"rdd", "catalog", "planner", "sql", "server", "tpch"},
}

#: Third-party packages that must not cross their layer (STYLE: sqlglot stops at sql/).
FOREIGN_LIMITS = {"sqlglot": {"sql", "server", "tpch"}}


def _imports(path: Path) -> list[tuple[str, int]]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name.split(".")[0], node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.module.split(".")[0], node.lineno))
    return found


def _modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_package_imports_only_layers_below(package: str) -> None:
    violations = []
    for path in _modules(package):
        for name, line in _imports(path):
            if name in PROJECT and name != package and name not in ALLOWED[package]:
                violations.append(f"{path.relative_to(ROOT)}:{line} imports {name}")
            if name in FOREIGN_LIMITS and package not in FOREIGN_LIMITS[name]:
                violations.append(f"{path.relative_to(ROOT)}:{line} imports {name} (stays in sql/)")
    assert not violations, "imports against DESIGN.md's flow:\n" + "\n".join(violations)


def test_every_package_is_checked() -> None:
    packages = {p.name for p in ROOT.iterdir() if (p / "__init__.py").exists()} - {"tests", "bench"}
    assert packages == set(ALLOWED), "a package is missing from the architecture check"
