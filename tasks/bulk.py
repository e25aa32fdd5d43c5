"""What a bulk run shows in Prefect: a progress artifact while it runs, then a summary and a results table.

The rows themselves are run by the library (``BulkRun``), not by task runs: a task run costs Prefect about
40 ms of bookkeeping, and rows must not wait for Prefect (see ``flows/bulk_onboard.py``). The tables are
built with pandas from the results CSV, once the rows are done; this module loads with Prefect, off the
rows' path (pandas takes 1.6 s to load, which the CSV reader does not wait for: it uses the csv module).
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import pandas as pd
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
from telnyx_compliance._rate_limit import Reservation
from telnyx_compliance.onboarding.bulk import BulkRun, BulkSummary
from telnyx_compliance.onboarding.results_csv import RESULT_COLUMNS

#: Rows shown in the results table artifact (the results CSV has them all).
TABLE_ROWS = 1000


class PrefectRateLimiter(RateLimiter):
    """The process's limiter, plus a slot of a Prefect global concurrency limit per request.

    Telnyx's rate-limit headers already make every worker on one account share its limit. A global
    concurrency limit with ``slot_decay_per_second`` (``prefect gcl create telnyx-api --limit 20
    --slot-decay-per-second 20``) is an extra, explicit cap shared by all workers, for accounts whose answers
    carry no headers; it costs a round trip to the Prefect API per request, so it is opt-in.
    """

    def __init__(self, rate_per_second: float | None, limit_name: str) -> None:
        super().__init__(rate_per_second)
        self.limit_name = limit_name

    async def acquire(self) -> Reservation:
        await rate_limit(self.limit_name, occupy=1, strict=True)
        return await super().acquire()


class ProgressArtifact:
    """A progress artifact that follows a running :class:`BulkRun`, updated about once a second."""

    def __init__(self, run: BulkRun, *, interval: float = 1.0) -> None:
        self.run = run
        self.interval = interval
        self._artifact_id: object = None
        self._updater: asyncio.Task[None] | None = None

    def percent(self) -> float:
        """Lines of the results CSV written, of all the rows of the CSV (counted when the run starts)."""
        if not self.run.rows_total:
            return 0.0
        return min(100.0, round(100.0 * self.run.summary.rows / self.run.rows_total, 1))

    async def __aenter__(self) -> ProgressArtifact:
        self._artifact_id = await acreate_progress_artifact(
            progress=self.percent(),
            key="bulk-onboarding-progress",
            description="Rows of the CSV onboarded so far",
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
        final = 100.0 if exc_type is None else self.percent()
        await aupdate_progress_artifact(self._artifact_id, progress=final)  # type: ignore[arg-type]


@task(name="publish-bulk-report", cache_policy=NO_CACHE, persist_result=False)
async def publish_bulk_report(summary: BulkSummary) -> None:
    """A markdown summary (counts by status and by error) and a table of the rows' results."""
    await acreate_markdown_artifact(
        markdown=summary.markdown(), key="bulk-onboarding-summary", description="Bulk onboarding summary"
    )
    results = results_frame(summary.results_path)
    shown = results.head(TABLE_ROWS)
    more = (
        f" (first {TABLE_ROWS} of {len(results)}; all in {summary.results_path.name})"
        if len(results) > len(shown)
        else ""
    )
    await acreate_table_artifact(
        table=[
            {str(column): value for column, value in row.items()} for row in shown.to_dict(orient="records")
        ],
        key="bulk-onboarding-results",
        description=f"One line per input row{more}",
    )


def results_frame(path: Path) -> pd.DataFrame:
    """The results CSV as a table of strings, cells as written (formula-escaped), in row order."""
    if not path.exists():
        return pd.DataFrame(columns=list(RESULT_COLUMNS))
    return pd.read_csv(path, dtype=str, keep_default_na=False, na_filter=False)
