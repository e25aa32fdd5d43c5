"""The results CSV of a bulk onboarding: one line per input row, written as rows finish, safe to open.

Columns: ``row`` (the input row as a spreadsheet numbers it), ``customer_reference``, ``status``,
``address_id``, ``document_ids``, ``requirement_group_id``, ``requirement_group_status``,
``attached_orders``, ``error``, ``error_kind`` (what kind of failure ``error`` is: a value of
:class:`~telnyx_compliance.onboarding.errors.ErrorKind`, empty when the row did not fail), ``row_digest`` (a
hash of the input row, so a rerun recognises the rows it finished even when rows were inserted above them).
Lists are space-separated.

Results files written before ``error_kind`` existed are read as they are (the kind of a declined row is
derived from its status, other rows' is left empty); a run that appends to one first rewrites it with the
column added.

``status`` is one of

* ``completed``: the requirement group is approved and attached to every order of the row;
* ``pending_approval``: submitted, Telnyx has not decided yet (``compliance reconcile`` follows it up);
* ``declined``: Telnyx declined the group; ``error`` says why;
* ``invalid``: the row breaks the CSV format or the market's requirements; nothing was sent for it;
* ``failed``: an error stopped the onboarding (network, API, timeout); rerunning retries it.

Control characters: no cell holds one, whatever the row's status. A line break, tab, escape sequence, NUL,
C1 control, Unicode line separator or bidi control (from a hostile CSV cell, or an API answer echoing one) is
written as a visible escape (``\\n``, ``\\x1b``, ``\\u2028``; a backslash that would read as one is
doubled), so every line of the file is one result (a file named ``x.pth`` cannot smuggle an ``import``
line) and a viewer shows what the cell held. Reading the file back undoes it (:func:`read_results`), so
a rerun recognises such rows. A cell holds at most :data:`MAX_CELL` characters of text (cut with ``…``):
escaped, it stays far below what the csv module reads back.

Formula injection: a spreadsheet runs a cell starting with ``=``, ``+``, ``-``, ``@``, a tab, CR or LF as a
formula (some also after a leading NUL character, so a NUL counts too), so such a cell (as escaped above)
is written with a leading ``'`` (which spreadsheets show as text). The one exception is a cell made only of
E.164 numbers (``+4930123456``, or several separated by spaces): digits after a ``+`` cannot call a
function or reach outside the sheet, and phone numbers stay readable.

The file is appended to as rows finish and synced to disk at least every half second, so a crash loses at
most that much (a rerun finds what those rows created); when a run ends, :meth:`ResultsWriter.close`
rewrites it with exactly the last line of each input row, in row order.

Results on an object store (``--out s3://bucket/results.csv``): a store cannot append, so the lines go to a
local file as above and a :class:`ResultsMirror` copies what is new to the store as *parts*
(``results.csv.parts/<stamp>.csv``, at most one every :data:`PART_EVERY` seconds, in a background thread)
and, when the run ends, writes the final ``results.csv`` and deletes the parts. A crash loses no more than
the last part's worth; the next run reads the final object and then every part, in order.
"""

from __future__ import annotations

import concurrent.futures
import csv
import io
import os
import re
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, Final, Literal, TextIO

from telnyx_compliance import storage
from telnyx_compliance._safe_logging import library_logger
from telnyx_compliance._text import escape_controls, unescape_controls
from telnyx_compliance.onboarding.errors import ErrorKind

logger = library_logger("telnyx_compliance.results")

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


#: Characters of text a results cell holds at most (escaped, at most six times as many: far below the
#: 131,072 the csv module reads in one field, so a rerun can always read the file back).
MAX_CELL: Final = 10_000


def fitted(value: str) -> str:
    """``value`` as a results cell holds it: at most :data:`MAX_CELL` characters (cut with ``…``)."""
    return value if len(value) <= MAX_CELL else value[: MAX_CELL - 1] + "…"


def escape_cell(value: str) -> str:
    """``value`` made inert for people and spreadsheets: control characters escaped, then formulas quoted
    (see the module docstring for the rules)."""
    value = escape_controls(fitted(value), reversible=True)
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
    error_kind: ErrorKind | None = None
    row_digest: str = ""

    def cells(self) -> list[str]:
        """The CSV cells, escaped."""
        raw = asdict(self)
        return [escape_cell(_text(raw[name])) for name in RESULT_COLUMNS]


