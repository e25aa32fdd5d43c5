"""Reading an onboarding CSV: every bad row says row, column and reason; the file streams in chunks."""

from __future__ import annotations

import csv
import os
import re
import time
import tracemalloc
from pathlib import Path

import pytest
from typer.testing import CliRunner

from telnyx_compliance.cli import app
from telnyx_compliance.onboarding.csv_io import CSVFormatError, ParsedRow, count_rows, iter_rows, read_layout
from telnyx_compliance.onboarding.fake import minimal_pdf

from .support import WriteCSV, valid_row


def parse(path: Path, **kwargs: object) -> list[ParsedRow]:
    return list(iter_rows(path, **kwargs))  # type: ignore[arg-type]


def only_errors(rows: list[ParsedRow]) -> list[tuple[int, str]]:
    return [(error.row_number, error.column) for row in rows for error in row.errors]


def test_a_valid_row_becomes_a_request_with_address_documents_values_and_numbers(
    write_csv: WriteCSV, csv_dir: Path
) -> None:
    path = write_csv(
        [valid_row(phone_numbers="+4930123456; +4930123457", sub_number_order_ids="sno-1 sno-2")]
    )
    [row] = parse(path)
    assert row.ok and row.row_number == 2 and row.errors == ()
    request = row.request
    assert request is not None
    assert request.country_code == "DE" and request.key.customer_reference == "acme"
    assert request.address is not None and request.address.country_code == "DE"  # defaulted
    assert request.documents == {"proof_of_address": (csv_dir / "documents" / "bill.pdf").resolve()}
    assert request.values == {"tax_id": "DE123456789"}
    assert request.phone_numbers == ("+4930123456", "+4930123457")
    assert request.sub_number_order_ids == ("sno-1", "sno-2")


def test_a_bad_row_names_its_row_column_and_what_was_expected_and_the_others_go_on(
    write_csv: WriteCSV,
) -> None:
    path = write_csv(
        [
            valid_row("good-1"),
            valid_row("bad-e164", phone_numbers="+4930123456; 030123"),
            valid_row("bad-country", country_code="XX"),
            valid_row("bad-enum", phone_number_type="landline", action="buy"),
            valid_row("bad-address", address_street_address="", address_phone_number="12345"),
            valid_row("", country_code=""),
            valid_row("good-2"),
        ]
    )
    rows = parse(path)
    assert [row.ok for row in rows] == [True, False, False, False, False, False, True]
    assert only_errors(rows) == [
        (3, "phone_numbers"),
        (4, "country_code"),  # the defaulted address country does not repeat it
        (5, "phone_number_type"),
        (5, "action"),
        (6, "address_street_address"),
        (6, "address_phone_number"),
        (7, "customer_reference"),
        (7, "country_code"),
    ]
    reasons = {(e.row_number, e.column): e.reason for row in rows for e in row.errors}
    assert "item 2" in reasons[3, "phone_numbers"] and "E.164" in reasons[3, "phone_numbers"]
    assert "ISO 3166" in reasons[4, "country_code"] and "'XX'" in reasons[4, "country_code"]
    assert "'local'" in reasons[5, "phone_number_type"] and "'landline'" in reasons[5, "phone_number_type"]
    assert "'ordering' or 'porting'" in reasons[5, "action"]
    assert reasons[6, "address_street_address"].startswith("required")
    assert reasons[7, "customer_reference"] == "required, the cell is empty"
    assert (
        rows[2].customer_reference == "bad-country" and rows[2].errors[0].customer_reference == "bad-country"
    )


def test_phone_numbers_may_be_written_with_spaces(write_csv: WriteCSV) -> None:
    [row] = parse(write_csv([valid_row(phone_numbers="+49 30 123456 +49 30 123457;+4930123458")]))
    assert row.request is not None
    assert row.request.phone_numbers == ("+4930123456", "+4930123457", "+4930123458")


