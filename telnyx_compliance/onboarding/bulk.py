"""Onboarding every row of a CSV at the account's rate limit, with one line of result per row.

No Prefect here: ``flows/bulk_onboard.py`` runs a :class:`BulkRun` as a flow; tests and scripts run it
directly (:func:`run_bulk_async`). A run goes:

1. **Check** the file as a whole (header, encoding, every record's cells, at least one row) with a quick
   pass of the standard library's reader: a file unusable as a whole stops here, before anything is sent.
2. **Snapshot**: what already exists under our reference prefix
   (:class:`~telnyx_compliance.onboarding.known.KnownResources`), read once; every row consults it instead
   of looking its resources up.
3. **Run**, in one streaming pass: rows are read and validated in batches (in a thread, so the event loop
   keeps pacing requests); an invalid row, or one an earlier run completed, gets its line at once; the
   others enter as concurrency slots free up. A market's requirements are looked up when its first row
   comes, once; the phone numbers of the rows about to enter are looked up 20 per call. A row holds a slot
   only while it is submitted (:func:`~.runner.submit_onboarding`: requirements, plan, address, documents,
   group, submit); it waits for Telnyx's review holding none (one :class:`~.approvals.ApprovalWatcher`
   polls for the whole run), then is finished (:func:`~.runner.finish_onboarding`: its numbers ordered
   carrying the group, the group attached to the orders given by id) and its line written. Rows of one
   onboarding (same customer, country, number type and action) are submitted one after the other: the
   first creates the address, documents and group, the next ones reuse them and add their own orders.
4. **Deadline**: once every row is submitted the watcher waits ``COMPLIANCE_APPROVAL_POLL_TIMEOUT`` more;
   the groups still pending then are finished together as ``pending_approval``: their orders are placed
   carrying the group and every order is wired to it, so reconcile only has to report the decision.

* **Concurrency follows the rate** the server allows (``rate x 1 s`` rows in submission, between 8 and
  256; 16 while no limit is known), unless ``max_concurrency`` fixes it.
* **Memory follows concurrency**, not rows: rows are streamed and results written as rows finish.
* **Results** are appended as rows finish and synced to disk at least every half second: a crash loses at
  most that much, and a rerun finds what those rows created.
* **Transient failures**: a row that failed on a transient API error its requests' retries did not outlast
  (429, 408, 5xx, connection; not a write whose outcome stayed unknown) runs that stage again, at most
  :data:`TRANSIENT_RETRIES` times: every step finds what the earlier attempt created.
* **Reruns**: a row whose previous line in the results CSV is ``completed`` (recognised by the hash of its
  cells, so inserted rows do not confuse it) is not run again; its line is carried over. ``only_failed``
  runs just the rows a given results CSV marks ``failed``.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import math
import re
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from telnyx_compliance._client import AsyncTelnyx
from telnyx_compliance._exceptions import APIError
from telnyx_compliance._safe_logging import library_logger
from telnyx_compliance._text import escape_markdown, markdown_code
from telnyx_compliance.onboarding.approvals import ApprovalWatcher
from telnyx_compliance.onboarding.csv_io import ParsedRow, count_rows, iter_rows
from telnyx_compliance.onboarding.csv_source import (
    BulkLocations,
    normal_location,
    redact_source,
    results_location_for,
)
from telnyx_compliance.onboarding.index import LiveIndex, ResourceIndex
from telnyx_compliance.onboarding.known import KnownResources
from telnyx_compliance.onboarding.lookups import (
    MarketKey,
    RequirementsCache,
    prefetch_numbers,
    prefetch_requirements,
)
from telnyx_compliance.onboarding.mapping import RequirementMapping
from telnyx_compliance.onboarding.request import OnboardingKey
from telnyx_compliance.onboarding.results import GroupDecision, HandOver, OnboardingResult
from telnyx_compliance.onboarding.results_csv import (
    ROW_STATUSES,
    ResultRow,
    ResultsWriter,
    RowStatus,
    fitted,
    latest_results,
)
from telnyx_compliance.onboarding.runner import Submission, finish_onboarding, submit_onboarding
from telnyx_compliance.onboarding.snapshots import GroupSnapshot
from telnyx_compliance.settings import PipelineSettings

_PLAN_KEY = re.compile(r"\[([a-z0-9_]+)\]")
_LINE_BREAKS = re.compile(r"\s*\n\s*")
#: An unexpected exception's message is cut here in the results CSV.
_MAX_ERROR = 1000
#: Further runs of a stage that failed on a transient API error (see the module docstring).
TRANSIENT_RETRIES = 2
#: Pause before the first of them (s); doubles for the next.
TRANSIENT_PAUSE = 1.0
#: Rows in submission per request per second the server allows (a request may take about this long).
SECONDS_PER_REQUEST = 1.0
MIN_CONCURRENCY, MAX_CONCURRENCY, UNKNOWN_RATE_CONCURRENCY = 8, 256, 16
#: Rows read ahead of those entering, so their phone numbers can be looked up 20 per call.
LOOKAHEAD_ROWS = 100
#: The results CSV is synced to disk at least this often (s).
SYNC_EVERY = 0.5
_ERROR_HEAD = re.compile(r"^([A-Za-z_][\w.]*(?:Error|Exception))\b")
#: Phrases of the pipeline's errors that mean "fix the input", not "try again" (see ``row_status``).
_INVALID_PHRASES = ("cannot be met", "lists no requirements")

OnRow = Callable[[ResultRow], None]

logger = library_logger("telnyx_compliance.bulk")
# Rows' log lines quote their customer reference and errors: no control character of a CSV cell in them.


@dataclass
class BulkSummary:
    """What a bulk onboarding did, counted per input row."""

    csv_path: Path
    results_path: Path
    #: The CSV and the results CSV as the user named them (a path or a URL, without credentials).
    csv_location: str = ""
    results_location: str = ""
    counts: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    #: Rows not run because an earlier run completed them (their line was carried over).
    carried_over: int = 0
    #: Onboardings (distinct customer, country, number type and action) among the rows run.
    groups: int = 0
    #: What reconcile needs of the rows still pending when the run's wait ended.
    handovers: list[HandOver] = field(default_factory=list)
    #: Decisions (approved, declined, expired) on the requirement groups of the rows run, one per group, not
    #: yet handed to a listener (:meth:`BulkRun.listen`): a listener takes them as they come, so a run of
    #: 100,000 rows does not keep 100,000 of them.
    decisions: dict[str, GroupDecision] = field(default_factory=dict)
    #: How many groups of each status the rows run saw decided (delivered or not).
    decision_counts: Counter[str] = field(default_factory=Counter)
    #: The groups decided so far: rows of one onboarding share a group, and it is reported once.
    decided_groups: set[str] = field(default_factory=set, repr=False)

    def decided(self, decision: GroupDecision, listener: Callable[[GroupDecision], None] | None) -> None:
        """Count ``decision`` and hand it to ``listener``, or keep it until one listens (once per group)."""
        if decision.requirement_group_id in self.decided_groups:
            return
        self.decided_groups.add(decision.requirement_group_id)
        self.decision_counts[decision.status] += 1
        if listener is None:
            self.decisions[decision.requirement_group_id] = decision
        else:
            listener(decision)

    @property
    def rows(self) -> int:
        return sum(self.counts.values())

    @property
    def valid_rows(self) -> int:
        return self.rows - self.counts["invalid"]

    @property
    def exit_code(self) -> int:
        """0 only when every valid row completed (invalid rows were reported, not run); else 1."""
        return 0 if self.counts["completed"] == self.valid_rows else 1

    def add(self, result: ResultRow) -> None:
        self.counts[result.status] += 1
        if result.status != "completed":
            self.errors[error_category(result)] += 1

    @property
    def csv_name(self) -> str:
        """The CSV's file name (of its location as named, not of a local copy)."""
        location = self.csv_location or str(self.csv_path)
        return location.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]

    def as_table(self) -> list[dict[str, str | int]]:
        """Counts by status, every status listed, for tables and artifacts."""
        return [{"status": status, "rows": self.counts[status]} for status in ROW_STATUSES]

    def as_dict(self) -> dict[str, object]:
        """The summary for scripts (``compliance onboard --json``)."""
        return {
            "csv": self.csv_location or str(self.csv_path),
            "results": self.results_location or str(self.results_path),
            "rows": self.rows,
            "counts": {status: self.counts[status] for status in ROW_STATUSES},
            "carried_over": self.carried_over,
            "onboardings": self.groups,
            "errors": dict(self.errors.most_common()),
            "handed_over": len(self.handovers),
            "exit_code": self.exit_code,
        }

    def markdown(self) -> str:
        """A markdown summary: counts by status and by error."""
        lines = [
            f"## Bulk onboarding of {markdown_code(self.csv_name)}",
            "",
            f"{self.rows} row(s) in {self.groups} onboarding group(s); "
            f"{self.carried_over} carried over from an earlier run. "
            f"Results: {markdown_code(self.results_location or str(self.results_path))}.",
            "",
            "| status | rows |",
            "| --- | ---: |",
            *(f"| {row['status']} | {row['rows']} |" for row in self.as_table()),
        ]
        if self.errors:
            lines += ["", "| error | rows |", "| --- | ---: |"]
            lines += [
                f"| {_markdown_cell(error)} | {count} |" for error, count in self.errors.most_common(20)
            ]
        return "\n".join(lines) + "\n"


