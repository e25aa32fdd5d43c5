"""What a bulk run of a CSV *would* do, row by row, without writing anything: ``compliance plan``.

:func:`plan_bulk` reads what the bulk run reads before its first write (the snapshot of our resources,
:meth:`~.known.KnownResources.fetch`, and the requirements of each market and phone number, through a
:class:`~.lookups.RequirementsCache`), then walks the rows as :mod:`.runner` would, in file order, asking the
same snapshot what exists and telling it what the row would make (so the next row of the same onboarding
reuses it, as in the run). Every request it sends is a ``GET``: a guard on the client refuses anything else
while it plans (so do not share that client with a run meanwhile). It makes the run's list calls only, never
a call per row: the four listings of the snapshot (one call per page of what exists), one requirements
lookup per market, and, with ``number_lookups=True``, one lookup per 20 phone numbers to order; a group
whose values changed is read once, as the run reads it. By default each phone number is checked against its
numbering plan instead (a valid number of the row's country and number type), and the run's lookups are
counted among its reads: 10,000 rows of one market cost a handful of calls.

What it cannot see without a call per row: whether a document given by id (``doc_*`` naming an id) still
exists and was not denied (the run reads each), and how Telnyx's review will decide.

Each row gets one :class:`RowVerdict`:

=========  ================================================================================================
create     nothing exists yet for it
resume     some resources exist; ``steps`` are those left
update     values or documents differ from the group's (``detail`` names the requirements;
           ``back_to_review`` when the change sends an approved group back to review)
wait       its group is under review with these values: nothing to send until it is decided (``steps``
           are what follows the review, e.g. attaching the group to an order that exists already)
done       approved, and every order carries the group: no write (a rerun may carry its line over)
invalid    the row cannot run: every problem, by column (the CSV's, and the market's requirements')
blocked    the run would refuse it: values changed while its group is under review, a document stored
           under its reference with other content, a document found infected, a group already declined or
           expired with these values (the run reports the decline again)
=========  ================================================================================================

The writes a row's verdict lists are the requests the run sends for it (by method and route, as the
sandbox's request statistics name them), assuming Telnyx's review approves each group (a decline orders
nothing). Reads: those of the plan itself (the run makes the same ones), plus the run's per-row reads
(documents given by id, a group whose values changed). The run's polling of pending reviews is not counted.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal

import httpx

from telnyx_compliance._client import AsyncTelnyx
from telnyx_compliance._exceptions import APIError
from telnyx_compliance.models.requirement_groups import FINAL_GROUP_STATUSES, GroupStatus
from telnyx_compliance.onboarding.bulk.selection import Selection, classify
from telnyx_compliance.onboarding.csv_io import ParsedRow, count_rows, iter_rows
from telnyx_compliance.onboarding.errors import OnboardingError
from telnyx_compliance.onboarding.index import KnownDocument, KnownOrder
from telnyx_compliance.onboarding.known import KnownGroup, KnownResources, values_digest
from telnyx_compliance.onboarding.lookups import (
    MarketKey,
    NumberRequirements,
    RequirementsCache,
    check_phone_numbers,
    lookup_all_requirements,
    prefetch_numbers,
    prefetch_requirements,
)
from telnyx_compliance.onboarding.mapping import RequirementMapping
from telnyx_compliance.onboarding.plan import OnboardingPlan, PlanError
from telnyx_compliance.onboarding.request import numbering_plan_of
from telnyx_compliance.onboarding.results_csv import latest_results
from telnyx_compliance.onboarding.runner import plan_request
from telnyx_compliance.onboarding.snapshots import GroupSnapshot
from telnyx_compliance.settings import PipelineSettings

__all__ = [
    "ADDRESS",
    "ATTACH_NUMBER",
    "ATTACH_SUB_ORDER",
    "GROUP_CREATE",
    "GROUP_UPDATE",
    "NUMBER_ORDER",
    "SUBMIT",
    "UPLOAD",
    "VERDICTS",
    "BulkPlan",
    "RowVerdict",
    "Verdict",
    "WriteRefused",
    "plan_bulk",
]

Verdict = Literal["create", "resume", "update", "wait", "done", "invalid", "blocked"]
VERDICTS: Final[tuple[Verdict, ...]] = ("create", "resume", "update", "wait", "done", "invalid", "blocked")
#: Verdicts of rows the run would carry through (exit code 0 when every row has one of them).
PROCEEDING: Final = frozenset({"create", "resume", "update", "wait", "done"})

#: The writes, by method and route (as the sandbox's request statistics name them).
ADDRESS: Final = "POST /user_addresses"
UPLOAD: Final = "POST /documents"
GROUP_CREATE: Final = "POST /requirement_groups"
GROUP_UPDATE: Final = "PATCH /requirement_groups/{group_id}"
SUBMIT: Final = "POST /requirement_groups/{group_id}/submit_for_approval"
NUMBER_ORDER: Final = "POST /number_orders"
ATTACH_SUB_ORDER: Final = "POST /sub_number_orders/{sub_number_order_id}/requirement_group"
ATTACH_NUMBER: Final = "POST /number_order_phone_numbers/{number_id}/requirement_group"
#: The run's per-row reads the plan can foresee.
READ_DOCUMENT: Final = "GET /documents/{document_id}"
READ_GROUP: Final = "GET /requirement_groups/{group_id}"
READ_NUMBERS: Final = "GET /phone_numbers_regulatory_requirements"
#: Phone numbers per lookup (the endpoint answers one page of 20).
_NUMBERS_PER_LOOKUP = 20

#: Rows read ahead, so their phone numbers are looked up 20 per call (as the bulk run does).
_BATCH = 100
#: What the plan pretends a resource it would create is called (never sent anywhere).
_PLANNED = "(planned)"


def _local_number(phone_number: str) -> NumberRequirements:
    """What a number's numbering plan tells without asking Telnyx: its country and number type."""
    found = numbering_plan_of(phone_number)
    if found is None:
        return NumberRequirements(phone_number=phone_number, country_code="??", phone_number_type="invalid")
    country, number_type = found
    return NumberRequirements(
        phone_number=phone_number, country_code=country, phone_number_type=number_type or "a type not sold"
    )


