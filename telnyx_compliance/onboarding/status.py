"""Where every requirement group of this pipeline stands, read from Telnyx with list calls only.

:func:`group_status` is read-only (GET requests only) and is the one source of ``compliance status`` and of
the report the scheduled reconcile publishes, so both show the same rows:

* **our groups**: every requirement group whose ``customer_reference`` is one of ours
  (:func:`~telnyx_compliance.onboarding.references.is_group_reference`); one list call returns them all;
* **the orders waiting for a group**: number orders the pipeline placed whose requirements are not met,
  matched to their group by reference (``<base>-order-<hash>`` waits for ``<base>-group``); one paged list;
* **whether an approved group is on its orders**: only when an approved group has an order waiting, one
  paged list of the pending sub-number orders says which of them carry the group;
* **the names of the requirements declined**: one call per market with a declined or expired group.

Each group gets a :class:`GroupStanding`: ``pending`` since its submission, with its age; ``declined`` or
``expired`` with the reviewer's reasons (each requirement named once); ``approved`` attached or not (and the
orders waiting for it); ``unapproved`` (created, never submitted) and any status Telnyx adds as ``other``.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field

from telnyx_compliance._client import AsyncTelnyx
from telnyx_compliance._exceptions import APIError
from telnyx_compliance._pagination import AsyncPaginator
from telnyx_compliance._text import escape_markdown
from telnyx_compliance.models.number_orders import SubNumberOrder
from telnyx_compliance.models.requirement_groups import REJECTED_GROUP_STATUSES, GroupStatus, RequirementGroup
from telnyx_compliance.onboarding.references import (
    DEFAULT_PREFIX,
    GROUP_SUFFIX,
    ORDER_SUFFIX,
    group_reference,
    is_group_reference,
)
from telnyx_compliance.onboarding.request import OnboardingKey
from telnyx_compliance.onboarding.snapshots import GroupSnapshot

__all__ = [
    "GROUP_STATES",
    "STATUS_COLUMNS",
    "GroupStanding",
    "GroupState",
    "StatusReport",
    "WaitingOrder",
    "format_age",
    "group_reason",
    "group_reference_of_order",
    "group_status",
    "list_pipeline_groups",
    "list_waiting_orders",
    "status_markdown_lines",
    "status_rows",
]

GroupState = Literal["pending", "declined", "expired", "approved", "unapproved", "other"]
#: The states in the order a report lists them (what needs a look first).
GROUP_STATES: tuple[GroupState, ...] = ("declined", "expired", "pending", "unapproved", "approved", "other")
_STATE_OF_STATUS: dict[str | None, GroupState] = {
    GroupStatus.PENDING: "pending",
    GroupStatus.DECLINED: "declined",
    GroupStatus.EXPIRED: "expired",
    GroupStatus.APPROVED: "approved",
    GroupStatus.UNAPPROVED: "unapproved",
}
_PAGE_SIZE = 250
#: Extra group-level fields a reviewer's summary may come in (the sandbox and Telnyx add one).
_GROUP_REASON_FIELDS = ("status_reason", "reason", "decline_reason")
#: The status of a sub-number order whose requirements are not met yet.
_SUB_ORDER_PENDING = "pending"


class WaitingOrder(BaseModel):
    """Orders that wait for one requirement group: what an attach has to cover."""

    model_config = ConfigDict(frozen=True)

    number_order_id: str | None = None
    customer_reference: str | None = None
    sub_number_order_ids: tuple[str, ...] = ()
    number_order_phone_number_ids: tuple[str, ...] = ()
    #: Every live sub-number order of it carries the group (read for approved groups only; else None).
    carries_group: bool | None = None


class GroupStanding(BaseModel):
    """One of our requirement groups as Telnyx has it now."""

    model_config = ConfigDict(frozen=True)

    group_id: str
    customer_reference: str
    country_code: str | None = None
    phone_number_type: str | None = None
    action: str | None = None
    #: The status as Telnyx spells it (``pending-approval``, ...); ``state`` is what the report calls it.
    status: str | None = None
    state: GroupState
    #: When it entered this state, as Telnyx stamps it: the submission of a pending group, the decision of
    #: a decided one (the group's ``updated_at``, else its ``created_at``).
    since: str | None = None
    #: Seconds from ``since`` to when the report was taken (never negative).
    age_seconds: float | None = None
    #: ``"<requirement name>: <reason>"``, one per requirement declined (each name once).
    reasons: tuple[str, ...] = ()
    #: Requirement id -> the reviewer's reason, for each requirement declined.
    requirement_reasons: dict[str, str] = Field(default_factory=dict)
    #: Number orders placed for this group whose requirements are not met yet.
    waiting_orders: tuple[WaitingOrder, ...] = ()
    #: Approved groups only: True when no order waits for it to be attached, False when one does.
    attached: bool | None = None

    @property
    def orders_to_attach(self) -> tuple[WaitingOrder, ...]:
        """Waiting orders not carrying the group (what reconcile attaches once it is approved)."""
        return tuple(order for order in self.waiting_orders if order.carries_group is not True)


class StatusReport(BaseModel):
    """Every group of ours (or of one batch), the most urgent first."""

    model_config = ConfigDict(frozen=True)

    prefix: str
    #: When the report was taken (UTC, ISO 8601).
    taken_at: str
    #: The customer references it was restricted to (a results CSV's), or None for every group.
    references: tuple[str, ...] | None = None
    groups: tuple[GroupStanding, ...] = ()

    @computed_field  # type: ignore[prop-decorator]
    @property
    def counts(self) -> dict[str, int]:
        """Groups by state, and ``approved_not_attached``: approved groups an order still waits for."""
        tally = Counter(group.state for group in self.groups)
        counts: dict[str, int] = {state: tally[state] for state in GROUP_STATES}
        counts["approved_not_attached"] = sum(1 for group in self.groups if group.attached is False)
        return counts


# -- listing ------------------------------------------------------------------------------------------


def group_reference_of_order(order_reference: str | None) -> str | None:
    """The reference of the group an order placed by the pipeline waits for, or None for other orders.

    ``<base>-order-<hash>`` -> ``<base>-group`` (the inverse of ``order_reference_prefix_for_group``).
    """
    if not order_reference:
        return None
    marker = f"{ORDER_SUFFIX}-"
    cut = order_reference.rfind(marker)
    if cut <= 0 or "-" in order_reference[cut + len(marker) :]:
        return None
    return order_reference[:cut] + GROUP_SUFFIX


def group_reason(group: RequirementGroup) -> str | None:
    """The group-level reason Telnyx gives for a decision, if any."""
    extra = group.model_extra or {}
    return next((str(extra[name]) for name in _GROUP_REASON_FIELDS if extra.get(name)), None)


async def list_pipeline_groups(
    client: AsyncTelnyx, prefix: str = DEFAULT_PREFIX
) -> list[tuple[GroupSnapshot, str | None]]:
    """Every requirement group this pipeline created, with its current status and the group-level reason
    Telnyx gives for a decision, if any (one list call polls them all)."""
    return [
        (GroupSnapshot.from_api(group), group_reason(group))
        for group in await client.requirement_groups.list()
        if group.id and is_group_reference(group.customer_reference, prefix)
    ]


async def list_waiting_orders(
    client: AsyncTelnyx, prefix: str = DEFAULT_PREFIX
) -> dict[str, list[WaitingOrder]]:
    """Group reference -> the number orders the pipeline placed for it whose requirements are not met."""
    waiting: dict[str, list[WaitingOrder]] = defaultdict(list)
    async for order in client.number_orders.list(filter={"requirements_met": False}, page_size=_PAGE_SIZE):
        reference = order.customer_reference
        if not reference or not reference.startswith(f"{prefix}-"):
            continue
        group_reference_value = group_reference_of_order(reference)
        if group_reference_value is None:
            continue
        waiting[group_reference_value].append(
            WaitingOrder(
                number_order_id=order.id,
                customer_reference=reference,
                sub_number_order_ids=tuple(order.sub_number_orders_ids or ()),
            )
        )
    return dict(waiting)


async def _groups_of_pending_sub_orders(client: AsyncTelnyx) -> dict[str, str | None]:
    """Sub-number order id -> the requirement group it carries, for every sub-order not met yet.

    The contract gives this list no page parameters; the sandbox pages it (20 by default). Asking for pages
    of 250 and following ``meta`` reads every page where there are pages and one answer where there are not.
    """
    pages = AsyncPaginator(
        client,
        "/sub_number_orders",
        SubNumberOrder,
        params={"filter": {"status": _SUB_ORDER_PENDING}},
        page_size=_PAGE_SIZE,
    )
    carried: dict[str, str | None] = {}
    async for sub in pages:
        if sub.id:
            group_id = (sub.model_extra or {}).get("requirement_group_id")
            carried[sub.id] = str(group_id) if group_id else None
    return carried


async def _requirement_names(client: AsyncTelnyx, markets: Iterable[tuple[str, str, str]]) -> dict[str, str]:
    """Requirement id -> name, for the requirements of ``markets`` (country, number type, action); a market
    Telnyx cannot describe leaves its requirements named by id."""
    names: dict[str, str] = {}
    for country, number_type, action in sorted(set(markets)):
        try:
            answer = await client.regulatory_requirements.retrieve(
                filter={"country_code": country, "phone_number_type": number_type, "action": action}
            )
        except APIError:
            continue
        for market in answer.data or []:
            for requirement in market.regulatory_requirements or []:
                if requirement.id and requirement.name:
                    names.setdefault(requirement.id, requirement.name)
    return names


# -- one group ----------------------------------------------------------------------------------------


def _parse_time(stamp: str | None) -> datetime | None:
    if not stamp:
        return None
    try:
        parsed = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def format_age(seconds: float | None) -> str:
    """``3d 4h``, ``2h 5m``, ``4m 10s``, ``12s``: the two largest units."""
    if seconds is None:
        return ""
    whole = int(max(0.0, seconds))
    days, rest = divmod(whole, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    if minutes:
        return f"{minutes}m {secs}s"
    return f"{secs}s"


def _without_name(text: str, labels: Sequence[str]) -> str:
    """``text`` without leading ``"<label>:"`` (a reviewer's reason often names its requirement already)."""
    changed = True
    while changed:
        changed = False
        for label in labels:
            if label and text.casefold().startswith(f"{label}:".casefold()):
                text = text[len(label) + 1 :].lstrip()
                changed = True
    return text


def _reasons(
    snapshot: GroupSnapshot, raw_reason: str | None, names: dict[str, str]
) -> tuple[tuple[str, ...], dict[str, str]]:
    """(``"<name>: <reason>"`` per requirement, each name once; requirement id -> reason)."""
    explained = [review for review in snapshot.requirements if review.reason]
    rejected = [review for review in snapshot.requirements if review.status in REJECTED_GROUP_STATUSES]
    by_id: dict[str, str] = {}
    by_name: dict[str, list[str]] = {}
    for review in explained or ([] if raw_reason else rejected):
        name = names.get(review.requirement_id) or review.requirement_id
        text = _without_name(
            review.reason or review.status or GroupStatus.DECLINED, (name, review.requirement_id)
        )
        by_id[review.requirement_id] = text
        texts = by_name.setdefault(name, [])
        if text not in texts:
            texts.append(text)
    reasons = [f"{name}: {'; '.join(texts)}" for name, texts in by_name.items()]
    if not reasons and raw_reason:
        reasons.append(raw_reason)
    return tuple(reasons), by_id


def _group_status(
    group: RequirementGroup,
    *,
    now: datetime,
    waiting: Sequence[WaitingOrder],
    carried: dict[str, str | None],
    names: dict[str, str],
) -> GroupStanding:
    snapshot = GroupSnapshot.from_api(group)
    state = _STATE_OF_STATUS.get(group.status, "other")
    since = group.updated_at or group.created_at
    moment = _parse_time(since)
    reasons: tuple[str, ...] = ()
    requirement_reasons: dict[str, str] = {}
    if group.status in REJECTED_GROUP_STATUSES:
        reasons, requirement_reasons = _reasons(snapshot, group_reason(group), names)
    attached: bool | None = None
    if state == "approved":
        marked = [
            order.model_copy(
                update={
                    "carries_group": bool(order.sub_number_order_ids)
                    and all(carried.get(sub) == snapshot.id for sub in order.sub_number_order_ids)
                }
            )
            for order in waiting
        ]
        waiting = marked
        attached = all(order.carries_group for order in marked)
    return GroupStanding(
        group_id=snapshot.id,
        customer_reference=group.customer_reference or "",
        country_code=group.country_code,
        phone_number_type=group.phone_number_type,
        action=group.action,
        status=group.status,
        state=state,
        since=since,
        age_seconds=None if moment is None else max(0.0, (now - moment).total_seconds()),
        reasons=reasons,
        requirement_reasons=requirement_reasons,
        waiting_orders=tuple(waiting),
        attached=attached,
    )


def _batch_references(groups: Iterable[RequirementGroup], customers: Iterable[str], prefix: str) -> set[str]:
    """The group references the customers of a batch have in the markets of ``groups``."""
    wanted = {customer.strip() for customer in customers if customer and customer.strip()}
    markets = {
        (group.country_code, group.phone_number_type, group.action)
        for group in groups
        if group.country_code and group.phone_number_type and group.action
    }
    references: set[str] = set()
    for country, number_type, action in markets:
        for customer in wanted:
            key = OnboardingKey(
                customer_reference=customer,
                country_code=str(country),
                phone_number_type=str(number_type),
                action=str(action),
            )
            references.add(group_reference(key, prefix))
    return references


def _sort_key(group: GroupStanding) -> tuple[int, float, str]:
    # Within a state, the oldest first (the longest pending review leads), then by reference.
    return (GROUP_STATES.index(group.state), -(group.age_seconds or 0.0), group.customer_reference)


async def group_status(
    client: AsyncTelnyx,
    prefix: str = DEFAULT_PREFIX,
    references: Iterable[str] | None = None,
    *,
    now: datetime | None = None,
) -> StatusReport:
    """Every requirement group under ``prefix`` and where it stands (GET list calls only; see the module).

    ``references``: customer references (a results CSV's ``customer_reference`` column): only their groups.
    ``now``: the moment ages are measured to (default: the current time).
    """
    taken = now or datetime.now(UTC)
    restrict = None if references is None else tuple(dict.fromkeys(r.strip() for r in references if r))
    groups = [
        group
        for group in await client.requirement_groups.list()
        if group.id and is_group_reference(group.customer_reference, prefix)
    ]
    if restrict is not None:
        wanted = _batch_references(groups, restrict, prefix)
        groups = [group for group in groups if group.customer_reference in wanted]
    waiting = await list_waiting_orders(client, prefix) if groups else {}
    approved_waiting = any(
        group.status == GroupStatus.APPROVED and waiting.get(group.customer_reference or "")
        for group in groups
    )
    carried = await _groups_of_pending_sub_orders(client) if approved_waiting else {}
    declined_markets = {
        (str(group.country_code), str(group.phone_number_type), str(group.action))
        for group in groups
        if group.status in REJECTED_GROUP_STATUSES
        and group.country_code
        and group.phone_number_type
        and group.action
    }
    names = await _requirement_names(client, declined_markets) if declined_markets else {}
    rows = [
        _group_status(
            group,
            now=taken,
            waiting=waiting.get(group.customer_reference or "", ()),
            carried=carried,
            names=names,
        )
        for group in groups
    ]
    return StatusReport(
        prefix=prefix,
        taken_at=taken.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        references=restrict,
        groups=tuple(sorted(rows, key=_sort_key)),
    )


# -- rendering (shared by the terminal table and the reconcile artifact) ---------------------------------

#: The report's sections: title, and the states (and attachment) of the groups listed in it.
_SECTIONS: tuple[tuple[str, str], ...] = (
    (
        "Needs action",
        "Declined or expired: update the values named and rerun the onboarding (it updates and resubmits "
        "the group).",
    ),
    ("Approved, not attached yet", "An order still waits for the group: the next reconcile attaches it."),
    ("Waiting for Telnyx", "Under review since the time shown, or created and never submitted."),
    ("Approved", "On their orders: no order waits for them."),
    ("Other", "A status this pipeline does not know."),
)
STATUS_COLUMNS: tuple[str, ...] = ("Group", "Reference", "Status", "Since", "Age", "Details")


def _section_of(group: GroupStanding) -> str:
    if group.state in ("declined", "expired"):
        return "Needs action"
    if group.state == "approved":
        return "Approved" if group.attached is not False else "Approved, not attached yet"
    if group.state in ("pending", "unapproved"):
        return "Waiting for Telnyx"
    return "Other"


def _orders(orders: Sequence[WaitingOrder]) -> str:
    return ", ".join(order.number_order_id or order.customer_reference or "?" for order in orders)


def _details(group: GroupStanding) -> str:
    if group.state in ("declined", "expired"):
        return "; ".join(group.reasons) or "(no reason given)"
    if group.state == "approved":
        missing = group.orders_to_attach
        if missing:
            return f"not attached to order(s) waiting for it: {_orders(missing)}"
        if group.waiting_orders:
            return f"attached to {_orders(group.waiting_orders)} (requirements not met yet)"
        return "attached (no order waits for it)"
    if group.waiting_orders:
        return f"order(s) waiting for it: {_orders(group.waiting_orders)}"
    if group.state == "unapproved":
        return "never submitted for review"
    return ""


def status_rows(report: StatusReport) -> list[tuple[str, str, list[tuple[str, ...]]]]:
    """The report as sections of rows of plain text, cells in :data:`STATUS_COLUMNS` order:
    ``[(title, description, rows)]``, empty sections left out. Unescaped: each renderer escapes its cells."""
    by_section: dict[str, list[tuple[str, ...]]] = defaultdict(list)
    for group in report.groups:
        by_section[_section_of(group)].append(
            (
                group.group_id,
                group.customer_reference,
                group.status or "",
                group.since or "",
                format_age(group.age_seconds),
                _details(group),
            )
        )
    return [(title, about, by_section[title]) for title, about in _SECTIONS if by_section.get(title)]


def status_markdown_lines(report: StatusReport) -> list[str]:
    """The sections of :func:`status_rows` as markdown (``##`` headings, one table each), every cell
    literal text."""
    lines: list[str] = []
    for title, about, rows in status_rows(report):
        lines += [
            f"## {title}",
            "",
            about,
            "",
            "| " + " | ".join(STATUS_COLUMNS) + " |",
            "|" + "---|" * len(STATUS_COLUMNS),
        ]
        lines += ["| " + " | ".join(escape_markdown(cell) for cell in row) + " |" for row in rows]
        lines.append("")
    return lines