def test_address_in_another_country_is_an_error_on_address_country_code(write_csv: WriteCSV) -> None:
    [row] = parse(write_csv([valid_row(address_country_code="FR")]))
    assert [(e.column, "differs from the onboarding country DE" in e.reason) for e in row.errors] == [
        ("address_country_code", True)
    ]


def test_unknown_and_missing_columns_fail_the_file_once_naming_them(write_csv: WriteCSV) -> None:
    rows = [{**valid_row(), "adress_locality": "Berlin", "doc_Proof Of Address": "x.pdf"}] * 3
    with pytest.raises(CSVFormatError) as raised:
        parse(write_csv(rows))
    message = str(raised.value)
    assert message.count("'adress_locality'") == 1 and "'doc_Proof Of Address'" in message
    assert "header (row 1)" in message

    without_country = [{k: v for k, v in valid_row().items() if k != "country_code"}]
    with pytest.raises(CSVFormatError, match="missing required columns country_code"):
        parse(write_csv(without_country))


def test_duplicate_header_columns_are_refused(csv_dir: Path) -> None:
    path = csv_dir / "dup.csv"
    path.write_text("customer_reference,country_code,country_code\nacme,DE,DE\n", encoding="utf-8")
    with pytest.raises(CSVFormatError, match="duplicate columns 'country_code'"):
        parse(path)


def test_a_header_of_twenty_thousand_columns_is_checked_at_once(csv_dir: Path) -> None:
    path = csv_dir / "wide.csv"
    keys = [f"value_key_{number}" for number in range(20_000)]
    header = ["customer_reference", "country_code", *keys, "value_key_7", "value_key_19999", "", "", "x"]
    path.write_text(",".join(header) + "\nacme,DE\n", encoding="utf-8")

    started = time.perf_counter()
    with pytest.raises(CSVFormatError) as caught:
        read_layout(path)
    assert time.perf_counter() - started < 1.0  # comparing every column with every other took seconds

    message = str(caught.value)
    assert "duplicate columns '', 'value_key_19999', 'value_key_7'" in message
    assert "column 20005 has no name" in message and "unknown columns 'x'" in message


def test_hundreds_of_bad_columns_are_named_ten_at_a_time(csv_dir: Path) -> None:
    path = csv_dir / "typos.csv"
    typos = [f"adress_{number}" for number in range(500)]
    path.write_text(",".join(["customer_reference", "country_code", *typos, *typos]) + "\n", encoding="utf-8")
    with pytest.raises(CSVFormatError) as caught:
        read_layout(path)
    message = str(caught.value)
    assert "'adress_0', 'adress_1'" in message and "and 490 more" in message and len(message) < 2000


@pytest.mark.parametrize("where", ["header", "data"])
def test_a_cell_longer_than_the_csv_module_reads_fails_the_file_naming_its_line(
    csv_dir: Path, where: str
) -> None:
    path = csv_dir / f"long-{where}.csv"
    long = "Z" * 200_000
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["customer_reference", "country_code", f"value_{long}" if where == "header" else "value_x"]
        )
        writer.writerow(["acme", "DE", "1"])
        writer.writerow(["beta", "DE", long])
    line = "line 1 (the header)" if where == "header" else "line 3"
    expected = f"{line}: a cell is longer than 131,072 characters"

    for read in (read_layout, count_rows, parse):
        if where == "data" and read is read_layout:
            continue  # the header is fine
        with pytest.raises(CSVFormatError, match=re.escape(expected)) as caught:
            read(path)
        assert "ZZZZ" not in str(caught.value) and len(str(caught.value)) < 400

    result = CliRunner().invoke(app, ["onboard", str(path)], env={"TELNYX_API_KEY": "k"})
    assert result.exit_code == 2, result.output
    (printed,) = result.output.strip().splitlines()
    assert expected in printed and "Traceback" not in result.output


