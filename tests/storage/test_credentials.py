"""Store credentials kept in Prefect: a Secret block of fsspec options, named by ``storage_credentials``."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from configs.settings import PipelineSettings, TelnyxSettings
from telnyx_compliance.sandbox import SandboxServer

from .support import put_folder, read_results, s3, write_batch

pytestmark = pytest.mark.usefixtures("prefect_harness")


async def test_a_secret_block_of_options_is_read_and_its_value_never_shown() -> None:
    from prefect.blocks.system import Secret

    from tasks.storage import StorageCredentialsError, storage_options

    await Secret(value={"key": "id", "secret": "VALUE-NOT-SHOWN"}).save("store-ok", overwrite=True)
    assert await storage_options("store-ok") == {"key": "id", "secret": "VALUE-NOT-SHOWN"}
    assert await storage_options(None) is None
    await Secret(value="VALUE-NOT-SHOWN-EITHER").save("store-bad", overwrite=True)
    with pytest.raises(StorageCredentialsError, match="must hold a JSON object") as raised:
        await storage_options("store-bad")
    assert "VALUE-NOT-SHOWN" not in str(raised.value)
    with pytest.raises(StorageCredentialsError, match="no Secret block named 'absent'"):
        await storage_options("absent")


def test_bulk_onboard_reads_the_bucket_with_the_blocks_credentials_alone(
    sandbox: SandboxServer, bucket: str, s3_endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No AWS_* in the environment: the endpoint and keys come from the block."""
    from prefect.blocks.system import Secret

    from flows.bulk_onboard import bulk_onboard, summary_of
    from tasks._client import use_settings

    local = asyncio.run(write_batch(sandbox.base_url, tmp_path / "batch", 3, seed=8))
    fs = s3(s3_endpoint)
    put_folder(fs, local.parent, f"{bucket}/batch")
    for name in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name)
    options = {"key": "testing-key-id", "secret": "testing-secret-access-key", "endpoint_url": s3_endpoint}
    Secret(value=options).save("onboarding-bucket", overwrite=True)

    telnyx = TelnyxSettings(api_key="k", base_url=sandbox.base_url)
    pipeline = PipelineSettings(approval_poll_interval=0.05, approval_poll_max_interval=0.2)
    with use_settings(telnyx, pipeline):
        state = asyncio.run(
            bulk_onboard(  # type: ignore[arg-type]
                f"s3://{bucket}/batch/onboarding.csv",
                storage_credentials="onboarding-bucket",
                return_state=True,
            )
        )
    summary = summary_of(state)
    assert summary.counts["completed"] == 3, summary.as_dict()
    assert summary.results_location == f"s3://{bucket}/batch/onboarding.results.csv"
    assert {row["status"] for row in read_results(fs, f"{bucket}/batch/onboarding.results.csv").values()} == {
        "completed"
    }
