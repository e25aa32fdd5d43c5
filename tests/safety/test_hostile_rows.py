"""Bad input: a corpus of nasty rows mixed with good ones, end to end against the sandbox; whole-file
problems; and hypothesis-generated cells for the validator and the results CSV."""

from __future__ import annotations

import codecs
import csv
import itertools
import string
from collections.abc import AsyncIterator
from pathlib import Path

import phonenumbers
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from configs.settings import PipelineSettings
from telnyx_compliance import AsyncTelnyx, RateLimiter
from telnyx_compliance.onboarding.bulk import Selection, classify, run_bulk_async
from telnyx_compliance.onboarding.csv_io import (
    FIXED_COLUMNS,
    CSVFormatError,
    CsvLayout,
    DocumentChecker,
    RowError,
    RowValidator,
    iter_rows,
)
from telnyx_compliance.onboarding.errors import ErrorKind
from telnyx_compliance.onboarding.fake import minimal_pdf, minimal_png
from telnyx_compliance.onboarding.results_csv import (
    RESULT_COLUMNS,
    ResultRow,
    ResultsWriter,
    latest_results,
    read_results,
)
from telnyx_compliance.sandbox import SandboxServer
from tests.support import telnyx_client

#: The sandbox in process: the library's client reaches it through httpx.ASGITransport (tests/README.md).
IN_PROCESS = True

MAX_BYTES = 40_000
PIPELINE = PipelineSettings(
    approval_poll_interval=0.05,
    approval_poll_max_interval=0.2,
    approval_poll_timeout=20,
    max_document_bytes=MAX_BYTES,
)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")
COLUMNS = [
    "customer_reference",
    "country_code",
    "phone_number_type",
    "action",
    "address_first_name",
    "address_last_name",
    "address_business_name",
    "address_street_address",
    "address_locality",
    "address_postal_code",
    "phone_numbers",
    "doc_proof_of_address",
    "value_business_registration_number",
    "value_tax_id",
    "value_contact_name",
]
_numbers = itertools.count(2000)


def de_number() -> str:
    while True:
        candidate = f"+4930{next(_numbers):08d}"
        if phonenumbers.is_valid_number(phonenumbers.parse(candidate, None)):
            return candidate


def de_row(customer: str, **cells: str) -> dict[str, str]:
    """A row the DE local market accepts (address, proof of address, three values)."""
    row = {
        "customer_reference": customer,
        "country_code": "DE",
        "phone_number_type": "local",
        "action": "ordering",
        "address_first_name": "Maria",
        "address_last_name": "Schmidt",
        "address_business_name": f"{customer} GmbH",
        "address_street_address": "Friedrichstrasse 123",
        "address_locality": "Berlin",
        "address_postal_code": "10117",
        "phone_numbers": de_number(),
        "doc_proof_of_address": "documents/bill.pdf",
        "value_business_registration_number": "HRB 123456",
        "value_tax_id": "DE123456789",
        "value_contact_name": "Maria Schmidt",
    }
    row.update(cells)
    return row


RTL_NAME = "شركة الاتصالات \u200fAcme\u200f שלום ‮evil‬ 東京 Ünïcödé"
LONG = "x" * 100_000

