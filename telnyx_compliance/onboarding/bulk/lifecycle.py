"""A bulk run's life cycle: :class:`BulkRun` (check the file, snapshot, run, compact the results) and how a
run started by one caller reaches the code that reports on it.

**The hand-off.** ``compliance onboard`` starts the run before Prefect is even imported (rows do not wait
for an orchestrator), then calls the ``bulk_onboard`` flow, which must report on *that* run instead of
starting a second one. The caller says so explicitly, around the call::

    run.start()                      # rows are sent from here on
    ...                              # Prefect loads, its server comes up
    with handing_over(run):
        await bulk_onboard(csv, out=out)   # the flow calls handed_over(csv, out) and gets ``run``

:func:`handing_over` sets a :class:`contextvars.ContextVar` for the code it wraps; :func:`handed_over`
reads it. Chosen over a flow parameter (Prefect must serialise parameters and shows them in the UI: a live
run with its client and tasks is neither) and over a process-wide registry (a run left in it leaks to
whatever asks next; nothing in a signature shows it). A context variable is scoped to the caller's block,
seen by the coroutines and threads that inherit its context (Prefect copies the context into the flow and
task runs it starts), and unset everywhere else: a flow run from the UI or a deployment finds nothing handed
over and starts its own run. The one place that starts a run and then calls the flow is
``flows/bulk_onboard.py`` :func:`run_handed_over`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

from telnyx_compliance._client import AsyncTelnyx
from telnyx_compliance._exceptions import APIError
from telnyx_compliance.locations import Location
from telnyx_compliance.onboarding.bulk.progress import BulkProgress
from telnyx_compliance.onboarding.bulk.runner import BulkRunner, OnRow
from telnyx_compliance.onboarding.bulk.selection import Selection
from telnyx_compliance.onboarding.bulk.summary import BulkSummary
from telnyx_compliance.onboarding.csv_io import count_rows, iter_rows
from telnyx_compliance.onboarding.csv_source import (
    BulkLocations,
    normal_location,
    results_location_for,
)
from telnyx_compliance.onboarding.known import KnownResources
from telnyx_compliance.onboarding.mapping import RequirementMapping
from telnyx_compliance.onboarding.results import GroupDecision
from telnyx_compliance.onboarding.results_csv import ResultsWriter, latest_results
from telnyx_compliance.settings import PipelineSettings


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


class BulkRun:
    """One bulk onboarding of ``csv_path``: :meth:`run` it (or :meth:`start` it) once; :attr:`progress`
    (where the rows stand, by phase) and :attr:`summary` show how far it got while it runs (progress lines,
    artifacts).

    A run may be started before whatever reports on it is ready and be handed to it later
    (:func:`handing_over`): the command line starts the run, then Prefect's server, and the
    ``bulk_onboard`` flow reports on the run under way instead of starting a second one. Rows do not wait
    for an orchestrator.
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
            csv_location=Location.parse(csv_location).redacted,
            results_location=Location.parse(results_location).redacted,
        )
        #: Data rows of the CSV (known once the file passed its check): one line each in the results.
        self.rows_total: int | None = None
        #: Where the rows stand, by phase: read its ``snapshot()`` (on the run's event loop).
        self.progress = BulkProgress()
        self.runner: BulkRunner | None = None
        self.task: asyncio.Task[BulkSummary] | None = None
        #: When :meth:`start` was called (``time.monotonic()``).
        self.started_at: float | None = None
        #: Set once the file as a whole was checked (or found unusable).
        self.read = asyncio.Event()
        self._listener: Callable[[GroupDecision], None] | None = None

    @property
    def key(self) -> tuple[str, str]:
        """What the run is about: its CSV and its results, as :func:`handed_over` compares them."""
        if self.locations is not None:
            return _run_key(self.locations.csv_location, self.locations.results_location)
        return str(self.csv_path.resolve()), str(self.results_path.resolve())

    def start(self) -> asyncio.Task[BulkSummary]:
        """Run in the background of the current event loop (once: later calls return the same task)."""
        if self.task is None:
            self.started_at = time.monotonic()
            self.task = asyncio.get_running_loop().create_task(
                self.run(), name=f"bulk-run {self.summary.csv_location}"
            )
        return self.task

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
            self.progress.total = self.rows_total
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
                progress=self.progress,
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


_handed_over: ContextVar[BulkRun | None] = ContextVar("bulk_run_handed_over", default=None)


@contextmanager
def handing_over(run: BulkRun) -> Iterator[BulkRun]:
    """Hand ``run`` (started already, or to start) to the code this block calls: a ``bulk_onboard`` flow
    called inside it reports on ``run`` instead of starting its own (see the module docstring)."""
    token = _handed_over.set(run)
    try:
        yield run
    finally:
        _handed_over.reset(token)


def handed_over(csv: Path | str, out: Path | str | None = None) -> BulkRun | None:
    """The run the caller handed over (:func:`handing_over`) for ``csv`` and ``out`` (as the user named
    them: paths or URLs), or None when none was: the caller then starts its own. Raises ``ValueError`` when
    the run handed over is another CSV's or writes other results: the caller mixed up two runs."""
    run = _handed_over.get()
    if run is None:
        return None
    csv_text = str(csv)
    try:
        key = _run_key(csv_text, results_location_for(csv_text, str(out) if out else None))
    except ValueError:  # a location no run starts from (file://host/…): locate_bulk says why
        key = None
    if key != run.key:
        raise ValueError(
            f"the run handed over is for {run.summary.csv_location} (results in "
            f"{run.summary.results_location}), not for this CSV and results"
        )
    return run


__all__ = [
    "BulkRun",
    "default_results_path",
    "handed_over",
    "handing_over",
    "run_bulk_async",
]
