"""The results CSV of a bulk onboarding: one line per input row, written as rows finish, safe to open.

Columns: ``row`` (the input row as a spreadsheet numbers it), ``customer_reference``, ``status``,
``address_id``, ``document_ids``, ``requirement_group_id``, ``requirement_group_status``,
``attached_orders``, ``error``, ``row_digest`` (a hash of the input row, so a rerun recognises the rows it
finished even when rows were inserted above them). Lists are space-separated.

``status`` is one of

* ``completed``: the requirement group is approved and attached to every order of the row;
* ``pending_approval``: submitted, Telnyx has not decided yet (``compliance reconcile`` follows it up);
* ``declined``: Telnyx declined the group; ``error`` says why;
* ``invalid``: the row breaks the CSV format or the market's requirements; nothing was sent for it;
* ``failed``: an error stopped the onboarding (network, API, timeout); rerunning retries it.

Formula injection: a spreadsheet runs a cell starting with ``=``, ``+``, ``-``, ``@``, a tab, CR or LF as a
formula (some also after a leading NUL character, so a NUL counts too),
so such a cell is written with a leading ``'`` (which spreadsheets show as text). The one
exception is a cell made only of E.164 numbers (``+4930123456``, or several separated by spaces): digits
after a ``+`` cannot call a function or reach outside the sheet, and phone numbers stay readable.

The file is appended to as rows finish and synced to disk at least every half second, so a crash loses at
most that much (a rerun finds what those rows created); when a run ends, :meth:`ResultsWriter.close`
rewrites it with exactly the last line of each input row, in row order.
"""

from __future__ import annotations

import csv
import io
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, Final, Literal, TextIO

RowStatus = Literal["completed", "pending_approval", "declined", "invalid", "failed"]
ROW_STATUSES: Final[tuple[RowStatus, ...]] = (
    "completed",
    "pending_approval",
    "declined",
    "invalid",
    "failed",
)

_FORMULA_STARTS: Final = ("=", "+", "-", "@", "\t", "\r", "\n", "\x00")
_ONLY_E164: Final = re.compile(r"\+[1-9]\d{1,14}(?: \+[1-9]\d{1,14})*")


def _needs_quote(value: str) -> bool:
    """A spreadsheet would run ``value``, or it starts with ``'`` before such a value (so that reading
    the cell back, which drops one ``'`` before a runnable value, gives ``value`` again)."""
    rest = value.lstrip("'")
    return rest.startswith(_FORMULA_STARTS) and not _ONLY_E164.fullmatch(rest)


def escape_cell(value: str) -> str:
    """``value`` made inert for spreadsheets (see the module docstring for the rule)."""
    return "'" + value if _needs_quote(value) else value


@dataclass(frozen=True, slots=True)
class ResultRow:
    """What happened to one input row."""

    row: int
    customer_reference: str
    status: RowStatus
    address_id: str = ""
    document_ids: tuple[str, ...] = ()
    requirement_group_id: str = ""
    requirement_group_status: str = ""
    attached_orders: tuple[str, ...] = ()
    error: str = ""
    row_digest: str = ""

    def cells(self) -> list[str]:
        """The CSV cells, escaped."""
        raw = asdict(self)
        return [
            escape_cell(" ".join(value) if isinstance(value, tuple) else str(value))
            for value in (raw[name] for name in RESULT_COLUMNS)
        ]


RESULT_COLUMNS: Final[tuple[str, ...]] = tuple(item.name for item in fields(ResultRow))


def _unescape(value: str) -> str:
    """The inverse of :func:`escape_cell`."""
    if value.startswith("'") and _needs_quote(value[1:]):
        return value[1:]
    return value


def _parse_line(line: dict[str, str]) -> ResultRow | None:
    try:
        row = int(line.get("row") or "")
    except ValueError:
        return None
    status = line.get("status", "")
    if status not in ROW_STATUSES:
        return None
    cell = {name: _unescape(line.get(name) or "") for name in RESULT_COLUMNS}
    return ResultRow(
        row=row,
        customer_reference=cell["customer_reference"],
        status=status,
        address_id=cell["address_id"],
        document_ids=tuple(cell["document_ids"].split()),
        requirement_group_id=cell["requirement_group_id"],
        requirement_group_status=cell["requirement_group_status"],
        attached_orders=tuple(cell["attached_orders"].split()),
        error=cell["error"],
        row_digest=cell["row_digest"],
    )


