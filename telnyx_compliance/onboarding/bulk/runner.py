"""The bulk runner: rows through the pipeline within a concurrency bound that follows the rate, reviewed
together, finished as their groups are decided; each row's line written as it finishes.

A row holds a slot only while it is submitted (:func:`~..runner.submit_onboarding`); it waits for
Telnyx's review holding none (one :class:`~..approvals.ApprovalWatcher` polls for the whole run), then is
finished (:func:`~..runner.finish_onboarding`).
A stage that ended failed on a transient API error (``ErrorKind.TRANSIENT``) runs again, at most
:data:`TRANSIENT_RETRIES` times (tenacity): every step finds what the earlier attempt created.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from pathlib import Path

from tenacity import AsyncRetrying, RetryCallState, retry_if_result, stop_after_attempt, wait_exponential

from telnyx_compliance._client import AsyncTelnyx
from telnyx_compliance._concurrency import rows_in_flight
from telnyx_compliance._exceptions import APIError
from telnyx_compliance._safe_logging import library_logger
from telnyx_compliance.models.requirement_groups import GroupStatus
from telnyx_compliance.onboarding.approvals import ApprovalWatcher
from telnyx_compliance.onboarding.bulk.lines import crashed_row, one_line, result_row
from telnyx_compliance.onboarding.bulk.progress import BulkProgress
from telnyx_compliance.onboarding.bulk.selection import Selection, classify
from telnyx_compliance.onboarding.bulk.summary import BulkSummary
from telnyx_compliance.onboarding.csv_io import ParsedRow
from telnyx_compliance.onboarding.errors import ErrorKind
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
from telnyx_compliance.onboarding.results import GroupDecision, OnboardingResult
from telnyx_compliance.onboarding.results_csv import ResultRow, ResultsWriter
from telnyx_compliance.onboarding.runner import Submission, finish_onboarding, submit_onboarding
from telnyx_compliance.onboarding.snapshots import GroupSnapshot
from telnyx_compliance.settings import PipelineSettings

#: Further runs of a stage that failed on a transient API error (see the module docstring).
TRANSIENT_RETRIES = 2
#: Pause before the first of them (s); doubles for the next.
TRANSIENT_PAUSE = 1.0
#: Rows in submission per request per second the server allows (a request may take about this long).
#: Rows read ahead of those entering, so their phone numbers can be looked up 20 per call.
LOOKAHEAD_ROWS = 100
#: The results CSV is synced to disk at least this often (s).
SYNC_EVERY = 0.5

OnRow = Callable[[ResultRow], None]
Outcome = Submission | OnboardingResult

logger = library_logger("telnyx_compliance.bulk")
# Rows' log lines quote their customer reference and errors: no control character of a CSV cell in them.


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
        snapshot: KnownResources | None = None,
        cache: RequirementsCache | None = None,
        transient_retries: int | None = None,
        transient_pause: float | None = None,
        documents_root: Path | None = None,
        progress: BulkProgress | None = None,
    ) -> None:
        if max_concurrency is not None and max_concurrency < 1:
            raise ValueError("max_concurrency must be at least 1")
        self.transient_retries = TRANSIENT_RETRIES if transient_retries is None else transient_retries
        self.transient_pause = TRANSIENT_PAUSE if transient_pause is None else transient_pause
        self.client = client
        #: What exists already: the run's snapshot, or a live lookup per resource when it could not be read.
        self.index: ResourceIndex = snapshot or LiveIndex(client)
        #: Requirements per market and per phone number: the snapshot's, or a cache of the run's own.
        self.cache = cache or RequirementsCache()
        self.writer = writer
        self.summary = summary
        self.settings = settings
        self.mapping = mapping
        self.on_row = on_row
        #: Where the rows stand, by phase (submitted, in review, decided, written): for progress displays.
        self.progress = progress or BulkProgress()
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
        """Rows in submission at once: fixed, or by Little's law (``telnyx_compliance._concurrency``)."""
        if self.max_concurrency is not None:
            return self.max_concurrency
        limiter = self.client.rate_limiter
        rate = limiter.rate if limiter is not None else None
        return rows_in_flight(rate, self.client.stats.round_trip.seconds)

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
                self.progress.entered()
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
                await prefetch_numbers(self.client, self.cache, numbers)

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
            elif action == "skip":
                self.progress.skip()
            if line is not None:
                self._record(line, carried=action == "carried")
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
        if market in self.cache.requirements:
            return
        pending = self._markets.get(market)
        if pending is None:
            pending = self._markets[market] = asyncio.ensure_future(
                prefetch_requirements(self.client, self.cache, [key])
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
            self._record(crashed_row(row, error))
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
        submitted = False
        try:
            if previous is not None:
                await previous
            submission = await self._submit(row)
            submitted = isinstance(submission, Submission)
        finally:
            self._slots.release()
            self._submitting -= 1
            self.progress.left_submission(submitted=submitted)
            if not mine.done():
                mine.set_result(None)
            if self._chains.get(key) is mine:
                del self._chains[key]
            for number in row.request.phone_numbers:
                self.cache.numbers.pop(number, None)
            self._maybe_close_watcher()
        if isinstance(submission, OnboardingResult):
            return submission
        group = submission.group
        if group is not None:
            if group.status == GroupStatus.PENDING:
                with self.progress.reviewing(row.row_number):
                    group = await self.watcher.wait(group)
            self.progress.decided(group.status)
        with self.progress.finishing_row():
            if group is not None:
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
                cache=self.cache,
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
        self, row: ParsedRow, attempt: Callable[[], Awaitable[Outcome]]
    ) -> Outcome:
        """Run ``attempt`` again (at most ``transient_retries`` times, after a pause that doubles) while it
        ends failed on a transient API error: every step finds what the earlier attempt created. An
        exception is not retried: it is a crash, reported as such."""

        def log_run_again(state: RetryCallState) -> None:
            outcome = state.outcome.result() if state.outcome is not None else None
            error = outcome.error if isinstance(outcome, OnboardingResult) else None
            logger.warning(
                "Row %d (%s) failed on a transient error; running it again in %.1fs: %s",
                row.row_number,
                row.customer_reference,
                state.upcoming_sleep,
                one_line(error or "")[:200],
            )

        retrying: AsyncRetrying = AsyncRetrying(
            retry=retry_if_result(_failed_transiently),
            stop=stop_after_attempt(self.transient_retries + 1),
            wait=wait_exponential(multiplier=self.transient_pause, exp_base=2),
            sleep=asyncio.sleep,
            before_sleep=log_run_again,
            retry_error_callback=lambda state: state.outcome.result() if state.outcome is not None else None,
        )
        outcome: Outcome = await retrying(attempt)
        return outcome

    def _record(self, result: ResultRow, *, carried: bool = False) -> None:
        self.summary.add(result)
        self.progress.wrote(result.status, carried=carried)
        if self.on_row is not None:
            self.on_row(result)
        now = time.monotonic()
        sync = now - self._last_sync >= SYNC_EVERY
        self.writer.write([result], sync=sync)
        if sync:
            self._last_sync = now


def _failed_transiently(outcome: Outcome) -> bool:
    return (
        isinstance(outcome, OnboardingResult)
        and outcome.status == "failed"
        and outcome.error_kind is ErrorKind.TRANSIENT
    )


__all__ = [
    "LOOKAHEAD_ROWS",
    "TRANSIENT_PAUSE",
    "TRANSIENT_RETRIES",
    "BulkRunner",
    "OnRow",
]
