"""Onboarding every row of a CSV: group, run concurrently under one rate limiter, stream the results.

No Prefect here: ``flows/bulk_onboard.py`` runs each batch of groups as a Prefect task; the same
:func:`run_bulk_async` runs without Prefect (tests, scripts).

* **Grouping.** Valid rows sharing customer, country, number type and action form one :class:`RowGroup`:
  its rows run one after the other, so the first creates the address, documents and requirement group and
  the next ones find and reuse them (the pipeline's references are deterministic) and only add their own
  orders. Each row keeps its own number order, so a rerun with other rows never orders a number twice.
* **Concurrency.** Groups run concurrently, at most ``max_concurrency`` at a time (an
  ``asyncio.Semaphore``), on one ``AsyncTelnyx`` whose ``RateLimiter`` every request of the run shares:
  concurrency hides latency, the limiter holds the rate.
* **One snapshot.** Before running, :func:`prefetch` reads what already exists under our reference prefix
  (:class:`~telnyx_compliance.onboarding.known.KnownResources`), each market's requirements and the
  phone numbers' requirements (batched); every ``onboard`` gets it as ``known=``, so a row makes only
  the calls that change something (creates, submit, one status read, order, attach).
* **Results.** Each finished batch of groups is appended to the results CSV and flushed before the next
  result is written, so a crash loses at most the batches still running; a rerun finds their resources.
* **Transient failures.** A row that failed on a transient API error its request's retries did not
  outlast (429, 408, 5xx, connection; not a write whose outcome stayed unknown) runs again, at most
  :data:`TRANSIENT_RETRIES` times: every step finds what the earlier attempt created.
* **Reruns.** A row whose previous line in the results CSV is ``completed`` (recognised by the hash of its
  cells, so inserted rows do not confuse it) is not run again; its line is carried over. ``only_failed``
  runs just the rows a given results CSV marks ``failed``.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from configs.settings import PipelineSettings
from telnyx_compliance._client import AsyncTelnyx
from telnyx_compliance._exceptions import APIError
from telnyx_compliance.onboarding.csv_io import ParsedRow, iter_rows
from telnyx_compliance.onboarding.known import KnownResources
from telnyx_compliance.onboarding.mapping import RequirementMapping
from telnyx_compliance.onboarding.request import OnboardingKey
from telnyx_compliance.onboarding.results import OnboardingResult
from telnyx_compliance.onboarding.results_csv import (
    ROW_STATUSES,
    ResultRow,
    ResultsWriter,
    RowStatus,
    latest_results,
)
from telnyx_compliance.onboarding.steps import onboard, prefetch_numbers, prefetch_requirements

#: Rows written to the results CSV at once while reading (invalid and carried-over rows).
_WRITE_EVERY = 500
_PLAN_KEY = re.compile(r"\[([a-z0-9_]+)\]")
_LINE_BREAKS = re.compile(r"\s*\n\s*")
#: An unexpected exception's message is cut here in the results CSV.
_MAX_ERROR = 1000
#: Further runs of a row whose onboarding failed on a transient API error (see ``BulkRunner``).
TRANSIENT_RETRIES = 2
#: Pause before the first of them (s); doubles for the next.
TRANSIENT_PAUSE = 1.0
_ERROR_HEAD = re.compile(r"^([A-Za-z_][\w.]*(?:Error|Exception))\b")
#: Phrases of the pipeline's errors that mean "fix the input", not "try again" (see ``row_status``).
_INVALID_PHRASES = ("cannot be met", "lists no requirements")

OnRow = Callable[[ResultRow], None]

logger = logging.getLogger("telnyx_compliance.bulk")


@dataclass(frozen=True, slots=True)
class RowGroup:
    """Rows of one onboarding (same key), in file order."""

    key: OnboardingKey
    rows: tuple[ParsedRow, ...]


@dataclass
class BulkSummary:
    """What a bulk onboarding did, counted per input row."""

    csv_path: Path
    results_path: Path
    counts: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    #: Rows not run because an earlier run completed them (their line was carried over).
    carried_over: int = 0
    groups: int = 0

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

    def as_table(self) -> list[dict[str, str | int]]:
        """Counts by status, every status listed, for tables and artifacts."""
        return [{"status": status, "rows": self.counts[status]} for status in ROW_STATUSES]

    def markdown(self) -> str:
        """A markdown summary: counts by status and by error."""
        lines = [
            f"## Bulk onboarding of `{self.csv_path.name}`",
            "",
            f"{self.rows} row(s) in {self.groups} onboarding group(s); "
            f"{self.carried_over} carried over from an earlier run. Results: `{self.results_path}`.",
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
    return text.replace("|", "\\|").replace("\n", " ")


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


def batched(groups: Sequence[RowGroup], size: int) -> Iterator[Sequence[RowGroup]]:
    for start in range(0, len(groups), size):
        yield groups[start : start + size]


@dataclass
class PreparedRun:
    """The outcome of reading the CSV: the groups to run, and what was already written."""

    groups: list[RowGroup]
    summary: BulkSummary

    @property
    def rows_to_run(self) -> int:
        return sum(len(group.rows) for group in self.groups)


def prepare(
    csv_path: Path,
    writer: ResultsWriter,
    summary: BulkSummary,
    *,
    previous: dict[int, ResultRow],
    only_failed: dict[int, ResultRow] | None = None,
    base_dir: Path | None = None,
    max_document_bytes: int = 20 * 1024 * 1024,
    on_row: OnRow | None = None,
) -> PreparedRun:
    """Read and validate the CSV (streaming), write invalid and carried-over rows, group the rest.

    ``previous``: the latest line per row of this run's results CSV (a rerun); rows it marks completed
    with the same content are carried over. ``only_failed``: when given, only rows it marks ``failed``
    (same row number and customer reference) run; the others keep their line from it.
    """
    completed = {result.row_digest: result for result in previous.values() if result.status == "completed"}
    groups: dict[OnboardingKey, list[ParsedRow]] = {}
    pending: list[ResultRow] = []

    def emit(result: ResultRow) -> None:
        pending.append(result)
        summary.add(result)
        if on_row is not None:
            on_row(result)
        if len(pending) >= _WRITE_EVERY:
            writer.write(pending)
            pending.clear()

    for row in iter_rows(csv_path, base_dir=base_dir, max_document_bytes=max_document_bytes):
        if only_failed is not None:
            earlier = only_failed.get(row.row_number)
            selected = (
                earlier is not None
                and earlier.status == "failed"
                and earlier.customer_reference == row.customer_reference
            )
            if not selected:
                if earlier is not None and earlier.customer_reference == row.customer_reference:
                    summary.carried_over += 1
                    emit(replace(earlier, row_digest=row.digest))
                continue
        if row.request is None:
            emit(invalid_row(row))
            continue
        done = completed.get(row.digest)
        if done is not None:
            summary.carried_over += 1
            emit(replace(done, row=row.row_number, customer_reference=row.customer_reference))
            continue
        groups.setdefault(row.request.key, []).append(row)
    if pending:
        writer.write(pending)
    prepared = [RowGroup(key, tuple(rows)) for key, rows in groups.items()]
    summary.groups = len(prepared)
    return PreparedRun(prepared, summary)


class BulkRunner:
    """Runs groups of rows through the pipeline with bounded concurrency and writes their results."""

    def __init__(
        self,
        client: AsyncTelnyx,
        *,
        writer: ResultsWriter,
        summary: BulkSummary,
        settings: PipelineSettings,
        mapping: RequirementMapping,
        max_concurrency: int,
        on_row: OnRow | None = None,
        known: KnownResources | None = None,
        transient_retries: int | None = None,
        transient_pause: float | None = None,
    ) -> None:
        if max_concurrency < 1:
            raise ValueError("max_concurrency must be at least 1")
        self.transient_retries = TRANSIENT_RETRIES if transient_retries is None else transient_retries
        self.transient_pause = TRANSIENT_PAUSE if transient_pause is None else transient_pause
        self.client = client
        self.known = known
        self.writer = writer
        self.summary = summary
        self.settings = settings
        self.mapping = mapping
        self.on_row = on_row
        self._slots = asyncio.Semaphore(max_concurrency)

    async def run_batch(self, batch: Sequence[RowGroup]) -> list[ResultRow]:
        """Onboard every group of ``batch`` (concurrently, within the runner's bound); write and return."""
        per_group = await asyncio.gather(*(self._run_group(group) for group in batch))
        results = [result for group_results in per_group for result in group_results]
        self.writer.write(results)
        return results

    async def _run_group(self, group: RowGroup) -> list[ResultRow]:
        async with self._slots:
            results = []
            for row in group.rows:
                result = await self._run_row(row)
                self.summary.add(result)
                if self.on_row is not None:
                    self.on_row(result)
                results.append(result)
            return results

    async def _run_row(self, row: ParsedRow) -> ResultRow:
        """Onboard one row. A row that failed on a transient API error (the client's retries outlasted, e.g.
        seven 429s in a row) runs again, up to ``transient_retries`` times after a growing pause: every step
        finds what the earlier run created, so a rerun resumes where it stopped and creates nothing twice."""
        assert row.request is not None
        pause = self.transient_pause
        try:
            result = await onboard(
                self.client, row.request, mapping=self.mapping, settings=self.settings, known=self.known
            )
            for _ in range(self.transient_retries):
                if not (result.status == "failed" and result.transient):
                    break
                logger.warning(
                    "Row %d (%s) failed on a transient error; running it again in %.1fs: %s",
                    row.row_number,
                    row.customer_reference,
                    pause,
                    _LINE_BREAKS.sub(" ", result.error or "")[:200],
                )
                await asyncio.sleep(pause)
                pause *= 2
                result = await onboard(
                    self.client, row.request, mapping=self.mapping, settings=self.settings, known=self.known
                )
        except Exception as error:  # the pipeline returns every expected outcome; never lose the row
            return ResultRow(
                row=row.row_number,
                customer_reference=row.customer_reference,
                status="failed",
                error=_LINE_BREAKS.sub(" ", f"{type(error).__name__}: {error}")[:_MAX_ERROR],
                row_digest=row.digest,
            )
        return result_row(row, result)


async def prefetch(client: AsyncTelnyx, groups: Sequence[RowGroup], *, prefix: str) -> KnownResources | None:
    """One snapshot for the whole run instead of per-row lookups: our existing resources (a few paginated
    list calls), each market's requirements (one call per market) and what Telnyx says about the phone
    numbers of every row (batched). None when there is nothing to run, or when the snapshot of our
    resources cannot be read (after the client's retries): each row then looks up its own resources and
    reports its own error, as without a snapshot."""
    if not groups:
        return None
    numbers = [
        number
        for group in groups
        for row in group.rows
        if row.request is not None
        for number in row.request.phone_numbers
    ]
    lookups = KnownResources(prefix=prefix)  # filled concurrently with the snapshot, merged after
    fetched, *others = await asyncio.gather(
        KnownResources.fetch(client, prefix),
        prefetch_requirements(client, lookups, (group.key for group in groups)),
        prefetch_numbers(client, lookups, numbers),
        return_exceptions=True,
    )
    for outcome in (fetched, *others):
        if isinstance(outcome, BaseException) and not isinstance(outcome, APIError):
            raise outcome
    if not isinstance(fetched, KnownResources):
        return None
    fetched.requirements.update(lookups.requirements)
    fetched.numbers.update(lookups.numbers)
    return fetched


RunBatch = Callable[[BulkRunner, Sequence[RowGroup]], Awaitable[list[ResultRow]]]


async def _run_batch_directly(runner: BulkRunner, batch: Sequence[RowGroup]) -> list[ResultRow]:
    return await runner.run_batch(batch)


def default_results_path(csv_path: Path) -> Path:
    """``customers.csv`` -> ``customers.results.csv`` next to it."""
    return csv_path.with_name(f"{csv_path.stem}.results.csv")


async def run_bulk_async(
    csv_path: Path,
    client: AsyncTelnyx,
    *,
    out: Path | None = None,
    only_failed: Path | None = None,
    settings: PipelineSettings | None = None,
    mapping: RequirementMapping | None = None,
    max_concurrency: int = 16,
    batch_size: int = 25,
    on_row: OnRow | None = None,
    on_prepared: Callable[[PreparedRun], None] | None = None,
    run_batch: RunBatch = _run_batch_directly,
) -> BulkSummary:
    """Onboard every row of ``csv_path`` and write ``out`` (default ``<csv>.results.csv``).

    Raises :class:`~telnyx_compliance.onboarding.csv_io.CSVFormatError` before anything is sent when the
    file as a whole is unusable. ``run_batch`` runs one batch of groups (the flow makes it a Prefect task).
    """
    settings = settings or PipelineSettings()
    mapping = mapping or RequirementMapping.load()
    results_path = out or default_results_path(csv_path)
    previous = latest_results(results_path)
    selection = latest_results(only_failed) if only_failed is not None else None
    if only_failed is not None and not selection:
        raise ValueError(f"{only_failed}: no results in it to select failed rows from")
    summary = BulkSummary(csv_path=csv_path, results_path=results_path)
    base_dir = Path(settings.documents_base_dir) if settings.documents_base_dir else None
    with ResultsWriter(results_path) as writer:
        prepared = prepare(
            csv_path,
            writer,
            summary,
            previous=previous,
            only_failed=selection,
            base_dir=base_dir,
            max_document_bytes=settings.max_document_bytes,
            on_row=on_row,
        )
        if on_prepared is not None:
            on_prepared(prepared)
        known = await prefetch(client, prepared.groups, prefix=settings.reference_prefix)
        runner = BulkRunner(
            client,
            known=known,
            writer=writer,
            summary=summary,
            settings=settings,
            mapping=mapping,
            max_concurrency=max_concurrency,
            on_row=on_row,
        )
        # Every batch is started at once; the runner's semaphore bounds the groups actually running.
        await asyncio.gather(*(run_batch(runner, batch) for batch in batched(prepared.groups, batch_size)))
    return summary


__all__ = [
    "TRANSIENT_PAUSE",
    "TRANSIENT_RETRIES",
    "BulkRunner",
    "BulkSummary",
    "PreparedRun",
    "RowGroup",
    "batched",
    "default_results_path",
    "error_category",
    "prefetch",
    "prepare",
    "result_row",
    "row_status",
    "run_bulk_async",
]
