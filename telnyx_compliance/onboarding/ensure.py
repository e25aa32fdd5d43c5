"""The onboarding's writes, each idempotent: ask the :class:`~.index.ResourceIndex` what exists under the
``customer_reference`` (a live lookup, or a bulk run's snapshot: one code path either way), then create or
update only what is missing or changed, and tell the index what was made.

Rerunning any of them after a crash or a retry finds what an earlier attempt created and carries on from
there; nothing is created twice. The order they run in is written once, in :mod:`.runner`; the rollback of a
failure before submission is :func:`discard_uploads`, used by the runner and the Prefect flow alike.

Pending hand-over: when :func:`poll_approval` gives up, the group stays ``pending-approval`` and the number
order (if any) is placed but not attached. The reconcile flow finds our pending groups by reference
(``references.is_group_reference`` on ``requirement_groups.list(filter={"status": "pending-approval"})``),
the orders waiting for each by reference prefix (``references.order_reference_prefix_for_group``), and any
orders given by id in the request from the result's :class:`~telnyx_compliance.onboarding.results.HandOver`.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import cast

from tenacity import AsyncRetrying, RetryCallState, retry_if_result

from telnyx_compliance._client import AsyncTelnyx
from telnyx_compliance._exceptions import APIError, NotFoundError, UnprocessableEntityError
from telnyx_compliance.models.documents import DocumentUploadResponse
from telnyx_compliance.models.requirement_groups import GroupStatus
from telnyx_compliance.onboarding.errors import DocumentIntegrityError, OnboardingError, SureDeclineError
from telnyx_compliance.onboarding.index import (
    KnownDocument,
    KnownOrder,
    LiveIndex,
    ResourceIndex,
    documents_linked_to,
)
from telnyx_compliance.onboarding.plan import OnboardingPlan, PlanItem, read_planned_document
from telnyx_compliance.onboarding.request import Action, PhoneNumberType
from telnyx_compliance.onboarding.results import AttachedOrder, StepOutcome, UploadedDocument
from telnyx_compliance.onboarding.snapshots import (
    EnsuredAddress,
    EnsuredGroup,
    EnsuredOrder,
    GroupSnapshot,
)

__all__ = [
    "attach_orders",
    "attach_requirement_group",
    "discard_unlinked_documents",
    "discard_uploads",
    "ensure_address",
    "ensure_documents",
    "ensure_number_order",
    "ensure_requirement_group",
    "group_values",
    "poll_approval",
    "submit_requirement_group",
]


async def ensure_address(
    client: AsyncTelnyx, plan: OnboardingPlan, *, index: ResourceIndex | None = None
) -> EnsuredAddress:
    """Reuse the user address with the plan's reference (found in ``index``, default a live lookup), or
    create it."""
    if plan.address is None:
        raise OnboardingError("the plan has no address requirement")
    index = index or LiveIndex(client)
    reference = plan.address.reference
    found = await index.find_address(reference)
    if found is not None:
        return EnsuredAddress(id=found, customer_reference=reference, outcome="reused")
    fields = plan.address.address.model_dump(exclude_none=True)
    created = await client.user_addresses.create(customer_reference=reference, **fields)
    if created.data is None or not created.data.id:
        raise OnboardingError("Telnyx created a user address without returning its id")
    index.remember_address(reference, created.data.id)
    return EnsuredAddress(id=created.data.id, customer_reference=reference, outcome="created")


async def ensure_documents(
    client: AsyncTelnyx,
    plan: OnboardingPlan,
    *,
    on_upload: Callable[[UploadedDocument], None] | None = None,
    index: ResourceIndex | None = None,
) -> list[UploadedDocument]:
    """Reuse each document uploaded under its reference (same sha256), or upload it and verify the sha256.

    ``on_upload`` hears about every document this call uploaded as soon as it exists, so a caller can
    delete it again if a later step fails (see :func:`discard_unlinked_documents`).
    """
    for item in plan.items:
        if item.document_id is not None:
            await _check_exists(client, item.document_id, item.key)
    items = plan.documents
    if not items:
        return []
    index = index or LiveIndex(client)
    existing = await index.find_documents(
        [item.document.reference for item in items if item.document is not None]
    )

    uploaded: list[UploadedDocument] = []
    for item in items:
        planned = item.document
        assert planned is not None
        found = existing.get(planned.reference)
        if found is not None and found.sha256 == planned.sha256:
            _check_not_declined(item, found)
            uploaded.append(_uploaded(item, found.id, created=False))
            continue
        if found is not None:
            raise DocumentIntegrityError(
                f"document {found.id} ({planned.reference}) has sha256 {found.sha256}, "
                f"but {planned.filename} has {planned.sha256}"
            )
        content = await asyncio.to_thread(read_planned_document, planned)
        response = await client.documents.upload(
            file=content,
            customer_reference=planned.reference,
            filename=planned.filename,
            find_existing=_document_finder(client, planned.reference, planned.sha256),
        )
        document = response.data
        if document is None or not document.id:
            raise OnboardingError(f"Telnyx accepted {planned.filename} without returning a document id")
        record = _uploaded(item, document.id, created=True)
        if on_upload is not None:
            on_upload(record)
        index.remember_document(planned.reference, KnownDocument(document.id, document.sha256))
        if document.sha256 != planned.sha256:
            await _delete_quietly(client, document.id)
            raise DocumentIntegrityError(
                f"Telnyx stored {planned.filename} with sha256 {document.sha256}; "
                f"the file has {planned.sha256}"
            )
        _check_not_declined(item, KnownDocument.of(document))
        uploaded.append(record)
    return uploaded


def _check_not_declined(item: PlanItem, document: KnownDocument) -> None:
    """Fail before review on a document whose answer says the review will decline it (infected, denied);
    a scan still pending (``pending_scan``) proceeds."""
    why = document.sure_decline
    if why is not None:
        filename = item.document.filename if item.document is not None else "the document"
        raise SureDeclineError(
            f"{item.requirement.name}: document {document.id} ({filename}) {why}; "
            "the requirement group was not submitted: replace the file and run the row again"
        )


async def _check_exists(client: AsyncTelnyx, document_id: str, key: str) -> None:
    """A document given by id must exist in Telnyx (and not be denied) before a group points at it."""
    try:
        found = await client.documents.retrieve(document_id)
    except NotFoundError:
        raise OnboardingError(f"document {document_id} (given for {key}) does not exist in Telnyx") from None
    if found.data is not None and found.data.status == "denied":
        raise SureDeclineError(f"document {document_id} (given for {key}) was denied by Telnyx's review")
    if found.data is not None and found.data.av_scan_status == "infected":
        raise SureDeclineError(
            f"document {document_id} (given for {key}) failed the antivirus scan (infected)"
        )


def _uploaded(item: PlanItem, document_id: str, *, created: bool) -> UploadedDocument:
    assert item.document is not None
    return UploadedDocument(
        requirement_id=item.requirement.id,
        document_id=document_id,
        filename=item.document.filename,
        sha256=item.document.sha256,
        customer_reference=item.document.reference,
        created=created,
    )


def _document_finder(
    client: AsyncTelnyx, reference: str, sha256: str
) -> Callable[[], Awaitable[DocumentUploadResponse | None]]:
    """After an upload with an unknown outcome: the document stored under ``reference`` with this content."""

    async def find_existing() -> DocumentUploadResponse | None:
        for document in await client.documents.find_by_reference(reference):
            if document.sha256 == sha256:
                return DocumentUploadResponse(data=document)
        return None

    return find_existing


async def _delete_quietly(client: AsyncTelnyx, document_id: str) -> bool:
    try:
        await client.documents.delete(document_id)
    except NotFoundError:
        return False
    return True


async def discard_unlinked_documents(
    client: AsyncTelnyx, document_ids: Iterable[str], *, linked_to: Iterable[str] = ()
) -> list[str]:
    """Delete the given documents unless linked (to ``linked_to`` resources, or refused by Telnyx as linked).

    Returns the ids actually deleted. The rollback of an onboarding is :func:`discard_uploads`.
    """
    linked = await documents_linked_to(client, linked_to)
    deleted = []
    for document_id in dict.fromkeys(document_ids):
        if document_id in linked:
            continue
        try:
            if await _delete_quietly(client, document_id):
                deleted.append(document_id)
        except APIError as error:
            status = getattr(error, "status_code", None)
            if status not in (400, 409, 422):  # the API refuses to delete a linked document
                raise
    return deleted


async def discard_uploads(
    client: AsyncTelnyx,
    document_ids: Sequence[str],
    group_id: str | None = None,
    *,
    index: ResourceIndex | None = None,
) -> list[str]:
    """The rollback of an onboarding that failed before its group was submitted: delete the documents it
    uploaded that nothing links (to ``group_id``, or refused by Telnyx as linked); returns those deleted.

    Best effort: an API error ends it quietly (Telnyx deletes unlinked documents after 30 minutes anyway).
    Deleted documents leave ``index`` too, so the next onboarding of the key uploads them again instead of
    reusing ids that no longer exist. The runner (:func:`~.runner.submit_onboarding`) and the Prefect flow's
    rollback hook (``tasks/documents.py``) both roll back through this function.
    """
    deleted: list[str] = []
    with contextlib.suppress(APIError):
        deleted = await discard_unlinked_documents(
            client, document_ids, linked_to=[group_id] if group_id else []
        )
    (index or LiveIndex(client)).forget_documents(deleted)
    return deleted


def group_values(
    plan: OnboardingPlan, *, address_id: str | None, documents: Sequence[UploadedDocument]
) -> dict[str, str]:
    """requirement id -> field_value: the address id, the document id, or the text."""
    document_ids = {document.requirement_id: document.document_id for document in documents}
    values: dict[str, str] = {}
    for item in plan.items:
        if item.kind == "address":
            if address_id is None:
                raise OnboardingError(f"{item.requirement.name} needs the address, which was not created")
            values[item.requirement.id] = address_id
        elif item.kind == "document" and item.document_id is not None:
            values[item.requirement.id] = item.document_id
        elif item.kind == "document":
            if item.requirement.id not in document_ids:
                raise OnboardingError(f"{item.requirement.name} needs a document, which was not uploaded")
            values[item.requirement.id] = document_ids[item.requirement.id]
        else:
            assert item.text is not None
            values[item.requirement.id] = item.text
    return values


async def ensure_requirement_group(
    client: AsyncTelnyx,
    plan: OnboardingPlan,
    values: Mapping[str, str],
    *,
    index: ResourceIndex | None = None,
) -> EnsuredGroup:
    """Create the group with every value, or PATCH only the values that changed since the last run.

    The group is as ``index`` finds it (a bulk run's snapshot knows it without a call while it holds these
    values; a status that moved on since is read by the approval wait)."""
    index = index or LiveIndex(client)
    key = plan.key
    existing = await index.find_group(plan.group_reference, values)
    payload = [{"requirement_id": rid, "field_value": value} for rid, value in values.items()]
    if existing is None:
        created = await client.requirement_groups.create(
            country_code=key.country_code,
            phone_number_type=cast(PhoneNumberType, key.phone_number_type),
            action=cast(Action, key.action),
            customer_reference=plan.group_reference,
            regulatory_requirements=payload,
        )
        group = index.remember_group(GroupSnapshot.from_api(created), reference=plan.group_reference)
        return EnsuredGroup(group=group, outcome="created")
    current = existing.values
    changed = [entry for entry in payload if current.get(entry["requirement_id"]) != entry["field_value"]]
    if not changed:
        return EnsuredGroup(group=existing, outcome="unchanged")
    if existing.status == GroupStatus.PENDING:
        names = ", ".join(
            item.requirement.name
            for item in plan.items
            if item.requirement.id in {entry["requirement_id"] for entry in changed}
        )
        raise OnboardingError(
            f"requirement group {existing.id} is under review, so {names} cannot be changed now; "
            "rerun once it is approved or declined"
        )
    updated = await client.requirement_groups.update(existing.id, regulatory_requirements=changed)
    group = index.remember_group(GroupSnapshot.from_api(updated), reference=plan.group_reference)
    return EnsuredGroup(group=group, outcome="updated")


async def submit_requirement_group(
    client: AsyncTelnyx, group: GroupSnapshot, *, index: ResourceIndex | None = None
) -> tuple[GroupSnapshot, StepOutcome]:
    """Submit for approval unless already pending or decided."""
    if group.status == GroupStatus.PENDING or group.is_final:
        return group, "skipped"
    index = index or LiveIndex(client)
    try:
        submitted = GroupSnapshot.from_api(await client.requirement_groups.submit_for_approval(group.id))
    except UnprocessableEntityError:
        # A retried submit whose first attempt went through (response lost) is refused as "already
        # submitted": the group's current status says whether that is what happened.
        current = GroupSnapshot.from_api(await client.requirement_groups.retrieve(group.id))
        if current.status == GroupStatus.PENDING or current.is_final:
            return index.remember_group(current), "updated"
        raise
    return index.remember_group(submitted), "updated"


async def poll_approval(
    client: AsyncTelnyx,
    group_id: str,
    *,
    timeout: float,  # noqa: ASYNC109 - when to hand over (returns pending), not a cancellation timeout
    interval: float = 2.0,
    max_interval: float = 60.0,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    clock: Callable[[], float] = time.monotonic,
    read_first: bool = True,
) -> GroupSnapshot:
    """Poll one group until it is decided, waiting ``interval`` doubling up to ``max_interval``.

    Returns the group still ``pending-approval`` when ``timeout`` seconds pass (hand it to reconcile).
    ``read_first=False`` waits ``interval`` before the first read (the caller has just seen it pending).
    A bulk run waits for all its groups together instead (:class:`~.approvals.ApprovalWatcher`).
    An API error ends the wait at once (the client has retried it already).
    """
    deadline = clock() + timeout
    waited = 0  # waits before the first read: they count in the doubling
    if not read_first:
        await sleep(min(interval, max(0.0, timeout)))
        waited = 1

    def wait(state: RetryCallState) -> float:
        delay = min(interval * 2.0 ** (state.attempt_number - 1 + waited), max_interval)
        return max(0.0, min(delay, deadline - clock()))

    def out_of_time(state: RetryCallState) -> bool:
        return deadline - clock() <= 0

    def last_read(state: RetryCallState) -> GroupSnapshot:
        assert state.outcome is not None
        group: GroupSnapshot = state.outcome.result()
        return group

    async def read() -> GroupSnapshot:
        return GroupSnapshot.from_api(await client.requirement_groups.retrieve(group_id))

    retrying = AsyncRetrying(
        retry=retry_if_result(lambda group: group.status == GroupStatus.PENDING),
        wait=wait,
        stop=out_of_time,
        sleep=sleep,
        retry_error_callback=last_read,
    )
    group: GroupSnapshot = await retrying(read)
    return group


async def ensure_number_order(
    client: AsyncTelnyx,
    plan: OnboardingPlan,
    *,
    group_id: str | None = None,
    index: ResourceIndex | None = None,
) -> EnsuredOrder | None:
    """Reuse the number order placed under the plan's order reference, or place it; None without numbers.

    A new order carries ``group_id`` on each number (``phone_numbers[].requirement_group_id``), so Telnyx
    attaches the group to the sub-number orders it creates: no attach call follows. An order found from an
    earlier run carries it when the index knows so (:meth:`~.index.KnownOrder.carries`: placed carrying it,
    or its requirements met already); otherwise ``requirement_group_id`` is None and the caller attaches it.
    """
    if not plan.phone_numbers:
        return None
    index = index or LiveIndex(client)
    reference = plan.order_reference
    placed = await index.find_order(reference)
    if placed is not None:
        return EnsuredOrder(
            id=placed.id,
            customer_reference=reference,
            sub_number_order_ids=placed.sub_number_order_ids,
            outcome="reused",
            requirement_group_id=group_id if group_id and placed.carries(group_id) else None,
            requirements_met=placed.requirements_met,
        )
    numbers: list[dict[str, str]] = [
        {"phone_number": number, **({"requirement_group_id": group_id} if group_id else {})}
        for number in plan.phone_numbers
    ]
    created = await client.number_orders.create(phone_numbers=numbers, customer_reference=reference)
    if created.data is None or not created.data.id:
        raise OnboardingError("Telnyx placed a number order without returning its id")
    sub_number_order_ids = tuple(created.data.sub_number_orders_ids or ())
    index.remember_order(
        reference,
        KnownOrder(created.data.id, sub_number_order_ids, created.data.requirements_met, group_id),
    )
    return EnsuredOrder(
        id=created.data.id,
        customer_reference=reference,
        sub_number_order_ids=sub_number_order_ids,
        outcome="created",
        requirement_group_id=group_id,
        requirements_met=created.data.requirements_met,
    )


async def attach_requirement_group(
    client: AsyncTelnyx,
    group_id: str,
    *,
    sub_number_order_ids: Sequence[str] = (),
    number_order_phone_number_ids: Sequence[str] = (),
    linked_document_ids: Sequence[str] = (),
) -> list[AttachedOrder]:
    """Attach the group to each order; report ``requirements_met`` and ``linked_document_ids`` (the
    caller's documents linked to the group). Attaching is an assignment, so doing it again changes nothing."""
    targets = (
        ("sub_number_order", client.sub_number_orders, sub_number_order_ids),
        ("number_order_phone_number", client.number_order_phone_numbers, number_order_phone_number_ids),
    )
    attached: list[AttachedOrder] = []
    for kind, resource, order_ids in targets:
        for order_id in dict.fromkeys(order_ids):
            response = await resource.update_requirement_group(order_id, requirement_group_id=group_id)
            met = response.data.requirements_met if response.data is not None else None
            attached.append(
                AttachedOrder(
                    kind=kind,
                    id=order_id,
                    requirements_met=met,
                    linked_document_ids=tuple(linked_document_ids),
                )
            )
    return attached


async def attach_orders(
    client: AsyncTelnyx,
    plan: OnboardingPlan,
    group: GroupSnapshot,
    order: EnsuredOrder | None,
    documents: Sequence[UploadedDocument],
    *,
    index: ResourceIndex | None = None,
) -> list[AttachedOrder]:
    """The group on every order of the plan: those the order step placed carrying it are reported from its
    answer; those given by id, or found from an earlier run, are attached now. Which of the documents are
    linked to the group ``index`` says (a snapshot from the group's values, a live lookup from
    ``document_links``), read once and only when there is an order to report."""
    index = index or LiveIndex(client)
    document_ids = [document.document_id for document in documents]
    carried = order is not None and order.requirement_group_id == group.id
    to_attach = (
        *(() if carried or order is None else order.sub_number_order_ids),
        *plan.sub_number_order_ids,
    )
    if not (carried or to_attach or plan.number_order_phone_number_ids):
        return []
    linked = await index.linked_documents(group, document_ids)
    linked_here = tuple(d for d in document_ids if d in linked)
    attached: list[AttachedOrder] = []
    if carried and order is not None:
        attached = [
            AttachedOrder(
                kind="sub_number_order",
                id=sub_id,
                requirements_met=order.requirements_met,
                linked_document_ids=linked_here,
            )
            for sub_id in order.sub_number_order_ids
        ]
    if to_attach or plan.number_order_phone_number_ids:
        attached += await attach_requirement_group(
            client,
            group.id,
            sub_number_order_ids=to_attach,
            number_order_phone_number_ids=plan.number_order_phone_number_ids,
            linked_document_ids=linked_here,
        )
    return attached
