"""Fixtures for the sandbox tests: a running sandbox, an authenticated client, the spec checker."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from telnyx_compliance.sandbox import SandboxConfig, SandboxServer

from .spec import SpecChecker, spec_path

API_KEY = "sandbox-test-key"


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


DEFAULT_KNOBS = {
    "latency_ms": 0.0,
    "latency_jitter_ms": 0.0,
    "rate_limit": 0.0,
    "rate_limit_window": 1.0,
    "throttle_rate": 0.0,
    "retry_after": 1.0,
    "error_rate": 0.0,
    "drop_rate": 0.0,
    "lost_response_rate": 0.0,
    "approve_after": 5.0,
    "group_ttl": 0.0,
    "document_ttl": 1800.0,
    "verification_code_ttl": 600.0,
    "download_link_ttl": 300.0,
}


@pytest.fixture
def api(sandbox: SandboxServer) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=sandbox.base_url, headers={"Authorization": f"Bearer {API_KEY}"}, timeout=10
    ) as client:
        yield client
