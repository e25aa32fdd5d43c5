"""Reading an onboarding CSV into validated requests, one row at a time, in bounded memory.

CSV format
==========

UTF-8 (a byte-order mark, as Excel writes it, is fine), comma-separated, one header row, one onboarding
per row. Lines starting with ``#`` *before* the header are comments (``compliance template`` writes one
per requirement) and are skipped. Empty rows are skipped. Every cell is text; an empty cell means "not given".

==================================  ========  ===============================================================
column                              required  meaning
==================================  ========  ===============================================================
``customer_reference``              yes       your id for the customer: 1-64 letters, digits, ``.``, ``_``,
                                              ``-``, starting with a letter or digit
``country_code``                    yes       ISO 3166 alpha-2 country of the numbers (``DE``, ``GB``, ...)
``phone_number_type``               no        ``local`` (default), ``toll_free``, ``mobile``, ``national``,
                                              ``shared_cost``
``action``                          no        ``ordering`` (default) or ``porting``
``address_first_name``              \\*       the user address Telnyx verifies; when any ``address_*``
``address_last_name``               \\*       cell of a row is filled, the starred ones are required
``address_business_name``           \\*
``address_street_address``          \\*
``address_extended_address``        no
``address_locality``                \\*
``address_administrative_area``     no
``address_postal_code``             no
``address_country_code``            no        defaults to ``country_code``; must equal it
``address_phone_number``            no        E.164 (``+493012345678``)
``phone_numbers``                   no        numbers to order, E.164, separated by ``;``, ``,`` or spaces
                                              (``+49 30 1234567`` is one number: a space separates two
                                              only before a ``+``)
``sub_number_order_ids``            no        existing sub-number orders to attach the requirement group to
                                              (ids separated by spaces, ``;`` or ``,``)
``number_order_phone_number_ids``   no        existing ordered numbers to attach the requirement group to
``doc_<key>``                       no        a document file (PDF, PNG, JPEG or TIFF, at most
                                              ``COMPLIANCE_MAX_DOCUMENT_BYTES``) for requirement key <key>;
                                              a path relative to the CSV's folder, or to
                                              ``COMPLIANCE_DOCUMENTS_BASE_DIR`` when set, and inside it
``value_<key>``                     no        the textual value of requirement key <key>
==================================  ========  ===============================================================

``<key>`` is a requirement key (snake_case): the requirement mapping (``onboarding/data/requirements.yaml``,
or ``COMPLIANCE_MAPPING_PATH``) maps keys to Telnyx requirements by id or name, and any other
requirement is filled from ``slug(name)``
(``"Business Registration Number"`` -> ``business_registration_number``). ``compliance template`` prints
the columns a market needs.

Rows sharing ``customer_reference``, ``country_code``, ``phone_number_type`` and ``action`` are one
onboarding: one address and one requirement group, attached to the orders of all of them. Their address,
``doc_*`` and ``value_*`` cells must therefore agree; a later row that disagrees with the first is invalid.

Errors
------
A problem with the file as a whole (not UTF-8, empty, no data rows, wrong delimiter, unknown, duplicate or
missing required columns, a row with more cells than the header) raises :class:`CSVFormatError` before any
row is used. A problem with one row yields that row with :class:`RowError` s naming the row (as a
spreadsheet numbers it: the header is row 1 unless comment lines precede it), the column and what was
expected; the other rows go on.
"""

from __future__ import annotations

import csv
import hashlib
import mimetypes
import re
import stat
import struct
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from pydantic import ValidationError

from telnyx_compliance._text import MAX_EXCERPT, excerpt
from telnyx_compliance.onboarding.confine import ConfinementError, confine
from telnyx_compliance.onboarding.plan import ALLOWED_DOCUMENT_TYPES, sniff_content_type
from telnyx_compliance.onboarding.request import (
    _REQUIREMENT_KEY,
    MAX_VALUE_LENGTH,
    OnboardingKey,
    OnboardingRequest,
)