#: customer -> (row cells, expected status, column, words of the reason); None column: a good row.
CORPUS: list[tuple[dict[str, str], str, str | None, tuple[str, ...]]] = [
    (de_row("good-plain"), "completed", None, ()),
    (de_row("good-rtl", address_business_name=RTL_NAME), "completed", None, ()),
    (de_row('=HYPERLINK("http://evil","x")'), "invalid", "customer_reference", ("letters, digits",)),
    (de_row("+cmd|' /C calc'!A0"), "invalid", "customer_reference", ("letters, digits",)),
    (de_row("@SUM(1+1)*cmd"), "invalid", "customer_reference", ("letters, digits",)),
    (de_row("-1+1"), "invalid", "customer_reference", ("letters, digits",)),
    (de_row("long-street", address_street_address=LONG), "invalid", "address_street_address", ("255",)),
    (de_row("long-ref" + "r" * 70), "invalid", "customer_reference", ("1-64",)),
    (de_row("wrong-type", phone_number_type="landline"), "invalid", "phone_number_type", ("'landline'",)),
    (de_row("wrong-action", action="42"), "invalid", "action", ("'42'",)),
    (de_row("numeric-country", country_code="49"), "invalid", "country_code", ("ISO 3166", "'49'")),
    (de_row("bad-e164", phone_numbers="030 1234567"), "invalid", "phone_numbers", ("E.164", "030 1234567")),
    (de_row("bad-e164-2", phone_numbers="+49 30 12"), "invalid", "phone_numbers", ("not a valid phone",)),
    (de_row("unknown-country", country_code="XX"), "invalid", "country_code", ("ISO 3166", "'XX'")),
    (
        de_row("traversal", doc_proof_of_address="../../../../etc/passwd"),
        "invalid",
        "doc_proof_of_address",
        ("resolves outside", "refused"),
    ),
    (
        de_row("absolute", doc_proof_of_address="/etc/hostname"),
        "invalid",
        "doc_proof_of_address",
        ("resolves outside",),
    ),
    (
        de_row("missing-file", doc_proof_of_address="documents/nope.pdf"),
        "invalid",
        "doc_proof_of_address",
        ("not found",),
    ),
    (
        de_row("not-a-pdf", doc_proof_of_address="documents/script.pdf"),
        "invalid",
        "doc_proof_of_address",
        ("not a PDF, PNG, JPEG or TIFF",),
    ),
    (
        de_row("png-named-pdf", doc_proof_of_address="documents/photo.pdf"),
        "invalid",
        "doc_proof_of_address",
        ("named .pdf", "image/png"),
    ),
    (
        de_row("oversized", doc_proof_of_address="documents/huge.pdf"),
        "invalid",
        "doc_proof_of_address",
        ("more than the allowed", f"{MAX_BYTES:,}"),
    ),
    (
        de_row("url-doc", doc_proof_of_address="http://evil.test/x.pdf"),
        "invalid",
        "doc_proof_of_address",
        ("got a URL",),
    ),
    (de_row("dup"), "completed", None, ()),
    (de_row("dup", value_tax_id="DE999999999"), "invalid", "value_tax_id", ("conflicts with row", "differs")),
    (de_row("good-last"), "completed", None, ()),
]


def write_documents(folder: Path) -> None:
    documents = folder / "documents"
    documents.mkdir()
    (documents / "bill.pdf").write_bytes(minimal_pdf(["Electricity bill", "Friedrichstrasse 123"]))
    (documents / "script.pdf").write_text("#!/bin/sh\nrm -rf /\n", encoding="utf-8")
    (documents / "photo.pdf").write_bytes(minimal_png(seed=3))
    (documents / "huge.pdf").write_bytes(minimal_pdf(["big"]) + b"%" + b"0" * MAX_BYTES)


