"""Tasks of the bulk onboarding: one task run per batch of onboarding groups, plus the run's artifacts.

A task run costs Prefect some 40 ms of bookkeeping; a row costs ~10 API calls. One task per *batch* of
groups (25 by default) keeps Prefect's share small, while the progress artifact and the results table
still show every row.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from pathlib import Path

from prefect import task
from prefect.artifacts import (
    acreate_markdown_artifact,
    acreate_progress_artifact,
    acreate_table_artifact,
    aupdate_progress_artifact,
)
from prefect.cache_policies import NO_CACHE
from prefect.concurrency.asyncio import rate_limit

from telnyx_compliance import RateLimiter
from telnyx_compliance.onboarding.bulk import BulkRunner, BulkSummary, RowGroup
from telnyx_compliance.onboarding.results_csv import RESULT_COLUMNS, ResultRow, read_results

#: Rows shown in the results table artifact (the results CSV has them all).
TABLE_ROWS = 1000


@task(
    name="onboard_batch",
    task_run_name="onboard-batch-{number}",
    cache_policy=NO_CACHE,  # the runner holds the client: nothing to hash, nothing to cache
    persist_result=False,  # results go to the results CSV; ids only, but never into Prefect's storage
)
async def onboard_batch(runner: BulkRunner, batch: Sequence[RowGroup], number: int) -> list[ResultRow]:
    """Onboard one batch of groups; each row's result is written to the results CSV when the batch ends."""
    return await runner.run_batch(batch)


class PrefectRateLimiter(RateLimiter):
    """The process's token bucket, plus a slot of a Prefect global concurrency limit per request.

    With several workers (processes or machines) onboarding at once, the process limiter alone would let
    each of them use the whole account rate; a global concurrency limit with ``slot_decay_per_second`` set
    to the account's rate (``prefect gcl create telnyx-api --limit 20 --slot-decay-per-second 20``) is
    shared by all of them. It costs a round trip to the Prefect API per request, so it is opt-in.
    """

    def __init__(self, rate_per_second: float, limit_name: str) -> None:
        super().__init__(rate_per_second)
        self.limit_name = limit_name

    async def acquire(self) -> None:
        await rate_limit(self.limit_name, occupy=1, strict=True)
        await super().acquire()


class ProgressArtifact:
    """A progress artifact updated about once a second while rows finish (not once per row)."""

    def __init__(self, total: int, *, interval: float = 1.0) -> None:
        self.total = max(total, 1)
        self.done = 0
        self.interval = interval
        self._artifact_id: object = None
        self._updater: asyncio.Task[None] | None = None

    def advance(self, _result: ResultRow | None = None) -> None:
        self.done += 1

    def percent(self) -> float:
        return min(100.0, round(100.0 * self.done / self.total, 1))

    async def __aenter__(self) -> ProgressArtifact:
        self._artifact_id = await acreate_progress_artifact(
            progress=0.0, key="bulk-onboarding-progress", description="Rows of the CSV onboarded so far"
        )
        self._updater = asyncio.create_task(self._update_periodically())
        return self

    async def _update_periodically(self) -> None:
        shown = -1.0
        while True:
            await asyncio.sleep(self.interval)
            if self.percent() != shown:
                shown = self.percent()
                await aupdate_progress_artifact(self._artifact_id, progress=shown)  # type: ignore[arg-type]

    async def __aexit__(self, exc_type: object, *exc_info: object) -> None:
        if self._updater is not None:
            self._updater.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._updater
        # Blank lines count in the total but are no rows: a run that ended normally is at 100 %.
        final = 100.0 if exc_type is None else self.percent()
        await aupdate_progress_artifact(self._artifact_id, progress=final)  # type: ignore[arg-type]


async def publish_bulk_report(summary: BulkSummary) -> None:
    """A markdown summary (counts by status and by error) and a table of the rows' results."""
    await acreate_markdown_artifact(
        markdown=summary.markdown(), key="bulk-onboarding-summary", description="Bulk onboarding summary"
    )
    rows = _table_rows(summary.results_path)
    shown = rows[:TABLE_ROWS]
    more = (
        f" (first {TABLE_ROWS} of {len(rows)}; all in {summary.results_path.name})"
        if len(rows) > len(shown)
        else ""
    )
    await acreate_table_artifact(
        table=shown, key="bulk-onboarding-results", description=f"One line per input row{more}"
    )


def _table_rows(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        return []
    return [dict(zip(RESULT_COLUMNS, result.cells(), strict=True)) for result in read_results(path)]
