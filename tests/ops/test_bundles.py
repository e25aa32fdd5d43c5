"""Bundle hygiene against the sandbox: dry run by default, only old unused bundles deactivated on apply."""

from __future__ import annotations

from datetime import date, timedelta

from telnyx_compliance.bundles import bundle_report_markdown, deactivate_bundles, survey_bundles
from telnyx_compliance.sandbox import SandboxServer

from .support import client_for


async def _bundles(sandbox: SandboxServer, count: int) -> list[str]:
    async with client_for(sandbox) as client:
        billing = [b async for b in client.bundle_pricing.billing_bundles.list()]
        created = await client.bundle_pricing.user_bundles.create(
            items=[{"billing_bundle_id": billing[0].id, "quantity": count}]
        )
    return [bundle.id or "" for bundle in created.data or []]


async def test_dry_run_then_apply_deactivates_only_old_unused_bundles(slow_sandbox: SandboxServer) -> None:
    old = await _bundles(slow_sandbox, 2)
    slow_sandbox.advance_clock(timedelta(days=40).total_seconds())
    recent = await _bundles(slow_sandbox, 1)

    async with client_for(slow_sandbox) as client:
        # The sandbox's clock runs 40 days ahead: judge ages on its calendar.
        today = date.fromisoformat(slow_sandbox._call("GET", "/clock")["data"]["now"][:10])
        survey = await survey_bundles(client, older_than_days=30, today=today)
        assert {b.id for b in survey.unused} == {*old, *recent}
        assert {b.id for b in survey.eligible} == set(old)

        dry = await deactivate_bundles(client, [b.id for b in survey.eligible], apply=False)
        assert {d.outcome for d in dry} == {"would_deactivate"}
        assert "**Dry run**" in bundle_report_markdown(survey, dry, apply=False)
        still = await survey_bundles(client, older_than_days=30)
        assert all(b.active for b in still.bundles)

        applied = await deactivate_bundles(client, [b.id for b in survey.eligible], apply=True)
        assert {d.outcome for d in applied} == {"deactivated"}
        again = await deactivate_bundles(client, [b.id for b in survey.eligible], apply=True)
        assert {d.outcome for d in again} == {"already_inactive"}
        after = await survey_bundles(client, older_than_days=30)
    active = {b.id for b in after.bundles if b.active}
    assert active == set(recent)
    markdown = bundle_report_markdown(survey, applied, apply=True)
    assert "| deactivated |" in markdown and "kept (too recent)" in markdown