def write_csv(path: Path, rows: list[dict[str, str]], *, bom: bool = False) -> Path:
    with path.open("w", encoding="utf-8-sig" if bom else "utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    return path


@pytest.fixture
async def client(sandbox: SandboxServer) -> AsyncIterator[AsyncTelnyx]:
    async with telnyx_client(sandbox, max_retries=2, rate_limiter=RateLimiter(1000)) as telnyx:
        yield telnyx


async def test_the_nasty_corpus_end_to_end_bad_rows_precise_good_rows_complete(
    client: AsyncTelnyx, sandbox: SandboxServer, tmp_path: Path
) -> None:
    write_documents(tmp_path)
    csv_path = write_csv(tmp_path / "nasty.csv", [row for row, *_ in CORPUS], bom=True)
    out = tmp_path / "nasty.results.csv"

    summary = await run_bulk_async(csv_path, client, out=out, settings=PIPELINE, max_concurrency=4)

    results = latest_results(out)
    assert sorted(results) == list(range(2, 2 + len(CORPUS)))  # exactly one line per row
    for number, (row, status, column, words) in enumerate(CORPUS, start=2):
        line = results[number]
        assert line.customer_reference == row["customer_reference"][: len(line.customer_reference)]
        assert line.status == status, (number, row["customer_reference"][:40], line.error)
        if column is None:
            assert line.error == "" and line.requirement_group_status == "approved"
            continue
        assert line.error.startswith(f"{column}: "), (number, line.error)
        for word in words:
            assert word in line.error, (number, word, line.error)
        assert len(line.error) < 1000  # a 100 kB cell does not make a 100 kB error
    assert summary.counts["completed"] == sum(status == "completed" for _, status, *_ in CORPUS)

    # Formula cells are inert in the file, and read back as they were.
    with out.open(encoding="utf-8", newline="") as handle:
        raw = list(csv.reader(handle))
    assert raw[0] == list(RESULT_COLUMNS)
    for cells in raw[1:]:
        for cell in cells:
            assert not cell.startswith(FORMULA_STARTS), cell
    assert '\'=HYPERLINK("http://evil","x")' in {cells[1] for cells in raw[1:]}
    assert "'-1+1" in {cells[1] for cells in raw[1:]}

    # Unicode and RTL business names are accepted and reach Telnyx unchanged.
    rtl = results[3]
    address = await client.user_addresses.retrieve(rtl.address_id)
    assert address.data is not None and address.data.business_name == RTL_NAME
    assert sandbox.stats()["duplicates"] == {}


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"", ("empty",)),
        (b"\xef\xbb\xbf", ("empty",)),
        (",".join(COLUMNS).encode() + b"\r\n", ("no data rows",)),
        (";".join(COLUMNS).encode() + b"\nacme;DE\n", ("semicolons",)),
        ("\t".join(COLUMNS).encode() + b"\nacme\tDE\n", ("tabs",)),
        (b"customer_reference,country_code\n\xff\xfeacme,DE\n", ("not UTF-8",)),
        (codecs.BOM_UTF16_LE + "customer_reference,country_code\n".encode("utf-16-le"), ("not UTF-8",)),
        (b"customer_reference,country_code\nacme,DE,extra,cells\n", ("as many cells as the header",)),
        (b"name,email\nacme,a@b.c\n", ("not the header of an onboarding CSV", "content is not shown")),
    ],
)
async def test_a_file_unusable_as_a_whole_stops_before_anything_is_sent(
    content: bytes, words: tuple[str, ...], client: AsyncTelnyx, sandbox: SandboxServer, tmp_path: Path
) -> None:
    csv_path = tmp_path / "whole.csv"
    csv_path.write_bytes(content)
    before = sandbox.stats()["requests"]["total"]

    with pytest.raises(CSVFormatError) as raised:
        await run_bulk_async(csv_path, client, out=tmp_path / "r.csv", settings=PIPELINE)

    for word in words:
        assert word in str(raised.value), str(raised.value)
    assert "Traceback" not in str(raised.value)
    assert sandbox.stats()["requests"]["total"] == before


# -- properties ---------------------------------------------------------------------------------------

CELL = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40
) | st.sampled_from(
    ["", "DE", "local", "ordering", "+4930123456", "=1+1", "@SUM(A1)", "../x", "documents/bill.pdf", " "]
)
LAYOUT_COLUMNS = (*FIXED_COLUMNS, "doc_proof_of_address", "value_tax_id")