@pytest.mark.parametrize(
    ("cell", "reason"),
    [
        ("../outside.pdf", "resolves outside the documents folder"),
        ("documents/../../outside.pdf", "resolves outside the documents folder"),
        ("/etc/passwd", "resolves outside the documents folder"),
        ("documents/missing.pdf", "not found"),
        ("documents", "not a regular file"),
        ("documents/notes.pdf", "not a PDF, PNG, JPEG or TIFF document"),
        ("documents/passport.pdf", "named .pdf but its content is image/png"),
        ("documents/empty.pdf", "is empty"),
        ("https://example.com/bill.pdf", "got a URL"),
    ],
)
def test_document_cells_must_name_an_allowed_file_inside_the_folder(
    write_csv: WriteCSV, csv_dir: Path, cell: str, reason: str
) -> None:
    (csv_dir.parent / "outside.pdf").write_bytes(minimal_pdf(["outside"]))
    (csv_dir / "documents" / "notes.pdf").write_text("=cmd|' /C calc'!A0", encoding="utf-8")
    (csv_dir / "documents" / "passport.pdf").write_bytes(
        (csv_dir / "documents" / "passport.png").read_bytes()
    )
    (csv_dir / "documents" / "empty.pdf").write_bytes(b"")
    [row] = parse(write_csv([valid_row(doc_proof_of_address=cell)]))
    assert not row.ok
    [error] = row.errors
    assert (error.row_number, error.column) == (2, "doc_proof_of_address")
    assert reason in error.reason


def test_a_symlink_escaping_the_folder_is_refused_but_one_inside_is_followed(
    write_csv: WriteCSV, csv_dir: Path
) -> None:
    secret = csv_dir.parent / "secret.pdf"
    secret.write_bytes(minimal_pdf(["secret"]))
    os.symlink(secret, csv_dir / "documents" / "escape.pdf")
    os.symlink(csv_dir / "documents" / "bill.pdf", csv_dir / "documents" / "alias.pdf")
    rows = parse(
        write_csv(
            [
                valid_row("a", doc_proof_of_address="documents/escape.pdf"),
                valid_row("b", doc_proof_of_address="documents/alias.pdf"),
            ]
        )
    )
    assert "outside the documents folder" in rows[0].errors[0].reason
    assert rows[1].request is not None
    assert rows[1].request.documents["proof_of_address"] == (csv_dir / "documents" / "bill.pdf").resolve()


def test_a_configured_base_dir_confines_documents_instead_of_the_csv_folder(
    write_csv: WriteCSV, csv_dir: Path
) -> None:
    path = write_csv([valid_row(doc_proof_of_address="bill.pdf")])
    [row] = parse(path, base_dir=csv_dir / "documents")
    assert row.ok
    [row] = parse(
        write_csv([valid_row(doc_proof_of_address="../onboarding.csv")]), base_dir=csv_dir / "documents"
    )
    assert "outside the documents folder" in row.errors[0].reason


def test_oversized_documents_are_refused(write_csv: WriteCSV, csv_dir: Path) -> None:
    size = (csv_dir / "documents" / "bill.pdf").stat().st_size
    [row] = parse(write_csv([valid_row()]), max_document_bytes=size - 1)
    assert f"is {size:,} bytes, more than the allowed {size - 1:,}" in row.errors[0].reason
    [row] = parse(write_csv([valid_row()]), max_document_bytes=size)
    assert row.ok


def test_rows_of_one_onboarding_must_agree_on_address_documents_and_values(write_csv: WriteCSV) -> None:
    rows = parse(
        write_csv(
            [
                valid_row("acme", phone_numbers="+4930123456"),
                valid_row("acme", phone_numbers="+4930123457"),  # same onboarding, another number: fine
                valid_row("acme", address_street_address="Elsewhere 1", value_tax_id="DE999"),
                valid_row(
                    "acme", phone_number_type="mobile", address_street_address="Elsewhere 1"
                ),  # other key
                valid_row("acme", doc_proof_of_address="documents/passport.png"),
            ]
        )
    )
    assert [row.ok for row in rows] == [True, True, False, True, False]
    conflict = rows[2].errors[0]
    assert (conflict.row_number, conflict.column) == (4, "address_street_address")
    assert (
        "conflicts with row 2" in conflict.reason
        and "address_street_address, value_tax_id differ" in conflict.reason
    )
    assert rows[4].errors[0].column == "doc_proof_of_address"


