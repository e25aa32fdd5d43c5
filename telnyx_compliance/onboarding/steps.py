"""The onboarding steps over ``AsyncTelnyx``, each idempotent: look up by ``customer_reference``, then create.

Rerunning any step, or the whole of :func:`onboard`, after a crash or a retry finds what an earlier attempt
created and carries on from there; nothing is created twice. Steps in order::

    lookup_requirements -> build_plan -> ensure_address -> ensure_documents -> ensure_requirement_group
    -> submit_requirement_group -> poll_approval -> ensure_number_order -> attach_requirement_group

:func:`onboard` chains them for one request without Prefect (the bulk runner calls it per row); ``tasks/``
wraps each step in a Prefect task and ``flows/onboard_customer.py`` chains those.

Pending hand-over: when :func:`poll_approval` gives up, the group stays ``pending-approval`` and the number
order (if any) is placed but not attached. The reconcile flow finds our pending groups by reference
(``references.is_group_reference`` on ``requirement_groups.list(filter={"status": "pending-approval"})``),
the orders waiting for each by reference prefix (``references.order_reference_prefix_for_group``), and any
orders given by id in the request from the result's :class:`~telnyx_compliance.onboarding.results.HandOver`.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from pydantic import BaseModel, ConfigDict, ValidationError

from telnyx_compliance._client import AsyncTelnyx
from telnyx_compliance._exceptions import (
    APIConnectionError,
    APIError,
    APIStatusError,
    NotFoundError,
    UnprocessableEntityError,
)
from telnyx_compliance.models.requirement_groups import RequirementGroup
from telnyx_compliance.onboarding.errors import DocumentIntegrityError, OnboardingError, UnknownMarketError
from telnyx_compliance.onboarding.known import (
    KnownDocument,
    KnownGroup,
    KnownOrder,
    KnownResources,
    values_digest,
)
from telnyx_compliance.onboarding.mapping import RequirementMapping
from telnyx_compliance.onboarding.plan import (
    OnboardingPlan,
    PlanError,
    PlanItem,
    PlanProblem,
    build_plan,
    read_planned_document,
)
from telnyx_compliance.onboarding.request import Action, OnboardingKey, OnboardingRequest, PhoneNumberType
from telnyx_compliance.onboarding.requirements import RequirementSpec
from telnyx_compliance.onboarding.results import (
    AttachedOrder,
    HandOver,
    OnboardingResult,
    OnboardingStatus,
    RequirementOutcome,
    StepEvent,
    StepOutcome,
    UploadedDocument,
)
from telnyx_compliance.onboarding.snapshots import (
    APPROVED,
    KNOWN_GROUP_STATUSES,
    PENDING,
    REJECTED_GROUP_STATUSES,
    EnsuredAddress,
    EnsuredGroup,
    EnsuredOrder,
    GroupSnapshot,
    RequirementReview,
)
from telnyx_compliance.settings import PipelineSettings

__all__ = [
    "DocumentIntegrityError",
    "EnsuredAddress",
    "EnsuredGroup",
    "EnsuredOrder",
    "GroupSnapshot",
    "NumberRequirements",
    "OnStep",
    "OnboardingError",
    "RequirementReview",
    "StepLog",
    "Submission",
    "UnknownMarketError",
    "attach_orders",
    "attach_requirement_group",
    "build_result",
    "check_phone_numbers",
    "discard_unlinked_documents",
    "ensure_address",
    "ensure_documents",
    "ensure_number_order",
    "ensure_requirement_group",
    "find_requirement_group",
    "finish_onboarding",
    "group_values",
    "is_transient",
    "linked_documents",
    "lookup_all_requirements",
    "lookup_requirements",
    "lookup_requirements_for_numbers",
    "merge_requirements",
    "onboard",
    "plan_request",
    "poll_approval",
    "prefetch_numbers",
    "prefetch_requirements",
    "should_attach",
    "should_place_order",
    "submit_onboarding",
    "submit_requirement_group",
]

#: Called after every step with what it did; may be async. An exception it raises stops the onboarding.
OnStep = Callable[[StepEvent], Awaitable[None] | None]

_PAGE_SIZE = 250
#: Phone numbers per ``/phone_numbers_regulatory_requirements`` call: it has no page size parameter and
#: answers one page of 20 (numbers past the 20th of one call would come back unknown).
_NUMBERS_PER_LOOKUP = 20


# -- requirements ----------------------------------------------------------------------------------


async def lookup_requirements(client: AsyncTelnyx, key: OnboardingKey) -> list[RequirementSpec]:
    """The market's requirements (``/regulatory_requirements`` by country, number type and action)."""
    response = await client.regulatory_requirements.retrieve(
        filter={
            "country_code": key.country_code,
            "phone_number_type": key.phone_number_type,
            "action": key.action,
        }
    )
    for market in response.data or []:
        same_market = (
            (market.country_code or key.country_code).upper() == key.country_code
            and (market.phone_number_type or key.phone_number_type) == key.phone_number_type
            and (market.action or key.action) == key.action
        )
        if same_market:
            return [_requirement_spec(item) for item in market.regulatory_requirements or []]
    raise UnknownMarketError(
        f"Telnyx lists no requirements for {key.country_code} {key.phone_number_type} numbers ({key.action})"
    )


