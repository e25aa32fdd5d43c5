"""What ``compliance status`` prints: a counts line, then one table per section of the report.

The sections and rows are :func:`~telnyx_compliance.onboarding.status.status_rows`'s, the same the scheduled
reconcile publishes. As in :mod:`telnyx_compliance.terminal`, nothing from an API answer reaches the terminal
as it is: every cell has its control characters escaped and is plain text, never rich markup.
"""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from telnyx_compliance._text import escape_controls
from telnyx_compliance.onboarding.status import STATUS_COLUMNS, StatusReport, status_rows

__all__ = ["print_status"]

_SECTION_COLOURS = {
    "Needs action": "red",
    "Approved, not attached yet": "yellow",
    "Waiting for Telnyx": "cyan",
    "Approved": "green",
    "Other": "magenta",
}


def _text(value: str) -> Text:
    return Text(escape_controls(value))


def print_status(report: StatusReport, console: Console) -> None:
    """The report as tables on ``console``."""
    counts = report.counts
    scope = (
        f"{len(report.references):,} customer reference(s) of a results CSV"
        if report.references is not None
        else f"prefix {report.prefix}-"
    )
    summary = Text()
    summary.append(f"{len(report.groups):,} requirement group(s)", style="bold")
    summary.append(
        f" ({escape_controls(scope)}): {counts['pending']:,} pending, {counts['declined']:,} declined, "
        f"{counts['expired']:,} expired, {counts['approved']:,} approved "
        f"({counts['approved_not_attached']:,} not attached yet), {counts['unapproved']:,} never submitted, "
        f"{counts['other']:,} other; taken at {escape_controls(report.taken_at)}"
    )
    console.print(summary)
    for title, about, rows in status_rows(report):
        table = Table(
            title=Text(f"{title}: {about}", style=f"bold {_SECTION_COLOURS.get(title, '')}".strip()),
            title_justify="left",
        )
        for column in STATUS_COLUMNS:
            table.add_column(column, overflow="fold", justify="right" if column == "Age" else "left")
        for row in rows:
            table.add_row(*(_text(cell) for cell in row))
        console.print(table)