def test_row_numbers_are_what_a_spreadsheet_shows(csv_dir: Path) -> None:
    path = csv_dir / "numbered.csv"
    path.write_text(
        "# a comment the template wrote\n"
        "customer_reference,country_code,address_first_name,address_last_name,address_business_name,"
        "address_street_address,address_locality\n"
        'a,DE,E,M,Acme,"Line one\nLine two",Berlin\n'
        "\n"
        "b,XX,E,M,Acme,Street,Berlin\n",
        encoding="utf-8",
    )
    rows = parse(path)
    assert [row.row_number for row in rows] == [3, 5]
    assert rows[0].request is not None and rows[0].request.address is not None
    assert rows[0].request.address.street_address == "Line one\nLine two"
    assert str(rows[1].errors[0]).startswith("row 5, column country_code:")


def test_a_byte_order_mark_is_tolerated(csv_dir: Path, write_csv: WriteCSV) -> None:
    plain = write_csv([valid_row()])
    with_bom = csv_dir / "bom.csv"
    with_bom.write_bytes(b"\xef\xbb\xbf" + plain.read_bytes())
    assert [row.ok for row in parse(with_bom)] == [True]


def test_a_wrong_delimiter_is_named(csv_dir: Path) -> None:
    path = csv_dir / "semicolons.csv"
    path.write_text("customer_reference;country_code\nacme;DE\n", encoding="utf-8")
    with pytest.raises(CSVFormatError, match="separated by semicolons, not commas"):
        parse(path)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "the file is empty"),
        (b"\n\n", "the file is empty"),
        (b"customer_reference,country_code\n", "no data rows below the header"),
        (b"customer_reference,country_code\nacme,DE,extra\n", "cannot be read as CSV"),
        (b"customer_reference,country_code\nM\xfcller,DE\n", "not UTF-8"),
    ],
)
def test_files_that_are_not_an_onboarding_csv_fail_as_a_whole(
    csv_dir: Path, content: bytes, message: str
) -> None:
    path = csv_dir / "broken.csv"
    path.write_bytes(content)
    with pytest.raises(CSVFormatError, match=message):
        parse(path)


def test_a_huge_cell_does_not_make_a_huge_error(write_csv: WriteCSV) -> None:
    [row] = parse(write_csv([valid_row(country_code="X" * 100_000)]))
    assert row.errors and all(len(error.reason) < 400 for error in row.errors)


def test_the_reader_streams_twenty_thousand_rows_in_bounded_memory(csv_dir: Path) -> None:
    header = list(valid_row())
    path = csv_dir / "big.csv"
    with path.open("w", encoding="utf-8") as handle:
        handle.write(",".join(header) + "\n")
        for index in range(20_000):
            cells = valid_row(f"customer-{index}", phone_numbers=f"+49301{index:06d}")
            handle.write(",".join(cells[column] for column in header) + "\n")

    rows = iter_rows(path)
    tracemalloc.start()
    try:
        first = next(rows)
        _, peak_after_first = tracemalloc.get_traced_memory()
        valid = 1 if first.ok else 0
        for row in rows:
            valid += row.ok
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert valid == 20_000
    # One chunk is read at a time: the first row costs a chunk, not the file; the whole pass stays within a
    # small bound (the file alone is ~5 MB; 20,000 requests held at once would be several times that).
    assert peak_after_first < 4 * 1024 * 1024
    assert peak < 16 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB"


def test_read_layout_reports_document_and_value_keys(write_csv: WriteCSV) -> None:
    layout = read_layout(write_csv([valid_row()]))
    assert layout.document_keys == ("proof_of_address",) and layout.value_keys == ("tax_id",)
    assert layout.header_row == 1