def _requirement_spec(item: Any) -> RequirementSpec:
    """A requirement from an API answer; one this pipeline cannot read (a new ``field_type``, no id) is an
    :class:`OnboardingError` naming it, not a crash."""
    try:
        return RequirementSpec.from_api(item)
    except ValidationError as error:
        raw = item.model_dump() if isinstance(item, BaseModel) else dict(item)
        label = raw.get("name") or raw.get("label") or raw.get("id") or raw.get("requirement_id") or "?"
        reasons = "; ".join(
            f"{'.'.join(map(str, problem['loc']))}: {str(problem['msg']).removeprefix('Value error, ')}"
            for problem in error.errors(include_url=False, include_input=False)
        )
        raise OnboardingError(
            f"Telnyx lists a requirement this pipeline cannot fill ({str(label)[:80]!r}: {reasons})"
        ) from None


class NumberRequirements(BaseModel):
    """What Telnyx says about one phone number: its country, type and requirements."""

    model_config = ConfigDict(frozen=True)

    phone_number: str
    country_code: str | None = None
    phone_number_type: str | None = None
    requirements: tuple[RequirementSpec, ...] = ()


async def lookup_requirements_for_numbers(
    client: AsyncTelnyx, phone_numbers: Sequence[str]
) -> list[NumberRequirements]:
    """Requirements per phone number (``/phone_numbers_regulatory_requirements``), one call per
    :data:`_NUMBERS_PER_LOOKUP` numbers (the endpoint answers one page of that default size)."""
    found: list[NumberRequirements] = []
    for start in range(0, len(phone_numbers), _NUMBERS_PER_LOOKUP):
        chunk = phone_numbers[start : start + _NUMBERS_PER_LOOKUP]
        response = await client.phone_numbers_regulatory_requirements.retrieve(
            filter={"phone_number": ",".join(chunk)}
        )
        found.extend(_number_requirements(entry) for entry in response.data or [])
    return found


def _number_requirements(entry: Any) -> NumberRequirements:
    country = next(
        (r.region_name for r in entry.region_information or [] if r.region_type == "country_code"), None
    )
    specs = tuple(
        _requirement_spec(
            {
                "id": item.id,
                "name": item.label or "",
                "field_type": item.field_type,
                "description": item.description,
                "example": item.example,
            }
        )
        for item in entry.regulatory_requirements or []
        if item.id and item.field_type
    )
    return NumberRequirements(
        phone_number=entry.phone_number or "",
        country_code=country,
        phone_number_type=entry.phone_number_type,
        requirements=specs,
    )


def check_phone_numbers(
    key: OnboardingKey, requested: Sequence[str], numbers: Sequence[NumberRequirements]
) -> list[PlanProblem]:
    """A problem per requested number that is not of the onboarding's country and type."""
    by_number = {entry.phone_number: entry for entry in numbers}
    problems = []
    for phone_number in requested:
        entry = by_number.get(phone_number)
        got = None if entry is None else f"{phone_number} ({entry.phone_number_type}, {entry.country_code})"
        if (
            entry is None
            or (entry.country_code or key.country_code).upper() != key.country_code
            or (entry.phone_number_type or key.phone_number_type) != key.phone_number_type
        ):
            problems.append(
                PlanProblem(
                    requirement_id="phone_numbers",
                    requirement_name="Phone number",
                    key="phone_numbers",
                    kind="textual",
                    expected=f"a {key.phone_number_type} number in {key.country_code}",
                    got=got or f"{phone_number} (unknown to Telnyx)",
                    source="phone_numbers",
                )
            )
    return problems


def merge_requirements(
    market: Sequence[RequirementSpec], numbers: Iterable[NumberRequirements]
) -> list[RequirementSpec]:
    """The market's requirements plus any a specific number adds (by id, market definitions win)."""
    merged = {spec.id: spec for spec in market}
    for entry in numbers:
        for spec in entry.requirements:
            merged.setdefault(spec.id, spec)
    return list(merged.values())


async def lookup_all_requirements(
    client: AsyncTelnyx, request: OnboardingRequest, *, known: KnownResources | None = None
) -> tuple[list[RequirementSpec], list[PlanProblem]]:
    """The market's requirements (cached in ``known`` per market), plus those of the requested numbers and
    a problem per number that does not belong to the market (one extra call, only when ordering numbers)."""
    key = request.key
    market = (key.country_code, key.phone_number_type, key.action)
    if known is not None and market in known.requirements:
        requirements = list(known.requirements[market])
    else:
        requirements = await lookup_requirements(client, key)
        if known is not None:
            known.requirements[market] = list(requirements)
    if not request.phone_numbers:
        return requirements, []
    if known is not None and all(number in known.numbers for number in request.phone_numbers):
        numbers = [known.numbers[number] for number in request.phone_numbers]
    else:
        numbers = await lookup_requirements_for_numbers(client, request.phone_numbers)
        if known is not None:
            known.numbers.update((entry.phone_number, entry) for entry in numbers if entry.phone_number)
    problems = check_phone_numbers(request.key, request.phone_numbers, numbers)
    return merge_requirements(requirements, numbers), problems


