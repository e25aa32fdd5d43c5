"""The approval watcher: list calls per round for every pending group, one deadline for the run."""

from __future__ import annotations

import asyncio
from typing import Any, cast

from telnyx_compliance import AsyncTelnyx
from telnyx_compliance.models.requirement_groups import RequirementGroup
from telnyx_compliance.onboarding.approvals import ApprovalWatcher
from telnyx_compliance.onboarding.snapshots import GroupSnapshot


class FakeGroups:
    """``requirement_groups.list``: groups whose status the test sets; counts the calls by filter."""

    def __init__(self) -> None:
        self.status: dict[str, str] = {}
        self.calls: list[str] = []

    async def list(self, filter: dict[str, Any] | None = None) -> list[RequirementGroup]:
        wanted = (filter or {}).get("status")
        self.calls.append(wanted or "all")
        return [
            RequirementGroup.model_validate(
                {"id": group_id, "status": status, "customer_reference": group_id}
            )
            for group_id, status in self.status.items()
            if wanted is None or status == wanted
        ]


class FakeClient:
    def __init__(self) -> None:
        self.requirement_groups = FakeGroups()


def pending(group_id: str) -> GroupSnapshot:
    return GroupSnapshot(id=group_id, customer_reference=group_id, status="pending-approval")


async def test_one_list_call_per_round_and_another_only_when_a_group_was_decided() -> None:
    client = FakeClient()
    groups = client.requirement_groups
    groups.status = {f"g{i}": "pending-approval" for i in range(50)}
    watcher = ApprovalWatcher(
        cast(AsyncTelnyx, client), min_interval=0.01, max_interval=0.01, busy_interval=0.01
    )
    runner = asyncio.create_task(watcher.run())
    waits = [asyncio.create_task(watcher.wait(pending(group_id))) for group_id in groups.status]
    await asyncio.sleep(0.05)
    assert groups.calls and set(groups.calls) == {"pending-approval"}  # nothing decided: one call a round
    groups.status["g3"], groups.status["g7"] = "approved", "declined"
    await asyncio.sleep(0.05)
    assert waits[3].done() and waits[7].done()
    approved, declined = waits[3].result(), waits[7].result()
    assert (approved.status, approved.presumed) == ("approved", True)  # in no list of rejected groups
    assert (declined.status, declined.presumed) == ("declined", False)
    # Both decisions cost one more call, which lists the declined groups: never the account's approvals.
    assert groups.calls.count("declined") == 1
    assert set(groups.calls) == {"pending-approval", "declined"}
    assert not waits[0].done()
    watcher.close(0.0)
    await runner
    assert all(wait.done() for wait in waits)
    assert waits[0].result().status == "pending-approval"  # handed back, still pending, at the deadline


async def test_rounds_space_out_as_the_wait_grows_and_the_deadline_is_one_for_the_run() -> None:
    now = [0.0]
    client = FakeClient()
    client.requirement_groups.status = {"g": "pending-approval"}
    watcher = ApprovalWatcher(
        cast(AsyncTelnyx, client),
        min_interval=1.0,
        max_interval=60.0,
        busy_interval=10.0,
        clock=lambda: now[0],
    )
    waiter = asyncio.create_task(watcher.wait(pending("g")))
    await asyncio.sleep(0)
    assert watcher._interval() == 10.0  # rows still being submitted: no more often than busy_interval
    watcher.close(3600)
    assert watcher._interval() == 1.0  # then as often as min_interval allows for a young wait
    now[0] = 300.0
    assert watcher._interval() == 30.0  # a tenth of the time the oldest group has waited
    now[0] = 7200.0
    assert watcher._interval() == 60.0  # at most max_interval
    waiter.cancel()