ENCODING: Final = "utf-8-sig"
REQUIRED_COLUMNS: Final = ("customer_reference", "country_code")
ENUM_COLUMNS: Final = ("phone_number_type", "action")
#: CSV column -> ``AddressInput`` field.
ADDRESS_COLUMNS: Final[Mapping[str, str]] = {
    "address_first_name": "first_name",
    "address_last_name": "last_name",
    "address_business_name": "business_name",
    "address_street_address": "street_address",
    "address_extended_address": "extended_address",
    "address_locality": "locality",
    "address_administrative_area": "administrative_area",
    "address_postal_code": "postal_code",
    "address_country_code": "country_code",
    "address_phone_number": "phone_number",
}
LIST_COLUMNS: Final = ("phone_numbers", "sub_number_order_ids", "number_order_phone_number_ids")
FIXED_COLUMNS: Final = (*REQUIRED_COLUMNS, *ENUM_COLUMNS, *ADDRESS_COLUMNS, *LIST_COLUMNS)
DOCUMENT_PREFIX: Final = "doc_"
VALUE_PREFIX: Final = "value_"

_LIST_SEPARATORS = re.compile(r"[\s;,]+")
#: Phone numbers may contain spaces (``+49 30 1234567``): a space separates two only before a ``+``.
_NUMBER_SEPARATORS = re.compile(r"\s*[;,\n]\s*|\s+(?=\+)")
_CANDIDATE_DELIMITERS: Final = (";", "\t", "|")
#: Cell values quoted in error messages are cut here (a 1 MB cell must not make a 1 MB error).
_MAX_QUOTED = MAX_EXCERPT
#: Bytes looked at to tell a CSV text file from anything else.
_SNIFF_BYTES = 64 * 1024
_MAX_REASON = 300
#: Column names listed at most in one header problem (a 16,000-column header must not make a 1 MB error).
_MAX_LISTED = 10


class CSVFormatError(ValueError):
    """The file as a whole cannot be read as an onboarding CSV; nothing in it was used."""


@dataclass(frozen=True, slots=True)
class RowError:
    """One problem of one row: where (row as a spreadsheet numbers it, column) and what was expected."""

    row_number: int
    customer_reference: str
    column: str
    reason: str

    def __str__(self) -> str:
        return f"row {self.row_number}, column {self.column}: {self.reason}"


@dataclass(frozen=True, slots=True)
class ParsedRow:
    """A data row: its validated request, or the reasons it has none."""

    row_number: int
    customer_reference: str
    request: OnboardingRequest | None
    errors: tuple[RowError, ...] = ()
    #: Hash of the row's cells: a rerun recognises a row it finished even when rows moved.
    digest: str = ""

    @property
    def ok(self) -> bool:
        return self.request is not None

    @property
    def error_text(self) -> str:
        """All errors of the row on one line, ``column: reason; ...``."""
        return "; ".join(f"{error.column}: {error.reason}" for error in self.errors)


@dataclass(frozen=True, slots=True)
class CsvLayout:
    """What the header says: the columns and where the data starts."""

    columns: tuple[str, ...]
    comment_lines: int
    document_keys: tuple[str, ...] = field(default=())
    value_keys: tuple[str, ...] = field(default=())

    @property
    def header_row(self) -> int:
        return self.comment_lines + 1


def _quote(value: str) -> str:
    return repr(excerpt(value, _MAX_QUOTED))


def _listed(items: list[str]) -> str:
    """The first :data:`_MAX_LISTED` of ``items``, comma-separated, and how many more there are."""
    shown = ", ".join(items[:_MAX_LISTED])
    return shown if len(items) <= _MAX_LISTED else f"{shown} and {len(items) - _MAX_LISTED:,} more"


def _too_long(csv_path: Path, line: int | str) -> CSVFormatError:
    """The error of a cell longer than the csv module reads (its content is not quoted)."""
    return CSVFormatError(
        f"{csv_path}: line {line}: a cell is longer than {csv.field_size_limit():,} characters, the most a "
        "CSV cell may hold (a quote left open makes the rest of the file one cell)"
    )


