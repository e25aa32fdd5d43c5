"""The UI's progress artifact of a bulk run moves while rows are only in review, and its description says
where the rows stand (submitted, in review with the oldest age, approved, ordered)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from configs.settings import PipelineSettings
from telnyx_compliance import AsyncTelnyx, RateLimiter
from telnyx_compliance.onboarding.bulk import BulkRun, ProgressSnapshot
from telnyx_compliance.onboarding.mapping import RequirementMapping
from telnyx_compliance.onboarding.template import fake_rows, fetch_requirements, render_template
from telnyx_compliance.sandbox import SandboxConfig, SandboxServer

PIPELINE = PipelineSettings(
    approval_poll_interval=0.1, approval_poll_max_interval=0.5, approval_poll_timeout=60
)


@pytest.fixture
def slow_review() -> Iterator[SandboxServer]:
    """Groups reviewed 8 s after submission: long enough for a few artifact updates meanwhile."""
    with SandboxServer(SandboxConfig(seed=9, approve_after=8.0)) as server:
        yield server


async def _csv(sandbox: SandboxServer, folder: Path, rows: int) -> Path:
    async with AsyncTelnyx(api_key="k", base_url=sandbox.base_url) as client:
        requirements = await fetch_requirements(client, "DE", "local", "ordering")
    mapping = RequirementMapping.load()
    path = folder / "de.csv"
    rows_text = fake_rows(requirements, mapping, rows, folder, 5, country="DE")
    path.write_text(render_template(requirements, mapping, "DE", "local", "ordering", rows_text), "utf-8")
    return path


async def _latest_progress(prefect: Any, since: datetime) -> Any:
    """This run's progress artifact (the newest of its key, created after ``since``), or None."""
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
    from prefect.client.schemas.sorting import ArtifactSort

    found = await prefect.read_artifacts(
        artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["bulk-onboarding-progress"])),
        sort=ArtifactSort.CREATED_DESC,
        limit=1,
    )
    if not found or found[0].created is None or found[0].created < since:
        return None
    return found[0]


@pytest.mark.slow
async def test_the_progress_artifact_moves_while_rows_are_only_in_review(
    prefect_harness: None, slow_review: SandboxServer, tmp_path: Path
) -> None:
    from prefect.client.orchestration import get_client

    from flows.bulk_onboard import run_handed_over
    from tasks._client import use_settings

    csv_path = await _csv(slow_review, tmp_path, 6)
    since = datetime.now(UTC)
    samples: list[tuple[ProgressSnapshot, float, str]] = []
    async with AsyncTelnyx(
        api_key="k", base_url=slow_review.base_url, rate_limiter=RateLimiter(1000)
    ) as client:
        run = BulkRun(csv_path, client, settings=PIPELINE)
        with use_settings(None, PIPELINE):
            flow = asyncio.ensure_future(run_handed_over(run, str(csv_path)))
            async with get_client() as prefect:
                while not flow.done():
                    snapshot = run.progress.snapshot()
                    artifact = await _latest_progress(prefect, since)
                    if artifact is not None:
                        samples.append((snapshot, float(artifact.data), str(artifact.description)))
                    await asyncio.sleep(0.3)
            summary = await flow
            async with get_client() as prefect:
                final = await _latest_progress(prefect, since)

    assert summary.counts == {"completed": 6}
    # While every row waited for its review and none was written, the UI showed more than 0%, and said why.
    reviewing = [
        (value, description)
        for snapshot, value, description in samples
        if snapshot.in_review == 6 and snapshot.written == 0 and "in review 6" in description
    ]
    assert reviewing, [(s.line(), v, d) for s, v, d in samples[::3]]
    assert all(value > 0 for value, _ in reviewing)
    assert all("submitted 6/6" in description and "(oldest" in description for _, description in reviewing)
    # At the end: done, with the counts of what happened.
    assert final is not None and float(final.data) == 100.0
    assert "approved 6" in str(final.description) and "ordered 6" in str(final.description)