def _markdown_cell(text: str) -> str:
    return escape_markdown(text)


def error_category(result: ResultRow) -> str:
    """A short label grouping similar errors: the failing columns, the exception type, or the status."""
    if result.status == "invalid":
        # Plan problems name requirement keys as "[key]"; CSV problems are "column: reason; ...".
        keys = sorted(set(_PLAN_KEY.findall(result.error)))
        columns = keys or sorted(
            {part.split(":", 1)[0].strip() for part in result.error.split("; ") if ":" in part}
        )
        return "invalid " + ", ".join(columns) if columns else "invalid"
    if result.status == "pending_approval":
        return "pending approval"
    if result.status == "declined":
        return "declined"
    head = _ERROR_HEAD.match(result.error)
    if head:
        return head.group(1)
    return (result.error.split(":", 1)[0] or result.status)[:80]


def row_status(result: OnboardingResult) -> RowStatus:
    """The results-CSV status of a row: the pipeline's, with plan problems reported as ``invalid``.

    The pipeline reports a plan that cannot be met (and an unknown market) as ``failed`` before any
    write; for an operator that is an input to fix, not a failure to retry.
    """
    if result.status == "failed" and result.requirement_group_id is None and result.address_id is None:
        planned = any(step.step == "plan" for step in result.steps)
        if not planned and any(phrase in (result.error or "") for phrase in _INVALID_PHRASES):
            return "invalid"
    return result.status