def _is_too_long(error: csv.Error) -> bool:
    return "field larger than field limit" in str(error)


def _column_problem(column: str) -> str | None:
    """Why ``column`` is not a column of the format, or None when it is."""
    if column in FIXED_COLUMNS:
        return None
    for prefix in (DOCUMENT_PREFIX, VALUE_PREFIX):
        if column.startswith(prefix):
            key = column[len(prefix) :]
            if _REQUIREMENT_KEY.match(key):
                return None
            return f"{_quote(column)} (the requirement key after {prefix!r} must be snake_case: a-z, 0-9, _)"
    return _quote(column)


def check_csv_file(csv_path: Path) -> None:
    """Refuse, before parsing, what is not meant as an onboarding CSV: hidden files (``.env``,
    ``.netrc``) and files that are not text (NUL bytes or not UTF-8 in the first 64 KiB). Nothing of the
    file's content is quoted."""
    if csv_path.name.startswith("."):
        raise CSVFormatError(f"{csv_path}: hidden files (names starting with '.') are not read as CSV")
    try:
        with csv_path.open("rb") as handle:
            head = handle.read(_SNIFF_BYTES)
    except OSError as exc:
        raise CSVFormatError(f"{csv_path}: cannot be read ({exc.strerror or type(exc).__name__})") from None
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise CSVFormatError(
            f"{csv_path}: not UTF-8 text (it is UTF-16): save it as 'CSV UTF-8 (comma delimited)'"
        )
    first_line = head.split(b"\n", 1)[0]
    if b"\x00" in first_line or head.count(b"\x00") * 10 > len(head):
        # A NUL in a data cell is that row's problem; in the header, or everywhere, the file is not text.
        raise CSVFormatError(f"{csv_path}: not a CSV text file (it holds binary data)")
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # not merely a character cut by the 64 KiB boundary
            raise CSVFormatError(
                f"{csv_path}: not UTF-8 text (byte {exc.start}): save it as 'CSV UTF-8 (comma delimited)'"
            ) from None


def read_layout(csv_path: Path) -> CsvLayout:
    """Read and check the header; raise :class:`CSVFormatError` naming every problem with it.

    Column names are quoted only when the header is recognisably an onboarding CSV's (it has the required
    columns): the first line of any other file is not echoed, whatever it holds.
    """
    check_csv_file(csv_path)
    comment_lines = 0
    try:
        with csv_path.open(encoding=ENCODING, newline="") as handle:
            header_line = ""
            for line in handle:
                if line.startswith("#"):
                    comment_lines += 1
                    continue
                header_line = line
                break
    except UnicodeDecodeError as exc:
        raise CSVFormatError(
            f"{csv_path}: not UTF-8 text (byte {exc.start}): save it as 'CSV UTF-8 (comma delimited)'"
        ) from None
    if not header_line.strip():
        raise CSVFormatError(
            f"{csv_path}: the file is empty: expected a header row starting with "
            f"{','.join(REQUIRED_COLUMNS)} (see `compliance template`)"
        )
    header_row = comment_lines + 1
    try:
        columns = tuple(cell.strip() for cell in next(csv.reader([header_line])))
    except csv.Error as exc:
        if _is_too_long(exc):
            raise _too_long(csv_path, f"{header_row} (the header)") from None
        raise CSVFormatError(
            f"{csv_path}: the header (row {header_row}) cannot be read as CSV: {exc}"
        ) from None
    if len(columns) == 1:
        found = [delimiter for delimiter in _CANDIDATE_DELIMITERS if delimiter in header_line]
        if found:
            name = {";": "semicolons", "\t": "tabs", "|": "pipes"}[found[0]]
            raise CSVFormatError(
                f"{csv_path}: the header (row {header_row}) is separated by {name}, not commas: "
                "save the file as comma-separated CSV"
            )
    missing = [column for column in REQUIRED_COLUMNS if column not in columns]
    if len(missing) == len(REQUIRED_COLUMNS):
        raise CSVFormatError(
            f"{csv_path}: row {header_row} is not the header of an onboarding CSV: expected columns "
            f"{', '.join(REQUIRED_COLUMNS)} (see `compliance template`); its content is not shown"
        )
    problems: list[str] = []
    duplicates = sorted(column for column, count in Counter(columns).items() if count > 1)
    if duplicates:
        problems.append(f"duplicate columns {_listed(list(map(_quote, duplicates)))}")
    if "" in columns:
        problems.append(f"column {columns.index('') + 1} has no name")
    unknown = [problem for column in columns if column and (problem := _column_problem(column))]
    if unknown:
        problems.append(
            f"unknown columns {_listed(unknown)}: expected {', '.join(FIXED_COLUMNS)}, "
            f"{DOCUMENT_PREFIX}<requirement key> or {VALUE_PREFIX}<requirement key>"
        )
    if missing:
        problems.append(f"missing required columns {', '.join(missing)}")
    if problems:
        raise CSVFormatError(f"{csv_path}: header (row {header_row}): " + "; ".join(problems))
    return CsvLayout(
        columns=columns,
        comment_lines=comment_lines,
        document_keys=tuple(c[len(DOCUMENT_PREFIX) :] for c in columns if c.startswith(DOCUMENT_PREFIX)),
        value_keys=tuple(c[len(VALUE_PREFIX) :] for c in columns if c.startswith(VALUE_PREFIX)),
    )


