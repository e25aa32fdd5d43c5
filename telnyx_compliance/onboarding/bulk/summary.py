"""What a bulk run did, counted per input row: :class:`BulkSummary` (counts by status and by error, the
markdown report, the summary for scripts) and :func:`error_category`, which groups errors by their kind."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from telnyx_compliance._text import escape_markdown, markdown_code
from telnyx_compliance.onboarding.errors import ErrorKind
from telnyx_compliance.onboarding.results import GroupDecision, HandOver
from telnyx_compliance.onboarding.results_csv import ROW_STATUSES, ResultRow

#: Plan problems name the requirement keys they are about as ``[key]`` (``PlanProblem.render``).
_PLAN_KEY = re.compile(r"\[([a-z0-9_]+)\]")
#: How the report names each kind of error.
KIND_LABELS: dict[ErrorKind, str] = {
    ErrorKind.INVALID_INPUT: "invalid",
    ErrorKind.PLAN_UNMET: "invalid",
    ErrorKind.DECLINED: "declined",
    ErrorKind.TRANSIENT: "transient API failure",
    ErrorKind.OUTCOME_UNKNOWN: "write with unknown outcome",
    ErrorKind.REJECTED: "refused by the API",
    ErrorKind.CHECK_FAILED: "check failed",
    ErrorKind.CRASHED: "crashed",
}


@dataclass
class BulkSummary:
    """What a bulk onboarding did, counted per input row."""

    csv_path: Path
    results_path: Path
    #: The CSV and the results CSV as the user named them (a path or a URL, without credentials).
    csv_location: str = ""
    results_location: str = ""
    counts: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    #: Rows not run because an earlier run completed them (their line was carried over).
    carried_over: int = 0
    #: Onboardings (distinct customer, country, number type and action) among the rows run.
    groups: int = 0
    #: What reconcile needs of the rows still pending when the run's wait ended.
    handovers: list[HandOver] = field(default_factory=list)
    #: Decisions (approved, declined, expired) on the requirement groups of the rows run, one per group, not
    #: yet handed to a listener (:meth:`BulkRun.listen`): a listener takes them as they come, so a run of
    #: 100,000 rows does not keep 100,000 of them.
    decisions: dict[str, GroupDecision] = field(default_factory=dict)
    #: How many groups of each status the rows run saw decided (delivered or not).
    decision_counts: Counter[str] = field(default_factory=Counter)
    #: The groups decided so far: rows of one onboarding share a group, and it is reported once.
    decided_groups: set[str] = field(default_factory=set, repr=False)

    def decided(self, decision: GroupDecision, listener: Callable[[GroupDecision], None] | None) -> None:
        """Count ``decision`` and hand it to ``listener``, or keep it until one listens (once per group)."""
        if decision.requirement_group_id in self.decided_groups:
            return
        self.decided_groups.add(decision.requirement_group_id)
        self.decision_counts[decision.status] += 1
        if listener is None:
            self.decisions[decision.requirement_group_id] = decision
        else:
            listener(decision)

    @property
    def rows(self) -> int:
        return sum(self.counts.values())

    @property
    def valid_rows(self) -> int:
        return self.rows - self.counts["invalid"]

    @property
    def exit_code(self) -> int:
        """0 only when every valid row completed (invalid rows were reported, not run); else 1."""
        return 0 if self.counts["completed"] == self.valid_rows else 1

    def add(self, result: ResultRow) -> None:
        self.counts[result.status] += 1
        if result.status != "completed":
            self.errors[error_category(result)] += 1

    @property
    def csv_name(self) -> str:
        """The CSV's file name (of its location as named, not of a local copy)."""
        location = self.csv_location or str(self.csv_path)
        return location.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]

    def as_table(self) -> list[dict[str, str | int]]:
        """Counts by status, every status listed, for tables and artifacts."""
        return [{"status": status, "rows": self.counts[status]} for status in ROW_STATUSES]

    def as_dict(self) -> dict[str, object]:
        """The summary for scripts (``compliance onboard --json``)."""
        return {
            "csv": self.csv_location or str(self.csv_path),
            "results": self.results_location or str(self.results_path),
            "rows": self.rows,
            "counts": {status: self.counts[status] for status in ROW_STATUSES},
            "carried_over": self.carried_over,
            "onboardings": self.groups,
            "errors": dict(self.errors.most_common()),
            "handed_over": len(self.handovers),
            "exit_code": self.exit_code,
        }

    def markdown(self) -> str:
        """A markdown summary: counts by status and by error."""
        lines = [
            f"## Bulk onboarding of {markdown_code(self.csv_name)}",
            "",
            f"{self.rows} row(s) in {self.groups} onboarding group(s); "
            f"{self.carried_over} carried over from an earlier run. "
            f"Results: {markdown_code(self.results_location or str(self.results_path))}.",
            "",
            "| status | rows |",
            "| --- | ---: |",
            *(f"| {row['status']} | {row['rows']} |" for row in self.as_table()),
        ]
        if self.errors:
            lines += ["", "| error | rows |", "| --- | ---: |"]
            lines += [
                f"| {_markdown_cell(error)} | {count} |" for error, count in self.errors.most_common(20)
            ]
        return "\n".join(lines) + "\n"


def _markdown_cell(text: str) -> str:
    return escape_markdown(text)


def error_category(result: ResultRow) -> str:
    """A short label grouping similar errors: by the row's error kind, invalid rows also by the columns or
    requirement keys they fail on; a line without a kind (results from before kinds) by its status."""
    if result.status == "invalid":
        # Plan problems name requirement keys as "[key]"; CSV problems are "column: reason; ...".
        keys = sorted(set(_PLAN_KEY.findall(result.error)))
        columns = keys or sorted(
            {part.split(":", 1)[0].strip() for part in result.error.split("; ") if ":" in part}
        )
        return "invalid " + ", ".join(columns) if columns else "invalid"
    if result.status == "pending_approval":
        return "pending approval"
    if result.error_kind is not None:
        return KIND_LABELS[result.error_kind]
    return result.status


__all__ = ["KIND_LABELS", "BulkSummary", "error_category"]
