"""A real S3 endpoint for the storage tests: moto's server over HTTP on a free port (fsspec not mocked)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.support import free_port


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


def aws_env(endpoint: str) -> dict[str, str]:
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing-key-id",
        "AWS_SECRET_ACCESS_KEY": "testing-secret-access-key",
        "AWS_DEFAULT_REGION": "us-east-1",
    }


def s3(endpoint: str) -> Any:
    """A client of the test's own (not the pipeline's cached one)."""
    import s3fs

    return s3fs.S3FileSystem(
        endpoint_url=endpoint,
        key="testing-key-id",
        secret="testing-secret-access-key",
        skip_instance_cache=True,
        use_listings_cache=False,
    )