class DocumentChecker:
    """Resolves a ``doc_*`` cell to a confined, existing, allowed and small enough file.

    Results are cached per path, so a document shared by thousands of rows is opened once.
    """

    _CACHE_LIMIT = 4096

    def __init__(self, base_dir: Path, max_bytes: int, fetch: Callable[[str], Path] | None = None) -> None:
        self.base_dir = base_dir.resolve()
        self.max_bytes = max_bytes
        #: Copies a document from a store into ``base_dir`` (documents named relative to a store prefix).
        self.fetch = fetch
        self._cache: dict[str, Path | str] = {}

    def check(self, cell: str) -> Path | str:
        """The resolved path, or why the cell names no usable document."""
        cached = self._cache.get(cell)
        if cached is None:
            if len(self._cache) >= self._CACHE_LIMIT:
                self._cache.clear()
            cached = self._cache[cell] = self._check(cell)
        return cached

    def _where(self) -> str:
        describe = getattr(self.fetch, "describe", None)
        return str(describe()) if callable(describe) else str(self.base_dir)

    def _check(self, cell: str) -> Path | str:
        try:
            if self.fetch is not None:
                cell_path = self.fetch(cell)
                resolved = confine(self.base_dir, cell_path)
            else:
                resolved = confine(self.base_dir, cell)
        except ConfinementError as error:
            return f"{_quote(cell)}: {error}"
        except FileNotFoundError:
            return f"file {_quote(cell)} not found (looked in {self._where()})"
        except ValueError as error:  # StorageError: refused or unreadable, named without credentials
            return f"{_quote(cell)}: {excerpt(str(error), _MAX_REASON)}"
        try:
            info = resolved.stat()
        except FileNotFoundError:
            return f"file {_quote(cell)} not found (looked in {self._where()})"
        except OSError as exc:
            return f"file {_quote(cell)} cannot be read: {exc.strerror}"
        if not stat.S_ISREG(info.st_mode):
            return f"{_quote(cell)} is not a regular file"
        if info.st_size == 0:
            return f"file {_quote(cell)} is empty"
        if info.st_size > self.max_bytes:
            return f"file {_quote(cell)} is {info.st_size:,} bytes, more than the allowed {self.max_bytes:,}"
        try:
            with resolved.open("rb") as handle:
                head = handle.read(16)
        except OSError as exc:
            return f"file {_quote(cell)} cannot be read: {exc.strerror}"
        content_type = sniff_content_type(head, "")  # the content decides, not the name
        if content_type not in ALLOWED_DOCUMENT_TYPES:
            return f"file {_quote(cell)} is not a PDF, PNG, JPEG or TIFF document (by its content)"
        named_type, _ = mimetypes.guess_type(resolved.name)
        if named_type in ALLOWED_DOCUMENT_TYPES and named_type != content_type:
            return f"file {_quote(cell)} is named {resolved.suffix} but its content is {content_type}"
        return resolved