class WriteRefused(RuntimeError):
    """The planner tried to send something other than a GET (a bug): refused before it left."""


@dataclass(frozen=True, slots=True)
class RowVerdict:
    """What the run would do with one row: its verdict, the steps (writes) left, why."""

    row: int
    customer_reference: str
    verdict: Verdict
    #: The writes the run would send for this row, in order (``"upload x2"``...), for people.
    steps: tuple[str, ...] = ()
    #: The same writes by method and route, with their counts.
    writes: tuple[tuple[str, int], ...] = ()
    #: Changed requirements (update), the reason (blocked), the state (wait, done).
    detail: str = ""
    #: (column, reason) of every problem of an invalid row.
    problems: tuple[tuple[str, str], ...] = ()
    #: An update of an approved group: it goes back to review.
    back_to_review: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "row": self.row,
            "customer_reference": self.customer_reference,
            "verdict": self.verdict,
            "steps": list(self.steps),
            "writes": dict(self.writes),
            "detail": self.detail,
            "problems": [{"column": column, "reason": reason} for column, reason in self.problems],
            "back_to_review": self.back_to_review,
        }


@dataclass
class BulkPlan:
    """The plan of a whole CSV: a verdict per row, the totals, the calls the run would make and how long
    they take at the rate the account allows now."""

    csv: str
    rows: list[RowVerdict] = field(default_factory=list)
    totals: Counter[str] = field(default_factory=Counter)
    writes: Counter[str] = field(default_factory=Counter)
    #: GET requests: those the plan made (the run makes the same) plus the run's foreseeable per-row reads.
    reads: Counter[str] = field(default_factory=Counter)
    #: Requests per second the account allows now (the client's limiter, from the last answer's headers).
    rate: float | None = None
    #: How long planning took (s).
    elapsed: float = 0.0
    #: Who judged the phone numbers to order: their numbering plan (no call), or Telnyx (a lookup per 20).
    numbers_checked_by: Literal["numbering plan", "telnyx"] = "numbering plan"

    @property
    def calls(self) -> Counter[str]:
        """Every call the run would make, by method."""
        by_method: Counter[str] = Counter()
        for route, count in (*self.writes.items(), *self.reads.items()):
            by_method[route.split(" ", 1)[0]] += count
        return by_method

    @property
    def seconds(self) -> float | None:
        """How long the run's calls take at :attr:`rate` (None when the rate is not known)."""
        if not self.rate:
            return None
        return sum(self.calls.values()) / self.rate

    @property
    def exit_code(self) -> int:
        """0 when every row would proceed (create, resume, update, wait, done), else 1."""
        return 0 if all(verdict in PROCEEDING for verdict in self.totals) else 1

    def add(self, verdict: RowVerdict) -> None:
        self.rows.append(verdict)
        self.totals[verdict.verdict] += 1
        for route, count in verdict.writes:
            self.writes[route] += count

    def as_dict(self) -> dict[str, Any]:
        return {
            "csv": self.csv,
            "rows": [row.as_dict() for row in self.rows],
            "totals": {verdict: self.totals[verdict] for verdict in VERDICTS},
            "calls": {
                "by_method": dict(sorted(self.calls.items())),
                "writes": dict(sorted(self.writes.items())),
                "reads": dict(sorted(self.reads.items())),
            },
            "rate_per_second": self.rate,
            "estimated_seconds": None if self.seconds is None else round(self.seconds, 1),
            "numbers_checked_by": self.numbers_checked_by,
            "exit_code": self.exit_code,
        }

    def table(self) -> list[dict[str, str]]:
        """One line per row, for a terminal table or a Prefect table artifact."""
        return [
            {
                "row": str(row.row),
                "customer_reference": row.customer_reference,
                "verdict": row.verdict + (" (back to review)" if row.back_to_review else ""),
                "steps": ", ".join(row.steps) or "-",
                "detail": row.detail
                or "; ".join(f"{column}: {reason}" for column, reason in row.problems)
                or "-",
            }
            for row in self.rows
        ]

    def summary_lines(self) -> list[str]:
        """The totals, the calls and the time, as a few lines of text."""
        totals = ", ".join(f"{self.totals[v]} {v}" for v in VERDICTS if self.totals[v])
        calls = ", ".join(f"{count} {method}" for method, count in sorted(self.calls.items())) or "none"
        if self.seconds is None:
            timing = "rate not known yet"
        else:
            timing = f"about {_duration(self.seconds)} at {self.rate:.1f} requests/s"
        lines = [
            f"{len(self.rows)} row(s): {totals or 'none'}",
            f"apply would send {sum(self.writes.values())} write(s); calls: {calls} ({timing}; "
            "the wait for reviews not included)",
        ]
        if self.numbers_checked_by == "numbering plan" and self.reads[READ_NUMBERS]:
            lines.append(
                "phone numbers checked against their numbering plan, not looked up "
                "(--number-lookups asks Telnyx about each)"
            )
        return lines


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


