"""What a bulk run shows in Prefect: a progress artifact while it runs, then its outcome three ways: a
markdown summary, a link to the results CSV and a table of the rows that did not complete, with their errors.

The rows themselves are run by the library (``BulkRun``), not by task runs: a task run costs Prefect about
40 ms of bookkeeping, and rows must not wait for Prefect (see ``flows/bulk_onboard.py``). The tables are
built with pandas from the results CSV, once the rows are done; this module loads with Prefect, off the
rows' path (pandas takes 1.6 s to load, which the CSV reader does not wait for: it uses the csv module).

What the artifacts quote of the CSV and the answers (file names, references, errors) is text, never markup:
control characters escaped, markdown escaped, the link's target percent-encoded (``telnyx_compliance._text``).
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import pandas as pd
from prefect import task
from prefect.artifacts import (
    acreate_link_artifact,
    acreate_markdown_artifact,
    acreate_progress_artifact,
    acreate_table_artifact,
    aupdate_progress_artifact,
)
from prefect.cache_policies import NO_CACHE
from prefect.concurrency.asyncio import rate_limit

from telnyx_compliance import RateLimiter, storage
from telnyx_compliance._rate_limit import Reservation
from telnyx_compliance._text import escape_markdown, link_target
from telnyx_compliance.locations import Location
from telnyx_compliance.onboarding.bulk import BulkRun, BulkSummary
from telnyx_compliance.onboarding.results_csv import RESULT_COLUMNS

#: Rows shown in the table of rows that did not complete (the results CSV has them all).
TABLE_ROWS = 500
#: Columns of that table (``error_kind`` empty in results written before it existed).
TABLE_COLUMNS = ("row", "customer_reference", "status", "error_kind", "error")


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
    """A progress artifact that follows a running :class:`BulkRun`, checked about once a second and
    updated when it changed.

    Its value weighs the phases (``BulkProgress``): a row written counts 1, a row being finished 0.75, a row
    in review 0.5, so it moves while every row waits for its review. Its description says where the rows
    stand (``submitted 60/60 · in review 60 (oldest 21s) · approved 0``): a progress artifact holds a
    number only, and its description is updated with it, in place (a markdown artifact would add a version
    per update). Ages read in seconds for the first minute, then minutes, then hours: over a long review
    the artifact changes about once a minute.
    """

    def __init__(self, run: BulkRun, *, interval: float = 1.0) -> None:
        self.run = run
        self.interval = interval
        self._artifact_id: object = None
        self._updater: asyncio.Task[None] | None = None

    def percent(self) -> float:
        """How far the run is, 0 to 100 (see the class docstring)."""
        return round(100.0 * self.run.progress.snapshot().fraction, 1)

    def description(self) -> str:
        """The phase counts, one line (counts and ages only: nothing of the CSV, nothing to escape)."""
        return "Rows: " + self.run.progress.snapshot().line()

    async def __aenter__(self) -> ProgressArtifact:
        self._artifact_id = await acreate_progress_artifact(
            progress=self.percent(),
            key="bulk-onboarding-progress",
            description=self.description(),
        )
        self._updater = asyncio.create_task(self._update_periodically())
        return self

    async def _update_periodically(self) -> None:
        shown: tuple[float, str] | None = None
        while True:
            await asyncio.sleep(self.interval)
            now = (self.percent(), self.description())
            if now != shown:
                shown = now
                await aupdate_progress_artifact(
                    self._artifact_id,  # type: ignore[arg-type]
                    progress=now[0],
                    description=now[1],
                )

    async def __aexit__(self, exc_type: object, *exc_info: object) -> None:
        if self._updater is not None:
            self._updater.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._updater
        final = 100.0 if exc_type is None else self.percent()
        await aupdate_progress_artifact(
            self._artifact_id,  # type: ignore[arg-type]
            progress=final,
            description=self.description(),
        )


@task(name="publish-bulk-report", cache_policy=NO_CACHE, persist_result=False)
async def publish_bulk_report(summary: BulkSummary) -> None:
    """A markdown summary (counts by status and by error), a link to the results CSV and a table of the rows
    that did not complete (first :data:`TABLE_ROWS`), with their errors."""
    await acreate_markdown_artifact(
        markdown=summary.markdown(), key="bulk-onboarding-summary", description="Bulk onboarding summary"
    )
    location = summary.results_location or str(summary.results_path)
    shared = not Location.parse(location).is_local
    await acreate_link_artifact(
        link=results_link(location),
        link_text=escape_markdown(location),
        key="bulk-onboarding-results-file",
        description="The results CSV: one line per input row "
        + ("(on the store, readable from any machine)" if shared else "(a path on the worker that ran it)"),
    )
    rows, total = not_completed_rows(results_frame(summary.results_path))
    name = escape_markdown(location.rsplit("/", 1)[-1])
    more = f" (first {len(rows)} of {total}; all in {name})" if total > len(rows) else ""
    await acreate_table_artifact(
        table=rows or {column: [] for column in TABLE_COLUMNS},  # (columns even when empty)
        key="bulk-onboarding-not-completed",
        description=f"{total} row(s) that did not complete, with their errors{more}",
    )


def results_link(location: str | Path) -> str:
    """The results CSV as a link: a ``file://`` URI of a path, the store's console (or S3-compatible
    endpoint) for an object; never a pre-signed URL (an artifact must not carry a credential).
    Percent-encoded: the UI renders it as a markdown link, which a space, parenthesis or control character
    would break."""
    return link_target(storage.browser_link(str(location)))


def not_completed_rows(results: pd.DataFrame, limit: int = TABLE_ROWS) -> tuple[list[dict[str, str]], int]:
    """The first ``limit`` rows of a results table whose status is not ``completed`` (row, customer
    reference, status, error), and how many there are in all. A later line about a row supersedes earlier.
    Cells as literal text: the UI renders markdown in a table's cells, so a cell's ``[x](https://...)`` must
    not become a link, and its control characters are shown escaped."""
    if results.empty or "status" not in results.columns:
        return [], 0
    latest = results.drop_duplicates("row", keep="last") if "row" in results.columns else results
    failed = latest[latest["status"] != "completed"]
    shown = failed.head(limit)
    rows = [
        {column: escape_markdown(str(line.get(column, ""))) for column in TABLE_COLUMNS}
        for line in shown.to_dict(orient="records")
    ]
    return rows, len(failed)


def results_frame(path: Path) -> pd.DataFrame:
    """The results CSV as a table of strings, cells as written (formula-escaped), in row order."""
    if not path.exists():
        return pd.DataFrame(columns=list(RESULT_COLUMNS))
    return pd.read_csv(path, dtype=str, keep_default_na=False, na_filter=False)