async def prefetch_requirements(
    client: AsyncTelnyx, known: KnownResources, keys: Iterable[OnboardingKey]
) -> None:
    """Cache in ``known`` the requirements of every market of ``keys`` (one lookup per market), so that
    concurrent onboardings of one market do not each look them up. A market Telnyx does not list (or a
    failed lookup) stays uncached: each onboarding of it then reports the error itself."""
    markets = {(key.country_code, key.phone_number_type, key.action): key for key in keys}

    async def lookup(market: tuple[str, str, str], key: OnboardingKey) -> None:
        with contextlib.suppress(OnboardingError, APIError):
            known.requirements[market] = await lookup_requirements(client, key)

    await asyncio.gather(
        *(lookup(market, key) for market, key in markets.items() if market not in known.requirements)
    )


async def prefetch_numbers(client: AsyncTelnyx, known: KnownResources, phone_numbers: Iterable[str]) -> None:
    """Cache in ``known`` what Telnyx says about each phone number, :data:`_NUMBERS_PER_LOOKUP` per call
    (the calls run concurrently; the client's rate limiter paces them).

    A number missing from an answer stays uncached, so its onboarding looks it up again and reports it.
    """
    wanted = [number for number in dict.fromkeys(phone_numbers) if number not in known.numbers]

    async def lookup(chunk: Sequence[str]) -> None:
        with contextlib.suppress(APIError):
            for entry in await lookup_requirements_for_numbers(client, chunk):
                if entry.phone_number in chunk:
                    known.numbers[entry.phone_number] = entry

    await asyncio.gather(
        *(
            lookup(wanted[start : start + _NUMBERS_PER_LOOKUP])
            for start in range(0, len(wanted), _NUMBERS_PER_LOOKUP)
        )
    )


def plan_request(
    request: OnboardingRequest,
    requirements: Sequence[RequirementSpec],
    number_problems: Sequence[PlanProblem] = (),
    *,
    mapping: RequirementMapping | None = None,
    settings: PipelineSettings | None = None,
    documents_root: Path | None = None,
) -> OnboardingPlan:
    """:func:`~telnyx_compliance.onboarding.plan.build_plan` with the pipeline's settings, also failing on
    ``number_problems``: one :class:`PlanError` naming every problem.

    Documents must lie inside ``documents_root``; by default ``COMPLIANCE_DOCUMENTS_BASE_DIR``, else the
    working folder."""
    settings = settings or PipelineSettings()
    if documents_root is None:
        documents_root = Path(settings.documents_base_dir) if settings.documents_base_dir else Path.cwd()
    try:
        plan = build_plan(
            request,
            requirements,
            mapping,
            max_document_bytes=settings.max_document_bytes,
            reference_prefix=settings.reference_prefix,
            documents_root=documents_root,
        )
    except PlanError as error:
        raise PlanError(request.key, (*error.problems, *number_problems)) from None
    if number_problems:
        raise PlanError(request.key, number_problems)
    return plan


# -- address and documents -------------------------------------------------------------------------


async def ensure_address(
    client: AsyncTelnyx, plan: OnboardingPlan, *, known: KnownResources | None = None
) -> EnsuredAddress:
    """Reuse the user address with the plan's reference (looked up, or in ``known``), or create it."""
    if plan.address is None:
        raise OnboardingError("the plan has no address requirement")
    reference = plan.address.reference
    if known is not None:
        if reference in known.addresses:
            return EnsuredAddress(
                id=known.addresses[reference], customer_reference=reference, outcome="reused"
            )
    else:
        page = await client.user_addresses.list(
            filter={"customer_reference": {"eq": reference}}, page_size=_PAGE_SIZE
        )
        for address in page.data:
            if address.customer_reference == reference and address.id:
                return EnsuredAddress(id=address.id, customer_reference=reference, outcome="reused")
    fields = plan.address.address.model_dump(exclude_none=True)
    created = await client.user_addresses.create(customer_reference=reference, **fields)
    if created.data is None or not created.data.id:
        raise OnboardingError("Telnyx created a user address without returning its id")
    if known is not None:
        known.addresses[reference] = created.data.id
    return EnsuredAddress(id=created.data.id, customer_reference=reference, outcome="created")


