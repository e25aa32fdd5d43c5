"""Shared fixtures: one Prefect test harness per session, one sandbox per test module.

Prefect reads its settings when first imported, so its home (a temporary folder) and analytics opt-out are
set here, before any test module imports it.
"""

from __future__ import annotations

import atexit
import functools
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

_PREFECT_HOME = tempfile.mkdtemp(prefix="prefect-home-")
atexit.register(shutil.rmtree, _PREFECT_HOME, True)
os.environ["PREFECT_HOME"] = _PREFECT_HOME
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ["DO_NOT_TRACK"] = "1"
os.environ.setdefault("PREFECT_LOGGING_TO_API_BATCH_INTERVAL", "0.3")

import pytest  # noqa: E402

from telnyx_compliance.sandbox import SandboxConfig, SandboxServer  # noqa: E402
from tests.support import InProcessSandbox, MakeRequest, build_request  # noqa: E402

#: Environment variables of this project that a developer's shell (or a .env) might set; no test sees them.
_OWN_PREFIXES = ("TELNYX_", "COMPLIANCE_", "SANDBOX_")


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path) -> Iterator[Path]:
    """Every test runs in its own temporary folder, with none of the developer's TELNYX_*, COMPLIANCE_* or
    SANDBOX_* settings: a real API key in the shell can never reach a test, and no test writes into the
    checkout. Tests that need the project files use absolute paths, and staged copies go to the test's own
    cache folder, not the user's. (Its own patcher: a test's ``monkeypatch.undo()`` does not undo this.)"""
    with pytest.MonkeyPatch.context() as patch:
        for name in list(os.environ):
            if name.startswith(_OWN_PREFIXES):
                patch.delenv(name)
        patch.setenv("XDG_CACHE_HOME", str(tmp_path.with_name(tmp_path.name + "-cache")))
        patch.chdir(tmp_path)
        yield tmp_path


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """A temporary Prefect API (SQLite in a temporary folder) shared by every flow test of the session."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=60):
        yield


@pytest.fixture(scope="module")
def sandbox(request: pytest.FixtureRequest) -> Iterator[SandboxServer]:
    """A sandbox for the test module: quick reviews (0.2 s on its clock), no faults. On a real socket, unless
    the module sets ``IN_PROCESS = True`` (its clients come from :func:`tests.support.telnyx_client`)."""
    kind = InProcessSandbox if getattr(request.module, "IN_PROCESS", False) else SandboxServer
    with kind(SandboxConfig(seed=1, approve_after=0.2)) as server:
        yield server


@pytest.fixture
def make_request(tmp_path: Path) -> MakeRequest:
    """A valid request for a market; documents go to ``tmp_path`` (``infected=True`` adds EICAR)."""
    return functools.partial(build_request, tmp_path)
