"""Shared fixtures: one Prefect test harness per session, one sandbox per test module.

Prefect reads its settings when first imported, so its home (a temporary folder) and analytics opt-out are
set here, before any test module imports it.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Iterator

_PREFECT_HOME = tempfile.mkdtemp(prefix="prefect-home-")
atexit.register(shutil.rmtree, _PREFECT_HOME, True)
os.environ["PREFECT_HOME"] = _PREFECT_HOME
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ["DO_NOT_TRACK"] = "1"
os.environ.setdefault("PREFECT_LOGGING_TO_API_BATCH_INTERVAL", "0.3")

import pytest  # noqa: E402

from telnyx_compliance.sandbox import SandboxConfig, SandboxServer  # noqa: E402


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """A temporary Prefect API (SQLite in a temporary folder) shared by every flow test of the session."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=60):
        yield


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    """A sandbox for the test module: quick reviews (0.2 s on its clock), no faults."""
    with SandboxServer(SandboxConfig(seed=1, approve_after=0.2)) as server:
        yield server