async def ensure_documents(
    client: AsyncTelnyx,
    plan: OnboardingPlan,
    *,
    on_upload: Callable[[UploadedDocument], None] | None = None,
    known: KnownResources | None = None,
) -> list[UploadedDocument]:
    """Reuse each document uploaded under its reference (same sha256), or upload it and verify the sha256.

    ``on_upload`` hears about every document this call uploaded as soon as it exists, so a caller can
    delete it again if a later step fails (see :func:`discard_unlinked_documents`).
    """
    items = plan.documents
    if not items:
        return []
    references = [item.document.reference for item in items if item.document is not None]
    existing: dict[str, KnownDocument] = {}
    if known is not None:
        existing = {ref: known.documents[ref] for ref in references if ref in known.documents}
    else:
        async for listed in client.documents.list(
            filter={"customer_reference": {"in": references}}, page_size=_PAGE_SIZE
        ):
            if listed.customer_reference in references and listed.id:
                existing.setdefault(listed.customer_reference, KnownDocument(listed.id, listed.sha256))

    uploaded: list[UploadedDocument] = []
    for item in items:
        planned = item.document
        assert planned is not None
        found = existing.get(planned.reference)
        if found is not None and found.sha256 == planned.sha256:
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
        if known is not None:
            known.documents[planned.reference] = KnownDocument(document.id, document.sha256)
        if document.sha256 != planned.sha256:
            await _delete_quietly(client, document.id)
            raise DocumentIntegrityError(
                f"Telnyx stored {planned.filename} with sha256 {document.sha256}; "
                f"the file has {planned.sha256}"
            )
        uploaded.append(record)
    return uploaded


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


def _document_finder(client: AsyncTelnyx, reference: str, sha256: str) -> Callable[[], Awaitable[Any]]:
    """After an upload with an unknown outcome: the document stored under ``reference`` with this content."""

    async def find_existing() -> Any:
        from telnyx_compliance.models.documents import DocumentUploadResponse

        page = await client.documents.list(
            filter={"customer_reference": {"eq": reference}}, page_size=_PAGE_SIZE
        )
        for document in page.data:
            if document.customer_reference == reference and document.sha256 == sha256:
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

    Used to roll back a failed onboarding before submission; returns the ids actually deleted.
    """
    linked: set[str] = set()
    for resource_id in linked_to:
        async for link in client.document_links.list(filter={"linked_resource_id": resource_id}):
            if link.document_id:
                linked.add(link.document_id)
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


# -- requirement group -----------------------------------------------------------------------------


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
        elif item.kind == "document":
            if item.requirement.id not in document_ids:
                raise OnboardingError(f"{item.requirement.name} needs a document, which was not uploaded")
            values[item.requirement.id] = document_ids[item.requirement.id]
        else:
            assert item.text is not None
            values[item.requirement.id] = item.text
    return values


async def find_requirement_group(client: AsyncTelnyx, reference: str) -> RequirementGroup | None:
    """The requirement group with this exact reference (the server filter ignores case)."""
    groups = await client.requirement_groups.list(filter={"customer_reference": reference})
    ours = [group for group in groups if group.customer_reference == reference]
    ours.sort(key=lambda group: group.created_at or "")
    return ours[0] if ours else None


async def ensure_requirement_group(
    client: AsyncTelnyx,
    plan: OnboardingPlan,
    values: Mapping[str, str],
    *,
    known: KnownResources | None = None,
) -> EnsuredGroup:
    """Create the group with every value, or PATCH only the values that changed since the last run.

    With ``known`` the group as last seen there is used (a bulk run's snapshot, kept up to date by the run
    itself): its values are ours to change, and a status that moved on since is read by the approval wait.
    """
    key = plan.key
    if known is None:
        found = await find_requirement_group(client, plan.group_reference)
        existing = GroupSnapshot.from_api(found) if found is not None else None
    else:
        entry = known.groups.get(plan.group_reference)
        if entry is not None and entry.values_digest == values_digest(values):
            return EnsuredGroup(group=entry.snapshot(plan.group_reference, values), outcome="unchanged")
        existing = (
            GroupSnapshot.from_api(await client.requirement_groups.retrieve(entry.id))
            if entry is not None
            else None
        )
    payload = [{"requirement_id": rid, "field_value": value} for rid, value in values.items()]
    if existing is None:

        async def find_existing() -> RequirementGroup | None:
            return await find_requirement_group(client, plan.group_reference)

        created = await client.requirement_groups.create(
            country_code=key.country_code,
            phone_number_type=cast(PhoneNumberType, key.phone_number_type),
            action=cast(Action, key.action),
            customer_reference=plan.group_reference,
            regulatory_requirements=payload,
            find_existing=find_existing,
        )
        snapshot = _remember(known, plan, GroupSnapshot.from_api(created))
        return EnsuredGroup(group=snapshot, outcome="created")
    current = existing.values
    changed = [entry for entry in payload if current.get(entry["requirement_id"]) != entry["field_value"]]
    if not changed:
        return EnsuredGroup(group=existing, outcome="unchanged")
    if existing.status == PENDING:
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
    return EnsuredGroup(group=_remember(known, plan, GroupSnapshot.from_api(updated)), outcome="updated")


def _remember(known: KnownResources | None, plan: OnboardingPlan, group: GroupSnapshot) -> GroupSnapshot:
    if known is not None:
        known.groups[plan.group_reference] = KnownGroup.of(group)
    return group


async def submit_requirement_group(
    client: AsyncTelnyx, group: GroupSnapshot, *, known: KnownResources | None = None
) -> tuple[GroupSnapshot, StepOutcome]:
    """Submit for approval unless already pending or decided."""
    if group.status == PENDING or group.is_final:
        return group, "skipped"
    try:
        submitted = GroupSnapshot.from_api(await client.requirement_groups.submit_for_approval(group.id))
    except UnprocessableEntityError:
        # A retried submit whose first attempt went through (response lost) is refused as "already
        # submitted": the group's current status says whether that is what happened.
        current = GroupSnapshot.from_api(await client.requirement_groups.retrieve(group.id))
        if current.status == PENDING or current.is_final:
            return _known_group(known, current), "updated"
        raise
    return _known_group(known, submitted), "updated"


def _known_group(known: KnownResources | None, group: GroupSnapshot) -> GroupSnapshot:
    return known.remember_group(group) if known is not None else group


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
    """
    deadline = clock() + timeout
    delay = interval
    if not read_first:
        await sleep(min(delay, max(0.0, timeout)))
        delay = min(delay * 2, max_interval)
    while True:
        group = GroupSnapshot.from_api(await client.requirement_groups.retrieve(group_id))
        remaining = deadline - clock()
        if group.status != PENDING or remaining <= 0:
            return group
        await sleep(min(delay, remaining))
        delay = min(delay * 2, max_interval)