@contextlib.contextmanager
def _reads_only(client: AsyncTelnyx, reads: Counter[str]) -> Iterator[None]:
    """Count every request the client sends (by method and path), refusing any that is not a GET."""
    hooks = client._http.event_hooks

    async def hook(request: httpx.Request) -> None:
        if request.method != "GET":
            raise WriteRefused(f"planning sends GET requests only, not {request.method}")
        reads[f"GET {request.url.path}"] += 1

    hooks["request"] = [*hooks.get("request", []), hook]
    try:
        yield
    finally:
        hooks["request"] = [h for h in hooks.get("request", []) if h is not hook]


async def plan_bulk(
    csv_path: Path,
    client: AsyncTelnyx,
    *,
    settings: PipelineSettings | None = None,
    mapping: RequirementMapping | None = None,
    results_path: Path | None = None,
    documents_root: Path | None = None,
    fetch_document: Callable[[str], Path] | None = None,
    on_row: Callable[[RowVerdict], None] | None = None,
    number_lookups: bool = False,
) -> BulkPlan:
    """The plan of ``csv_path``: what a bulk run would do with each row (GET requests only).

    Raises ``CSVFormatError`` when the file as a whole is unusable, ``APIError`` when what exists cannot be
    read. ``results_path`` (default ``<csv>.results.csv``): the rows an earlier run completed there are
    carried over by the run, so they are ``done``. ``on_row`` hears each verdict as it is given.

    Phone numbers to order are checked against their numbering plan by default: each must be a valid number
    of the row's country and number type (libphonenumber's), and the run's lookups are counted among its
    reads. The plan then costs a few calls whatever the rows, but a number Telnyx does not know, classes
    otherwise, or adds requirements for is not seen. ``number_lookups=True`` asks Telnyx about each, as the
    run does (one call per 20 numbers).
    """
    settings = settings or PipelineSettings()
    mapping = mapping or settings.mapping()
    base_dir = documents_root or (
        Path(settings.documents_base_dir) if settings.documents_base_dir else csv_path.parent
    )
    started = time.monotonic()
    await asyncio.to_thread(count_rows, csv_path)  # the file as a whole, before any request
    results = results_path or csv_path.with_name(f"{csv_path.stem}.results.csv")
    selection = Selection.from_results(await asyncio.to_thread(latest_results, results))
    plan = BulkPlan(csv=str(csv_path), numbers_checked_by="telnyx" if number_lookups else "numbering plan")
    raw_reads: Counter[str] = Counter()
    with _reads_only(client, raw_reads):
        snapshot = await KnownResources.fetch(client, settings.reference_prefix)
        planner = _Planner(client, snapshot, RequirementsCache(), settings, mapping, base_dir)
        planner.number_lookups = number_lookups
        rows = iter_rows(
            csv_path,
            base_dir=base_dir,
            max_document_bytes=settings.max_document_bytes,
            fetch_document=fetch_document,
        )
        while batch := await asyncio.to_thread(lambda: list(itertools.islice(rows, _BATCH))):
            await planner.look_up(batch)
            for row in batch:
                verdict = await planner.judge(row, selection)
                if verdict is None:
                    continue
                plan.add(verdict)
                if on_row is not None:
                    on_row(verdict)
            planner.forget_numbers(batch)
    plan.reads = _templated(raw_reads) + planner.run_reads
    plan.rate = client.rate_limiter.rate if client.rate_limiter is not None else None
    plan.elapsed = time.monotonic() - started
    return plan