def read_results(path: Path) -> Iterator[ResultRow]:
    """Every well-formed line of a results CSV, in file order (a later line about a row supersedes earlier).

    Lines cut short by a crash, or from another tool, are skipped.
    """
    with path.open(encoding="utf-8-sig", newline="") as handle:
        for line in csv.DictReader(handle):
            parsed = _parse_line(line)
            if parsed is not None:
                yield parsed


def latest_results(path: Path) -> dict[int, ResultRow]:
    """The last line about each row of a results CSV; empty when the file does not exist."""
    if not path.exists():
        return {}
    return {result.row: result for result in read_results(path)}


def _line(cells: list[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerow(cells)
    return buffer.getvalue()


class ResultsWriter:
    """Appends result lines to ``path``; :meth:`close` compacts it to one line per row.

    Use as a context manager. Lines already in the file (from an interrupted run) stay until compaction,
    where the latest line per row wins.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._handle: TextIO | None = None
        self._writer: Any = None  # csv's writer type is private
        self._rows_written: set[int] = set()

    def __enter__(self) -> ResultsWriter:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fresh = not self.path.exists() or self.path.stat().st_size == 0
        if not fresh and not self._has_our_header():
            raise ValueError(f"{self.path} exists and is not a results CSV: refusing to append to it")
        self._handle = self.path.open("a", encoding="utf-8", newline="")
        if not fresh and not self._ends_with_newline():
            self._handle.write("\r\n")  # a line cut short by a crash must not swallow the next one
        self._writer = csv.writer(self._handle)
        if fresh:
            self._writer.writerow(RESULT_COLUMNS)
            self._handle.flush()
        return self

    def _has_our_header(self) -> bool:
        with self.path.open(encoding="utf-8-sig", newline="") as handle:
            header = next(csv.reader(handle), [])
        return tuple(header) == RESULT_COLUMNS

    def _ends_with_newline(self) -> bool:
        with self.path.open("rb") as handle:
            handle.seek(-1, os.SEEK_END)
            return handle.read(1) in (b"\n", b"\r")

    def write(self, results: Iterable[ResultRow], *, sync: bool = True) -> None:
        """Append ``results``; with ``sync``, flush everything written so far to disk."""
        assert self._handle is not None and self._writer is not None, "use ResultsWriter as a context manager"
        for result in results:
            self._writer.writerow(result.cells())
            self._rows_written.add(result.row)
        if sync:
            self.sync()

    def sync(self) -> None:
        """Flush what was written to disk (a crash after this loses none of it)."""
        if self._handle is not None:
            self._handle.flush()
            os.fsync(self._handle.fileno())

    def close(self, *, compact: bool = True) -> None:
        """Close the file; with ``compact``, rewrite it as the latest line of each row written in this run."""
        if self._handle is None:
            return
        self._handle.close()
        self._handle = self._writer = None
        if compact:
            self._compact()

    def _compact(self) -> None:
        """Rewrite the file as the latest line of each row written in this run, in row order. Lines are kept
        as text, not parsed results (a 100,000-row run holds a few MB here, not hundreds)."""
        latest: dict[int, str] = {}
        with self.path.open(encoding="utf-8-sig", newline="") as handle:
            for cells in csv.reader(handle):
                if len(cells) != len(RESULT_COLUMNS) or cells[2] not in ROW_STATUSES:
                    continue  # the header, or a line cut short by a crash
                try:
                    row = int(cells[0])
                except ValueError:
                    continue
                if row in self._rows_written:
                    latest[row] = _line(cells)
        temporary = self.path.with_name(self.path.name + ".tmp")
        with temporary.open("w", encoding="utf-8", newline="") as handle:
            handle.write(_line(list(RESULT_COLUMNS)))
            handle.writelines(latest[row] for row in sorted(latest))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, self.path)

    def __exit__(self, exc_type: object, exc: object, traceback: object) -> None:
        # After a crash keep the append log as it is: the next run reads it and skips what finished.
        self.close(compact=exc_type is None)


__all__ = [
    "RESULT_COLUMNS",
    "ROW_STATUSES",
    "ResultRow",
    "ResultsWriter",
    "RowStatus",
    "escape_cell",
    "latest_results",
    "read_results",
]
