"""The ops flows under a Prefect test harness, against the sandbox."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prefect.client.orchestration import get_client

from configs.settings import TelnyxSettings
from flows.bundles import bundle_hygiene
from flows.catalog import sync_requirements_catalog
from flows.reconcile import reconcile_requirement_groups
from flows.verify_number import verify_number
from tasks._client import use_settings
from telnyx_compliance.sandbox import SandboxServer
from tests.support import read_events

from .support import REVIEW_SECONDS, PendingFactory, order_without_group

pytestmark = pytest.mark.usefixtures("prefect_harness")


@pytest.fixture
def on_sandbox(slow_sandbox: SandboxServer) -> Iterator[SandboxServer]:
    with use_settings(TelnyxSettings(base_url=slow_sandbox.base_url, max_retries=1)):
        yield slow_sandbox


async def _artifact(key: str) -> str:
    async with get_client() as client:
        artifact = await client.read_latest_artifacts(limit=200)
    found = [a for a in artifact if a.key == key]
    assert found, f"no artifact {key}"
    return str(found[0].data)


async def test_reconcile_flow_attaches_and_publishes(
    on_sandbox: SandboxServer, pending_onboardings: PendingFactory, tmp_path: Path
) -> None:
    (result,) = await pending_onboardings(1)
    await order_without_group(on_sandbox, result, tmp_path / "extra")
    on_sandbox.advance_clock(REVIEW_SECONDS + 1)
    state = await reconcile_requirement_groups(return_state=True)
    assert state.is_completed(), state.message
    report = await state.result()
    assert [o.action for o in report.outcomes] == ["attached"]
    assert "Attached now: **1**" in await _artifact("reconcile-requirement-groups")
    assert report.outcomes[0].group_id == result.requirement_group_id
    assert "1 attached now" in (state.message or "")
    (event,) = await read_events(
        ["telnyx.requirement-group.approved"], related=f"prefect.flow-run.{state.state_details.flow_run_id}"
    )
    assert event.resource.id == f"telnyx.requirement-group.{result.requirement_group_id}"
    assert event.resource["telnyx.observed-by"] == "reconcile_requirement_groups"


async def test_reconcile_flow_emits_declined_and_expired_events_with_reasons(
    on_sandbox: SandboxServer, pending_onboardings: PendingFactory
) -> None:
    (declined,) = await pending_onboardings(1, seed=1, deny=True)
    (expired,) = await pending_onboardings(1, seed=2)
    on_sandbox.advance_clock(REVIEW_SECONDS + 1)
    on_sandbox._call("POST", f"/requirement_groups/{expired.requirement_group_id}/expire")

    state = await reconcile_requirement_groups(return_state=True)

    events = await read_events(
        ["telnyx.requirement-group.declined", "telnyx.requirement-group.expired"],
        related=f"prefect.flow-run.{state.state_details.flow_run_id}",
        at_least=2,
    )
    by_group = {event.resource.id.removeprefix("telnyx.requirement-group."): event for event in events}
    assert by_group.keys() == {declined.requirement_group_id, expired.requirement_group_id}
    assert by_group[declined.requirement_group_id].event == "telnyx.requirement-group.declined"
    assert any(
        "denied" in reason for reason in by_group[declined.requirement_group_id].payload["reasons"].values()
    )
    assert by_group[expired.requirement_group_id].event == "telnyx.requirement-group.expired"


async def test_catalog_flow_keeps_a_baseline_then_reports_no_change(
    on_sandbox: SandboxServer, tmp_path: Path
) -> None:
    first = await sync_requirements_catalog(state_dir=str(tmp_path))
    assert first.before is None
    assert (tmp_path / "catalog" / "latest.json").exists()
    second = await sync_requirements_catalog(state_dir=str(tmp_path))
    assert second.before is not None and not second.changed
    assert "No change" in await _artifact("requirements-catalog-changes")


async def test_bundle_hygiene_is_a_dry_run_by_default(on_sandbox: SandboxServer) -> None:
    from telnyx_compliance import AsyncTelnyx

    async with AsyncTelnyx(api_key="k", base_url=on_sandbox.base_url) as client:
        billing = [b async for b in client.bundle_pricing.billing_bundles.list()]
        await client.bundle_pricing.user_bundles.create(
            items=[{"billing_bundle_id": billing[0].id, "quantity": 1}]
        )
    on_sandbox.advance_clock(40 * 86400)
    dry = await bundle_hygiene()
    assert [d.outcome for d in dry] == []  # judged on the real calendar: created "today" -> kept
    applied = await bundle_hygiene(apply=True, older_than_days=0)
    assert [d.outcome for d in applied] == ["deactivated"]
    assert "**Applied**" in await _artifact("bundle-hygiene")


async def _wait_paused(flow_run_name: str, pauses: int, timeout: float = 30) -> Any:
    """The run once it is Paused for the ``pauses``-th time."""
    async with get_client() as client:
        deadline = asyncio.get_running_loop().time() + timeout
        while asyncio.get_running_loop().time() < deadline:
            runs = await client.read_flow_runs()
            for run in runs:
                if run.name == flow_run_name and run.state and run.state.name == "Paused":
                    seen = run.state.state_details.pause_key
                    if seen == str(pauses):
                        return run
            await asyncio.sleep(0.2)
    raise AssertionError(f"{flow_run_name} did not pause a {pauses}. time")


async def _resume(run_id: Any, **run_input: Any) -> None:
    async with get_client() as client:
        await client.resume_flow_run(run_id, run_input=run_input)


async def test_verify_number_wrong_then_expired_then_right_code(on_sandbox: SandboxServer) -> None:
    number = "+4930901820"
    running = asyncio.ensure_future(
        verify_number(
            number, verification_method="call", extension="123", poll_interval_seconds=1, return_state=True
        )
    )
    run = await _wait_paused(f"verify-{number}", 1)
    await _resume(run.id, verification_code="000000")  # wrong
    run = await _wait_paused(f"verify-{number}", 2)
    first_code = on_sandbox.verification_code(number)
    on_sandbox.advance_clock(3600)  # the code expires: the flow asks for a new one
    await _resume(run.id, verification_code=first_code)
    run = await _wait_paused(f"verify-{number}", 3)
    new_code = on_sandbox.verification_code(number)
    assert new_code != first_code
    await _resume(run.id, verification_code=new_code)
    state = await asyncio.wait_for(running, 30)
    assert state.is_completed(), state.message
    report = await state.result()
    assert (report.phone_number, report.codes_tried) == (number, 3)
    assert "is verified" in await _artifact("verified-number")


async def test_verify_number_fails_after_max_attempts(on_sandbox: SandboxServer) -> None:
    number = "+4930901821"
    running = asyncio.ensure_future(
        verify_number(number, max_attempts=2, poll_interval_seconds=1, return_state=True)
    )
    for pause in (1, 2):
        run = await _wait_paused(f"verify-{number}", pause)
        await _resume(run.id, verification_code="000000")
    state = await asyncio.wait_for(running, 30)
    assert state.is_failed()
    assert "2 code(s) entered, none accepted" in (state.message or "")
