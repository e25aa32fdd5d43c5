"""Fixtures for the sandbox tests: a running sandbox, an authenticated client, the spec checker."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from telnyx_compliance.sandbox import SandboxConfig, SandboxServer

from .support import API_KEY, DEFAULT_KNOBS, SpecChecker, spec_path


@pytest.fixture(scope="session")
def spec() -> SpecChecker:
    return SpecChecker(spec_path())


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    with SandboxServer(SandboxConfig(seed=7, approve_after=5)) as running:
        yield running


@pytest.fixture
def sandbox(server: SandboxServer) -> Iterator[SandboxServer]:
    """The module's sandbox, emptied and with default knobs, for one test."""
    server.reset()
    server.configure(**DEFAULT_KNOBS)
    yield server


@pytest.fixture
def api(sandbox: SandboxServer) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=sandbox.base_url, headers={"Authorization": f"Bearer {API_KEY}"}, timeout=10
    ) as client:
        yield client