def _text(value: object) -> str:
    if value is None:
        return ""
    return " ".join(value) if isinstance(value, tuple) else str(value)


RESULT_COLUMNS: Final[tuple[str, ...]] = tuple(item.name for item in fields(ResultRow))
#: The columns of results files written before ``error_kind`` existed (read, and upgraded before appending).
LEGACY_COLUMNS: Final[tuple[str, ...]] = tuple(name for name in RESULT_COLUMNS if name != "error_kind")
_KIND_AT: Final = RESULT_COLUMNS.index("error_kind")


def _current_cells(cells: list[str], header: tuple[str, ...]) -> list[str] | None:
    """A line's cells in today's columns: as they are, or a legacy line's with an empty ``error_kind``
    added; None for a line of neither width (a header, or a line cut short by a crash)."""
    if header == LEGACY_COLUMNS:
        if len(cells) != len(LEGACY_COLUMNS):
            return None
        kind = _derived_kind(cells[RESULT_COLUMNS.index("status")])
        return [*cells[:_KIND_AT], kind.value if kind is not None else "", *cells[_KIND_AT:]]
    return cells if len(cells) == len(RESULT_COLUMNS) else None


def _derived_kind(status: str) -> ErrorKind | None:
    """The kind of a line written before ``error_kind`` existed: what its status tells (declined), else
    unknown (empty)."""
    return ErrorKind.DECLINED if status == "declined" else None


def _error_kind(cell: str | None, status: str) -> ErrorKind | None:
    """The ``error_kind`` cell read back: a kind this pipeline knows, else empty; derived from the status
    when the file has no such column (written before it existed)."""
    if cell is None:
        return _derived_kind(status)
    try:
        return ErrorKind(cell)
    except ValueError:
        return None


def _unescape(value: str) -> str:
    """The inverse of :func:`escape_cell` (of cells not cut to :data:`MAX_CELL`)."""
    if value.startswith("'") and _needs_quote(value[1:]):
        value = value[1:]
    return unescape_controls(value)


def _parse_line(line: dict[str, str]) -> ResultRow | None:
    try:
        row = int(line.get("row") or "")
    except ValueError:
        return None
    status = line.get("status", "")
    if status not in ROW_STATUSES:
        return None
    cell = {name: _unescape(line.get(name) or "") for name in RESULT_COLUMNS}
    kind = line.get("error_kind")
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
        error_kind=_error_kind(None if kind is None else cell["error_kind"], status),
        row_digest=cell["row_digest"],
    )


def read_results(path: Path) -> Iterator[ResultRow]:
    """Every well-formed line of a results CSV, in file order (a later line about a row supersedes earlier).

    Lines cut short by a crash, or from another tool, are skipped. A file the csv module cannot read (a cell
    longer than it reads: not one this module wrote) raises ``ValueError`` naming the line.
    """
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        try:
            for line in reader:
                parsed = _parse_line(line)
                if parsed is not None:
                    yield parsed
        except csv.Error as error:
            raise ValueError(
                f"{path}: line {reader.line_num} cannot be read as a line of a results CSV ({error})"
            ) from None


def latest_results(path: Path) -> dict[int, ResultRow]:
    """The last line about each row of a results CSV; empty when the file does not exist."""
    if not path.exists():
        return {}
    return {result.row: result for result in read_results(path)}


#: Bytes read from the start of a file to recognise its header.
_HEAD_BYTES: Final = 64 * 1024


def is_results_file(location: str, options: Mapping[str, Any] | None = None) -> bool:
    """``location`` (a path or a store URL) starts with the results CSV's header, or is empty: a file this
    pipeline wrote, which a run may append to or replace. Nothing else is ever overwritten."""
    head = storage.read_head(location, _HEAD_BYTES, options=options)
    if not head.strip():
        return True
    first = head.decode("utf-8-sig", errors="replace").splitlines()[0] if head else ""
    try:
        header = next(csv.reader([first]), [])
    except csv.Error:
        return False
    return tuple(header) in (RESULT_COLUMNS, LEGACY_COLUMNS)


