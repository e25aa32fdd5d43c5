"""An explicit account-wide cap shared by every run: a Prefect global concurrency limit with slot decay.

For accounts whose answers carry no rate-limit headers (here: a sandbox without a limit, so nothing paces
the runs but the limit), ``bulk_onboard(global_rate_limit=...)`` makes every API request take a slot that
decays at the account's rate, whichever run (or worker) sends it.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from configs.settings import PipelineSettings, TelnyxSettings
from telnyx_compliance.sandbox import SandboxConfig, SandboxServer
from tests.storage.support import write_batch

RATE = 10.0  # requests per second for the whole "account"
BURST = 5


@pytest.mark.usefixtures("prefect_harness")
async def test_two_runs_stay_under_a_global_concurrency_limit_with_slot_decay(tmp_path: Path) -> None:
    from prefect import get_client
    from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate

    from flows.bulk_onboard import asummary_of, bulk_onboard
    from tasks._client import use_settings

    name = f"telnyx-api-{tmp_path.name[-12:]}"
    async with get_client() as client:
        await client.create_global_concurrency_limit(
            GlobalConcurrencyLimitCreate(name=name, limit=BURST, slot_decay_per_second=RATE)
        )
    with SandboxServer(SandboxConfig(seed=7, approve_after=0.2)) as sandbox:
        csvs = [
            await write_batch(sandbox.base_url, tmp_path / folder, 8, seed=seed)
            for folder, seed in (("a", 71), ("b", 72))
        ]
        before = sandbox.stats()["requests"]["total"]
        telnyx = TelnyxSettings(api_key="k", base_url=sandbox.base_url)
        pipeline = PipelineSettings(approval_poll_interval=0.1, approval_poll_max_interval=0.2)
        started = time.monotonic()
        with use_settings(telnyx, pipeline):
            states = await asyncio.gather(
                *(bulk_onboard(str(path), global_rate_limit=name, return_state=True) for path in csvs)
            )
        elapsed = time.monotonic() - started
        sent = sandbox.stats()["requests"]["total"] - before
        assert sandbox.stats()["duplicates"] == {}

    for state in states:
        summary = await asummary_of(state)
        assert summary.counts["completed"] == 8, summary.as_dict()
    # At most the burst plus the decay rate over the run: the cap held across both runs (without it, two
    # runs against a sandbox without headers send well over 50 requests a second).
    assert sent <= BURST + RATE * elapsed * 1.1, f"{sent} requests in {elapsed:.1f} s"
    # Starved runs (slots that never decay) would hang; elapsed includes both flows' start-up, so be lenient.
    assert sent / elapsed >= RATE * 0.25, "the limit's slots decay: the runs are not starved"
