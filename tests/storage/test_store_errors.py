"""A store that fails says so in one line: the location (redacted) and what kind of failure, never the
endpoint, a bucket policy, a credential or a storage option's key or value (moto's server: real errors)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from configs.settings import PipelineSettings, TelnyxSettings
from telnyx_compliance import storage
from telnyx_compliance.onboarding.csv_source import CSVSourceError, locate_bulk

SECRET = "wrong-secret-VALUE-NOT-SHOWN"


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def failure(call: Callable[[], Any]) -> str:
    with pytest.raises(storage.StorageError) as raised:
        call()
    return str(raised.value)


def assert_one_clean_line(message: str, location: str, *hidden: str) -> None:
    assert "\n" not in message
    assert message.startswith(storage.redact(location) + ":"), message
    for text in ("127.0.0.1", "localhost", "http://", SECRET, "Traceback", *hidden):
        assert text not in message, message


def test_a_bucket_that_does_not_exist(bucket: str, s3_endpoint: str, tmp_path: Path) -> None:
    location = f"s3://absent-{bucket}/batch/in.csv"
    with pytest.raises(FileNotFoundError) as missing:  # readers tell "no such object" apart
        storage.read_bytes(location)
    assert str(missing.value) == f"[Errno 2] no such object: '{location}'"
    message = failure(lambda: storage.put_bytes(location, b"x"))
    assert_one_clean_line(message, location)
    assert "not found" in message
    with pytest.raises(CSVSourceError, match="no such CSV object"):
        locate_bulk(location, staging_root=tmp_path / "staging")


def test_credentials_the_store_refuses(
    bucket: str, s3_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import moto.settings

    storage.put_bytes(f"s3://{bucket}/in.csv", b"a,b\n")
    monkeypatch.setattr(moto.settings, "INITIAL_NO_AUTH_ACTION_COUNT", 0)  # moto checks credentials now
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    options = {"key": "AKIAWRONGKEYID", "secret": SECRET}
    for call in (
        lambda: storage.read_bytes(f"s3://{bucket}/in.csv", options=options),
        lambda: storage.put_bytes(f"s3://{bucket}/out.csv", b"x", options),
        lambda: storage.list_files(f"s3://{bucket}/parts", options),
    ):
        message = failure(call)
        assert "access denied" in message
        assert_one_clean_line(message, message.split(": ", 1)[0], "AKIAWRONGKEYID")


@pytest.mark.parametrize("host", ["127.0.0.1", "no-such-host.invalid"])
def test_an_endpoint_that_cannot_be_reached(
    bucket: str, s3_endpoint: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, host: str
) -> None:
    port = closed_port()
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://{host}:{port}")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    location = f"s3://{bucket}/batch/in.csv"
    message = failure(lambda: storage.read_bytes(location))
    assert "cannot reach the store" in message
    assert_one_clean_line(message, location, host, str(port))
    with pytest.raises(CSVSourceError) as raised:
        locate_bulk(location, staging_root=tmp_path / "staging")
    assert "cannot reach the store" in str(raised.value)
    assert host not in str(raised.value) and str(port) not in str(raised.value)


def test_invalid_options_name_where_they_are_kept_never_their_keys_or_values(bucket: str) -> None:
    location = f"s3://{bucket}/in.csv"
    misspelt = storage.NamedOptions({"secrett": SECRET}, "Secret block 'onboarding-bucket'")
    message = failure(lambda: storage.read_bytes(location, options=misspelt))
    assert "the storage options in Secret block 'onboarding-bucket' are invalid for s3://" in message
    assert_one_clean_line(message, location, "secrett")
    assert SECRET not in repr(misspelt) and "secrett" not in repr(misspelt)

    bad_value = {"endpoint_url": f"not an endpoint {SECRET}"}
    message = failure(lambda: storage.put_bytes(location, b"x", bad_value))
    assert "the storage options are invalid for s3://" in message
    assert_one_clean_line(message, location, "not an endpoint")


def test_a_misspelt_option_in_the_secret_block_fails_the_flow_naming_the_block(
    prefect_harness: None, bucket: str, s3_endpoint: str
) -> None:
    from prefect.blocks.system import Secret

    from flows.bulk_onboard import bulk_onboard
    from tasks._client import use_settings

    storage.put_bytes(f"s3://{bucket}/batch/in.csv", b"customer_reference,country_code\nc1,DE\n")
    Secret(value={"key": "testing-key-id", "secrett": SECRET}).save("misspelt-bucket", overwrite=True)
    with use_settings(TelnyxSettings(api_key="k", base_url="http://127.0.0.1:9/v2"), PipelineSettings()):
        state = asyncio.run(
            bulk_onboard(  # type: ignore[arg-type]
                f"s3://{bucket}/batch/in.csv", storage_credentials="misspelt-bucket", return_state=True
            )
        )
    assert state.is_failed()
    message = state.message or ""
    assert "Secret block 'misspelt-bucket' are invalid for s3://" in message
    assert "\n" not in message and SECRET not in message and "secrett" not in message
