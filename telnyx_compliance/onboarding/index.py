"""What already exists on Telnyx under a ``customer_reference``: one question, two ways to answer it.

Every write of :mod:`.ensure` first asks a :class:`ResourceIndex` what is there, then creates or updates only
what is missing or changed. Two implementations answer:

* :class:`LiveIndex` looks each resource up as it is asked (one ``GET`` list call filtered by the
  reference, through the resource's ``find_by_reference``, the one definition of that lookup). A single
  onboarding, the Prefect flow and a bulk run whose snapshot could not be read use it.
* :class:`~.known.KnownResources` is the snapshot a bulk run reads once (a few paged listings) and keeps
  current with what the run itself creates: it answers from memory, so a row makes no lookups.

Reads never write to Telnyx, so a planner can ask the same index what a run would do. What a run created
or saw is told to the index with the ``remember_*`` and ``forget_documents`` methods: the snapshot keeps
it (the next row of the same onboarding then reuses it), a live lookup has nothing to keep.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from telnyx_compliance._client import AsyncTelnyx
from telnyx_compliance.models.documents import DocServiceDocument
from telnyx_compliance.onboarding.snapshots import GroupSnapshot

__all__ = ["KnownDocument", "KnownOrder", "LiveIndex", "ResourceIndex", "documents_linked_to"]


@dataclass(frozen=True, slots=True)
class KnownDocument:
    """A document stored under a reference: its id, the sha256 Telnyx reports for it, and what its
    antivirus scan and review said (``infected`` or ``denied`` decline any group that holds it)."""

    id: str
    sha256: str | None
    av_scan_status: str | None = None
    status: str | None = None

    @classmethod
    def of(cls, document: DocServiceDocument) -> KnownDocument:
        """From an API answer (which has an id)."""
        return cls(
            str(document.id),
            document.sha256,
            _interned(document.av_scan_status),
            _interned(document.status),
        )

    @property
    def sure_decline(self) -> str | None:
        """Why a group holding this document will surely be declined, or None: the antivirus scan found
        it infected (``pending_scan`` proceeds). A document ``denied`` by review is not checked here: the
        group that holds it was reviewed (and declined) already, and a rerun reports that decline."""
        if self.av_scan_status == "infected":
            return "failed the antivirus scan (infected)"
        return None


def _interned(text: str | None) -> str | None:
    return sys.intern(str(text)) if text is not None else None


@dataclass(frozen=True, slots=True)
class KnownOrder:
    """A number order placed under a reference: its sub-number orders, whether Telnyx says its requirements
    are met, and the requirement group it was placed carrying when known (this run placed it)."""

    id: str
    sub_number_order_ids: tuple[str, ...] = ()
    requirements_met: bool | None = None
    requirement_group_id: str | None = None

    def carries(self, group_id: str) -> bool:
        """Whether attaching ``group_id`` to its sub-number orders would change nothing: it was placed
        carrying that group, or Telnyx already says its requirements are met (an order of ours whose
        requirements are met carries its approved group; attaching it again is a wasted write)."""
        return self.requirement_group_id == group_id or self.requirements_met is True


class ResourceIndex(Protocol):
    """What we already have under a ``customer_reference``: addresses, documents, requirement groups and
    number orders. The ``find_*`` methods only read; the ``remember_*`` ones record what the run made."""

    async def find_address(self, reference: str) -> str | None:
        """The id of the user address stored under ``reference``, or None."""
        ...

    async def find_documents(self, references: Sequence[str]) -> dict[str, KnownDocument]:
        """The document stored under each of ``references`` that has one (the first, when several)."""
        ...

    async def find_group(self, reference: str, values: Mapping[str, str]) -> GroupSnapshot | None:
        """The requirement group with ``reference`` as it now is, or None. ``values`` are those the caller
        means it to hold: a snapshot that knows the group holds exactly these answers without a call."""
        ...

    async def find_order(self, reference: str) -> KnownOrder | None:
        """The number order placed under ``reference``, or None."""
        ...

    async def linked_documents(self, group: GroupSnapshot, document_ids: Sequence[str]) -> set[str]:
        """The documents linked to ``group`` (of interest: ``document_ids``; none to read without them)."""
        ...

    def remember_address(self, reference: str, address_id: str) -> None: ...

    def remember_document(self, reference: str, document: KnownDocument) -> None: ...

    def forget_documents(self, document_ids: Iterable[str]) -> None:
        """These documents were deleted: the next onboarding uploads them again."""
        ...

    def remember_group(self, group: GroupSnapshot, *, reference: str | None = None) -> GroupSnapshot:
        """Keep ``group`` as last seen (by ``reference``, default its own); returns it."""
        ...

    def remember_order(self, reference: str, order: KnownOrder) -> None: ...


class LiveIndex:
    """A :class:`ResourceIndex` that asks Telnyx each time: one list call per question, nothing kept."""

    def __init__(self, client: AsyncTelnyx) -> None:
        self.client = client

    async def find_address(self, reference: str) -> str | None:
        found = await self.client.user_addresses.find_by_reference(reference)
        return found.id if found is not None and found.id else None

    async def find_documents(self, references: Sequence[str]) -> dict[str, KnownDocument]:
        found: dict[str, KnownDocument] = {}
        for document in await self.client.documents.find_by_reference(*references):
            if document.customer_reference and document.id:
                found.setdefault(document.customer_reference, KnownDocument.of(document))
        return found

    async def find_group(self, reference: str, values: Mapping[str, str]) -> GroupSnapshot | None:
        found = await self.client.requirement_groups.find_by_reference(reference)
        return GroupSnapshot.from_api(found) if found is not None else None

    async def find_order(self, reference: str) -> KnownOrder | None:
        found = await self.client.number_orders.find_by_reference(reference)
        if found is None or not found.id:
            return None
        return KnownOrder(found.id, tuple(found.sub_number_orders_ids or ()), found.requirements_met)

    async def linked_documents(self, group: GroupSnapshot, document_ids: Sequence[str]) -> set[str]:
        """Read from ``document_links`` (nothing to read without documents)."""
        return await documents_linked_to(self.client, [group.id]) if document_ids else set()

    def remember_address(self, reference: str, address_id: str) -> None:
        pass

    def remember_document(self, reference: str, document: KnownDocument) -> None:
        pass

    def forget_documents(self, document_ids: Iterable[str]) -> None:
        pass

    def remember_group(self, group: GroupSnapshot, *, reference: str | None = None) -> GroupSnapshot:
        return group

    def remember_order(self, reference: str, order: KnownOrder) -> None:
        pass


async def documents_linked_to(client: AsyncTelnyx, resource_ids: Iterable[str]) -> set[str]:
    """The documents ``document_links`` lists as linked to any of these resources."""
    linked: set[str] = set()
    for resource_id in resource_ids:
        async for link in client.document_links.list(filter={"linked_resource_id": resource_id}):
            if link.document_id:
                linked.add(link.document_id)
    return linked