def should_place_order(group: GroupSnapshot | None) -> bool:
    """Orders are placed once the group is approved, or still pending when the wait ends (the order then
    carries the group, and Telnyx meets its requirements when the review approves it); never for a
    declined or expired group. Without requirements there is no group and nothing to wait for."""
    return group is None or group.status in {APPROVED, PENDING}


def should_attach(group: GroupSnapshot | None) -> bool:
    """The group is attached to orders that exist already (given by id, or placed by an earlier run without
    it) once approved, or still pending when the wait ends: every order is then wired to it, and its
    review is all that is left (the reconcile flow reports it)."""
    return group is not None and group.status in {APPROVED, PENDING}


# -- orders ----------------------------------------------------------------------------------------


async def ensure_number_order(
    client: AsyncTelnyx,
    plan: OnboardingPlan,
    *,
    group_id: str | None = None,
    known: KnownResources | None = None,
) -> EnsuredOrder | None:
    """Reuse the number order placed under the plan's order reference, or place it; None without numbers.

    A new order carries ``group_id`` on each number (``phone_numbers[].requirement_group_id``), so Telnyx
    attaches the group to the sub-number orders it creates: no attach call follows. An order found from an
    earlier run may not carry it (``requirement_group_id`` is None then): the caller attaches it.
    """
    if not plan.phone_numbers:
        return None
    reference = plan.order_reference
    if known is not None:
        if reference in known.orders:
            placed = known.orders[reference]
            return EnsuredOrder(
                id=placed.id,
                customer_reference=reference,
                sub_number_order_ids=placed.sub_number_order_ids,
                outcome="reused",
                requirements_met=placed.requirements_met,
            )
    else:
        page = await client.number_orders.list(filter={"customer_reference": reference}, page_size=_PAGE_SIZE)
        for order in page.data:
            if order.customer_reference == reference and order.id:
                return EnsuredOrder(
                    id=order.id,
                    customer_reference=reference,
                    sub_number_order_ids=tuple(order.sub_number_orders_ids or ()),
                    outcome="reused",
                    requirements_met=order.requirements_met,
                )
    numbers: list[dict[str, str]] = [
        {"phone_number": number, **({"requirement_group_id": group_id} if group_id else {})}
        for number in plan.phone_numbers
    ]
    created = await client.number_orders.create(phone_numbers=numbers, customer_reference=reference)
    if created.data is None or not created.data.id:
        raise OnboardingError("Telnyx placed a number order without returning its id")
    sub_number_order_ids = tuple(created.data.sub_number_orders_ids or ())
    if known is not None:
        known.orders[reference] = KnownOrder(
            created.data.id, sub_number_order_ids, requirements_met=created.data.requirements_met
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
    document_ids: Sequence[str] = (),
    linked_document_ids: Iterable[str] | None = None,
) -> list[AttachedOrder]:
    """Attach the group to each order; report ``requirements_met`` and the documents linked.

    The documents linked are read from ``document_links`` unless the caller already knows them
    (``linked_document_ids``). Attaching is an assignment, so doing it again on a rerun changes nothing.
    """
    linked = await linked_documents(client, group_id, document_ids, known=linked_document_ids)
    linked_here = tuple(d for d in document_ids if d in linked)
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
                AttachedOrder(kind=kind, id=order_id, requirements_met=met, linked_document_ids=linked_here)
            )
    return attached


