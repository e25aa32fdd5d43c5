"""A real S3 endpoint for the storage tests: moto's server over HTTP on a free port (fsspec not mocked)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tests.e2e.support import free_port

from .support import aws_env, s3


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def bucket(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh bucket, with the AWS environment a worker would have pointing at the endpoint."""
    for name, value in aws_env(s3_endpoint).items():
        monkeypatch.setenv(name, value)
    name = f"onboarding-{uuid.uuid4().hex[:10]}"
    s3(s3_endpoint).mkdir(name)
    return name
