"""Fixtures for the sandbox tests: the module's sandbox (in process unless the module needs a real socket),
an authenticated client, the spec checker."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from telnyx_compliance.sandbox import SandboxConfig, SandboxServer
from tests.support import InProcessSandbox, blocking_client

from .support import API_KEY, DEFAULT_KNOBS, SpecChecker, spec_path


@pytest.fixture(scope="session")
def spec() -> SpecChecker:
    return SpecChecker(spec_path())


@pytest.fixture(scope="module")
def server(request: pytest.FixtureRequest) -> Iterator[SandboxServer]:
    """The module's sandbox: in process (ASGI), or on a real socket when the module sets ``REAL_SOCKET``
    (to the reason it needs one)."""
    kind = SandboxServer if getattr(request.module, "REAL_SOCKET", None) else InProcessSandbox
    with kind(SandboxConfig(seed=7, approve_after=5)) as running:
        yield running


@pytest.fixture
def sandbox(server: SandboxServer) -> Iterator[SandboxServer]:
    """The module's sandbox, emptied and with default knobs, for one test."""
    server.reset()
    server.configure(**DEFAULT_KNOBS)
    yield server


@pytest.fixture
def api(sandbox: SandboxServer) -> Iterator[httpx.Client]:
    with blocking_client(sandbox, headers={"Authorization": f"Bearer {API_KEY}"}) as client:
        yield client
