"""What already exists on Telnyx under our reference prefix, fetched once with a few paginated list calls.

Without it each step looks its resource up by reference (one list call per resource). A bulk run of
thousands of onboardings fetches a :class:`KnownResources` once instead, and hands it to every
``onboard(..., known=...)``: the steps then consult it rather than the API, and record what they create, so
the next onboarding of the same key (run after it) reuses those too. Requirements are cached per market.

A resource missing from it is created straight away; the client's ``find_existing`` still guards a create
whose outcome was lost, so a stale snapshot cannot cause a duplicate. Requirement groups are kept whole
(values and status): their values only change through this pipeline, and a status that moved on since is
what the approval wait reads anyway.

Memory follows the account, not the history of what was read: each resource is kept as a few strings
(``slots`` records), and a requirement group as its id, status and a digest of its values, not its values.
A step that finds the digest differs from the values it wants reads the group once to see which changed.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from telnyx_compliance._client import AsyncTelnyx
from telnyx_compliance.onboarding.requirements import RequirementSpec
from telnyx_compliance.onboarding.snapshots import GroupSnapshot, RequirementReview

if TYPE_CHECKING:
    from telnyx_compliance.onboarding.lookups import NumberRequirements

_PAGE_SIZE = 250

MarketKey = tuple[str, str, str]  # country code, phone number type, action


def values_digest(values: Mapping[str, str]) -> bytes:
    """A 16-byte digest of a group's ``requirement_id -> value`` pairs (order does not matter)."""
    packed = json.dumps(sorted(values.items()), ensure_ascii=False, separators=(",", ":"))
    return hashlib.blake2b(packed.encode("utf-8", "surrogatepass"), digest_size=16).digest()


def _status(status: str | None) -> str | None:
    return sys.intern(status) if status is not None else None


@dataclass(frozen=True, slots=True)
class KnownGroup:
    """A requirement group as last seen, in about 200 bytes: its values only as a digest."""

    id: str
    status: str | None
    values_digest: bytes
    presumed: bool = False

    @classmethod
    def of(cls, group: GroupSnapshot) -> KnownGroup:
        return cls(group.id, _status(group.status), values_digest(group.values), group.presumed)

    def snapshot(self, customer_reference: str, values: Mapping[str, str]) -> GroupSnapshot:
        """The group as a snapshot, given the values it holds (their digest must match): each requirement
        carries the group's status; the reviewer's per-requirement reasons are only in the group itself."""
        if values_digest(values) != self.values_digest:
            raise ValueError("the values given are not the group's")
        reviews = tuple(
            RequirementReview(requirement_id=rid, field_value=value, status=self.status)
            for rid, value in values.items()
        )
        return GroupSnapshot(
            id=self.id,
            customer_reference=customer_reference,
            status=self.status,
            requirements=reviews,
            presumed=self.presumed,
        )


@dataclass(frozen=True, slots=True)
class KnownDocument:
    id: str
    sha256: str | None


@dataclass(frozen=True, slots=True)
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
    groups: dict[str, KnownGroup] = field(default_factory=dict)
    orders: dict[str, KnownOrder] = field(default_factory=dict)
    requirements: dict[MarketKey, list[RequirementSpec]] = field(default_factory=dict)
    #: What Telnyx says about each phone number (``lookups.prefetch_numbers``, batched for a bulk run).
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
                if reference.startswith(start) and group.id and reference not in known.groups:
                    known.remember_group(GroupSnapshot.from_api(group))

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

    def remember_group(self, group: GroupSnapshot) -> GroupSnapshot:
        """Keep ``group`` (by its ``customer_reference``) as last seen; returns it."""
        if group.customer_reference:
            self.groups[group.customer_reference] = KnownGroup.of(group)
        return group