def _line(cells: list[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerow(cells)
    return buffer.getvalue()


#: Shortest time between two parts uploaded by a :class:`ResultsMirror` (s).
PART_EVERY: Final = 1.0
_PART_NAME: Final = re.compile(r"\d{20}\.csv")


class ResultsMirror:
    """Keeps a results CSV at ``location`` on a store that cannot append (see the module docstring).

    :meth:`fetch` brings what earlier runs left there into a local file; the :class:`ResultsWriter` of that
    file then calls :meth:`push` as it syncs and :meth:`finish` when it has compacted.
    """

    def __init__(
        self, location: str, options: Mapping[str, Any] | None = None, *, every: float = PART_EVERY
    ) -> None:
        storage.check_location(location, writable=True)
        self.location = location
        self.parts = location + ".parts"
        self.options = options
        self.every = every
        self._offset = 0
        self._stamp = 0
        self._last_push = 0.0
        self._pending: concurrent.futures.Future[None] | None = None
        self._lock = threading.Lock()
        self._executor = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="results-mirror")

    def __repr__(self) -> str:
        return f"ResultsMirror({storage.redact(self.location)!r})"

    def fetch(self, local: Path) -> None:
        """Make ``local`` hold every line about the results at the location: the final object's, then each
        part's in order (later lines win when read); no file when there is nothing there."""
        sources = [self.location, *self._our_parts()]
        lines: list[str] = []
        found = False
        for source in sources:
            try:
                text = storage.read_bytes(source, options=self.options).decode("utf-8-sig")
            except FileNotFoundError:
                continue
            found = True
            if (
                source == self.location
                and text.strip()
                and not text.startswith((_line(list(RESULT_COLUMNS)), _line(list(LEGACY_COLUMNS))))
            ):
                raise storage.StorageError(
                    f"{storage.redact(source)} exists and is not a results CSV of this pipeline: "
                    "a run never replaces another object"
                )
            reader = csv.reader(io.StringIO(text, newline=""))
            header = tuple(next(reader, []))
            for cells in reader:
                current = _current_cells(cells, header)
                if current is not None:
                    lines.append(_line(current))
            if source != self.location:
                self._stamp = max(self._stamp, _part_stamp(source))
        local.parent.mkdir(parents=True, exist_ok=True)
        if not found:
            local.unlink(missing_ok=True)
            return
        # A new file renamed into place (storage.put_bytes): a symlink at ``local`` cannot redirect the write.
        storage.put_bytes(str(local), "".join([_line(list(RESULT_COLUMNS)), *lines]).encode("utf-8"))

    def _our_parts(self) -> list[str]:
        """The parts this pipeline wrote (``<20 digits>.csv`` under ``<location>.parts``); anything else
        there is neither read nor removed."""
        return [
            part
            for part in storage.list_files(self.parts, self.options)
            if _PART_NAME.fullmatch(part.rsplit("/", 1)[-1])
        ]

    def begin(self, local: Path) -> None:
        """Lines of ``local`` from here on are new: they go to the store in the next parts."""
        self._offset = local.stat().st_size if local.exists() else 0

    def push(self, local: Path, *, force: bool = False) -> None:
        """Send what ``local`` gained since the last part, as a new part, in the background (skipped when
        one is still on its way or the last went less than :attr:`every` seconds ago, unless ``force``)."""
        now = time.monotonic()
        if not force and (now - self._last_push < self.every or self._busy()):
            return
        self._last_push = now
        self._pending = self._executor.submit(self._upload_part, local)
        if force:
            self._pending.result()

    def _busy(self) -> bool:
        return self._pending is not None and not self._pending.done()

    def _next_part(self) -> str:
        self._stamp = max(time.time_ns(), self._stamp + 1)
        return f"{self.parts}/{self._stamp:020d}.csv"

    def _upload_part(self, local: Path) -> None:
        with self._lock:
            with local.open("rb") as handle:
                handle.seek(self._offset)
                data = handle.read()
            cut = data.rfind(b"\n") + 1  # whole lines only: the rest goes with the next part
            if cut == 0:
                return
            header = _line(list(RESULT_COLUMNS)).encode()
            try:
                storage.put_bytes(self._next_part(), header + data[:cut], self.options)
            except (storage.StorageError, OSError) as error:
                logger.warning("Results part not written to %s (next part retries): %s", self, error)
                return
            self._offset += cut

    def finish(self, local: Path) -> None:
        """After compaction: ``local`` becomes the object at the location and the parts go. The compacted
        lines are first written as the last part, so a crash in between still reads them last."""
        self.wait()
        data = local.read_bytes()
        if self._our_parts():
            storage.put_bytes(self._next_part(), data, self.options)
        storage.put_bytes(self.location, data, self.options)
        for part in self._our_parts():
            storage.remove(part, self.options)
        self._executor.shutdown()

    def abandon(self, local: Path) -> None:
        """After a crash: send what is left as one more part (best effort), no final object."""
        try:
            self.wait()
            self._offset = min(self._offset, local.stat().st_size)
            self._upload_part(local)
        except (OSError, storage.StorageError) as error:
            logger.warning("Last results part not written to %s: %s", self, error)
        finally:
            self._executor.shutdown()

    def wait(self) -> None:
        """Until the part on its way (if any) is written."""
        if self._pending is not None:
            self._pending.result()


def _part_stamp(location: str) -> int:
    name = location.rsplit("/", 1)[-1].split(".", 1)[0]
    return int(name) if name.isdigit() else 0


class ResultsWriter:
    """Appends result lines to ``path``; :meth:`close` compacts it to one line per row.

    Use as a context manager. Lines already in the file (from an interrupted run) stay until compaction,
    where the latest line per row wins. With a ``mirror``, the file is copied to its store as it grows and
    when it is closed (:class:`ResultsMirror`).
    """

    def __init__(self, path: Path, mirror: ResultsMirror | None = None) -> None:
        self.path = path
        self.mirror = mirror
        self._handle: TextIO | None = None
        self._writer: Any = None  # csv's writer type is private
        self._rows_written: set[int] = set()

    def __enter__(self) -> ResultsWriter:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fresh = not self.path.exists() or self.path.stat().st_size == 0
        if not fresh and not self._has_our_header():
            raise ValueError(f"{self.path} exists and is not a results CSV: refusing to append to it")
        if not fresh and self._header() == LEGACY_COLUMNS:
            self._rewrite(self._upgraded_lines())  # lines of today's width only, from here on
        # Never through a symbolic link planted where the results go (O_NOFOLLOW), never world-writable.
        descriptor = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o644)
        self._handle = open(descriptor, "a", encoding="utf-8", newline="")
        if not fresh and not self._ends_with_newline():
            self._handle.write("\r\n")  # a line cut short by a crash must not swallow the next one
        self._writer = csv.writer(self._handle)
        if fresh:
            self._writer.writerow(RESULT_COLUMNS)
            self._handle.flush()
        if self.mirror is not None:
            self._handle.flush()
            self.mirror.begin(self.path)
        return self

    def _has_our_header(self) -> bool:
        return is_results_file(str(self.path))

    def _header(self) -> tuple[str, ...]:
        with self.path.open(encoding="utf-8-sig", newline="") as handle:
            return tuple(next(csv.reader(handle), []))

    def _upgraded_lines(self) -> list[str]:
        """The lines of a legacy results file in today's columns (``error_kind`` empty)."""
        with self.path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle)
            header = tuple(next(reader, []))
            return [_line(cells) for line in reader if (cells := _current_cells(line, header)) is not None]

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
            if self.mirror is not None:
                self.mirror.push(self.path)

    def close(self, *, compact: bool = True) -> None:
        """Close the file; with ``compact``, rewrite it as the latest line of each row written in this run."""
        if self._handle is None:
            return
        self._handle.close()
        self._handle = self._writer = None
        if compact:
            self._compact()
            if self.mirror is not None:
                self.mirror.finish(self.path)
        elif self.mirror is not None:
            self.mirror.abandon(self.path)

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
        self._rewrite(latest[row] for row in sorted(latest))

    def _rewrite(self, lines: Iterable[str]) -> None:
        """Replace the file by the header and ``lines``: a fresh temporary file (O_EXCL, never a planted
        link) renamed over the results in one step."""
        descriptor, temporary = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=self.path.parent)
        try:
            with open(descriptor, "w", encoding="utf-8", newline="") as handle:
                handle.write(_line(list(RESULT_COLUMNS)))
                handle.writelines(lines)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(temporary, 0o644)
            os.replace(temporary, self.path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def __exit__(self, exc_type: object, exc: object, traceback: object) -> None:
        # After a crash keep the append log as it is: the next run reads it and skips what finished.
        self.close(compact=exc_type is None)


__all__ = [
    "LEGACY_COLUMNS",
    "MAX_CELL",
    "PART_EVERY",
    "RESULT_COLUMNS",
    "ROW_STATUSES",
    "ResultRow",
    "ResultsMirror",
    "ResultsWriter",
    "RowStatus",
    "escape_cell",
    "fitted",
    "is_results_file",
    "latest_results",
    "read_results",
]