def _split_list(column: str, cell: str) -> list[str]:
    separators = _NUMBER_SEPARATORS if column == "phone_numbers" else _LIST_SEPARATORS
    return [item.strip() for item in separators.split(cell) if item.strip()]


def _shared_digest(request: OnboardingRequest, shared_columns: tuple[str, ...]) -> bytes:
    """Per-column hashes of what rows of one onboarding must agree on, packed small."""
    address = request.address.model_dump() if request.address is not None else {}
    values: list[int] = []
    for column in shared_columns:
        if column in ADDRESS_COLUMNS:
            item: object = address.get(ADDRESS_COLUMNS[column])
        elif column.startswith(DOCUMENT_PREFIX):
            item = request.documents.get(column[len(DOCUMENT_PREFIX) :])
        else:
            item = request.values.get(column[len(VALUE_PREFIX) :])
        digest = hashlib.blake2b(repr(item).encode(), digest_size=8).digest()
        values.append(int.from_bytes(digest, "big", signed=True))
    return struct.pack(f"{len(values)}q", *values)


class RowValidator:
    """Turns the cells of one row into a :class:`ParsedRow`; remembers onboardings to catch conflicts."""

    def __init__(self, layout: CsvLayout, documents: DocumentChecker) -> None:
        self.layout = layout
        self.documents = documents
        self._shared_columns = tuple(
            column
            for column in layout.columns
            if column in ADDRESS_COLUMNS or column.startswith((DOCUMENT_PREFIX, VALUE_PREFIX))
        )
        # OnboardingKey -> (first row, packed digest); bounded by the number of distinct onboardings.
        self._seen: dict[tuple[str, str, str, str], tuple[int, bytes]] = {}

    def validate(self, row_number: int, cells: Mapping[str, str]) -> ParsedRow:
        customer_reference = cells.get("customer_reference", "")
        errors: list[RowError] = []

        def error(column: str, reason: str) -> None:
            # pydantic's messages quote the input: a 1 MB cell must not make a 1 MB error.
            if len(reason) > _MAX_REASON:
                reason = reason[: _MAX_REASON - 1] + "…"
            errors.append(RowError(row_number, customer_reference, column, reason))

        payload: dict[str, Any] = {"customer_reference": customer_reference, "country_code": ""}
        for column in (*REQUIRED_COLUMNS, *ENUM_COLUMNS):
            if cells.get(column):
                payload[column] = cells[column]
        for column in REQUIRED_COLUMNS:
            if not cells.get(column):
                error(column, "required, the cell is empty")
        address = {ADDRESS_COLUMNS[c]: cells[c] for c in ADDRESS_COLUMNS if cells.get(c)}
        if address:
            address.setdefault("country_code", cells.get("country_code", ""))
            payload["address"] = address
        for column in LIST_COLUMNS:
            if cells.get(column):
                payload[column] = _split_list(column, cells[column])
        documents: dict[str, Path] = {}
        for key in self.layout.document_keys:
            cell = cells.get(DOCUMENT_PREFIX + key, "")
            if not cell:
                continue
            checked = self.documents.check(cell)
            if isinstance(checked, str):
                error(DOCUMENT_PREFIX + key, checked)
            else:
                documents[key] = checked
        payload["documents"] = documents
        values: dict[str, str] = {}
        for key in self.layout.value_keys:
            cell = cells.get(VALUE_PREFIX + key, "")
            if len(cell) > MAX_VALUE_LENGTH:
                error(
                    VALUE_PREFIX + key,
                    f"{len(cell):,} characters; at most {MAX_VALUE_LENGTH:,} are accepted",
                )
            elif cell:
                values[key] = cell
        payload["values"] = values

        request: OnboardingRequest | None = None
        try:
            request = OnboardingRequest.model_validate(payload)
        except ValidationError as exc:
            reported = {error.column for error in errors}
            for column, reason in _translate(exc, payload):
                if column in reported:  # "required, the cell is empty" already says it
                    continue
                if column == "address_country_code" and not cells.get(column) and "country_code" in reported:
                    continue  # defaulted from country_code, whose error says it all
                reported.add(column)
                error(column, reason)
        if request is not None and not errors:
            conflict = self._conflict(row_number, request)
            if conflict is not None:
                column, reason = conflict
                error(column, reason)
        digest = row_digest(cells)
        if errors:
            order = {column: index for index, column in enumerate(self.layout.columns)}
            errors.sort(key=lambda item: order.get(item.column, len(order)))
            return ParsedRow(row_number, customer_reference, None, tuple(errors), digest)
        return ParsedRow(row_number, customer_reference, request, (), digest)

    def _conflict(self, row_number: int, request: OnboardingRequest) -> tuple[str, str] | None:
        key = request.key
        identity = (key.customer_reference, key.country_code, key.phone_number_type, key.action)
        digest = _shared_digest(request, self._shared_columns)
        first = self._seen.setdefault(identity, (row_number, digest))
        if first[1] == digest:
            return None
        n = len(self._shared_columns)
        mine, theirs = struct.unpack(f"{n}q", digest), struct.unpack(f"{n}q", first[1])
        differing = [
            column for column, a, b in zip(self._shared_columns, mine, theirs, strict=True) if a != b
        ]
        verb = "differs" if len(differing) == 1 else "differ"
        return (
            differing[0],
            f"conflicts with row {first[0]}, the same onboarding ({_describe(key)}): "
            f"{', '.join(differing)} {verb}; rows of one onboarding share one address and one "
            "requirement group, so their address, doc_* and value_* cells must agree",
        )


