"""Reconcile: pending groups handed over by onboarding get attached once approved; declines are reported."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from telnyx_compliance.onboarding.reconcile import (
    group_reference_of_order,
    reconcile,
    reconcile_markdown,
)
from telnyx_compliance.sandbox import SandboxServer

from .support import REVIEW_SECONDS, PendingFactory, client_for, order_without_group


def test_group_reference_of_order_inverts_the_order_reference() -> None:
    assert group_reference_of_order("tc-acme-de-local-ordering-order-1a2b3c4d") == (
        "tc-acme-de-local-ordering-group"
    )
    assert group_reference_of_order("tc-order-book-de-local-ordering-order-1a2b3c4d") == (
        "tc-order-book-de-local-ordering-group"
    )
    assert group_reference_of_order("someone-elses-order") is None
    assert group_reference_of_order(None) is None


async def _order_group(sandbox: SandboxServer, number_order_id: str) -> tuple[bool, set[str | None]]:
    async with client_for(sandbox) as client:
        order = (await client.number_orders.retrieve(number_order_id)).data
        assert order is not None
        groups = set()
        for sub_id in order.sub_number_orders_ids or []:
            sub = (await client.sub_number_orders.retrieve(sub_id)).data
            assert sub is not None
            groups.add((sub.model_extra or {}).get("requirement_group_id"))
        return bool(order.requirements_met), groups


async def test_pending_group_is_reported_then_its_orders_are_met_once_approved(
    slow_sandbox: SandboxServer, pending_onboardings: PendingFactory
) -> None:
    (result,) = await pending_onboardings(1)
    assert result.number_order_id and result.requirement_group_id

    async with client_for(slow_sandbox) as client:
        report = await reconcile(client)
    assert [(o.group_id, o.action) for o in report.outcomes] == [(result.requirement_group_id, "pending")]
    # The order was placed carrying the group: Telnyx meets its requirements when the review approves it.
    assert await _order_group(slow_sandbox, result.number_order_id) == (False, {result.requirement_group_id})

    slow_sandbox.advance_clock(REVIEW_SECONDS + 1)
    before = slow_sandbox.stats()["requests"]
    async with client_for(slow_sandbox) as client:
        report = await reconcile(client)
    assert report.outcomes == () and report.groups_seen == 1  # nothing waits: nothing to attach
    assert await _order_group(slow_sandbox, result.number_order_id) == (True, {result.requirement_group_id})
    assert _writes(slow_sandbox.stats()["requests"]) == _writes(before)


async def test_an_order_placed_without_the_group_is_attached_after_approval(
    slow_sandbox: SandboxServer, pending_onboardings: PendingFactory, tmp_path: Path
) -> None:
    (result,) = await pending_onboardings(1)
    order_id = await order_without_group(slow_sandbox, result, tmp_path / "extra")
    assert await _order_group(slow_sandbox, order_id) == (False, {None})
    async with client_for(slow_sandbox) as client:
        report = await reconcile(client)
    assert [o.action for o in report.outcomes] == ["pending"]  # never attached before approval
    assert await _order_group(slow_sandbox, order_id) == (False, {None})

    slow_sandbox.advance_clock(REVIEW_SECONDS + 1)
    async with client_for(slow_sandbox) as client:
        report = await reconcile(client)
    (outcome,) = report.outcomes
    assert outcome.action == "attached"
    assert [order.requirements_met for order in outcome.attached] == [True]
    assert await _order_group(slow_sandbox, order_id) == (True, {result.requirement_group_id})
    assert "Attached now: **1**" in reconcile_markdown(report)

    # Nothing left to do: the next run attaches nothing and sends no write.
    before = slow_sandbox.stats()["requests"]
    async with client_for(slow_sandbox) as client:
        report = await reconcile(client)
    assert report.outcomes == ()
    assert report.groups_seen == 1
    after = slow_sandbox.stats()["requests"]
    assert _writes(after) == _writes(before)


def _writes(requests: dict) -> int:
    return sum(
        sum(statuses.values())
        for route, statuses in requests["by_route"].items()
        if route.split(" ", 1)[0] in {"POST", "PATCH", "DELETE"}
    )


async def test_concurrent_runs_attach_each_order_and_fail_nothing(
    slow_sandbox: SandboxServer, pending_onboardings: PendingFactory, tmp_path: Path
) -> None:
    results = await pending_onboardings(3)
    extra = {
        result.requirement_group_id: await order_without_group(slow_sandbox, result, tmp_path / f"extra{i}")
        for i, result in enumerate(results)
    }
    slow_sandbox.advance_clock(REVIEW_SECONDS + 1)

    async def one_run():
        async with client_for(slow_sandbox) as client:
            return await reconcile(client)

    reports = await asyncio.gather(one_run(), one_run(), one_run())
    for report in reports:
        assert all(o.action in {"attached", "up_to_date"} for o in report.outcomes)
        assert report.count("failed") == 0
    assert sum(report.count("attached") for report in reports) >= 3  # each waiting order, once or more
    for result in results:
        assert result.number_order_id
        for order_id in (result.number_order_id, extra[result.requirement_group_id]):
            assert await _order_group(slow_sandbox, order_id) == (True, {result.requirement_group_id})
    assert slow_sandbox.stats()["duplicates"] == {}


async def test_declined_and_expired_groups_are_reported_with_reasons(
    slow_sandbox: SandboxServer, pending_onboardings: PendingFactory
) -> None:
    (declined,) = await pending_onboardings(1, seed=1, deny=True)
    (expired,) = await pending_onboardings(1, seed=2)
    slow_sandbox.advance_clock(REVIEW_SECONDS + 1)
    slow_sandbox._call("POST", f"/requirement_groups/{expired.requirement_group_id}/expire")

    async with client_for(slow_sandbox) as client:
        report = await reconcile(client)
    by_group = {o.group_id: o for o in report.outcomes}
    assert by_group[declined.requirement_group_id].action == "declined"
    assert any("denied" in reason for reason in by_group[declined.requirement_group_id].reasons)
    assert by_group[expired.requirement_group_id].action == "expired"
    assert by_group[expired.requirement_group_id].reasons
    markdown = reconcile_markdown(report)
    assert "## Needs action" in markdown
    assert str(declined.requirement_group_id) in markdown and str(expired.requirement_group_id) in markdown
    # The order placed at hand-over carries the group, and a decline leaves its requirements unmet (fixing
    # the values and resubmitting the same group is what meets them).
    assert declined.number_order_id is not None
    assert await _order_group(slow_sandbox, declined.number_order_id) == (
        False,
        {declined.requirement_group_id},
    )


@pytest.mark.parametrize("prefix", ["zz"])
async def test_groups_of_other_prefixes_are_left_alone(
    slow_sandbox: SandboxServer, pending_onboardings: PendingFactory, prefix: str
) -> None:
    await pending_onboardings(1)
    slow_sandbox.advance_clock(REVIEW_SECONDS + 1)
    async with client_for(slow_sandbox) as client:
        report = await reconcile(client, prefix=prefix)
    assert report.groups_seen == 0 and report.outcomes == ()