async def linked_documents(
    client: AsyncTelnyx, group_id: str, document_ids: Sequence[str], *, known: Iterable[str] | None = None
) -> set[str]:
    """The documents linked to the group: ``known`` when the caller has them (a group's values are its
    links), else read from ``document_links`` (nothing to read without documents)."""
    if known is not None:
        return set(known)
    if not document_ids:
        return set()
    return await _linked_documents(client, [group_id])


async def _linked_documents(client: AsyncTelnyx, resource_ids: Iterable[str]) -> set[str]:
    linked: set[str] = set()
    for resource_id in resource_ids:
        async for link in client.document_links.list(filter={"linked_resource_id": resource_id}):
            if link.document_id:
                linked.add(link.document_id)
    return linked


async def attach_orders(
    client: AsyncTelnyx,
    plan: OnboardingPlan,
    group: GroupSnapshot,
    order: EnsuredOrder | None,
    documents: Sequence[UploadedDocument],
    *,
    linked_document_ids: Iterable[str] | None = None,
) -> list[AttachedOrder]:
    """The group on every order of the plan: those the order step placed carrying it are reported from its
    answer; those given by id, or found from an earlier run, are attached now."""
    document_ids = [document.document_id for document in documents]
    carried = order is not None and order.requirement_group_id == group.id
    attached: list[AttachedOrder] = []
    if carried:
        assert order is not None
        linked = await linked_documents(client, group.id, document_ids, known=linked_document_ids)
        linked_document_ids = linked
        linked_here = tuple(d for d in document_ids if d in linked)
        attached = [
            AttachedOrder(
                kind="sub_number_order",
                id=sub_id,
                requirements_met=order.requirements_met,
                linked_document_ids=linked_here,
            )
            for sub_id in order.sub_number_order_ids
        ]
    to_attach = (
        *(() if carried or order is None else order.sub_number_order_ids),
        *plan.sub_number_order_ids,
    )
    if to_attach or plan.number_order_phone_number_ids:
        attached += await attach_requirement_group(
            client,
            group.id,
            sub_number_order_ids=to_attach,
            number_order_phone_number_ids=plan.number_order_phone_number_ids,
            document_ids=document_ids,
            linked_document_ids=linked_document_ids,
        )
    return attached


# -- composite -------------------------------------------------------------------------------------


def build_result(
    plan: OnboardingPlan,
    *,
    address_id: str | None = None,
    documents: Sequence[UploadedDocument] = (),
    group: GroupSnapshot | None = None,
    order: EnsuredOrder | None = None,
    attached: Sequence[AttachedOrder] = (),
    steps: Sequence[StepEvent] = (),
    error: str | None = None,
) -> OnboardingResult:
    """The result for what the steps produced so far; status follows the group's status and ``error``."""
    reviews = {review.requirement_id: review for review in group.requirements} if group is not None else {}
    document_names = {document.requirement_id: document.filename for document in documents}
    outcomes = []
    for item in plan.items:
        review = reviews.get(item.requirement.id)
        if item.kind == "address":
            value = address_id or "address"
        elif item.kind == "document":
            value = document_names.get(item.requirement.id, item.display_value())
        else:
            value = item.display_value()
        outcomes.append(
            RequirementOutcome(
                requirement_id=item.requirement.id,
                name=item.requirement.name,
                key=item.key,
                kind=item.kind,
                value=value,
                status=review.status if review else None,
                reason=review.reason if review else None,
            )
        )
    group_status = group.status if group is not None else None
    status: OnboardingStatus
    if error is not None:
        status = "failed"
    elif group_status in REJECTED_GROUP_STATUSES:
        status = "declined"
        error = f"requirement group {group_status}" + _reasons_suffix(outcomes)
    elif group_status == PENDING:
        status = "pending_approval"
    elif group_status == APPROVED or (group is None and not plan.items):
        unmet = [order.id for order in attached if order.requirements_met is False]
        linked = {document_id for order in attached for document_id in order.linked_document_ids}
        unlinked = [d.document_id for d in documents if attached and d.document_id not in linked]
        status = "failed" if unmet or unlinked else "completed"
        if unmet:
            error = f"requirements not met after attaching the group: {', '.join(unmet)}"
        elif unlinked:
            error = f"documents not linked to the requirement group: {', '.join(unlinked)}"
    elif group_status in KNOWN_GROUP_STATUSES or not group_status:
        status = "failed"
        error = f"requirement group is {group_status or 'missing'}"
    else:
        status = "failed"
        error = (
            f"requirement group {group.id if group else ''} is in status {group_status[:40]!r}, which this "
            "pipeline does not know: check it in the Telnyx portal; a rerun resumes from it"
        )
    handover = None
    if status == "pending_approval" and group is not None:
        handover = HandOver(
            requirement_group_id=group.id,
            requirement_group_reference=plan.group_reference,
            order_reference=order.customer_reference if order else None,
            number_order_id=order.id if order else None,
            sub_number_order_ids=tuple(order.sub_number_order_ids if order else ())
            + plan.sub_number_order_ids,
            number_order_phone_number_ids=plan.number_order_phone_number_ids,
        )
    return OnboardingResult(
        customer_reference=plan.key.customer_reference,
        country_code=plan.key.country_code,
        phone_number_type=plan.key.phone_number_type,
        action=plan.key.action,
        status=status,
        address_id=address_id,
        documents=tuple(documents),
        requirement_group_id=group.id if group else None,
        requirement_group_reference=plan.group_reference if group else None,
        requirement_group_status=group_status,
        number_order_id=order.id if order else None,
        attached_orders=tuple(attached),
        requirements=tuple(outcomes),
        handover=handover,
        steps=tuple(steps),
        error=error,
    )


