"""``bulk_onboard``: every row of an onboarding CSV, at the rate Telnyx allows, with one line of result each.

Reads and validates the CSV (invalid rows are reported, not run), groups the valid rows by onboarding,
runs the groups in batches (one ``onboard_batch`` task run per batch) with at most ``max_concurrency``
onboardings at once on one client and one rate limiter, writes the results CSV as batches finish, and
publishes a progress artifact, a results table and a markdown summary. The flow ends Failed unless every
valid row completed (the same rule as the CLI's exit code).
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

from prefect import flow, get_run_logger
from prefect.client.schemas.objects import State
from prefect.states import Completed, Failed

from configs.settings import PipelineSettings, TelnyxSettings
from tasks._client import pipeline_settings, shared_rate_limiter, telnyx_settings, use_settings
from tasks.bulk import PrefectRateLimiter, ProgressArtifact, onboard_batch, publish_bulk_report
from telnyx_compliance import RateLimiter
from telnyx_compliance.onboarding.bulk import BulkRunner, BulkSummary, RowGroup, run_bulk_async
from telnyx_compliance.onboarding.csv_io import CSVFormatError, count_rows
from telnyx_compliance.onboarding.csv_source import CSVSourceError, is_url, materialise_csv
from telnyx_compliance.onboarding.results_csv import ResultRow

#: Terminal progress hook of the calling process (a callable is no flow parameter: those go to the API).
_on_row: contextvars.ContextVar[Callable[[ResultRow], None] | None] = contextvars.ContextVar(
    "bulk_on_row", default=None
)


@contextmanager
def report_rows_to(callback: Callable[[ResultRow], None] | None) -> Iterator[None]:
    """Call ``callback`` with each row's result during ``bulk_onboard`` runs of this context."""
    token = _on_row.set(callback)
    try:
        yield
    finally:
        _on_row.reset(token)


@flow(name="bulk_onboard", persist_result=False)
async def bulk_onboard(
    csv_path: str,
    out: str | None = None,
    only_failed: str | None = None,
    max_concurrency: int | None = None,
    batch_size: int = 25,
    global_rate_limit: str | None = None,
) -> State[BulkSummary]:
    """Onboard every row of ``csv_path`` (a path, or an http(s) URL fetched first); results in ``out``
    (default ``<csv>.results.csv``).

    ``only_failed``: a results CSV; only the rows it marks failed run. ``global_rate_limit``: the name of a
    Prefect global concurrency limit every API request also takes a slot of (account-wide rate limit when
    several workers onboard at once).
    """
    logger = get_run_logger()
    settings = telnyx_settings()
    pipeline = pipeline_settings()
    try:
        source = materialise_csv(csv_path, Path(pipeline.documents_base_dir or "."))
    except CSVSourceError as error:
        logger.error("%s", error)
        return Failed(message=str(error), data=error)
    if is_url(csv_path) and pipeline.documents_base_dir is None:
        # Documents of a fetched CSV resolve against the working folder, not the download folder.
        pipeline = pipeline.model_copy(update={"documents_base_dir": str(Path.cwd())})
    limiter: RateLimiter = (
        PrefectRateLimiter(settings.rate_limit, global_rate_limit)
        if global_rate_limit
        else shared_rate_limiter(settings.rate_limit)
    )
    terminal = _on_row.get()
    try:
        total = count_rows(source)
    except CSVFormatError as error:
        logger.error("%s", error)
        return Failed(message=str(error), data=error)
    progress = ProgressArtifact(total=total)

    def on_row(result: ResultRow) -> None:
        progress.advance(result)
        if terminal is not None:
            terminal(result)

    async def run_batch(runner: BulkRunner, batch: Sequence[RowGroup]) -> list[ResultRow]:
        number = next(batch_numbers)
        return await onboard_batch(runner, batch, number)

    batch_numbers = iter(range(1, 1_000_000_000))
    async with (
        settings.async_client(limiter) as client,
        progress,
    ):
        try:
            summary = await run_bulk_async(
                source,
                client,
                out=Path(out) if out else None,
                only_failed=Path(only_failed) if only_failed else None,
                settings=pipeline,
                max_concurrency=max_concurrency or settings.max_concurrency,
                batch_size=batch_size,
                on_row=on_row,
                run_batch=run_batch,
            )
        except CSVFormatError as error:
            logger.error("%s", error)
            return Failed(message=str(error), data=error)
        logger.info("API calls: %s", client.stats)
    await publish_bulk_report(summary)
    counts = ", ".join(f"{status} {count}" for status, count in summary.counts.items())
    message = f"{summary.rows} row(s): {counts}; results in {summary.results_path}"
    logger.info(message)
    if summary.exit_code != 0:
        return Failed(message=message, data=summary)
    return Completed(message=message, data=summary)


def run_bulk(
    csv_path: Path,
    out: Path | None = None,
    only_failed: Path | None = None,
    settings: TelnyxSettings | None = None,
    *,
    pipeline: PipelineSettings | None = None,
    max_concurrency: int | None = None,
    batch_size: int = 25,
    global_rate_limit: str | None = None,
    progress: bool = False,
    on_row: Callable[[ResultRow], None] | None = None,
) -> BulkSummary:
    """Run ``bulk_onboard`` (ephemeral Prefect unless ``PREFECT_API_URL`` is set) and return its summary.

    ``progress`` shows a rich progress bar on stderr. Raises ``CSVFormatError`` when the file as a whole is
    unusable (nothing was sent). ``summary.exit_code`` is 0 only when every valid row completed.
    """
    bar, callback = _terminal_progress(csv_path, on_row) if progress else (None, on_row)

    async def run() -> State[BulkSummary]:
        return cast(
            "State[BulkSummary]",
            await bulk_onboard(
                str(csv_path),
                out=str(out) if out else None,
                only_failed=str(only_failed) if only_failed else None,
                max_concurrency=max_concurrency,
                batch_size=batch_size,
                global_rate_limit=global_rate_limit,
                return_state=True,
            ),
        )

    with use_settings(settings, pipeline), report_rows_to(callback):
        if bar is not None:
            with bar:
                final = asyncio.run(run())
        else:
            final = asyncio.run(run())
    outcome: Any = final.result(raise_on_failure=False)
    if isinstance(outcome, BulkSummary):
        return outcome
    if isinstance(outcome, BaseException):
        raise outcome
    raise RuntimeError(f"bulk_onboard ended {final.type.value}: {final.message}")


def _terminal_progress(
    csv_path: Path, on_row: Callable[[ResultRow], None] | None
) -> tuple[Any, Callable[[ResultRow], None]]:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    bar = Progress(
        TextColumn("[bold]onboarding"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[tally]}"),
        TimeRemainingColumn(),
        transient=False,
    )
    try:
        total: int | None = count_rows(csv_path)
    except CSVFormatError:
        total = None  # the flow reports it
    task_id = bar.add_task("rows", total=total, tally="")
    tally: dict[str, int] = {}

    def advance(result: ResultRow) -> None:
        tally[result.status] = tally.get(result.status, 0) + 1
        bar.update(task_id, advance=1, tally=" ".join(f"{k} {v}" for k, v in sorted(tally.items())))
        if on_row is not None:
            on_row(result)

    return bar, advance
