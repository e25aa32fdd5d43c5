"""``bulk_onboard``: every row of an onboarding CSV at the account's rate limit, with one line of result each.

How a run goes, the CSV format, the results CSV and reruns: ``docs/bulk-runs.md``. The rows are run by the
library's :class:`~telnyx_compliance.onboarding.bulk.BulkRun`, not by Prefect tasks; this flow reports on it
in Prefect. ``compliance onboard`` starts the run before Prefect's server is up and hands it to this flow
(:func:`run_handed_over`: ``handing_over`` in the library, a context variable the flow reads with
``handed_over``); a run from the UI or a deployment finds none and starts its own here. The flow ends Failed
unless every valid row completed (the same rule as the command line's exit code).
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import AsyncExitStack, contextmanager
from pathlib import Path
from typing import Annotated, Any

from prefect import flow, get_run_logger
from prefect.client.schemas.objects import State
from prefect.states import Completed, Failed
from pydantic import Field

from configs.settings import PipelineSettings, TelnyxSettings
from tasks._client import pipeline_settings, shared_rate_limiter, telnyx_settings, use_settings
from tasks._scope import run_scope
from tasks.bulk import PrefectRateLimiter, ProgressArtifact, publish_bulk_report
from tasks.bulk_plan import publish_bulk_plan
from tasks.events import bulk_summary_event, emit, group_event
from tasks.storage import StorageCredentialsError, storage_options
from telnyx_compliance import RateLimiter
from telnyx_compliance._text import escape_controls
from telnyx_compliance.onboarding.bulk import BulkRun, BulkSummary, handed_over, handing_over
from telnyx_compliance.onboarding.confine import ConfinementError
from telnyx_compliance.onboarding.csv_io import CSVFormatError
from telnyx_compliance.onboarding.csv_source import CSVSourceError, confine_bulk, locate_bulk
from telnyx_compliance.onboarding.planning import plan_bulk
from telnyx_compliance.onboarding.results_csv import ResultRow


@flow(name="bulk_onboard", persist_result=False)
async def bulk_onboard(
    csv_path: Annotated[
        str, Field(min_length=1, examples=["s3://onboarding/2026-11/customers.csv", "inbox/customers.csv"])
    ],
    out: Annotated[str | None, Field(examples=["s3://onboarding/2026-11/customers.results.csv"])] = None,
    only_failed: str | None = None,
    max_concurrency: Annotated[int | None, Field(ge=1, le=1000)] = None,
    global_rate_limit: str | None = None,
    storage_credentials: str | None = None,
    plan_only: bool = False,
) -> State[Any]:
    """Onboard every row of a CSV; the results CSV gets one line per row.

    Args:
        csv_path: Where the onboarding CSV is: a path on the worker, relative to its data folder
            (COMPLIANCE_INPUT_ROOT, by default the data folder of the project) and inside it; a store URL
            (s3://bucket/batch/customers.csv, gs://, az://) under COMPLIANCE_STORAGE_ROOTS; or an http(s)
            URL. One row per customer and market (docs/bulk-runs.md, "CSV format"); the documents it names are
            read relative to its folder or prefix.
        out: Where to write the results CSV, one line per input row: a .csv path in the data folder or a
            store URL under the storage roots; never over a file that is not a results CSV. Empty: beside
            the CSV, named after it (customers.csv -> customers.results.csv). A rerun with the same results
            CSV skips the rows it marks completed. The run's Artifacts tab links to it.
        only_failed: The results CSV of an earlier run (a path in the data folder or a store URL): only the
            rows it marks failed run again. Empty: every row not yet completed.
        max_concurrency: Rows in submission at once. Empty (recommended): follows the rate Telnyx allows
            (the rate x 1 s, between 8 and 256).
        global_rate_limit: Name of a Prefect global concurrency limit with slot decay that every API request
            also takes a slot of: an explicit account-wide cap shared by every worker. Empty: Telnyx's
            rate-limit headers pace the run, which already shares the account with other runs.
        storage_credentials: Name of a Prefect Secret block holding the store's fsspec options as JSON (for
            S3: {"key": ..., "secret": ..., "endpoint_url": ...}). Empty: the worker's environment (AWS_*,
            GOOGLE_APPLICATION_CREDENTIALS, AZURE_STORAGE_*).
        plan_only: Only say what a run would do, sending nothing but GET requests: a verdict per row
            (create, resume, update, wait, done, invalid, blocked) published as a table artifact, with the
            calls the run would make and how long they take at the account's rate. Nothing is written to
            Telnyx and no results CSV is written (rows an earlier run completed in it count as done);
            only_failed, max_concurrency and global_rate_limit do not apply. The run ends Failed when a row
            would not proceed (invalid or blocked), like compliance plan's exit code.
    """
    logger = get_run_logger()
    pipeline = pipeline_settings()
    if plan_only:
        return await _plan_only(csv_path, out, storage_credentials)
    try:
        run = handed_over(csv_path, out)  # the caller's run (compliance onboard), started before Prefect
    except ValueError as error:
        logger.error("%s", error)
        return Failed(message=escape_controls(str(error)), data=error)
    async with AsyncExitStack() as stack:
        if run is None:
            try:
                options = await storage_options(storage_credentials)
                scope = run_scope(options)
                csv_path, out, only_failed = confine_bulk(
                    scope, csv_path, out, only_failed, names=("csv_path", "out", "only_failed")
                )
                locations = await asyncio.to_thread(
                    locate_bulk,
                    csv_path,
                    out,
                    only_failed,
                    documents_base=pipeline.documents_base_dir,
                    staging_root=pipeline.staging_path(),
                    options=options,
                    max_document_bytes=pipeline.max_document_bytes,
                    local_root=scope.data_root,
                )
            except (CSVSourceError, ConfinementError, StorageCredentialsError) as error:
                logger.error("%s", error)
                return Failed(message=escape_controls(str(error)), data=error)
            settings = telnyx_settings()
            limiter: RateLimiter = (
                PrefectRateLimiter(settings.rate_limit, global_rate_limit)
                if global_rate_limit
                else shared_rate_limiter(settings.rate_limit)
            )
            client = await stack.enter_async_context(settings.async_client(limiter))
            run = BulkRun(
                locations.csv,
                client,
                locations=locations,
                settings=pipeline,
                max_concurrency=max_concurrency,
            )
            run.start()
        else:
            logger.info(
                "Took over the run of %s started %.1f s before Prefect was ready: %d row(s) done so far",
                run.summary.csv_name,
                time.monotonic() - (run.started_at or time.monotonic()),
                run.summary.rows,
            )
        # An event per requirement-group decision as it comes (those seen before Prefect was up at once),
        # emitted in this flow's context: the rows' tasks were started before Prefect's settings for the
        # command were entered (``compliance onboard`` starts the run first), and Prefect reads its API URL
        # from the context it is called in.
        flow_context = contextvars.copy_context()
        run.listen(lambda decision: flow_context.run(emit, group_event(decision, observed_by="bulk_onboard")))
        stack.enter_context(_forward_library_logs())
        await stack.enter_async_context(ProgressArtifact(run))
        try:
            summary = await run.wait()
        except (CSVFormatError, ValueError) as error:
            logger.error("%s", error)
            return Failed(message=escape_controls(str(error)), data=error)
        logger.info("API calls: %s", run.client.stats.as_dict())
    await publish_bulk_report(summary)
    _emit_events(summary)
    counts = ", ".join(f"{status} {count}" for status, count in summary.counts.items())
    message = escape_controls(f"{summary.rows} row(s): {counts}; results in {summary.results_location}")
    logger.info(message)
    if summary.exit_code != 0:
        return Failed(message=message, data=summary)
    return Completed(message=message, data=summary)


async def _plan_only(csv_path: str, out: str | None, storage_credentials: str | None) -> State[Any]:
    """``plan_only``: the plan of the CSV (GET requests only), published as artifacts; nothing written."""
    logger = get_run_logger()
    pipeline = pipeline_settings()
    try:
        options = await storage_options(storage_credentials)
        scope = run_scope(options)
        csv_path, out, _ = confine_bulk(scope, csv_path, out, None, names=("csv_path", "out", "only_failed"))
        locations = await asyncio.to_thread(
            locate_bulk,
            csv_path,
            out,
            None,
            documents_base=pipeline.documents_base_dir,
            staging_root=pipeline.staging_path(),
            options=options,
            max_document_bytes=pipeline.max_document_bytes,
            local_root=scope.data_root,
        )
    except (CSVSourceError, ConfinementError, StorageCredentialsError) as error:
        logger.error("%s", error)
        return Failed(message=escape_controls(str(error)), data=error)
    settings = telnyx_settings()
    async with settings.async_client(shared_rate_limiter(settings.rate_limit)) as client:
        try:
            plan = await plan_bulk(
                locations.csv,
                client,
                settings=pipeline,
                results_path=locations.results,
                documents_root=locations.documents_root,
                fetch_document=locations.fetch_document,
            )
        except CSVFormatError as error:
            logger.error("%s", error)
            return Failed(message=escape_controls(str(error)), data=error)
    await publish_bulk_plan(plan)
    message = escape_controls("; ".join(plan.summary_lines()))
    logger.info(message)
    if plan.exit_code != 0:
        return Failed(message=message, data=plan.as_dict())
    return Completed(message=message, data=plan.as_dict())


def _emit_events(summary: BulkSummary) -> None:
    """The run's summary event, after any decision not yet sent (the listener sent the others as they came;
    rows carried over from an earlier run are not run, so not reported again)."""
    from prefect.runtime import flow_run

    for decision in summary.decisions.values():
        emit(group_event(decision, observed_by="bulk_onboard"))
    emit(bulk_summary_event(summary, flow_run.id))


class _OfThisRun(logging.Filter):
    """Stamps library records with the flow run they belong to: rows started before the flow (the command
    line starts them before Prefect is up) carry no run context of their own."""

    def __init__(self, flow_run_id: Any) -> None:
        super().__init__()
        self.flow_run_id = flow_run_id

    def filter(self, record: logging.LogRecord) -> bool:
        record.flow_run_id = self.flow_run_id
        return True


@contextmanager
def _forward_library_logs() -> Iterator[None]:
    """The library's log lines (retries, recovered writes, rows run again) into this flow run's log in the
    API, without printing them a second time."""
    from prefect.logging.handlers import APILogHandler
    from prefect.runtime import flow_run

    handler = APILogHandler(level=logging.INFO)
    handler.addFilter(_OfThisRun(flow_run.id))
    library = logging.getLogger("telnyx_compliance")
    library.addHandler(handler)
    try:
        yield
    finally:
        library.removeHandler(handler)


def run_bulk(
    csv_path: Path,
    out: Path | None = None,
    only_failed: Path | None = None,
    settings: TelnyxSettings | None = None,
    *,
    pipeline: PipelineSettings | None = None,
    max_concurrency: int | None = None,
    global_rate_limit: str | None = None,
    on_row: Callable[[ResultRow], None] | None = None,
) -> BulkSummary:
    """Run ``bulk_onboard`` in this process (Prefect's API from ``PREFECT_API_URL``, or a temporary one) and
    return its summary; raises ``CSVFormatError`` when the file as a whole is unusable (nothing was sent).

    With ``on_row`` (a flow parameter cannot carry a callable) the run is started here and handed to the
    flow (:func:`run_handed_over`). The command line starts its run before Prefect is up
    (:mod:`telnyx_compliance.cli`); this one is for tests and scripts that already have Prefect up.
    """
    parameters: dict[str, Any] = {
        "out": str(out) if out else None,
        "only_failed": str(only_failed) if only_failed else None,
        "max_concurrency": max_concurrency,
        "global_rate_limit": global_rate_limit,
    }

    async def main() -> BulkSummary:
        if on_row is None:
            state: State[BulkSummary] = await bulk_onboard(  # type: ignore[assignment]
                str(csv_path), **parameters, return_state=True
            )
            return await asummary_of(state)
        settings = telnyx_settings()
        async with settings.async_client(shared_rate_limiter(settings.rate_limit)) as client:
            run = BulkRun(
                csv_path,
                client,
                out=out,
                only_failed=only_failed,
                settings=pipeline_settings(),
                max_concurrency=max_concurrency,
                on_row=on_row,
            )
            return await run_handed_over(run, str(csv_path), **parameters)

    with use_settings(settings, pipeline):
        return asyncio.run(main())


async def run_handed_over(
    run: BulkRun,
    csv_path: str,
    *,
    out: str | None = None,
    only_failed: str | None = None,
    max_concurrency: int | None = None,
    global_rate_limit: str | None = None,
) -> BulkSummary:
    """Start ``run`` (unless it was already) and run ``bulk_onboard`` reporting on it: the one place a run
    started outside the flow is handed to it. The parameters are the flow's, as its run shows them; they
    must name ``run``'s CSV and results (else the flow ends Failed, saying so)."""
    run.start()
    with handing_over(run):
        state: State[BulkSummary] = await bulk_onboard(  # type: ignore[assignment]
            csv_path,
            out=out,
            only_failed=only_failed,
            max_concurrency=max_concurrency,
            global_rate_limit=global_rate_limit,
            return_state=True,
        )
    return await asummary_of(state)


def summary_of(final: State[BulkSummary]) -> BulkSummary:
    """The summary a ``bulk_onboard`` run ended with, or its error (outside an event loop)."""
    return _summary_of(final, final.result(raise_on_failure=False))


async def asummary_of(final: State[BulkSummary]) -> BulkSummary:
    """:func:`summary_of` inside an event loop (where ``State.result`` hands back a coroutine)."""
    outcome = final.result(raise_on_failure=False)
    if inspect.isawaitable(outcome):
        outcome = await outcome
    return _summary_of(final, outcome)


def _summary_of(final: State[BulkSummary], outcome: Any) -> BulkSummary:
    if isinstance(outcome, BulkSummary):
        return outcome
    if isinstance(outcome, BaseException):
        raise outcome
    raise RuntimeError(f"bulk_onboard ended {final.type.value}: {final.message}")


async def drain_prefect_services() -> None:
    """Send the logs and events Prefect still has queued, before a temporary server goes away (else its
    workers retry against a closed port for a minute at exit)."""
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    for service in (APILogWorker, EventsWorker):
        drained = service.drain_all(timeout=10)
        if inspect.isawaitable(drained):
            await drained