def _reasons_suffix(outcomes: Sequence[RequirementOutcome]) -> str:
    reasons = [f"{o.name}: {o.reason or o.status}" for o in outcomes if o.status in REJECTED_GROUP_STATUSES]
    return f" ({'; '.join(reasons)})" if reasons else ""


class StepLog:
    """The steps of one onboarding as they happen, told to ``on_step`` (which may stop the run by raising)."""

    def __init__(self, on_step: OnStep | None = None) -> None:
        self.events: list[StepEvent] = []
        self.on_step = on_step

    async def __call__(
        self, step: str, outcome: StepOutcome, resource_id: str | None = None, detail: str = ""
    ) -> None:
        event = StepEvent(step=step, outcome=outcome, resource_id=resource_id, detail=detail)
        self.events.append(event)
        if self.on_step is not None:
            maybe = self.on_step(event)
            if inspect.isawaitable(maybe):
                await maybe


@dataclass
class Submission:
    """An onboarding taken as far as Telnyx's review: what the finishing steps need."""

    plan: OnboardingPlan
    log: StepLog
    address_id: str | None = None
    documents: list[UploadedDocument] = field(default_factory=list)
    group: GroupSnapshot | None = None

    def result(
        self,
        group: GroupSnapshot | None = None,
        *,
        order: EnsuredOrder | None = None,
        attached: Sequence[AttachedOrder] = (),
        error: BaseException | None = None,
    ) -> OnboardingResult:
        result = build_result(
            self.plan,
            address_id=self.address_id,
            documents=self.documents,
            group=group if group is not None else self.group,
            order=order,
            attached=attached,
            steps=self.log.events,
            error=f"{type(error).__name__}: {error}" if error is not None else None,
        )
        return result.model_copy(update={"transient": is_transient(error)}) if error is not None else result


async def submit_onboarding(
    client: AsyncTelnyx,
    request: OnboardingRequest,
    *,
    mapping: RequirementMapping | None = None,
    settings: PipelineSettings | None = None,
    known: KnownResources | None = None,
    lookups: KnownResources | None = None,
    log: StepLog | None = None,
    documents_root: Path | None = None,
) -> Submission | OnboardingResult:
    """Requirements, plan, address, documents, requirement group, submit: everything before the review.

    Returns the result instead when the onboarding cannot go on (plan problems, API errors). A failure
    before the group was submitted deletes the documents this call uploaded that nothing links.
    ``known`` replaces per-resource lookups; ``lookups`` caches requirements (default: ``known``).
    """
    settings = settings or PipelineSettings()
    mapping = mapping or settings.mapping()
    log = log or StepLog()
    try:
        requirements, number_problems = await lookup_all_requirements(
            client, request, known=lookups if lookups is not None else known
        )
        await log("requirements", "unchanged", detail=f"{len(requirements)} requirement(s)")
        plan = plan_request(
            request,
            requirements,
            number_problems,
            mapping=mapping,
            settings=settings,
            documents_root=documents_root,
        )
        await log("plan", "unchanged", detail=f"{len(plan.items)} value(s)")
    except (PlanError, OnboardingError) as error:
        return OnboardingResult.failed(request.key, str(error), steps=tuple(log.events))
    except APIError as error:
        return OnboardingResult.failed(
            request.key,
            f"{type(error).__name__}: {error}",
            steps=tuple(log.events),
            transient=is_transient(error),
        )

    submission = Submission(plan=plan, log=log)
    uploaded_now: list[str] = []
    submitted = False
    try:
        if plan.needs_address:
            address = await ensure_address(client, plan, known=known)
            submission.address_id = address.id
            await log("address", address.outcome, address.id)
        submission.documents = await ensure_documents(
            client, plan, on_upload=lambda d: uploaded_now.append(d.document_id), known=known
        )
        for document in submission.documents:
            await log("documents", "created" if document.created else "reused", document.document_id)
        if plan.items:
            values = group_values(plan, address_id=submission.address_id, documents=submission.documents)
            ensured = await ensure_requirement_group(client, plan, values, known=known)
            submission.group = ensured.group
            await log("requirement_group", ensured.outcome, ensured.group.id)
            submission.group, outcome = await submit_requirement_group(client, ensured.group, known=known)
            submitted = True
            await log("submit", outcome, submission.group.id, submission.group.status or "")
    except (OnboardingError, APIError) as error:
        if not submitted and uploaded_now:
            await _rollback(client, uploaded_now, submission.group, known)
        return submission.result(error=error)
    except Exception:  # (not a crash: a killed process rolls nothing back; the rerun finds what it made)
        if not submitted and uploaded_now:
            await _rollback(client, uploaded_now, submission.group, known)
        raise
    return submission