def result_row(row: ParsedRow, result: OnboardingResult) -> ResultRow:
    """One results-CSV line for ``row`` from its onboarding's result."""
    return ResultRow(
        row=row.row_number,
        customer_reference=row.customer_reference,
        status=row_status(result),
        address_id=result.address_id or "",
        document_ids=result.document_ids,
        requirement_group_id=result.requirement_group_id or "",
        requirement_group_status=result.requirement_group_status or "",
        attached_orders=tuple(order.id for order in result.attached_orders),
        error=_LINE_BREAKS.sub(" ", result.error or ""),
        row_digest=row.digest,
    )


def invalid_row(row: ParsedRow) -> ResultRow:
    return ResultRow(
        row=row.row_number,
        customer_reference=row.customer_reference,
        status="invalid",
        error=row.error_text,
        row_digest=row.digest,
    )


def _crashed_row(row: ParsedRow, error: BaseException) -> ResultRow:
    return ResultRow(
        row=row.row_number,
        customer_reference=row.customer_reference,
        status="failed",
        error=_LINE_BREAKS.sub(" ", f"{type(error).__name__}: {error}")[:_MAX_ERROR],
        row_digest=row.digest,
    )


# -- reading ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Selection:
    """Which rows of the file run: not those a rerun carries over; with ``only_failed``, only the rows that
    results CSV marks failed (same row number and customer reference)."""

    completed: dict[str, ResultRow] = field(default_factory=dict)  # row digest -> its completed line
    only_failed: dict[int, ResultRow] | None = None

    @classmethod
    def from_results(
        cls, previous: dict[int, ResultRow], only_failed: dict[int, ResultRow] | None = None
    ) -> Selection:
        completed = {line.row_digest: line for line in previous.values() if line.status == "completed"}
        return cls(completed=completed, only_failed=only_failed)

    def selected(self, row: ParsedRow) -> bool:
        """Not excluded by ``only_failed``."""
        if self.only_failed is None:
            return True
        earlier = self.only_failed.get(row.row_number)
        return earlier is not None and earlier.status == "failed" and _same_customer(earlier, row)

    def carried_line(self, row: ParsedRow) -> ResultRow | None:
        """The line of an earlier run that stands for ``row``, which does not run."""
        if not self.selected(row):
            assert self.only_failed is not None
            earlier = self.only_failed.get(row.row_number)
            if earlier is not None and _same_customer(earlier, row):
                return replace(earlier, row_digest=row.digest)
            return None
        done = self.completed.get(row.digest) if row.request is not None else None
        if done is None:
            return None
        return replace(done, row=row.row_number, customer_reference=row.customer_reference)

    def runs(self, row: ParsedRow) -> bool:
        """A valid row this run onboards."""
        return row.request is not None and self.selected(row) and row.digest not in self.completed