def _templated(reads: Mapping[str, int]) -> Counter[str]:
    """Paths with ids as route templates (``GET /requirement_groups/{id}``), list paths as they are."""
    templated: Counter[str] = Counter()
    for route, count in reads.items():
        method, path = route.split(" ", 1)
        parts = path.removeprefix("/v2").strip("/").split("/")
        shown = "/" + "/".join(part if index % 2 == 0 else "{id}" for index, part in enumerate(parts))
        templated[f"{method} {shown}"] += count
    return templated


class _Planner:
    """Walks the rows as the run would, against the run's snapshot (told what each row would make)."""

    def __init__(
        self,
        client: AsyncTelnyx,
        snapshot: KnownResources,
        cache: RequirementsCache,
        settings: PipelineSettings,
        mapping: RequirementMapping,
        documents_root: Path,
    ) -> None:
        self.client = client
        self.known = snapshot
        self.cache = cache
        self.settings = settings
        self.mapping = mapping
        self.documents_root = documents_root
        #: Markets Telnyx lists no requirements for (or whose lookup failed): looked up once.
        self.unknown_markets: dict[MarketKey, str] = {}
        #: Reads the run makes per row that the plan does not (documents given by id).
        self.run_reads: Counter[str] = Counter()
        #: Ask Telnyx about each phone number (as the run does), or check its numbering plan (see plan_bulk).
        self.number_lookups = False

    async def look_up(self, batch: list[ParsedRow]) -> None:
        """Each market's requirements once, and the batch's phone numbers 20 per call (as the run does)."""
        keys = [row.request.key for row in batch if row.request is not None]
        await prefetch_requirements(self.client, self.cache, keys)
        numbers = [n for row in batch if row.request is not None for n in row.request.phone_numbers]
        if not self.number_lookups:
            self.run_reads[READ_NUMBERS] += -(-len(set(numbers)) // _NUMBERS_PER_LOOKUP)
            return
        with contextlib.suppress(APIError):
            await prefetch_numbers(self.client, self.cache, numbers)

    def forget_numbers(self, batch: list[ParsedRow]) -> None:
        for row in batch:
            for number in row.request.phone_numbers if row.request is not None else ():
                self.cache.numbers.pop(number, None)

    async def judge(self, row: ParsedRow, selection: Selection) -> RowVerdict | None:
        action, _ = classify(row, selection)
        if action == "skip":
            return None
        if action == "carried":
            return RowVerdict(
                row.row_number, row.customer_reference, "done", detail="completed by an earlier run"
            )
        if row.request is None:
            return RowVerdict(
                row.row_number,
                row.customer_reference,
                "invalid",
                problems=tuple((error.column, error.reason) for error in row.errors),
            )
        request = row.request
        key = request.key
        market = (key.country_code, key.phone_number_type, key.action)
        if market in self.unknown_markets:
            return RowVerdict(
                row.row_number,
                row.customer_reference,
                "invalid",
                problems=(("country_code", self.unknown_markets[market]),),
            )
        try:
            if self.number_lookups or not request.phone_numbers:
                requirements, number_problems = await lookup_all_requirements(
                    self.client, request, cache=self.cache
                )
            else:
                without = request.model_copy(update={"phone_numbers": ()})
                requirements, _ = await lookup_all_requirements(self.client, without, cache=self.cache)
                number_problems = check_phone_numbers(
                    key, request.phone_numbers, [_local_number(n) for n in request.phone_numbers]
                )
            plan = plan_request(
                request,
                requirements,
                number_problems,
                mapping=self.mapping,
                settings=self.settings,
                documents_root=self.documents_root,
            )
        except PlanError as error:
            return RowVerdict(
                row.row_number,
                row.customer_reference,
                "invalid",
                problems=tuple((problem.column, problem.render()) for problem in error.problems),
            )
        except OnboardingError as error:
            if market not in self.cache.requirements:
                self.unknown_markets[market] = str(error)
            return RowVerdict(
                row.row_number, row.customer_reference, "invalid", problems=(("country_code", str(error)),)
            )
        return await self._judge_plan(row, plan)

    async def _judge_plan(self, row: ParsedRow, plan: OnboardingPlan) -> RowVerdict:
        known = self.known
        writes: Counter[str] = Counter()
        steps: list[str] = []
        existed = False  # anything of this row's stored before the plan (not made by an earlier row)

        def blocked(reason: str) -> RowVerdict:
            return RowVerdict(row.row_number, row.customer_reference, "blocked", detail=reason)

        # The address (ensure_address).
        address_id: str | None = None
        if plan.address is not None and plan.needs_address:
            address_id = await known.find_address(plan.address.reference)
            if address_id is None:
                address_id = f"{_PLANNED} {plan.address.reference}"
                writes[ADDRESS] += 1
                steps.append("create address")
                known.remember_address(plan.address.reference, address_id)
            existed |= not address_id.startswith(_PLANNED)

        # The documents (ensure_documents): given by id (the run reads each), reused, or uploaded.
        for item in plan.items:
            if item.document_id is not None:
                self.run_reads[READ_DOCUMENT] += 1
        document_ids: dict[str, str] = {}
        found = await known.find_documents([i.document.reference for i in plan.documents if i.document])
        uploads = 0
        for item in plan.documents:
            planned = item.document
            assert planned is not None
            stored = found.get(planned.reference)
            if stored is not None and stored.sha256 != planned.sha256:
                return blocked(
                    f"{item.requirement.name}: document {stored.id} stored under {planned.reference} has "
                    f"other content than {planned.filename}"
                )
            if stored is not None and stored.sure_decline:
                return blocked(f"{item.requirement.name}: document {stored.id} {stored.sure_decline}")
            if stored is None:
                stored = KnownDocument(f"{_PLANNED} {planned.reference}", planned.sha256)
                known.remember_document(planned.reference, stored)
                uploads += 1
            existed |= not stored.id.startswith(_PLANNED)
            document_ids[item.requirement.id] = stored.id
        if uploads:
            writes[UPLOAD] += uploads
            steps.append(f"upload {uploads} document(s)")

        # The requirement group (ensure_requirement_group, submit_requirement_group).
        values: dict[str, str] = {}
        for item in plan.items:
            if item.kind == "address":
                values[item.requirement.id] = address_id or ""
            elif item.kind == "document":
                values[item.requirement.id] = item.document_id or document_ids[item.requirement.id]
            else:
                values[item.requirement.id] = item.text or ""
        group_id: str | None = None
        status: str | None = None
        changed: list[str] = []
        back_to_review = False
        if plan.items:
            entry = known.groups.get(plan.group_reference)
            if entry is None:
                writes[GROUP_CREATE] += 1
                writes[SUBMIT] += 1
                steps += ["create requirement group", "submit for review"]
                group_id, status = f"{_PLANNED} {plan.group_reference}", GroupStatus.PENDING
                known.groups[plan.group_reference] = KnownGroup(group_id, status, values_digest(values))
            else:
                group_id, status = entry.id, entry.status
                existed |= not entry.id.startswith(_PLANNED)
                if entry.values_digest != values_digest(values):
                    current = await self._group_values(entry)
                    names = {item.requirement.id: item.requirement.name for item in plan.items}
                    changed = [names[rid] for rid, value in values.items() if current.get(rid) != value]
                    changed = changed or ["(values)"]
                if changed and status == GroupStatus.PENDING:
                    return blocked(
                        f"requirement group {entry.id} is under review, so {', '.join(changed)} cannot be "
                        "changed now; rerun once it is approved or declined"
                    )
                if changed:
                    back_to_review = status == GroupStatus.APPROVED
                    writes[GROUP_UPDATE] += 1
                    writes[SUBMIT] += 1
                    steps += [f"update {', '.join(changed)}", "submit for review"]
                    status = GroupStatus.PENDING
                elif status in {GroupStatus.DECLINED, GroupStatus.EXPIRED}:
                    return blocked(
                        f"requirement group {entry.id} is {status} with these values: the run reports the "
                        "decline again; change the values to resubmit"
                    )
                elif status not in FINAL_GROUP_STATUSES and status != GroupStatus.PENDING:
                    if status not in set(GroupStatus) and status:
                        return blocked(f"requirement group {entry.id} is in status {status!r}, unknown here")
                    writes[SUBMIT] += 1
                    steps.append("submit for review")
                    status = GroupStatus.PENDING
                known.groups[plan.group_reference] = KnownGroup(group_id, status, values_digest(values))
        waiting = status == GroupStatus.PENDING and not changed and "submit for review" not in steps

        # After the review (assumed approved): the order (ensure_number_order) and attaching (attach_orders).
        if plan.phone_numbers:
            order = await known.find_order(plan.order_reference)
            if order is None:
                writes[NUMBER_ORDER] += 1
                steps.append("order numbers")
                known.remember_order(
                    plan.order_reference,
                    KnownOrder(f"{_PLANNED} {plan.order_reference}", requirement_group_id=group_id),
                )
            else:
                existed |= not order.id.startswith(_PLANNED)
                carried = group_id is None or order.carries(group_id)
                if not carried and order.sub_number_order_ids:
                    writes[ATTACH_SUB_ORDER] += len(set(order.sub_number_order_ids))
                    steps.append(
                        f"attach group to {len(set(order.sub_number_order_ids))} sub-number order(s)"
                    )
        if group_id is not None and plan.sub_number_order_ids:
            writes[ATTACH_SUB_ORDER] += len(set(plan.sub_number_order_ids))
            steps.append(f"attach group to {len(set(plan.sub_number_order_ids))} given sub-number order(s)")
        if group_id is not None and plan.number_order_phone_number_ids:
            count = len(set(plan.number_order_phone_number_ids))
            writes[ATTACH_NUMBER] += count
            steps.append(f"attach group to {count} given ordered number(s)")

        verdict: Verdict
        detail = ""
        if changed:
            verdict = "update"
            detail = f"changed: {', '.join(changed)}" + (
                "; the approved group goes back to review" if back_to_review else ""
            )
        elif not existed:
            verdict = "create"
        elif waiting:
            verdict = "wait"
            detail = "under review" + ("; then: " + ", ".join(steps) if steps else "")
        elif not writes:
            verdict = "done"
            detail = "approved; every order carries the group" if plan.items else "nothing left to do"
        else:
            verdict = "resume"
        return RowVerdict(
            row.row_number,
            row.customer_reference,
            verdict,
            steps=tuple(steps),
            writes=tuple(sorted(writes.items())),
            detail=detail,
            back_to_review=back_to_review,
        )

    async def _group_values(self, entry: KnownGroup) -> dict[str, str]:
        """The values the group holds now (one GET, as the run's ensure step makes: counted in the plan's
        reads); none for a group the plan itself would create."""
        if entry.id.startswith(_PLANNED):
            return {}
        return GroupSnapshot.from_api(await self.client.requirement_groups.retrieve(entry.id)).values
