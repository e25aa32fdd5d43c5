"""Which rows of the CSV a run onboards: not those an earlier run completed (carried over by the hash of
their cells, so inserted rows do not confuse it); with ``only_failed``, just the rows a given results CSV
marks failed. :func:`classify` says what a run does with each row."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

from telnyx_compliance.onboarding.bulk.lines import invalid_row
from telnyx_compliance.onboarding.csv_io import ParsedRow
from telnyx_compliance.onboarding.results_csv import ResultRow, fitted


@dataclass(frozen=True)
class Selection:
    """Which rows of the file run: not those a rerun carries over; with ``only_failed``, only the rows that
    results CSV marks failed (same row number and customer reference)."""

    completed: dict[str, ResultRow] = field(default_factory=dict)  # row digest -> its completed line
    only_failed: dict[int, ResultRow] | None = None

    @classmethod
    def from_results(
        cls, previous: dict[int, ResultRow], only_failed: dict[int, ResultRow] | None = None
    ) -> Selection:
        completed = {line.row_digest: line for line in previous.values() if line.status == "completed"}
        return cls(completed=completed, only_failed=only_failed)

    def selected(self, row: ParsedRow) -> bool:
        """Not excluded by ``only_failed``."""
        if self.only_failed is None:
            return True
        earlier = self.only_failed.get(row.row_number)
        return earlier is not None and earlier.status == "failed" and _same_customer(earlier, row)

    def carried_line(self, row: ParsedRow) -> ResultRow | None:
        """The line of an earlier run that stands for ``row``, which does not run."""
        if not self.selected(row):
            assert self.only_failed is not None
            earlier = self.only_failed.get(row.row_number)
            if earlier is not None and _same_customer(earlier, row):
                return replace(earlier, row_digest=row.digest)
            return None
        done = self.completed.get(row.digest) if row.request is not None else None
        if done is None:
            return None
        return replace(done, row=row.row_number, customer_reference=row.customer_reference)

    def runs(self, row: ParsedRow) -> bool:
        """A valid row this run onboards."""
        return row.request is not None and self.selected(row) and row.digest not in self.completed


def _same_customer(earlier: ResultRow, row: ParsedRow) -> bool:
    """Whether a line of a results CSV is about ``row``'s customer: the reference as the file holds it (cut
    to its cell size; control characters are read back as they were)."""
    return fitted(earlier.customer_reference) == fitted(row.customer_reference)


RowAction = Literal["carried", "invalid", "run", "skip"]


def classify(row: ParsedRow, selection: Selection) -> tuple[RowAction, ResultRow | None]:
    """What a run does with ``row``: carry an earlier line over, write it as invalid, run it, or skip it
    (a row ``only_failed`` leaves alone and has no line to carry); with the line to write, if any."""
    carried = selection.carried_line(row)
    if carried is not None:
        return "carried", carried
    if row.request is None:
        return ("invalid", invalid_row(row)) if selection.selected(row) else ("skip", None)
    return ("run", None) if selection.runs(row) else ("skip", None)


__all__ = ["RowAction", "Selection", "classify"]