def _same_customer(earlier: ResultRow, row: ParsedRow) -> bool:
    """Whether a line of a results CSV is about ``row``'s customer: the reference as the file holds it (cut
    to its cell size; control characters are read back as they were)."""
    return fitted(earlier.customer_reference) == fitted(row.customer_reference)


RowAction = Literal["carried", "invalid", "run", "skip"]


def classify(row: ParsedRow, selection: Selection) -> tuple[RowAction, ResultRow | None]:
    """What a run does with ``row``: carry an earlier line over, write it as invalid, run it, or skip it
    (a row ``only_failed`` leaves alone and has no line to carry); with the line to write, if any."""
    carried = selection.carried_line(row)
    if carried is not None:
        return "carried", carried
    if row.request is None:
        return ("invalid", invalid_row(row)) if selection.selected(row) else ("skip", None)
    return ("run", None) if selection.runs(row) else ("skip", None)


# -- running ------------------------------------------------------------------------------------------


class _Slots:
    """Rows in submission: at most ``capacity()`` at once, re-read as the limiter learns the rate."""

    def __init__(self, capacity: Callable[[], int]) -> None:
        self.capacity = capacity
        self.used = 0
        self._freed = asyncio.Event()

    async def acquire(self) -> None:
        while self.used >= self.capacity():
            self._freed.clear()
            await self._freed.wait()
        self.used += 1

    def release(self) -> None:
        self.used -= 1
        self._freed.set()


