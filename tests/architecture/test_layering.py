"""The layers, checked on the imports of every module:

* the library (``telnyx_compliance``) knows HTTP and Telnyx, nothing of Prefect, and never imports the
  application (``configs``, ``tasks``, ``flows``); it owns its settings (``telnyx_compliance.settings``);
* ``configs`` is the application's configuration: it may use the library, nothing of Prefect, tasks or flows;
* ``tasks`` wrap library steps for Prefect and never import flows;
* the command line (``telnyx_compliance/cli.py``) is the one library module that may reach the application
  (``configs`` and ``flows``), lazily, inside its commands.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LIBRARY = ROOT / "telnyx_compliance"
COMMAND_LINE = LIBRARY / "cli.py"

#: package -> top-level modules its files must not import.
RULES: dict[str, set[str]] = {
    "telnyx_compliance": {"prefect", "configs", "tasks", "flows"},
    "configs": {"prefect", "tasks", "flows"},
    "tasks": {"flows"},
}


def _imports(path: Path) -> list[tuple[str, bool]]:
    """(module, at module level) for every absolute import of ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top = {id(node) for node in tree.body}
    found: list[tuple[str, bool]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, id(node) in top) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.module, id(node) in top))
    return found


@pytest.mark.parametrize("package", sorted(RULES))
def test_each_layer_imports_only_what_it_may(package: str) -> None:
    offenders: dict[str, list[str]] = {}
    for path in (ROOT / package).rglob("*.py"):
        forbidden = RULES[package]
        if path == COMMAND_LINE:
            forbidden = {"tasks"}  # configs and flows, lazily (checked below)
        names = sorted(name for name, _ in _imports(path) if name.split(".")[0] in forbidden)
        if names:
            offenders[str(path.relative_to(ROOT))] = names
    assert offenders == {}


def test_the_command_line_reaches_the_application_only_inside_its_commands() -> None:
    # `compliance --help`, `sandbox` and `template` must not pay for Prefect or the flows.
    eager = [
        name
        for name, at_top in _imports(COMMAND_LINE)
        if at_top and name.split(".")[0] in {"prefect", "configs", "flows", "tasks"}
    ]
    assert eager == []


def test_the_scan_sees_every_layer() -> None:
    # Guards the tests above against passing vacuously on an empty or moved package.
    for package in RULES:
        assert len(list((ROOT / package).rglob("*.py"))) > 1, package
