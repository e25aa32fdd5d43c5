"""``bulk_onboard(plan_only=True)``: the plan of a CSV as a table artifact, and not one write sent."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from configs.settings import PipelineSettings, TelnyxSettings
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


def _writes(sandbox: SandboxServer) -> int:
    routes: dict[str, dict[str, int]] = sandbox.stats()["requests"]["by_route"]
    return sum(sum(by_status.values()) for route, by_status in routes.items() if not route.startswith("GET"))


async def test_plan_only_publishes_the_plan_and_writes_nothing(
    prefect_harness: None, example_csv: Path, sandbox: SandboxServer
) -> None:
    from prefect import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
    from prefect.client.schemas.sorting import ArtifactSort

    from flows.bulk_onboard import bulk_onboard
    from tasks._client import use_settings

    before = _writes(sandbox)
    with use_settings(TelnyxSettings(base_url=sandbox.base_url, rate_limit=500), PIPELINE):
        state = await bulk_onboard(str(example_csv), plan_only=True, return_state=True)

    assert _writes(sandbox) == before and sandbox.stats()["resources"].get("requirement_groups", 0) == 0
    assert not example_csv.with_name("onboarding.results.csv").exists()
    assert state.is_failed()  # the example has invalid rows: the plan says they would not proceed
    async with get_client() as prefect:
        (table,) = await prefect.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["bulk-onboarding-plan"])),
            sort=ArtifactSort.CREATED_DESC,
            limit=1,
        )
    shown = json.loads(str(table.data))
    verdicts = {int(line["row"]): line["verdict"] for line in shown}
    assert verdicts[2] == "create" and verdicts[9] == "invalid" and len(verdicts) == 11
    assert set(shown[0]) == {"row", "customer_reference", "verdict", "steps", "detail"}