class BulkRunner:
    """Runs rows through the pipeline: submitted within the concurrency bound, reviewed together, finished
    as their groups are decided; each row's line is written as it finishes."""

    def __init__(
        self,
        client: AsyncTelnyx,
        *,
        writer: ResultsWriter,
        summary: BulkSummary,
        settings: PipelineSettings,
        mapping: RequirementMapping,
        max_concurrency: int | None = None,
        on_row: OnRow | None = None,
        known: KnownResources | None = None,
        lookups: RequirementsCache | None = None,
        transient_retries: int | None = None,
        transient_pause: float | None = None,
        documents_root: Path | None = None,
    ) -> None:
        if max_concurrency is not None and max_concurrency < 1:
            raise ValueError("max_concurrency must be at least 1")
        self.transient_retries = TRANSIENT_RETRIES if transient_retries is None else transient_retries
        self.transient_pause = TRANSIENT_PAUSE if transient_pause is None else transient_pause
        self.client = client
        #: What exists already: the run's snapshot, or a live lookup per resource when it could not be read.
        self.index: ResourceIndex = known or LiveIndex(client)
        #: Requirements per market and per phone number, looked up once for the run.
        self.lookups = lookups or RequirementsCache()
        self.writer = writer
        self.summary = summary
        self.settings = settings
        self.mapping = mapping
        self.on_row = on_row
        #: Hears each requirement-group decision as it comes (None: kept in the summary).
        self.on_decision: Callable[[GroupDecision], None] | None = None
        self.max_concurrency = max_concurrency
        #: Where the rows' documents must lie (the CSV reader confined them there already).
        self.documents_root = documents_root
        self.watcher = ApprovalWatcher(
            client,
            min_interval=settings.approval_poll_interval,
            max_interval=settings.approval_poll_max_interval,
        )
        self._slots = _Slots(self.concurrency)
        self._chains: dict[OnboardingKey, asyncio.Future[None]] = {}
        self._markets: dict[MarketKey, asyncio.Future[None]] = {}
        self._keys: set[str] = set()  # slugs: a few dozen bytes per onboarding
        self._snapshot: Awaitable[KnownResources | None] | None = None
        self._submitting = 0
        self._feeding = True
        self._last_sync = time.monotonic()

    def concurrency(self) -> int:
        """Rows in submission at once: fixed, or following the rate the client is allowed."""
        if self.max_concurrency is not None:
            return self.max_concurrency
        limiter = self.client.rate_limiter
        rate = limiter.rate if limiter is not None else None
        if rate is None:
            return UNKNOWN_RATE_CONCURRENCY
        return max(MIN_CONCURRENCY, min(MAX_CONCURRENCY, math.ceil(rate * SECONDS_PER_REQUEST)))

    async def run(
        self,
        rows: Iterable[ParsedRow],
        selection: Selection | None = None,
        *,
        snapshot: Awaitable[KnownResources | None] | None = None,
    ) -> None:
        """Onboard ``rows`` (in file order; read in batches in a thread) and write a line for each: at once
        for invalid and carried-over rows, as it finishes for the others. Returns when all are written.

        ``snapshot``: the run's :class:`KnownResources`, still being read: it is awaited once the first rows
        are read and before any is sent (reading both at once hides the one behind the other)."""
        selection = selection or Selection()
        self._snapshot = snapshot
        watcher = asyncio.create_task(self.watcher.run(), name="approval-watcher")
        tasks: set[asyncio.Task[None]] = set()
        try:
            async for row in self._runnable(rows, selection):
                await self._slots.acquire()
                self._submitting += 1
                task = asyncio.create_task(self._run_row(row, *self._chain(row)))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            self._feeding = False
            self._maybe_close_watcher()
            while tasks:
                await asyncio.gather(*list(tasks))
        finally:
            self._feeding = False
            for task in tasks:
                task.cancel()
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
            self.writer.sync()

    async def run_rows(self, rows: Iterable[ParsedRow]) -> list[ResultRow]:
        """:meth:`run`, returning the lines written (for tests and small batches)."""
        lines: list[ResultRow] = []
        on_row = self.on_row

        def collect(result: ResultRow) -> None:
            lines.append(result)
            if on_row is not None:
                on_row(result)

        self.on_row = collect
        try:
            await self.run(rows)
        finally:
            self.on_row = on_row
        return lines

    async def _runnable(self, rows: Iterable[ParsedRow], selection: Selection) -> AsyncIterator[ParsedRow]:
        """The rows to run, each once what it needs to start was looked up: its market's requirements (once
        per market) and its phone numbers (20 per call, for :data:`LOOKAHEAD_ROWS` rows at a time, one
        batch ahead). The lines of the other rows are written on the way."""
        iterator = iter(rows)

        def take() -> list[ParsedRow]:
            return list(itertools.islice(iterator, LOOKAHEAD_ROWS))

        async def next_batch() -> list[ParsedRow]:
            """The next rows to run (empty at the end of the file); the others' lines written."""
            while read := await asyncio.to_thread(take):
                runnable = self._write_the_others(read, selection)
                if runnable:
                    return runnable
            return []

        async def look_up_numbers(batch: list[ParsedRow]) -> None:
            numbers = [n for row in batch if row.request is not None for n in row.request.phone_numbers]
            with contextlib.suppress(APIError):
                await prefetch_numbers(self.client, self.lookups, numbers)

        batch = await next_batch()
        if self._snapshot is not None:
            self.index = await self._snapshot or self.index
        lookup = asyncio.ensure_future(look_up_numbers(batch))
        while batch:
            following = await next_batch()
            following_lookup = asyncio.ensure_future(look_up_numbers(following))
            await lookup
            for row in batch:
                await self._market(row)
                yield row
            batch, lookup = following, following_lookup
        await lookup

    def _write_the_others(self, rows: list[ParsedRow], selection: Selection) -> list[ParsedRow]:
        """The rows of ``rows`` that run; the lines of the others (invalid, carried over) written."""
        runnable = []
        for row in rows:
            action, line = classify(row, selection)
            if action == "carried":
                self.summary.carried_over += 1
            if line is not None:
                self._record(line)
            if action == "run":
                assert row.request is not None
                self._keys.add(row.request.key.slug())
                self.summary.groups = len(self._keys)
                runnable.append(row)
        return runnable

    async def _market(self, row: ParsedRow) -> None:
        """Look up the requirements of ``row``'s market once, when its first row comes (single flight)."""
        assert row.request is not None
        key = row.request.key
        market = (key.country_code, key.phone_number_type, key.action)
        if market in self.lookups.requirements:
            return
        pending = self._markets.get(market)
        if pending is None:
            pending = self._markets[market] = asyncio.ensure_future(
                prefetch_requirements(self.client, self.lookups, [key])
            )
        await pending

    def _chain(self, row: ParsedRow) -> tuple[asyncio.Future[None] | None, asyncio.Future[None]]:
        """Rows of one onboarding are submitted one after the other: (the submission of the row before, if
        any, to wait for; this row's, to resolve when submitted)."""
        assert row.request is not None
        key = row.request.key
        previous = self._chains.get(key)
        mine = self._chains[key] = asyncio.get_running_loop().create_future()
        return previous, mine

    def _maybe_close_watcher(self) -> None:
        if not self._feeding and self._submitting == 0:
            self.watcher.close(self.settings.approval_poll_timeout)

    async def _run_row(
        self, row: ParsedRow, previous: asyncio.Future[None] | None, mine: asyncio.Future[None]
    ) -> None:
        try:
            result = await self._onboard(row, previous, mine)
        except Exception as error:  # the pipeline returns every expected outcome; never lose the row
            logger.exception("Row %d (%s) stopped unexpectedly", row.row_number, row.customer_reference)
            self._record(_crashed_row(row, error))
            return
        if result.status == "pending_approval" and result.handover is not None:
            self.summary.handovers.append(result.handover)
        decision = GroupDecision.of(result)
        if decision is not None:
            self.summary.decided(decision, self.on_decision)
        self._record(result_row(row, result))

    async def _onboard(
        self, row: ParsedRow, previous: asyncio.Future[None] | None, mine: asyncio.Future[None]
    ) -> OnboardingResult:
        assert row.request is not None
        key = row.request.key
        try:
            if previous is not None:
                await previous
            submission = await self._submit(row)
        finally:
            self._slots.release()
            self._submitting -= 1
            if not mine.done():
                mine.set_result(None)
            if self._chains.get(key) is mine:
                del self._chains[key]
            for number in row.request.phone_numbers:
                self.lookups.numbers.pop(number, None)
            self._maybe_close_watcher()
        if isinstance(submission, OnboardingResult):
            return submission
        group = submission.group
        if group is not None:
            group = await self.watcher.wait(group)
            self.index.remember_group(group)
            await submission.log("approval", "unchanged", group.id, group.status or "")
        return await self._finish(row, submission, group)

    async def _submit(self, row: ParsedRow) -> Submission | OnboardingResult:
        assert row.request is not None
        request = row.request

        async def attempt() -> Submission | OnboardingResult:
            return await submit_onboarding(
                self.client,
                request,
                mapping=self.mapping,
                settings=self.settings,
                index=self.index,
                cache=self.lookups,
                documents_root=self.documents_root,
            )

        return await self._with_transient_retries(row, attempt)

    async def _finish(
        self, row: ParsedRow, submission: Submission, group: GroupSnapshot | None
    ) -> OnboardingResult:
        async def attempt() -> OnboardingResult:
            return await finish_onboarding(self.client, submission, group, index=self.index)

        result = await self._with_transient_retries(row, attempt)
        assert isinstance(result, OnboardingResult)
        return result

    async def _with_transient_retries(
        self, row: ParsedRow, attempt: Callable[[], Awaitable[Submission | OnboardingResult]]
    ) -> Submission | OnboardingResult:
        """Run ``attempt`` again (at most ``transient_retries`` times, after a growing pause) while it
        ends failed on a transient API error: every step finds what the earlier attempt created."""
        pause = self.transient_pause
        outcome = await attempt()
        for _ in range(self.transient_retries):
            if not (
                isinstance(outcome, OnboardingResult) and outcome.status == "failed" and outcome.transient
            ):
                break
            logger.warning(
                "Row %d (%s) failed on a transient error; running it again in %.1fs: %s",
                row.row_number,
                row.customer_reference,
                pause,
                _LINE_BREAKS.sub(" ", outcome.error or "")[:200],
            )
            await asyncio.sleep(pause)
            pause *= 2
            outcome = await attempt()
        return outcome

    def _record(self, result: ResultRow) -> None:
        self.summary.add(result)
        if self.on_row is not None:
            self.on_row(result)
        now = time.monotonic()
        sync = now - self._last_sync >= SYNC_EVERY
        self.writer.write([result], sync=sync)
        if sync:
            self._last_sync = now


