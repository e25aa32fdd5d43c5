"""The library knows HTTP and Telnyx, nothing of Prefect; only the CLI glue may reach the flows."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LIBRARY = ROOT / "telnyx_compliance"
GLUE = {LIBRARY / "cli.py"}


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_library_imports_nothing_from_prefect_tasks_or_flows() -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(
            name for name in _imported_modules(path) if name.split(".")[0] in {"prefect", "tasks", "flows"}
        )
        for path in LIBRARY.rglob("*.py")
        if path not in GLUE
    }
    assert {path: names for path, names in offenders.items() if names} == {}


def test_the_scan_sees_the_library() -> None:
    # Guards the test above against passing vacuously on an empty or moved package.
    assert len(list(LIBRARY.rglob("*.py"))) > 5
