"""One line of the results CSV per input row: from its onboarding's result, for an invalid row, or for a
row that crashed. Each line carries the kind of its error (``ResultRow.error_kind``), decided where the
failure was caught; :func:`row_status` reads it."""

from __future__ import annotations

import re

from telnyx_compliance.onboarding.csv_io import ParsedRow
from telnyx_compliance.onboarding.errors import ErrorKind
from telnyx_compliance.onboarding.results import OnboardingResult
from telnyx_compliance.onboarding.results_csv import ResultRow, RowStatus

_LINE_BREAKS = re.compile(r"\s*\n\s*")
#: An unexpected exception's message is cut here in the results CSV.
_MAX_ERROR = 1000


def one_line(text: str) -> str:
    """``text`` on one line (an error's lines joined by spaces)."""
    return _LINE_BREAKS.sub(" ", text)


def row_status(result: OnboardingResult) -> RowStatus:
    """The results-CSV status of a row: the pipeline's, with a plan that cannot be met reported as
    ``invalid``: the pipeline reports it (and an unknown market) as ``failed`` before any write, but for an
    operator it is an input to fix, not a failure to retry."""
    if result.status == "failed" and result.error_kind is ErrorKind.PLAN_UNMET:
        return "invalid"
    return result.status


def result_row(row: ParsedRow, result: OnboardingResult) -> ResultRow:
    """One results-CSV line for ``row`` from its onboarding's result."""
    return ResultRow(
        row=row.row_number,
        customer_reference=row.customer_reference,
        status=row_status(result),
        address_id=result.address_id or "",
        document_ids=result.document_ids,
        requirement_group_id=result.requirement_group_id or "",
        requirement_group_status=result.requirement_group_status or "",
        attached_orders=tuple(order.id for order in result.attached_orders),
        error=one_line(result.error or ""),
        error_kind=result.error_kind,
        row_digest=row.digest,
    )


def invalid_row(row: ParsedRow) -> ResultRow:
    """The line of a row that breaks the CSV format (nothing is sent for it)."""
    return ResultRow(
        row=row.row_number,
        customer_reference=row.customer_reference,
        status="invalid",
        error=row.error_text,
        error_kind=ErrorKind.INVALID_INPUT,
        row_digest=row.digest,
    )


def crashed_row(row: ParsedRow, error: BaseException) -> ResultRow:
    """The line of a row an unexpected exception stopped (the pipeline returns every expected outcome)."""
    return ResultRow(
        row=row.row_number,
        customer_reference=row.customer_reference,
        status="failed",
        error=one_line(f"{type(error).__name__}: {error}")[:_MAX_ERROR],
        error_kind=ErrorKind.CRASHED,
        row_digest=row.digest,
    )


__all__ = ["crashed_row", "invalid_row", "one_line", "result_row", "row_status"]