# -- a whole run --------------------------------------------------------------------------------------


async def _snapshot(client: AsyncTelnyx, prefix: str) -> KnownResources | None:
    """Our existing resources (a few paginated list calls), or None when they cannot be read after the
    client's retries: each row then looks its own up and reports its own error."""
    try:
        return await KnownResources.fetch(client, prefix)
    except APIError:
        return None


def _run_key(csv: str, results: str) -> tuple[str, str]:
    return normal_location(csv), results


def default_results_path(csv_path: Path) -> Path:
    """``customers.csv`` -> ``customers.results.csv`` next to it."""
    return csv_path.with_name(f"{csv_path.stem}.results.csv")


#: Runs started with :meth:`BulkRun.start` and not yet claimed, by (CSV, results CSV).
_started: dict[tuple[str, str], BulkRun] = {}


class BulkRun:
    """One bulk onboarding of ``csv_path``: :meth:`run` it (or :meth:`start` it) once; :attr:`summary` and
    :attr:`prepared` show how far it got while it runs (progress bars, artifacts).

    A run may be started before whatever reports on it is ready and be picked up by it later: the command
    line starts the run, then Prefect's server, and the ``bulk_onboard`` flow :meth:`claim` s the run
    under way for its CSV instead of starting a second one. Rows do not wait for an orchestrator.
    """

    def __init__(
        self,
        csv_path: Path,
        client: AsyncTelnyx,
        *,
        out: Path | None = None,
        only_failed: Path | None = None,
        settings: PipelineSettings | None = None,
        mapping: RequirementMapping | None = None,
        max_concurrency: int | None = None,
        on_row: OnRow | None = None,
        on_started: Callable[[BulkRun], None] | None = None,
        locations: BulkLocations | None = None,
    ) -> None:
        self.csv_path = locations.csv if locations is not None else csv_path
        self.client = client
        self.settings = settings or PipelineSettings()
        self.mapping = mapping or self.settings.mapping()
        self.locations = locations
        if locations is not None:
            self.results_path = locations.results
            self.only_failed = locations.only_failed
            csv_location, results_location = locations.csv_location, locations.results_location
        else:
            self.results_path = out or default_results_path(csv_path)
            self.only_failed = only_failed
            csv_location, results_location = str(csv_path), str(self.results_path)
        self.max_concurrency = max_concurrency
        self.on_row = on_row
        self.on_started = on_started
        self.summary = BulkSummary(
            csv_path=self.csv_path,
            results_path=self.results_path,
            csv_location=redact_source(csv_location),
            results_location=redact_source(results_location),
        )
        #: Data rows of the CSV (known once the file passed its check): one line each in the results.
        self.rows_total: int | None = None
        self.runner: BulkRunner | None = None
        self.task: asyncio.Task[BulkSummary] | None = None
        #: When :meth:`start` was called (``time.monotonic()``).
        self.started_at: float | None = None
        #: Set once the file as a whole was checked (or found unusable).
        self.read = asyncio.Event()
        self._listener: Callable[[GroupDecision], None] | None = None

    @property
    def key(self) -> tuple[str, str]:
        if self.locations is not None:
            return _run_key(self.locations.csv_location, self.locations.results_location)
        return str(self.csv_path.resolve()), str(self.results_path.resolve())

    def start(self) -> asyncio.Task[BulkSummary]:
        """Run in the background of the current event loop; :meth:`claim` finds it by its CSV."""
        if self.task is None:
            self.started_at = time.monotonic()
            self.task = asyncio.get_running_loop().create_task(
                self.run(), name=f"bulk-run {self.summary.csv_location}"
            )
            _started[self.key] = self
        return self.task

    @classmethod
    def claim(cls, csv: Path | str, out: Path | str | None = None) -> BulkRun | None:
        """The run started in this process for ``csv`` (and ``out``), once; None if there is none. ``csv``
        and ``out`` as the user named them (paths or URLs)."""
        csv_text = str(csv)
        try:
            results = results_location_for(csv_text, str(out) if out else None)
            return _started.pop(_run_key(csv_text, results), None)
        except ValueError:  # a location no run starts from (file://host/…): locate_bulk says why
            return None

    async def wait(self) -> BulkSummary:
        """The summary once the run has ended (starting it if it was not)."""
        return await self.start()

    def listen(self, listener: Callable[[GroupDecision], None]) -> None:
        """Hand ``listener`` every requirement-group decision: those seen so far at once, the others as they
        come (the flow emits an event for each; a run started before Prefect was up kept them until now)."""
        self._listener = listener
        kept = list(self.summary.decisions.values())
        self.summary.decisions.clear()
        for decision in kept:
            listener(decision)
        if self.runner is not None:
            self.runner.on_decision = listener

    async def run(self) -> BulkSummary:
        """Onboard every row and write the results CSV; raises ``CSVFormatError`` (nothing sent) when the file
        as a whole is unusable, ``ValueError`` when ``only_failed`` holds no results."""
        selection = Selection.from_results(
            latest_results(self.results_path),
            latest_results(self.only_failed) if self.only_failed is not None else None,
        )
        if self.only_failed is not None and not selection.only_failed:
            raise ValueError(f"{self.only_failed}: no results in it to select failed rows from")
        if self.locations is not None:
            base_dir = self.locations.documents_root
        elif self.settings.documents_base_dir:
            base_dir = Path(self.settings.documents_base_dir)
        else:
            base_dir = self.csv_path.parent
        fetch = self.locations.fetch_document if self.locations is not None else None
        mirror = self.locations.mirror if self.locations is not None else None
        try:
            # A file unusable as a whole stops here, before anything is sent.
            self.rows_total = await asyncio.to_thread(count_rows, self.csv_path)
        finally:
            self.read.set()
        if self.on_started is not None:
            self.on_started(self)
        snapshot = asyncio.ensure_future(_snapshot(self.client, self.settings.reference_prefix))
        writer = ResultsWriter(self.results_path, mirror)
        await asyncio.to_thread(writer.__enter__)
        failed = True
        try:
            self.runner = BulkRunner(
                self.client,
                writer=writer,
                summary=self.summary,
                settings=self.settings,
                mapping=self.mapping,
                max_concurrency=self.max_concurrency,
                on_row=self.on_row,
                documents_root=base_dir,
            )
            self.runner.on_decision = self._listener
            await self.runner.run(
                iter_rows(
                    self.csv_path,
                    base_dir=base_dir,
                    max_document_bytes=self.settings.max_document_bytes,
                    fetch_document=fetch,
                ),
                selection,
                snapshot=snapshot,
            )
            failed = False
        finally:
            # Compacting and writing the final object (on a store) block: not in the event loop.
            await asyncio.shield(asyncio.to_thread(writer.close, compact=not failed))
        return self.summary


async def run_bulk_async(
    csv_path: Path,
    client: AsyncTelnyx,
    *,
    out: Path | None = None,
    only_failed: Path | None = None,
    settings: PipelineSettings | None = None,
    mapping: RequirementMapping | None = None,
    max_concurrency: int | None = None,
    on_row: OnRow | None = None,
    on_started: Callable[[BulkRun], None] | None = None,
) -> BulkSummary:
    """Onboard every row of ``csv_path``; results in ``out`` (default ``<csv>.results.csv``): a BulkRun."""
    run = BulkRun(
        csv_path,
        client,
        out=out,
        only_failed=only_failed,
        settings=settings,
        mapping=mapping,
        max_concurrency=max_concurrency,
        on_row=on_row,
        on_started=on_started,
    )
    return await run.run()


__all__ = [
    "TRANSIENT_PAUSE",
    "TRANSIENT_RETRIES",
    "BulkRun",
    "BulkRunner",
    "BulkSummary",
    "RowAction",
    "Selection",
    "classify",
    "default_results_path",
    "error_category",
    "result_row",
    "row_status",
    "run_bulk_async",
]
