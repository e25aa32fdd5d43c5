"""The onboarding pipeline: its order, written once, and the runner that follows it without Prefect.

The order, for one onboarding::

    lookup_all_requirements -> plan_request -> SUBMISSION_STAGES (address, documents, requirement_group,
    submit) -> the wait for Telnyx's review -> COMPLETION_STAGES (number_order, attach) -> Submission.result

Each stage is a :class:`Stage`: a name and a function that takes the onboarding so far (a
:class:`Submission`), skips itself when the plan does not need it, calls its idempotent write from
:mod:`.ensure`, records what it did and tells the :class:`StepLog`. :func:`submit_onboarding` and
:func:`finish_onboarding` run the two tuples in order (the bulk runner calls them per row, waiting for the
review with its watcher in between); :func:`onboard` chains them with :func:`~.ensure.poll_approval` for one
request; ``flows/onboard_customer.py`` runs the same tuples, one Prefect task per stage. A failure before the
group was submitted is rolled back by :func:`~.ensure.discard_uploads`, here and in the flow.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from telnyx_compliance._client import AsyncTelnyx
from telnyx_compliance._exceptions import APIError
from telnyx_compliance.locations import Location
from telnyx_compliance.models.requirement_groups import REJECTED_GROUP_STATUSES, GroupStatus
from telnyx_compliance.onboarding.csv_source import DocumentURLs
from telnyx_compliance.onboarding.ensure import (
    attach_orders,
    discard_uploads,
    ensure_address,
    ensure_documents,
    ensure_number_order,
    ensure_requirement_group,
    group_values,
    poll_approval,
    submit_requirement_group,
)
from telnyx_compliance.onboarding.errors import ErrorKind, OnboardingError, kind_of
from telnyx_compliance.onboarding.index import LiveIndex, ResourceIndex
from telnyx_compliance.onboarding.lookups import RequirementsCache, lookup_all_requirements
from telnyx_compliance.onboarding.mapping import RequirementMapping
from telnyx_compliance.onboarding.plan import OnboardingPlan, PlanError, PlanProblem, build_plan
from telnyx_compliance.onboarding.request import OnboardingRequest
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
    EnsuredOrder,
    GroupSnapshot,
)
from telnyx_compliance.settings import PipelineSettings

__all__ = [
    "COMPLETION_STAGES",
    "SUBMISSION_STAGES",
    "OnStep",
    "Stage",
    "StageContext",
    "StepLog",
    "Submission",
    "address_stage",
    "attach_stage",
    "build_result",
    "documents_stage",
    "finish_onboarding",
    "named_reason",
    "number_order_stage",
    "onboard",
    "plan_request",
    "requirement_group_stage",
    "should_attach",
    "should_place_order",
    "submit_onboarding",
    "submit_stage",
    "wait_for_review",
]

#: Called after every step with what it did; may be async. An exception it raises stops the onboarding.
OnStep = Callable[[StepEvent], Awaitable[None] | None]


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
        base = settings.documents_base_dir
        documents_root = Path(base) if base and not Location.parse(base).has_scheme else Path.cwd()
    try:
        plan = build_plan(
            request,
            requirements,
            mapping,
            max_document_bytes=settings.max_document_bytes,
            reference_prefix=settings.reference_prefix,
            documents_root=documents_root,
            document_urls=DocumentURLs.from_settings(settings),
        )
    except PlanError as error:
        raise PlanError(request.key, (*error.problems, *number_problems)) from None
    if number_problems:
        raise PlanError(request.key, number_problems)
    return plan


def should_place_order(group: GroupSnapshot | None) -> bool:
    """Orders are placed once the group is approved, or still pending when the wait ends (the order then
    carries the group, and Telnyx meets its requirements when the review approves it); never for a
    declined or expired group. Without requirements there is no group and nothing to wait for."""
    return group is None or group.status in {GroupStatus.APPROVED, GroupStatus.PENDING}


def should_attach(group: GroupSnapshot | None) -> bool:
    """The group is attached to orders that exist already (given by id, or placed by an earlier run without
    it) once approved, or still pending when the wait ends: every order is then wired to it, and its
    review is all that is left (the reconcile flow reports it)."""
    return group is not None and group.status in {GroupStatus.APPROVED, GroupStatus.PENDING}


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
    error_kind: ErrorKind | None = None,
) -> OnboardingResult:
    """The result for what the steps produced so far; status follows the group's status and ``error`` (of
    ``error_kind``)."""
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
    kind = ErrorKind.CHECK_FAILED  # of the failures found below; a caller's ``error`` brings its own
    if error is not None:
        status = "failed"
        kind = error_kind or ErrorKind.CRASHED
    elif group_status in REJECTED_GROUP_STATUSES:
        status = "declined"
        kind = ErrorKind.DECLINED
        error = f"requirement group {group_status}" + _reasons_suffix(outcomes)
    elif group_status == GroupStatus.PENDING:
        status = "pending_approval"
    elif group_status == GroupStatus.APPROVED or (group is None and not plan.items):
        unmet = [order.id for order in attached if order.requirements_met is False]
        linked = {document_id for order in attached for document_id in order.linked_document_ids}
        unlinked = [d.document_id for d in documents if attached and d.document_id not in linked]
        status = "failed" if unmet or unlinked else "completed"
        if unmet:
            error = f"requirements not met after attaching the group: {', '.join(unmet)}"
        elif unlinked:
            error = f"documents not linked to the requirement group: {', '.join(unlinked)}"
    elif group_status in frozenset(GroupStatus) or not group_status:
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
        error_kind=kind if error is not None else None,
    )


def _reasons_suffix(outcomes: Sequence[RequirementOutcome]) -> str:
    reasons = [
        named_reason(o.name, o.reason or o.status or "")
        for o in outcomes
        if o.status in REJECTED_GROUP_STATUSES
    ]
    return f" ({'; '.join(reasons)})" if reasons else ""


def named_reason(name: str, reason: str) -> str:
    """``name: reason``, naming the requirement once: a reason that starts with the name already (as
    Telnyx's and the sandbox's decline reasons do) is kept as it is."""
    if name and reason.casefold().startswith(f"{name}:".casefold()):
        return reason
    return f"{name}: {reason}" if name else reason


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
    """One onboarding so far: the plan and what the stages made of it (the stages fill it in, in order)."""

    plan: OnboardingPlan
    log: StepLog = field(default_factory=lambda: StepLog())
    address_id: str | None = None
    documents: list[UploadedDocument] = field(default_factory=list)
    group: GroupSnapshot | None = None
    order: EnsuredOrder | None = None
    attached: list[AttachedOrder] = field(default_factory=list)
    #: The group went to review (or was decided already): from then on nothing is rolled back.
    submitted: bool = False

    def copy(self) -> Submission:
        """A copy a stage may fill in, leaving this one as it was (a retried Prefect task starts again from
        its input). The log is shared: it is the record of every step taken."""
        return dataclasses.replace(self, documents=list(self.documents), attached=list(self.attached))

    def result(
        self,
        group: GroupSnapshot | None = None,
        *,
        order: EnsuredOrder | None = None,
        attached: Sequence[AttachedOrder] | None = None,
        error: BaseException | None = None,
    ) -> OnboardingResult:
        return build_result(
            self.plan,
            address_id=self.address_id,
            documents=self.documents,
            group=group if group is not None else self.group,
            order=order if order is not None else self.order,
            attached=attached if attached is not None else self.attached,
            steps=self.log.events,
            error=f"{type(error).__name__}: {error}" if error is not None else None,
            error_kind=kind_of(error) if error is not None else None,
        )


@dataclass(frozen=True)
class StageContext:
    """What a stage needs besides the onboarding: what exists on Telnyx already (a bulk run's snapshot;
    default a live lookup), and whom to tell about each document as soon as it is uploaded (for the
    rollback)."""

    index: ResourceIndex | None = None
    on_upload: Callable[[UploadedDocument], None] | None = None


StageFunction = Callable[[AsyncTelnyx, Submission, StageContext], Awaitable[None]]


@dataclass(frozen=True)
class Stage:
    """One step of the pipeline: its name (the step's name in the :class:`StepLog`) and what it does."""

    name: str
    run: StageFunction


async def address_stage(client: AsyncTelnyx, submission: Submission, context: StageContext) -> None:
    """The user address every address requirement points at (only when the plan has one)."""
    if not submission.plan.needs_address:
        return
    address = await ensure_address(client, submission.plan, index=context.index)
    submission.address_id = address.id
    await submission.log("address", address.outcome, address.id)


async def documents_stage(client: AsyncTelnyx, submission: Submission, context: StageContext) -> None:
    """Every document of the plan, uploaded (sha256 checked) or found from an earlier run."""
    submission.documents = await ensure_documents(
        client, submission.plan, on_upload=context.on_upload, index=context.index
    )
    for document in submission.documents:
        await submission.log("documents", "created" if document.created else "reused", document.document_id)


async def requirement_group_stage(client: AsyncTelnyx, submission: Submission, context: StageContext) -> None:
    """The requirement group with every value (only when the plan has values)."""
    plan = submission.plan
    if not plan.items:
        return
    values = group_values(plan, address_id=submission.address_id, documents=submission.documents)
    ensured = await ensure_requirement_group(client, plan, values, index=context.index)
    submission.group = ensured.group
    await submission.log("requirement_group", ensured.outcome, ensured.group.id)


async def submit_stage(client: AsyncTelnyx, submission: Submission, context: StageContext) -> None:
    """The group submitted for review, unless already pending or decided."""
    if submission.group is None:
        return
    submission.group, outcome = await submit_requirement_group(client, submission.group, index=context.index)
    submission.submitted = True
    await submission.log("submit", outcome, submission.group.id, submission.group.status or "")


async def wait_for_review(client: AsyncTelnyx, submission: Submission, settings: PipelineSettings) -> None:
    """Between the two halves, for one onboarding: poll a pending group until decided or
    ``COMPLIANCE_APPROVAL_POLL_TIMEOUT`` passes (a bulk run waits for all its groups together instead)."""
    group = submission.group
    if group is None:
        return
    if group.status == GroupStatus.PENDING:
        group = await poll_approval(
            client,
            group.id,
            timeout=settings.approval_poll_timeout,
            interval=settings.approval_poll_interval,
            max_interval=settings.approval_poll_max_interval,
        )
    submission.group = group
    await submission.log("approval", "unchanged", group.id, group.status or "")


async def number_order_stage(client: AsyncTelnyx, submission: Submission, context: StageContext) -> None:
    """The request's numbers ordered carrying the group, once approved or still pending at the end of the
    wait (see :func:`should_place_order`)."""
    plan, group = submission.plan, submission.group
    if group is not None and group.presumed and not (plan.phone_numbers or plan.has_orders_given):
        group = submission.group = await _read_group(client, group)  # no order will confirm the approval
    if not should_place_order(group):
        return
    submission.order = await ensure_number_order(
        client, plan, group_id=group.id if group is not None else None, index=context.index
    )
    if submission.order is not None:
        await submission.log("number_order", submission.order.outcome, submission.order.id)


async def attach_stage(client: AsyncTelnyx, submission: Submission, context: StageContext) -> None:
    """The group on every order that exists already (see :func:`should_attach`); the index says which
    documents are linked (a bulk run's snapshot from the group's values, a live lookup from
    ``document_links``)."""
    group = submission.group
    if group is None or not should_attach(group):
        return
    submission.attached = await attach_orders(
        client,
        submission.plan,
        group,
        submission.order,
        submission.documents,
        index=context.index,
    )
    for attached_order in submission.attached:
        await submission.log("attach", "updated", attached_order.id)
    if group.presumed and any(order.requirements_met is False for order in submission.attached):
        submission.group = await _read_group(client, group)  # not met: the approval was presumed wrongly


#: Before Telnyx's review, in order. A failure in here rolls back the documents uploaded.
SUBMISSION_STAGES: Final = (
    Stage("address", address_stage),
    Stage("documents", documents_stage),
    Stage("requirement_group", requirement_group_stage),
    Stage("submit", submit_stage),
)
#: After the review (or the end of the wait), in order.
COMPLETION_STAGES: Final = (
    Stage("number_order", number_order_stage),
    Stage("attach", attach_stage),
)


async def submit_onboarding(
    client: AsyncTelnyx,
    request: OnboardingRequest,
    *,
    mapping: RequirementMapping | None = None,
    settings: PipelineSettings | None = None,
    index: ResourceIndex | None = None,
    cache: RequirementsCache | None = None,
    log: StepLog | None = None,
    documents_root: Path | None = None,
) -> Submission | OnboardingResult:
    """Requirements, plan, then :data:`SUBMISSION_STAGES`: everything before the review.

    Returns the result instead when the onboarding cannot go on (plan problems, API errors). A failure
    before the group was submitted deletes the documents this call uploaded that nothing links.
    ``index`` says what exists already (default: a live lookup per resource); ``cache`` keeps the
    requirements looked up (a bulk run shares one).
    """
    settings = settings or PipelineSettings()
    mapping = mapping or settings.mapping()
    log = log or StepLog()
    index = index or LiveIndex(client)
    try:
        requirements, number_problems = await lookup_all_requirements(client, request, cache=cache)
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
        return OnboardingResult.failed(request.key, str(error), kind=kind_of(error), steps=tuple(log.events))
    except APIError as error:
        return OnboardingResult.failed(
            request.key, f"{type(error).__name__}: {error}", kind=kind_of(error), steps=tuple(log.events)
        )

    submission = Submission(plan=plan, log=log)
    uploaded_now: list[str] = []
    context = StageContext(index=index, on_upload=lambda document: uploaded_now.append(document.document_id))
    try:
        for stage in SUBMISSION_STAGES:
            await stage.run(client, submission, context)
    except (OnboardingError, APIError) as error:
        if not submission.submitted and uploaded_now:
            await _roll_back(client, uploaded_now, submission, index)
        return submission.result(error=error)
    except Exception:  # (not a crash: a killed process rolls nothing back; the rerun finds what it made)
        if not submission.submitted and uploaded_now:
            await _roll_back(client, uploaded_now, submission, index)
        raise
    return submission


async def _roll_back(
    client: AsyncTelnyx, document_ids: Sequence[str], submission: Submission, index: ResourceIndex
) -> None:
    group_id = submission.group.id if submission.group is not None else None
    await discard_uploads(client, document_ids, group_id, index=index)


async def finish_onboarding(
    client: AsyncTelnyx,
    submission: Submission,
    group: GroupSnapshot | None,
    *,
    index: ResourceIndex | None = None,
) -> OnboardingResult:
    """After the review (or the end of the wait, ``group`` as it then was): :data:`COMPLETION_STAGES`, then
    the result. ``index``: what exists already (default: a live lookup)."""
    done = dataclasses.replace(submission.copy(), group=group, order=None, attached=[])
    context = StageContext(index=index)
    try:
        for stage in COMPLETION_STAGES:
            await stage.run(client, done, context)
    except (OnboardingError, APIError) as error:
        return done.result(error=error)
    return done.result()


async def _read_group(client: AsyncTelnyx, group: GroupSnapshot) -> GroupSnapshot:
    return GroupSnapshot.from_api(await client.requirement_groups.retrieve(group.id))


async def onboard(
    client: AsyncTelnyx,
    request: OnboardingRequest,
    *,
    mapping: RequirementMapping | None = None,
    settings: PipelineSettings | None = None,
    on_step: OnStep | None = None,
    index: ResourceIndex | None = None,
    cache: RequirementsCache | None = None,
    documents_root: Path | None = None,
) -> OnboardingResult:
    """Take one request from nothing to an approved group attached to its orders; never raises for an
    outcome an operator acts on (plan problems, API errors, declines): those come back as the result.

    :func:`submit_onboarding`, then :func:`wait_for_review`, then :func:`finish_onboarding`. ``on_step`` is
    told about each step (and can stop the run by raising, as tests do to simulate a crash). ``index``:
    what exists already (default: a live lookup per resource; :meth:`~.known.KnownResources.fetch` reads a
    snapshot instead); ``cache`` keeps the requirements looked up, for onboardings that share one.
    """
    settings = settings or PipelineSettings()
    submission = await submit_onboarding(
        client,
        request,
        mapping=mapping,
        settings=settings,
        index=index,
        cache=cache,
        log=StepLog(on_step),
        documents_root=documents_root,
    )
    if isinstance(submission, OnboardingResult):
        return submission
    try:
        await wait_for_review(client, submission, settings)
    except (OnboardingError, APIError) as error:
        return submission.result(error=error)
    return await finish_onboarding(client, submission, submission.group, index=index)
