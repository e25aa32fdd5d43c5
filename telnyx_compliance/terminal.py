"""What ``compliance onboard`` shows in a terminal: a first line at once, one progress line pinned at the
bottom with every log line printed above it (never into it), and a summary table at the end.

The progress line says where the rows stand, by phase (the run's
:class:`~telnyx_compliance.onboarding.bulk.BulkProgress`, read on the run's event loop by
:meth:`Terminal.follow` a few times a second):
``submitted 40/60 (~4s left at 5.0/s) · in review 38 (oldest 6s) · approved 2 · ordered 2``.
Its bar counts a row in review as half a row, so it moves while rows wait for their review.

One rich :class:`~rich.console.Console` on stderr owns all of it: the progress bar, the library's log lines
and, once Prefect is loaded, Prefect's (its console handler is swapped for one writing through the same
console). stdout stays free for ``--json``.

Nothing read from the CSV or an API answer reaches the terminal as it is: a customer reference, an error or a
file name is shown with its control characters escaped (no escape sequence moves, clears or colours the
screen, no OSC 8 link) and as plain text, never as rich markup (``[bold red]`` shows as typed). Log lines
pass a :class:`~telnyx_compliance._safe_logging.ControlCharacterFilter` and are never read as markup.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Sequence

from rich.console import Console
from rich.logging import RichHandler
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Column, Table
from rich.text import Text

from telnyx_compliance._safe_logging import LIBRARY_LOGGER, ControlCharacterFilter
from telnyx_compliance._text import escape_controls
from telnyx_compliance.onboarding.bulk import BulkProgress, BulkSummary
from telnyx_compliance.onboarding.results_csv import ROW_STATUSES, ResultRow

__all__ = ["Terminal"]

#: Loggers whose warnings are routine under faults (a retried request): shown with ``--verbose`` only.
_CHATTY = ("telnyx_compliance",)
_STATUS_COLOURS = {
    "completed": "green",
    "pending_approval": "yellow",
    "declined": "red",
    "invalid": "magenta",
    "failed": "red",
}
#: Colours of the phases in the progress line.
_PHASE_COLOURS = {
    "submitted": "bold",
    "in_review": "yellow",
    "approved": "green",
    "ordered": "green",
    "pending": "yellow",
    "declined": "red",
    "failed": "red",
    "invalid": "magenta",
    "carried_over": "dim",
}
#: How often the progress line is redrawn from the run's phase counts (s).
REFRESH_EVERY = 0.25
#: Rows listed in the closing table of rows that did not complete (the results CSV has all of them).
MAX_LISTED = 50


def _shown(text: str) -> str:
    """``text`` from a CSV or an API answer, safe inside a markup string: controls escaped, markup too."""
    return escape(escape_controls(text))


class _QuietRoutine(logging.Filter):
    def __init__(self, verbose: bool) -> None:
        super().__init__()
        self.verbose = verbose

    def filter(self, record: logging.LogRecord) -> bool:
        if self.verbose:
            return True
        return not (record.name in _CHATTY and record.levelno < logging.ERROR)


class Terminal:
    """The command's output; ``live`` shows a progress bar (in a terminal), else only the closing lines."""

    def __init__(self, *, console: Console | None = None, live: bool = True, verbose: bool = False) -> None:
        self.console = console or Console(stderr=True)
        self.live = live
        self.verbose = verbose
        self.tally: Counter[str] = Counter()
        #: Where the rows stand: the run's tracker once :meth:`follow` is called, else one fed by :meth:`row`.
        self.phases = BulkProgress()
        self._following = False
        self._rows = 0
        self._progress: Progress | None = None
        self._task: object = None
        self._handler: logging.Handler
        if live:
            self._handler = RichHandler(
                console=self.console,
                show_path=False,
                markup=False,
                rich_tracebacks=False,
                log_time_format="%X",
            )
        else:  # a file or a pipe: one plain line per record, never wrapped, easy to grep
            self._handler = logging.StreamHandler(self.console.file)
            self._handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        self._handler.setLevel(logging.INFO if verbose else logging.WARNING)
        self._handler.addFilter(_QuietRoutine(verbose))
        # Every record printed here (Prefect's too) has its control characters escaped first.
        self._handler.addFilter(ControlCharacterFilter())
        self._started = time.monotonic()
        self._limiter_rate: float | None = None
        #: The library logger's own ``propagate``, restored by :meth:`stop`.
        self._library_propagate: bool | None = None

    # -- logs ---------------------------------------------------------------------------------------------

    def route_logs(self) -> None:
        """Every log line through this console, above the progress line; call again once Prefect is loaded
        (it installs its own console handler on the root logger, which this replaces)."""
        root = logging.getLogger()
        for handler in list(root.handlers):
            if handler is not self._handler and type(handler).__name__ in (
                "PrefectConsoleHandler",
                "StreamHandler",
                "_SafeStreamHandler",
            ):
                root.removeHandler(handler)
        if self._handler not in root.handlers:
            root.addHandler(self._handler)
        root.setLevel(min(root.level or logging.WARNING, logging.INFO if self.verbose else logging.WARNING))
        for name in ("uvicorn", "fastapi"):
            for handler in list(logging.getLogger(name).handlers):
                logging.getLogger(name).removeHandler(handler)
        library = logging.getLogger(LIBRARY_LOGGER)
        library.setLevel(logging.INFO if self.verbose else logging.WARNING)
        # The library's lines go to this console directly, never up to the root logger: Prefect installs
        # its console handler there while it loads (in a thread, rows already running), and a retry logged
        # in that moment would otherwise be printed into the progress line.
        if self._handler not in library.handlers:
            library.addHandler(self._handler)
        if self._library_propagate is None:
            self._library_propagate = library.propagate
        library.propagate = False
        # One line per HTTP request is noise even in --verbose: the client logs its retries itself.
        logging.getLogger("httpx").setLevel(logging.WARNING)

    # -- the run ------------------------------------------------------------------------------------------

    def started(self, csv_name: str, rows: int, results: str) -> None:
        """The first line: what is being read, how many rows, where the results go (named as the user named
        them: a path or a URL without credentials)."""
        self.console.print(f"[bold]{_shown(csv_name)}[/]: {rows:,} row(s) read; results in {_shown(results)}")
        self._rows = rows
        if self.phases.total is None:
            self.phases.total = rows
        if self.live:
            self._progress = Progress(
                TextColumn("[bold]onboarding"),
                BarColumn(bar_width=24),
                # One line, cut short rather than wrapped when the terminal is narrow.
                TextColumn("{task.fields[phases]}", table_column=Column(no_wrap=True, overflow="ellipsis")),
                TimeElapsedColumn(),
                console=self.console,
                transient=False,
                redirect_stdout=False,
                redirect_stderr=False,
            )
            self._task = self._progress.add_task("rows", total=max(rows, 1), phases="")
            self._progress.start()
            self._refresh()

    async def follow(self, progress: BulkProgress, *, every: float = REFRESH_EVERY) -> None:
        """Show ``progress`` (a run's phase counts) in the progress line, redrawn every ``every`` seconds
        until cancelled: reviews age and the end of submission moves while no row is written. Run it as a
        task on the run's event loop (the counts are read there, never from rich's drawing thread)."""
        self.phases = progress
        self._following = True
        if progress.total is None and self._rows:
            progress.total = self._rows
        while self._progress is not None:  # (nothing to redraw without a terminal)
            self._refresh()
            await asyncio.sleep(every)

    def row(self, result: ResultRow) -> None:
        """One row finished (or was read as invalid, or carried over)."""
        self.tally[result.status] += 1
        if not self._following:  # nobody feeds the phases but the lines written
            self.phases.wrote(result.status)
        if self._progress is not None:
            self._refresh()

    def _refresh(self) -> None:
        assert self._progress is not None
        snapshot = self.phases.snapshot()
        line = " · ".join(f"[{_PHASE_COLOURS[phase]}]{text}[/]" for phase, text in snapshot.parts())
        self._progress.update(
            self._task,  # type: ignore[arg-type]
            completed=snapshot.fraction * max(self._rows, 1),
            phases=line,
        )

    def stop(self) -> None:
        if self._progress is not None:
            self._refresh()  # the counts as the run left them stay on screen
            self._progress.stop()
            self._progress = None
        library = logging.getLogger("telnyx_compliance")
        if self._handler in library.handlers:
            library.removeHandler(self._handler)
        if self._library_propagate is not None:
            library.propagate, self._library_propagate = self._library_propagate, None

    # -- the end ------------------------------------------------------------------------------------------

    def summary(self, summary: BulkSummary, problems: Sequence[ResultRow], *, api_calls: int | None) -> None:
        """Counts by status, then the rows that did not complete (first :data:`MAX_LISTED`), then where
        the results are and how the command exits."""
        self.stop()
        counts = Table(title="Rows by status", title_justify="left")
        counts.add_column("status")
        counts.add_column("rows", justify="right")
        for status in ROW_STATUSES:
            if summary.counts[status] or status == "completed":
                counts.add_row(f"[{_STATUS_COLOURS[status]}]{status}[/]", f"{summary.counts[status]:,}")
        self.console.print(counts)
        if problems:
            listed = Table(
                title="Rows that did not complete (row numbers as a spreadsheet shows them)",
                title_justify="left",
            )
            for column in ("row", "customer", "status", "error"):
                listed.add_column(column, overflow="fold")
            for line in sorted(problems, key=lambda line: line.row)[:MAX_LISTED]:
                listed.add_row(
                    str(line.row),
                    Text(escape_controls(line.customer_reference)),
                    Text(escape_controls(line.status)),
                    Text(escape_controls(line.error)),
                )
            self.console.print(listed)
            if len(problems) > MAX_LISTED:
                self.console.print(f"… and {len(problems) - MAX_LISTED:,} more in the results CSV")
        elapsed = time.monotonic() - self._started
        calls = f"; {api_calls:,} API calls" if api_calls is not None else ""
        results = summary.results_location or str(summary.results_path)
        self.console.print(f"Results: [bold]{_shown(results)}[/] ({elapsed:.1f} s{calls})")
        if summary.handovers:
            self.console.print(
                f"{len(summary.handovers):,} row(s) still pending review were handed over: the "
                "reconcile-requirement-groups flow reports their decision."
            )
