"""Running ``python -m bench.chaos`` (the harness of ``make chaos``) from the tests."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def chaos(*args: str, timeout: float = 240) -> dict[str, Any]:
    """``python -m bench.chaos --json ARGS``: its report (the harness checks the promises itself too)."""
    completed = subprocess.run(
        [sys.executable, "-m", "bench.chaos", "--json", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    lines = completed.stdout.strip().splitlines()
    assert lines and lines[-1].startswith("{"), (
        f"no report (exit {completed.returncode}):\n{completed.stderr}"
    )
    return dict(json.loads(lines[-1]))