async def finish_onboarding(
    client: AsyncTelnyx,
    submission: Submission,
    group: GroupSnapshot | None,
    *,
    known: KnownResources | None = None,
) -> OnboardingResult:
    """After the review (or the end of the wait): order the numbers carrying the group, attach it to the
    orders that exist already, and report. ``known`` (bulk): the group's values say which documents are
    linked; alone, ``document_links`` is read to confirm it."""
    plan, log = submission.plan, submission.log
    order: EnsuredOrder | None = None
    attached: list[AttachedOrder] = []
    try:
        if group is not None and group.presumed and not (plan.phone_numbers or plan.has_orders_given):
            group = await _read_group(client, group)  # no order will confirm the approval: read it
        if should_place_order(group):
            order = await ensure_number_order(
                client, plan, group_id=group.id if group is not None else None, known=known
            )
            if order is not None:
                await log("number_order", order.outcome, order.id)
        if group is not None and should_attach(group):
            attached = await attach_orders(
                client,
                plan,
                group,
                order,
                submission.documents,
                linked_document_ids=set(group.values.values()) if known is not None else None,
            )
            for attached_order in attached:
                await log("attach", "updated", attached_order.id)
        if group is not None and group.presumed and any(o.requirements_met is False for o in attached):
            group = await _read_group(client, group)  # not met: the approval was presumed wrongly
    except (OnboardingError, APIError) as error:
        return submission.result(group, order=order, attached=attached, error=error)
    return submission.result(group, order=order, attached=attached)


async def _read_group(client: AsyncTelnyx, group: GroupSnapshot) -> GroupSnapshot:
    return GroupSnapshot.from_api(await client.requirement_groups.retrieve(group.id))


async def onboard(
    client: AsyncTelnyx,
    request: OnboardingRequest,
    *,
    mapping: RequirementMapping | None = None,
    settings: PipelineSettings | None = None,
    on_step: OnStep | None = None,
    known: KnownResources | None = None,
    documents_root: Path | None = None,
) -> OnboardingResult:
    """Take one request from nothing to an approved group attached to its orders; never raises for an
    outcome an operator acts on (plan problems, API errors, declines): those come back as the result.

    The pipeline order, for one onboarding: :func:`submit_onboarding`, then the wait for Telnyx's review
    (:func:`poll_approval` here; a bulk run waits for all its groups together), then
    :func:`finish_onboarding`. ``on_step`` is told about each step (and can stop the run by raising, as
    tests do to simulate a crash). ``known`` (:meth:`KnownResources.fetch`) replaces per-resource lookups.
    """
    settings = settings or PipelineSettings()
    log = StepLog(on_step)
    submission = await submit_onboarding(
        client,
        request,
        mapping=mapping,
        settings=settings,
        known=known,
        log=log,
        documents_root=documents_root,
    )
    if isinstance(submission, OnboardingResult):
        return submission
    group = submission.group
    if group is not None:
        try:
            if group.status == PENDING:
                group = await poll_approval(
                    client,
                    group.id,
                    timeout=settings.approval_poll_timeout,
                    interval=settings.approval_poll_interval,
                    max_interval=settings.approval_poll_max_interval,
                )
        except (OnboardingError, APIError) as error:
            return submission.result(error=error)
        await log("approval", "unchanged", group.id, group.status or "")
    return await finish_onboarding(client, submission, group, known=known)


def is_transient(error: BaseException | None) -> bool:
    """A failure of the API, not of the request: 408, 429, 5xx or a connection error (timeouts included),
    whose request was not applied. A write whose outcome stayed unknown is not transient: what it may have
    created is in no snapshot, so only a run that looks its resources up again may go on from it."""
    if error is None or getattr(error, "outcome_unknown", False):
        return False
    if isinstance(error, APIConnectionError):
        return True
    return isinstance(error, APIStatusError) and (error.status_code in (408, 429) or error.status_code >= 500)


async def _rollback(
    client: AsyncTelnyx,
    document_ids: Sequence[str],
    group: GroupSnapshot | None,
    known: KnownResources | None = None,
) -> None:
    # Best effort: Telnyx deletes unlinked documents after 30 minutes anyway.
    deleted: list[str] = []
    with contextlib.suppress(APIError):
        deleted = await discard_unlinked_documents(
            client, document_ids, linked_to=[group.id] if group else []
        )
    if known is not None and deleted:
        # The next onboarding of this key (a later row of the group, a retry) must upload them again,
        # not reuse ids that no longer exist.
        gone = set(deleted)
        for reference in [ref for ref, document in known.documents.items() if document.id in gone]:
            del known.documents[reference]
