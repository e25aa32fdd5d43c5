"""The hand-off of a bulk run to the ``bulk_onboard`` flow: the run a caller started (``compliance
onboard`` starts it before Prefect is up) is the one the flow reports on; a flow run nobody handed a run to
(from the UI, a deployment) starts its own; a run handed over for another CSV is refused, not run twice."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from configs.settings import PipelineSettings, TelnyxSettings
from telnyx_compliance import AsyncTelnyx, RateLimiter
from telnyx_compliance.onboarding.bulk import BulkRun, BulkSummary, handed_over, handing_over
from telnyx_compliance.onboarding.results_csv import ResultRow
from telnyx_compliance.sandbox import SandboxServer

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
PIPELINE = PipelineSettings(
    approval_poll_interval=0.05, approval_poll_max_interval=0.2, approval_poll_timeout=20
)


@pytest.fixture
def example_csv(tmp_path: Path, sandbox: SandboxServer) -> Path:
    sandbox.reset()
    shutil.copytree(EXAMPLES / "documents", tmp_path / "documents")
    shutil.copy(EXAMPLES / "onboarding.csv", tmp_path / "onboarding.csv")
    return tmp_path / "onboarding.csv"


def _client(sandbox: SandboxServer) -> AsyncTelnyx:
    return AsyncTelnyx(api_key="k", base_url=sandbox.base_url, max_retries=2, rate_limiter=RateLimiter(1000))


async def test_the_flow_reports_on_the_run_its_caller_handed_over(
    prefect_harness: None, example_csv: Path, sandbox: SandboxServer
) -> None:
    from flows.bulk_onboard import run_handed_over

    heard: list[ResultRow] = []
    async with _client(sandbox) as client:
        run = BulkRun(example_csv, client, settings=PIPELINE, max_concurrency=4, on_row=heard.append)
        run.start()  # rows go before the flow is even called, as the command line does
        summary = await run_handed_over(run, str(example_csv))

    assert summary is run.summary  # the flow waited for this run: it started none of its own
    assert summary.rows == len(heard) == 11
    assert summary.counts["completed"] == 6
    assert sandbox.stats()["duplicates"] == {}


async def test_a_flow_nobody_handed_a_run_to_starts_its_own(
    prefect_harness: None, example_csv: Path, sandbox: SandboxServer
) -> None:
    from flows.bulk_onboard import asummary_of, bulk_onboard
    from tasks._client import use_settings

    assert handed_over(example_csv) is None  # outside any hand-off there is nothing to take
    with use_settings(TelnyxSettings(base_url=sandbox.base_url, rate_limit=500), PIPELINE):
        state = await bulk_onboard(str(example_csv), max_concurrency=4, return_state=True)
    summary = await asummary_of(state)  # type: ignore[arg-type]

    assert isinstance(summary, BulkSummary) and summary.counts["completed"] == 6


async def test_a_run_handed_over_for_another_csv_is_refused(
    prefect_harness: None, example_csv: Path, sandbox: SandboxServer
) -> None:
    from flows.bulk_onboard import bulk_onboard

    other = example_csv.with_name("other.csv")
    shutil.copy(example_csv, other)
    async with _client(sandbox) as client:
        run = BulkRun(other, client, settings=PIPELINE)  # never started: the flow must not run it
        with handing_over(run):
            state = await bulk_onboard(str(example_csv), return_state=True)

    assert state.is_failed()
    assert "the run handed over is for" in str(state.message)
    assert run.task is None and sandbox.stats()["requests"]["total"] == 0
