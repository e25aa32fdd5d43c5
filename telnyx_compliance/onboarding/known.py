"""The snapshot of what already exists on Telnyx under our reference prefix: a
:class:`~.index.ResourceIndex` read once with a few paginated list calls, and kept current by the run.

Without it each step looks its resource up by reference (:class:`~.index.LiveIndex`, one list call per
resource). A bulk run of thousands of onboardings fetches a :class:`KnownResources` once instead, and hands it
to every ``submit_onboarding(..., index=...)``: the steps then consult it rather than the API, and record
what they create, so the next onboarding of the same key (run after it) reuses those too.

A resource missing from it is created straight away; the client's ``find_existing`` still guards a create
whose outcome was lost, so a stale snapshot cannot cause a duplicate. Requirement groups are kept whole
(values and status): their values only change through this pipeline, and a status that moved on since is
what the approval wait reads anyway. A group's values are its links to documents, so the snapshot answers
:meth:`KnownResources.linked_documents` from them.

Memory follows the account, not the history of what was read: each resource is kept as a few strings
(``slots`` records), and a requirement group as its id, status and a digest of its values, not its values.
A step that finds the digest differs from the values it wants reads the group once to see which changed.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from telnyx_compliance._client import AsyncTelnyx
from telnyx_compliance.onboarding.index import KnownDocument, KnownOrder
from telnyx_compliance.onboarding.snapshots import GroupSnapshot, RequirementReview

__all__ = ["KnownGroup", "KnownResources", "values_digest"]

#: Page size of the listings the snapshot reads.
_PAGE_SIZE = 250


def values_digest(values: Mapping[str, str]) -> bytes:
    """A 16-byte digest of a group's ``requirement_id -> value`` pairs (order does not matter)."""
    packed = json.dumps(sorted(values.items()), ensure_ascii=False, separators=(",", ":"))
    return hashlib.blake2b(packed.encode("utf-8", "surrogatepass"), digest_size=16).digest()


def _status(status: str | None) -> str | None:
    return sys.intern(str(status)) if status is not None else None


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


@dataclass
class KnownResources:
    """Our resources by ``customer_reference`` (ids only), as last seen: a :class:`~.index.ResourceIndex`.

    ``client`` reads a group whose values differ from those a step wants (the snapshot keeps a digest)."""

    client: AsyncTelnyx
    prefix: str
    addresses: dict[str, str] = field(default_factory=dict)
    documents: dict[str, KnownDocument] = field(default_factory=dict)
    #: Requirement groups as last seen (the run keeps them up to date with what it creates and submits).
    groups: dict[str, KnownGroup] = field(default_factory=dict)
    orders: dict[str, KnownOrder] = field(default_factory=dict)

    @classmethod
    async def fetch(cls, client: AsyncTelnyx, prefix: str = "tc") -> KnownResources:
        """Every address, document, requirement group and number order whose reference starts ``<prefix>-``.

        Addresses are filtered by the server (``customer_reference[contains]``); the other lists have no
        prefix filter, so they are read page by page and filtered here. The four lists are read at once.
        """
        start = f"{prefix}-"
        known = cls(client, prefix)

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
                    known.documents.setdefault(reference, KnownDocument.of(document))

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

    # -- the index: reads ---------------------------------------------------------------------------

    async def find_address(self, reference: str) -> str | None:
        return self.addresses.get(reference)

    async def find_documents(self, references: Sequence[str]) -> dict[str, KnownDocument]:
        return {
            reference: self.documents[reference] for reference in references if reference in self.documents
        }

    async def find_group(self, reference: str, values: Mapping[str, str]) -> GroupSnapshot | None:
        """The group as last seen when it holds ``values`` (no call), else as it now is (one read)."""
        entry = self.groups.get(reference)
        if entry is None:
            return None
        if entry.values_digest == values_digest(values):
            return entry.snapshot(reference, values)
        return GroupSnapshot.from_api(await self.client.requirement_groups.retrieve(entry.id))

    async def find_order(self, reference: str) -> KnownOrder | None:
        return self.orders.get(reference)

    async def linked_documents(self, group: GroupSnapshot, document_ids: Sequence[str]) -> set[str]:
        """A group's values are its links: those it holds (no call)."""
        return set(group.values.values())

    # -- the index: what the run made ---------------------------------------------------------------

    def remember_address(self, reference: str, address_id: str) -> None:
        self.addresses[reference] = address_id

    def remember_document(self, reference: str, document: KnownDocument) -> None:
        self.documents[reference] = document

    def forget_documents(self, document_ids: Iterable[str]) -> None:
        gone = set(document_ids)
        for reference in [ref for ref, document in self.documents.items() if document.id in gone]:
            del self.documents[reference]

    def remember_group(self, group: GroupSnapshot, *, reference: str | None = None) -> GroupSnapshot:
        """Keep ``group`` (by ``reference``, default its own ``customer_reference``) as last seen."""
        key = reference or group.customer_reference
        if key:
            self.groups[key] = KnownGroup.of(group)
        return group

    def remember_order(self, reference: str, order: KnownOrder) -> None:
        self.orders[reference] = order
