"""Fixtures for the client tests: MockTransport-backed clients and a Prism mock server for contract tests."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from telnyx_compliance import AsyncTelnyx, Telnyx
from tests.e2e.support import free_port

from .support import API_KEY, PRISM, REPO, Recorder, spec_path


@pytest.fixture
def async_client_for() -> Iterator[Callable[..., AsyncTelnyx]]:
    def make(recorder: Recorder, **options: Any) -> AsyncTelnyx:
        client = AsyncTelnyx(
            api_key=API_KEY,
            base_url="https://api.test/v2",
            http_client=httpx.AsyncClient(transport=httpx.MockTransport(recorder)),
            **options,
        )
        client._sleep = recorder.async_sleep
        return client

    yield make


@pytest.fixture
def sync_client_for() -> Iterator[Callable[..., Telnyx]]:
    def make(recorder: Recorder, **options: Any) -> Telnyx:
        client = Telnyx(
            api_key=API_KEY,
            base_url="https://api.test/v2",
            http_client=httpx.Client(transport=httpx.MockTransport(recorder)),
            **options,
        )
        client._sleep = recorder.sleep
        return client

    yield make


@pytest.fixture(scope="session")
def prism_url() -> Iterator[str]:
    """Start Prism (installing it from tools/prism's lockfile when missing) and yield its base URL."""
    spec = spec_path()
    if not spec.exists():
        pytest.fail(f"the vendored contract is missing: {spec} (see contracts/README.md)")
    if not PRISM.exists():
        npm = shutil.which("npm")
        if npm is None:
            pytest.fail("npm is needed to install Prism (tools/prism)")
        subprocess.run(
            [
                npm,
                "ci",
                "--prefix",
                str(REPO / "tools" / "prism"),
                "--no-audit",
                "--no-fund",
                "--loglevel=error",
            ],
            check=True,
        )
    port = free_port()
    log = (REPO / ".pytest_cache").resolve()
    log.mkdir(exist_ok=True)
    with open(log / "prism-client-contract.log", "wb") as output:
        process = subprocess.Popen(
            [str(PRISM), "mock", "--errors", "-p", str(port), "-h", "127.0.0.1", str(spec)],
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        try:
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 60
            while True:
                if process.poll() is not None:
                    pytest.fail(
                        f"Prism exited with {process.returncode}; see {log / 'prism-client-contract.log'}"
                    )
                try:
                    httpx.get(f"{url}/verified_numbers", headers={"Authorization": "Bearer probe"}, timeout=1)
                    break
                except httpx.TransportError:
                    if time.monotonic() > deadline:
                        pytest.fail("Prism did not start within 60 s")
                    time.sleep(0.2)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
