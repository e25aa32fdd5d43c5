"""The one question every write asks first, "what do we have under this reference?", answered alike by a live
lookup and by a run's snapshot, and without a write; and the single-onboarding approval wait."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import cast

import pytest

from configs.settings import PipelineSettings
from telnyx_compliance import AsyncTelnyx
from telnyx_compliance.models.requirement_groups import GroupStatus, RequirementGroup
from telnyx_compliance.onboarding.ensure import poll_approval
from telnyx_compliance.onboarding.index import LiveIndex, ResourceIndex
from telnyx_compliance.onboarding.known import KnownResources
from telnyx_compliance.onboarding.runner import onboard
from telnyx_compliance.onboarding.snapshots import GroupSnapshot
from telnyx_compliance.sandbox import SandboxServer
from tests.support import MakeRequest, count_writes

SETTINGS = PipelineSettings(
    approval_poll_timeout=10, approval_poll_interval=0.05, approval_poll_max_interval=0.2
)


@pytest.fixture
async def client(sandbox: SandboxServer) -> AsyncIterator[AsyncTelnyx]:
    async with AsyncTelnyx(api_key="test-key", base_url=sandbox.base_url, retry_max_wait=0.2) as api:
        yield api


@pytest.mark.parametrize("kind", ["live", "snapshot"])
async def test_live_lookup_and_snapshot_find_the_same_resources_and_write_nothing(
    client: AsyncTelnyx, sandbox: SandboxServer, make_request: MakeRequest, kind: str
) -> None:
    result = await onboard(client, make_request("DE", numbers=1), settings=SETTINGS)
    assert result.status == "completed", result.error
    assert result.address_id and result.number_order_id and result.requirement_group_reference
    address = (await client.user_addresses.retrieve(result.address_id)).data
    order = (await client.number_orders.retrieve(result.number_order_id)).data
    assert address is not None and address.customer_reference
    assert order is not None and order.customer_reference
    values = GroupSnapshot.from_api(
        await client.requirement_groups.retrieve(result.requirement_group_id or "")
    ).values
    index: ResourceIndex = (
        LiveIndex(client) if kind == "live" else await KnownResources.fetch(client, prefix="tc")
    )
    writes = count_writes(sandbox.stats())

    assert await index.find_address(address.customer_reference) == result.address_id
    documents = await index.find_documents([document.customer_reference for document in result.documents])
    assert {reference: found.id for reference, found in documents.items()} == {
        document.customer_reference: document.document_id for document in result.documents
    }
    group = await index.find_group(result.requirement_group_reference, values)
    assert group is not None and group.id == result.requirement_group_id
    assert group.status == GroupStatus.APPROVED and group.values == values
    placed = await index.find_order(order.customer_reference)
    assert placed is not None and placed.id == result.number_order_id
    # References are exact: the API's filters ignore case, the index does not.
    assert await index.find_address(address.customer_reference.upper()) is None
    assert await index.find_group(result.requirement_group_reference.upper(), values) is None
    assert await index.find_order("tc-nobody-order") is None
    assert count_writes(sandbox.stats()) == writes  # a planner may ask the same questions


class _Groups:
    def __init__(self, statuses: list[str]) -> None:
        self.statuses = statuses
        self.reads = 0

    async def retrieve(self, group_id: str) -> RequirementGroup:
        status = self.statuses[min(self.reads, len(self.statuses) - 1)]
        self.reads += 1
        return RequirementGroup(id=group_id, status=status)


class _Client:
    def __init__(self, statuses: list[str]) -> None:
        self.requirement_groups = _Groups(statuses)


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.mark.parametrize(("read_first", "reads"), [(True, 5), (False, 4)])
async def test_the_approval_wait_doubles_its_pause_and_hands_over_a_group_still_pending_at_the_timeout(
    read_first: bool, reads: int
) -> None:
    api, clock = _Client(["pending-approval"]), _Clock()

    group = await poll_approval(
        cast(AsyncTelnyx, api),
        "g1",
        timeout=10,
        interval=1,
        max_interval=4,
        sleep=clock.sleep,
        clock=clock,
        read_first=read_first,
    )

    assert group.status == GroupStatus.PENDING
    assert clock.sleeps == [1, 2, 4, 3]  # the last pause ends at the timeout
    assert api.requirement_groups.reads == reads


async def test_the_approval_wait_returns_as_soon_as_the_group_is_decided() -> None:
    api, clock = _Client(["pending-approval", "pending-approval", "declined"]), _Clock()

    group = await poll_approval(
        cast(AsyncTelnyx, api), "g1", timeout=600, interval=1, max_interval=60, sleep=clock.sleep, clock=clock
    )

    assert group.status == GroupStatus.DECLINED
    assert clock.sleeps == [1, 2] and api.requirement_groups.reads == 3
