"""Helpers the pipeline tests import (a test module cannot import ``conftest``: several exist)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from telnyx_compliance.onboarding.request import OnboardingRequest

MakeRequest = Callable[..., OnboardingRequest]


def count_writes(stats: dict[str, Any]) -> int:
    """POST/PATCH/DELETE requests the sandbox answered, from ``sandbox.stats()``."""
    by_route: dict[str, dict[str, int]] = stats["requests"]["by_route"]
    return sum(
        sum(statuses.values())
        for route, statuses in by_route.items()
        if route.split(" ", 1)[0] in {"POST", "PATCH", "DELETE"}
    )


async def read_events(
    names: list[str],
    *,
    related: str | None = None,
    resource_prefix: str | None = None,
    at_least: int = 1,
    timeout: float = 30,
    where: Callable[[Any], bool] | None = None,
) -> list[Any]:
    """Events named ``names`` the Prefect API stored (``related``: a related resource id, such as
    ``prefect.flow-run.<id>``), once at least ``at_least`` are there: the events worker sends them after the
    flow and the server persists them in batches, so this drains the worker and polls. ``where`` keeps
    only the events it accepts (those of one run, when several tests emit the same names)."""
    import asyncio

    from prefect import get_client
    from prefect.events.filters import (
        EventFilter,
        EventNameFilter,
        EventRelatedFilter,
        EventResourceFilter,
    )

    from flows.bulk_onboard import drain_prefect_services

    await drain_prefect_services()
    event_filter = EventFilter(
        event=EventNameFilter(name=names),
        related=EventRelatedFilter(id=[related]) if related else None,
        resource=EventResourceFilter(id_prefix=[resource_prefix]) if resource_prefix else None,
    )
    deadline = asyncio.get_running_loop().time() + timeout
    async with get_client() as client:
        while True:
            page = await client.read_events(filter=event_filter, limit=50)
            events = [event for event in page.events if where is None or where(event)]
            if len(events) >= at_least or asyncio.get_running_loop().time() > deadline:
                return events
            await asyncio.sleep(0.25)