@pytest.fixture(scope="module")
def validator_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("property-docs")
    write_documents(folder)
    return folder


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cells=st.fixed_dictionaries({column: CELL for column in LAYOUT_COLUMNS}))
def test_the_validator_never_raises_only_row_errors_or_a_valid_request(
    cells: dict[str, str], validator_dir: Path
) -> None:
    layout = CsvLayout(
        columns=LAYOUT_COLUMNS, comment_lines=0, document_keys=("proof_of_address",), value_keys=("tax_id",)
    )
    validator = RowValidator(layout, DocumentChecker(validator_dir, MAX_BYTES))

    parsed = validator.validate(7, cells)

    assert parsed.row_number == 7 and parsed.digest
    if parsed.ok:
        assert parsed.errors == () and parsed.request is not None
    else:
        assert parsed.errors and all(isinstance(error, RowError) for error in parsed.errors)
        for error in parsed.errors:
            assert error.row_number == 7 and error.column in LAYOUT_COLUMNS and error.reason
            assert len(error.reason) <= 300


RESULT_TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=30)
TOKEN = st.text(alphabet=string.ascii_letters + string.digits + "-", min_size=1, max_size=12)
RESULT = st.builds(
    ResultRow,
    row=st.integers(min_value=2, max_value=10**6),
    customer_reference=RESULT_TEXT | st.sampled_from(["=cmd", "'=cmd", "''@x", "+4930123", "'+4930123", "-"]),
    status=st.sampled_from(["completed", "pending_approval", "declined", "invalid", "failed"]),
    address_id=RESULT_TEXT,
    document_ids=st.lists(TOKEN, max_size=3).map(tuple),
    requirement_group_id=RESULT_TEXT,
    requirement_group_status=RESULT_TEXT,
    attached_orders=st.lists(TOKEN, max_size=3).map(tuple),
    error=RESULT_TEXT,
    error_kind=st.none() | st.sampled_from(list(ErrorKind)),
    row_digest=TOKEN,
)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(results=st.lists(RESULT, min_size=1, max_size=8, unique_by=lambda result: result.row))
def test_the_results_csv_round_trips_and_never_holds_a_runnable_cell(
    results: list[ResultRow], tmp_path_factory: pytest.TempPathFactory
) -> None:
    path = tmp_path_factory.mktemp("results") / "results.csv"
    with ResultsWriter(path) as writer:
        writer.write(results)

    assert sorted(read_results(path), key=lambda r: r.row) == sorted(results, key=lambda r: r.row)
    with path.open(encoding="utf-8", newline="") as handle:
        for cells in csv.reader(handle):
            for cell in cells:
                if cell.startswith(FORMULA_STARTS):  # only plain E.164 numbers may start with "+"
                    assert cell.startswith("+") and cell[1:].replace(" +", "").isdigit(), cell


ROW_CELL = CELL | st.sampled_from(["acme", "acme-2", "x" * 70])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=st.lists(
        st.fixed_dictionaries(
            {
                "customer_reference": ROW_CELL,
                "country_code": CELL,
                "phone_numbers": CELL,
                "value_tax_id": CELL,
                "doc_proof_of_address": CELL,
            }
        ),
        min_size=1,
        max_size=12,
    )
)
def test_every_input_row_gets_exactly_one_result_line_or_is_run_once(
    rows: list[dict[str, str]], validator_dir: Path
) -> None:
    csv_path = validator_dir / "generated.csv"
    with csv_path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    with csv_path.open(encoding="utf-8", newline="") as handle:
        records = list(csv.reader(handle))[1:]
    expected = sum(1 for record in records if any(cell.strip() for cell in record))
    try:
        actions = [(row.row_number, classify(row, Selection())[0]) for row in iter_rows(csv_path)]
    except CSVFormatError as error:  # only when no row has any content
        assert expected == 0, error
        return

    written = [number for number, action in actions if action == "invalid"]
    grouped = [number for number, action in actions if action == "run"]
    assert len(written) + len(grouped) == expected
    assert len(set(written) | set(grouped)) == expected  # no row twice
