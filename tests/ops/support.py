"""Helpers of the ops flows' tests: sandbox clients, fake onboarding requests, orders without a group."""

from __future__ import annotations

import csv
from collections.abc import Awaitable, Callable
from pathlib import Path

from telnyx_compliance import AsyncTelnyx
from telnyx_compliance.onboarding.csv_io import iter_rows
from telnyx_compliance.onboarding.mapping import RequirementMapping
from telnyx_compliance.onboarding.references import order_reference_prefix_for_group
from telnyx_compliance.onboarding.request import OnboardingRequest
from telnyx_compliance.onboarding.results import OnboardingResult
from telnyx_compliance.onboarding.template import fake_rows, fetch_requirements
from telnyx_compliance.sandbox import SandboxServer

#: Review time on the sandbox clock: groups stay pending until a test advances the clock past it.
REVIEW_SECONDS = 3600.0


def client_for(sandbox: SandboxServer) -> AsyncTelnyx:
    return AsyncTelnyx(api_key="sandbox", base_url=sandbox.base_url, max_retries=2, timeout=10)


async def make_requests(
    client: AsyncTelnyx, folder: Path, n: int, *, country: str = "DE", seed: int = 0
) -> list[OnboardingRequest]:
    """``n`` valid onboarding requests for ``country`` (one phone number each), via a fake CSV."""
    requirements = await fetch_requirements(client, country, "local", "ordering")
    rows = fake_rows(requirements, RequirementMapping.load(), n, folder, seed, country=country)
    path = folder / "onboarding.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(dict.fromkeys(k for row in rows for k in row)))
        writer.writeheader()
        writer.writerows(rows)
    requests = [row.request for row in iter_rows(path) if row.request is not None]
    assert len(requests) == n
    return requests


PendingFactory = Callable[..., Awaitable[list[OnboardingResult]]]


async def order_without_group(sandbox: SandboxServer, result: OnboardingResult, folder: Path) -> str:
    """A number order under ``result``'s order references that does not carry its group (as an earlier
    version of the pipeline placed them): what reconcile attaches once the group is approved."""
    assert result.requirement_group_reference is not None
    prefix = order_reference_prefix_for_group(result.requirement_group_reference)
    async with client_for(sandbox) as client:
        folder.mkdir(exist_ok=True)
        (request,) = await make_requests(client, folder, 1, seed=abs(hash(folder.name)) % 1000 + 500)
        created = await client.number_orders.create(
            phone_numbers=[{"phone_number": number} for number in request.phone_numbers],
            customer_reference=f"{prefix}feedbeef",
        )
    assert created.data is not None and created.data.id
    return created.data.id
