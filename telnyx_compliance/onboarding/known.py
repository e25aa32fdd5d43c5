"""What already exists on Telnyx under our reference prefix, fetched once with a few paginated list calls.

Without it each step looks its resource up by reference (one list call per resource). A bulk run of
thousands of onboardings fetches a :class:`KnownResources` once instead, and hands it to every
``onboard(..., known=...)``: the steps then consult it rather than the API, and record what they create, so
the next onboarding of the same key (run after it) reuses those too. Requirements are cached per market.

A resource missing from it is created straight away; the client's ``find_existing`` still guards a create
whose outcome was lost, so a stale snapshot cannot cause a duplicate. Requirement groups are kept whole
(values and status): their values only change through this pipeline, and a status that moved on since is
what the approval wait reads anyway.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from telnyx_compliance._client import AsyncTelnyx
from telnyx_compliance.onboarding.requirements import RequirementSpec
from telnyx_compliance.onboarding.snapshots import GroupSnapshot

if TYPE_CHECKING:
    from telnyx_compliance.onboarding.steps import NumberRequirements

_PAGE_SIZE = 250

MarketKey = tuple[str, str, str]  # country code, phone number type, action


@dataclass(frozen=True)
class KnownDocument:
    id: str
    sha256: str | None


@dataclass(frozen=True)
class KnownOrder:
    id: str
    sub_number_order_ids: tuple[str, ...] = ()
    requirements_met: bool | None = None


@dataclass
class KnownResources:
    """Our resources by ``customer_reference`` (ids only), plus requirements per market."""

    prefix: str
    addresses: dict[str, str] = field(default_factory=dict)
    documents: dict[str, KnownDocument] = field(default_factory=dict)
    #: Requirement groups as last seen (the run keeps them up to date with what it creates and submits).
    groups: dict[str, GroupSnapshot] = field(default_factory=dict)
    orders: dict[str, KnownOrder] = field(default_factory=dict)
    requirements: dict[MarketKey, list[RequirementSpec]] = field(default_factory=dict)
    #: What Telnyx says about each phone number (``steps.prefetch_numbers``, batched for a bulk run).
    numbers: dict[str, NumberRequirements] = field(default_factory=dict)

    @classmethod
    async def fetch(cls, client: AsyncTelnyx, prefix: str = "tc") -> KnownResources:
        """Every address, document, requirement group and number order whose reference starts ``<prefix>-``.

        Addresses are filtered by the server (``customer_reference[contains]``); the other lists have no
        prefix filter, so they are read page by page and filtered here. The four lists are read at once.
        """
        start = f"{prefix}-"
        known = cls(prefix=prefix)

        async def addresses() -> None:
            async for address in client.user_addresses.list(
                filter={"customer_reference": {"contains": start}}, page_size=_PAGE_SIZE
            ):
                reference = address.customer_reference or ""
                if reference.startswith(start) and address.id:
                    known.addresses.setdefault(reference, address.id)

        async def documents() -> None:
            async for document in client.documents.list(page_size=_PAGE_SIZE):
                reference = document.customer_reference or ""
                if reference.startswith(start) and document.id:
                    known.documents.setdefault(reference, KnownDocument(document.id, document.sha256))

        async def groups() -> None:
            listed = sorted(await client.requirement_groups.list(), key=lambda group: group.created_at or "")
            for group in listed:
                reference = group.customer_reference or ""
                if reference.startswith(start) and group.id:
                    known.groups.setdefault(reference, GroupSnapshot.from_api(group))

        async def orders() -> None:
            async for order in client.number_orders.list(page_size=_PAGE_SIZE):
                reference = order.customer_reference or ""
                if reference.startswith(start) and order.id:
                    known.orders.setdefault(
                        reference,
                        KnownOrder(
                            order.id, tuple(order.sub_number_orders_ids or ()), order.requirements_met
                        ),
                    )

        await asyncio.gather(addresses(), documents(), groups(), orders())
        return known