def row_digest(cells: Mapping[str, str]) -> str:
    """A short, order-independent hash of a row's non-empty cells."""
    content = "\x1f".join(f"{column}\x1e{value}" for column, value in sorted(cells.items()) if value)
    return hashlib.sha256(content.encode()).hexdigest()[:16]


def _describe(key: OnboardingKey) -> str:
    return f"{key.customer_reference} {key.country_code} {key.phone_number_type} {key.action}"


def _translate(exc: ValidationError, payload: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """pydantic's errors as (CSV column, what was expected)."""
    for item in exc.errors(include_url=False, include_input=False):
        loc = item["loc"]
        message = str(item["msg"]).removeprefix("Value error, ")
        kind = item["type"]
        head = str(loc[0]) if loc else ""
        if not loc:
            # The only model-level rule: the address must be in the onboarding's country.
            yield "address_country_code", message
            continue
        if head == "address" and len(loc) > 1:
            column = f"address_{loc[1]}"
            if kind == "missing":
                yield column, "required when any address_* cell of the row is filled, the cell is empty"
                continue
        elif head in LIST_COLUMNS and len(loc) > 1 and isinstance(loc[1], int):
            column = head
            message = f"item {loc[1] + 1}: {message}"
        elif head in ("documents", "values"):
            column = DOCUMENT_PREFIX if head == "documents" else VALUE_PREFIX
            column += str(loc[1]) if len(loc) > 1 else "*"
        else:
            column = head
        if kind == "literal_error":
            value = str(payload.get(head, ""))
            message = f"expected one of {item.get('ctx', {}).get('expected', '')}, got {_quote(value)}"
        elif kind == "string_too_long":
            message = f"at most {item.get('ctx', {}).get('max_length')} characters"
        yield column, message


def iter_rows(
    csv_path: Path,
    *,
    base_dir: Path | None = None,
    max_document_bytes: int = 20 * 1024 * 1024,
    fetch_document: Callable[[str], Path] | None = None,
) -> Iterator[ParsedRow]:
    """Every data row of ``csv_path``, validated, in file order, read as a stream (memory stays flat).

    Raises :class:`CSVFormatError` for problems of the file as a whole: from the header at once, for a
    malformed line or bad encoding further down when the reader reaches it, and when there are no data rows.
    ``base_dir`` confines document paths (default: the CSV's folder); ``fetch_document`` copies each named
    document from a store into it first (:class:`~telnyx_compliance.onboarding.csv_source.RemoteDocuments`).
    """
    layout = read_layout(csv_path)
    checker = DocumentChecker(base_dir or csv_path.parent, max_document_bytes, fetch_document)
    validator = RowValidator(layout, checker)
    first_data_row = layout.header_row + 1
    seen_rows = 0
    for index, record in enumerate(_records(csv_path, layout)):
        cells = dict(zip(layout.columns, (cell.strip() for cell in record), strict=False))
        if not any(cells.values()):
            continue  # a blank line or a row of empty cells
        for column in layout.columns[len(record) :]:
            cells[column] = ""  # a short row: the cells it lacks are empty
        seen_rows += 1
        # Rows as a spreadsheet numbers them: records, not lines (a quoted line break stays in its cell).
        yield validator.validate(first_data_row + index, cells)
    if seen_rows == 0:
        raise CSVFormatError(f"{csv_path}: no data rows below the header (row {layout.header_row})")


def _records(csv_path: Path, layout: CsvLayout) -> Iterator[list[str]]:
    """The records below the header (a blank line is an empty record); malformed ones raise."""
    width = len(layout.columns)
    reader: Any = None  # csv's reader type is private
    try:
        with csv_path.open(encoding=ENCODING, newline="") as handle:
            for _ in range(layout.header_row):
                handle.readline()
            reader = csv.reader(handle, strict=True)
            for record in reader:
                if len(record) > width:
                    raise CSVFormatError(
                        f"{csv_path}: cannot be read as CSV: line {reader.line_num + layout.header_row} has "
                        f"{len(record)} cells, the header {width}. Every row needs as many cells as the "
                        "header; a cell containing a comma, quote or line break must be quoted"
                    )
                yield record
    except UnicodeDecodeError as exc:
        raise CSVFormatError(
            f"{csv_path}: not UTF-8 text (byte {exc.start}): save it as 'CSV UTF-8 (comma delimited)'"
        ) from None
    except csv.Error as exc:
        if _is_too_long(exc):
            # The reader counts the line it stopped in; the lines above it are the header and comments.
            line = (reader.line_num if reader is not None else 0) + layout.header_row
            raise _too_long(csv_path, line) from None
        raise CSVFormatError(
            f"{csv_path}: cannot be read as CSV: {exc}. Every row needs as many cells as the header; a cell "
            "containing a comma, quote or line break must be quoted"
        ) from None


def count_rows(csv_path: Path) -> int:
    """Data records below the header (blank lines excepted), checked for what makes a file unusable as a
    whole (header, encoding, a record with more cells than the header, no data rows), without validating
    rows: the first line of ``compliance onboard``, and the check a bulk run passes before it sends anything.
    Raises :class:`CSVFormatError`."""
    layout = read_layout(csv_path)
    total = sum(1 for record in _records(csv_path, layout) if any(cell.strip() for cell in record))
    if total == 0:
        raise CSVFormatError(f"{csv_path}: no data rows below the header (row {layout.header_row})")
    return total


__all__ = [
    "ADDRESS_COLUMNS",
    "DOCUMENT_PREFIX",
    "FIXED_COLUMNS",
    "LIST_COLUMNS",
    "REQUIRED_COLUMNS",
    "VALUE_PREFIX",
    "CSVFormatError",
    "CsvLayout",
    "DocumentChecker",
    "ParsedRow",
    "RowError",
    "RowValidator",
    "count_rows",
    "iter_rows",
    "read_layout",
    "row_digest",
]
