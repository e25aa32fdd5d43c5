"""Finish onboardings handed over while their requirement group was pending: poll, attach, report.

Everything is derived from Telnyx, never from private state, so any number of runs (scheduled, manual,
concurrent) see the same picture:

* our groups: every requirement group whose ``customer_reference`` is one of ours
  (:func:`~telnyx_compliance.onboarding.references.is_group_reference`); one list call polls them all;
* the orders waiting for a group: number orders whose requirements are not met and whose reference starts
  with :func:`~telnyx_compliance.onboarding.references.order_reference_prefix_for_group`, plus the orders an
  onboarding was given by id (its :class:`~telnyx_compliance.onboarding.results.HandOver`), which nothing on
  Telnyx's side ties to the group before it is attached;
* an approved group is attached to each waiting sub-number order (or ordered number) not attached yet.

Attaching is an assignment, and each order is re-read right before it is attached, so two runs racing on
the same group at worst assign the same group twice: no order is ever attached to a group that is not
approved, and nothing is created.

The published report (:func:`reconcile_markdown`) lists what the run attached, then where every group
stands once it is done: :func:`~telnyx_compliance.onboarding.status.group_status`'s rows (read with
``reconcile(..., with_status=True)``), the ones ``compliance status`` prints.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from telnyx_compliance._client import AsyncTelnyx
from telnyx_compliance._exceptions import APIError
from telnyx_compliance._text import escape_markdown, markdown_code
from telnyx_compliance.models.requirement_groups import REJECTED_GROUP_STATUSES, GroupStatus
from telnyx_compliance.onboarding.ensure import attach_requirement_group
from telnyx_compliance.onboarding.references import DEFAULT_PREFIX
from telnyx_compliance.onboarding.results import AttachedOrder, HandOver
from telnyx_compliance.onboarding.snapshots import (
    GroupSnapshot,
)
from telnyx_compliance.onboarding.status import (
    GroupStanding,
    GroupState,
    StatusReport,
    WaitingOrder,
    group_reference_of_order,
    group_status,
    list_pipeline_groups,
    list_waiting_orders,
    status_markdown_lines,
)

__all__ = [
    "GroupOutcome",
    "ReconcileReport",
    "WaitingOrder",
    "group_reference_of_order",
    "list_pipeline_groups",
    "list_waiting_orders",
    "reconcile",
    "reconcile_markdown",
]

GroupAction = Literal["attached", "up_to_date", "pending", "declined", "expired", "failed", "unapproved"]


class GroupOutcome(BaseModel):
    """What one run saw and did for one of our groups."""

    model_config = ConfigDict(frozen=True)

    group_id: str
    customer_reference: str
    status: str | None
    action: GroupAction
    attached: tuple[AttachedOrder, ...] = ()
    already_attached: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()
    #: Requirement id -> the reviewer's reason, for each requirement declined (``reasons`` as a mapping).
    requirement_reasons: dict[str, str] = Field(default_factory=dict)
    error: str | None = None


class ReconcileReport(BaseModel):
    """One reconcile run: an outcome per group of ours that needed a look."""

    model_config = ConfigDict(frozen=True)

    prefix: str
    groups_seen: int
    outcomes: tuple[GroupOutcome, ...] = ()
    #: Where every group stands once this run's attaches are done (``reconcile(..., with_status=True)``):
    #: the report ``compliance status`` prints, and the one the published artifact lists.
    status: StatusReport | None = None

    def count(self, action: GroupAction) -> int:
        return sum(1 for outcome in self.outcomes if outcome.action == action)

    @property
    def attached_orders(self) -> tuple[AttachedOrder, ...]:
        return tuple(order for outcome in self.outcomes for order in outcome.attached)

    @property
    def needs_attention(self) -> tuple[GroupOutcome, ...]:
        """Declined, expired and failed groups: an operator has to act on them."""
        return tuple(o for o in self.outcomes if o.action in {"declined", "expired", "failed"})


def _reasons(group: GroupSnapshot, raw_reason: str | None) -> tuple[str, ...]:
    reasons = [
        f"{review.requirement_id}: {review.reason or review.status}"
        for review in group.requirements
        if review.reason or review.status in REJECTED_GROUP_STATUSES
    ]
    if raw_reason and not reasons:
        reasons.append(raw_reason)
    return tuple(reasons)


def _attached_to(order_extra: dict[str, object] | None, group_id: str) -> bool:
    return bool(order_extra) and (order_extra or {}).get("requirement_group_id") == group_id


async def _attach_waiting(
    client: AsyncTelnyx, group: GroupSnapshot, orders: Sequence[WaitingOrder]
) -> tuple[list[AttachedOrder], list[str]]:
    """Attach ``group`` to each order not attached yet; (attached now, already attached)."""
    sub_ids = list(dict.fromkeys(i for order in orders for i in order.sub_number_order_ids))
    number_ids = list(dict.fromkeys(i for order in orders for i in order.number_order_phone_number_ids))
    to_attach_subs: list[str] = []
    to_attach_numbers: list[str] = []
    already: list[str] = []
    # Re-read each order right before acting: another run may have attached it meanwhile.
    for sub_id in sub_ids:
        sub = (await client.sub_number_orders.retrieve(sub_id)).data
        if sub is None:
            continue
        if sub.status == "failure":  # cancelled: nothing to attach
            continue
        if _attached_to(sub.model_extra, group.id):
            already.append(sub_id)
        else:
            to_attach_subs.append(sub_id)
    for number_id in number_ids:
        number = (await client.number_order_phone_numbers.retrieve(number_id)).data
        if number is None or number.status == "failure":
            continue
        if _attached_to(number.model_extra, group.id):
            already.append(number_id)
        else:
            to_attach_numbers.append(number_id)
    attached = await attach_requirement_group(
        client,
        group.id,
        sub_number_order_ids=to_attach_subs,
        number_order_phone_number_ids=to_attach_numbers,
    )
    return attached, already


async def reconcile(
    client: AsyncTelnyx,
    *,
    prefix: str = DEFAULT_PREFIX,
    handovers: Iterable[HandOver] = (),
    with_status: bool = False,
) -> ReconcileReport:
    """Poll our groups, attach the approved ones to their waiting orders, report the rest.

    Groups that are approved with nothing waiting are counted, not listed. An API error on one group is
    reported on that group and the others go on. ``with_status``: once the attaches are done, also read
    where every group stands (:func:`~telnyx_compliance.onboarding.status.group_status`, GET list calls only)
    into ``status``, what :func:`reconcile_markdown` lists.
    """
    groups = await list_pipeline_groups(client, prefix)
    by_handover: dict[str, list[WaitingOrder]] = defaultdict(list)
    for handover in handovers:
        by_handover[handover.requirement_group_id].append(
            WaitingOrder(
                number_order_id=handover.number_order_id,
                customer_reference=handover.order_reference,
                sub_number_order_ids=handover.sub_number_order_ids,
                number_order_phone_number_ids=handover.number_order_phone_number_ids,
            )
        )
    approved = any(group.status == GroupStatus.APPROVED for group, _ in groups)
    waiting = await list_waiting_orders(client, prefix) if approved else {}

    outcomes: list[GroupOutcome] = []
    for group, raw_reason in groups:
        reference = group.customer_reference or ""
        if group.status == GroupStatus.APPROVED:
            orders = [*waiting.get(reference, []), *by_handover.get(group.id, [])]
            if not orders:
                continue
            try:
                attached, already = await _attach_waiting(client, group, orders)
            except APIError as error:
                outcomes.append(
                    GroupOutcome(
                        group_id=group.id,
                        customer_reference=reference,
                        status=group.status,
                        action="failed",
                        error=f"{type(error).__name__}: {error}",
                    )
                )
                continue
            outcomes.append(
                GroupOutcome(
                    group_id=group.id,
                    customer_reference=reference,
                    status=group.status,
                    action="attached" if attached else "up_to_date",
                    attached=tuple(attached),
                    already_attached=tuple(already),
                )
            )
        elif group.status in REJECTED_GROUP_STATUSES:
            outcomes.append(
                GroupOutcome(
                    group_id=group.id,
                    customer_reference=reference,
                    status=group.status,
                    action="declined" if group.status == GroupStatus.DECLINED else "expired",
                    reasons=_reasons(group, raw_reason),
                    requirement_reasons={
                        review.requirement_id: review.reason or review.status or GroupStatus.DECLINED
                        for review in group.requirements
                        if review.reason or review.status in REJECTED_GROUP_STATUSES
                    },
                )
            )
        elif group.status == GroupStatus.PENDING:
            outcomes.append(
                GroupOutcome(
                    group_id=group.id, customer_reference=reference, status=group.status, action="pending"
                )
            )
        elif group.id in by_handover:  # handed over, yet never submitted: someone has to look
            outcomes.append(
                GroupOutcome(
                    group_id=group.id, customer_reference=reference, status=group.status, action="unapproved"
                )
            )
    status = await group_status(client, prefix) if with_status else None
    return ReconcileReport(prefix=prefix, groups_seen=len(groups), outcomes=tuple(outcomes), status=status)


def _cell(text: str | None) -> str:
    """Text from a CSV or an answer (references, ids, statuses, reasons) as literal markdown."""
    return escape_markdown(text or "")


_STATE_OF_ACTION: dict[GroupAction, GroupState] = {
    "attached": "approved",
    "up_to_date": "approved",
    "pending": "pending",
    "declined": "declined",
    "expired": "expired",
    "unapproved": "unapproved",
}


def _status_of_outcomes(report: ReconcileReport) -> StatusReport:
    """A report made without ``with_status``: the groups its outcomes name (approved ones are in the
    run's own table of attaches; failed ones in its table of errors)."""
    rows = [
        GroupStanding(
            group_id=outcome.group_id,
            customer_reference=outcome.customer_reference,
            status=outcome.status,
            state=_STATE_OF_ACTION[outcome.action],
            reasons=outcome.reasons,
            requirement_reasons=outcome.requirement_reasons,
        )
        for outcome in report.outcomes
        if outcome.action not in {"attached", "up_to_date", "failed"}
    ]
    return StatusReport(prefix=report.prefix, taken_at="", groups=tuple(rows))


def reconcile_markdown(report: ReconcileReport) -> str:
    """The run as the operator reads it: counts, what this run attached and what failed, then where every
    group stands: the sections and rows of ``compliance status`` (:func:`status_markdown_lines`)."""
    lines = [
        "# Requirement groups reconciled",
        "",
        f"Groups of this pipeline ({markdown_code(f'{report.prefix}-…-group')}): **{report.groups_seen}**. "
        f"Attached now: **{report.count('attached')}**, still pending: **{report.count('pending')}**, "
        f"declined: **{report.count('declined')}**, expired: **{report.count('expired')}**, "
        f"failed: **{report.count('failed')}**.",
        "",
    ]
    attached = [o for o in report.outcomes if o.action in {"attached", "up_to_date"}]
    if attached:
        lines += [
            "## Attached",
            "",
            "| Group | Reference | Orders attached | Requirements met |",
            "|---|---|---|---|",
        ]
        for outcome in attached:
            ids = _cell(", ".join(order.id for order in outcome.attached)) or "(already attached)"
            met = _cell(", ".join(str(order.requirements_met) for order in outcome.attached)) or "-"
            group, reference = _cell(outcome.group_id), _cell(outcome.customer_reference)
            lines.append(f"| {group} | {reference} | {ids} | {met} |")
        lines.append("")
    failed = [o for o in report.outcomes if o.action == "failed"]
    if failed:
        lines += ["## Failed", "", "| Group | Reference | Error |", "|---|---|---|"]
        lines += [
            f"| {_cell(o.group_id)} | {_cell(o.customer_reference)} | {_cell(o.error or o.status)} |"
            for o in failed
        ]
        lines.append("")
    lines += status_markdown_lines(report.status or _status_of_outcomes(report))
    return "\n".join(lines)
