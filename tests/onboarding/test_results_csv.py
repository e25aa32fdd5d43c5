"""The results CSV: inert in a spreadsheet, crash-safe, one line per row, readable back for reruns."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from telnyx_compliance.onboarding.errors import ErrorKind
from telnyx_compliance.onboarding.results_csv import (
    RESULT_COLUMNS,
    ResultRow,
    ResultsWriter,
    escape_cell,
    latest_results,
)


@pytest.mark.parametrize(
    ("cell", "written"),
    [
        ('=HYPERLINK("http://evil","x")', '\'=HYPERLINK("http://evil","x")'),
        ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "\\t=1"),  # no control character is written: the tab shows as \t, which runs nothing
        ("\r=1", "\\r=1"),
        ("\\t=1", "\\\\t=1"),  # a backslash that would read as an escape is doubled
        ("a\x1b[31m\u2028b", "a\\x1b[31m\\u2028b"),
        ("+4930123456", "+4930123456"),  # a phone number stays readable
        ("+4930123456 +4930123457", "+4930123456 +4930123457"),
        ("+4930123456+1", "'+4930123456+1"),
        ("+49 30 123456", "'+49 30 123456"),  # not E.164: the spaces split it into an expression
        ("+0123", "'+0123"),
        ("acme", "acme"),
        ("", ""),
    ],
)
def test_cells_a_spreadsheet_would_run_are_quoted_except_e164_numbers(cell: str, written: str) -> None:
    assert escape_cell(cell) == written


def _lines(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_written_rows_are_escaped_and_lists_space_separated(tmp_path: Path) -> None:
    out = tmp_path / "results.csv"
    with ResultsWriter(out) as writer:
        writer.write(
            [
                ResultRow(
                    2, "acme", "completed", "addr-1", ("doc-1", "doc-2"), "rg-1", "approved", ("sno-1",)
                ),
                ResultRow(3, "=evil()", "invalid", error="-1: bad"),
            ]
        )
    lines = _lines(out)
    assert list(lines[0]) == list(RESULT_COLUMNS)
    assert lines[0]["document_ids"] == "doc-1 doc-2" and lines[0]["attached_orders"] == "sno-1"
    assert lines[1]["customer_reference"] == "'=evil()" and lines[1]["error"] == "'-1: bad"
    # ... and read back as they were
    back = latest_results(out)
    assert back[3].customer_reference == "=evil()" and back[2].document_ids == ("doc-1", "doc-2")


def test_each_batch_is_on_disk_before_the_run_ends_and_a_crash_keeps_it(tmp_path: Path) -> None:
    out = tmp_path / "results.csv"
    with pytest.raises(RuntimeError), ResultsWriter(out) as writer:
        writer.write([ResultRow(2, "a", "completed")])
        assert [line["row"] for line in _lines(out)] == ["2"]  # visible to another process already
        writer.write([ResultRow(3, "b", "failed", error="timeout")])
        raise RuntimeError("killed")
    assert {row: result.status for row, result in latest_results(out).items()} == {
        2: "completed",
        3: "failed",
    }


def test_a_rerun_appends_then_compacts_to_the_latest_line_per_row_in_row_order(tmp_path: Path) -> None:
    out = tmp_path / "results.csv"
    with ResultsWriter(out) as writer:
        writer.write([ResultRow(3, "b", "failed", error="timeout"), ResultRow(2, "a", "completed")])
    out.write_text(out.read_text(encoding="utf-8") + "4,c,compl", encoding="utf-8")  # a line cut by a crash
    with ResultsWriter(out) as writer:
        writer.write([ResultRow(2, "a", "completed"), ResultRow(3, "b", "completed")])
    assert [(line["row"], line["status"]) for line in _lines(out)] == [("2", "completed"), ("3", "completed")]


def test_the_writer_refuses_to_append_to_a_file_that_is_not_a_results_csv(tmp_path: Path) -> None:
    precious = tmp_path / "customers.csv"
    precious.write_text("customer_reference,country_code\nacme,DE\n", encoding="utf-8")
    with pytest.raises(ValueError, match="not a results CSV"), ResultsWriter(precious):
        pass
    assert precious.read_text(encoding="utf-8") == "customer_reference,country_code\nacme,DE\n"


#: A results file written before the ``error_kind`` column existed.
LEGACY = (
    "row,customer_reference,status,address_id,document_ids,requirement_group_id,requirement_group_status,"
    "attached_orders,error,row_digest\r\n"
    "2,acme,completed,addr1,doc1 doc2,rg1,approved,o1,,d2\r\n"
    "3,beta,declined,addr2,,rg2,declined,,requirement group declined,d3\r\n"
    "4,gamma,failed,,,,,,RateLimitError: 429,d4\r\n"
)


def test_a_results_file_from_before_error_kinds_reads_with_the_kind_derived_or_blank(tmp_path: Path) -> None:
    old = tmp_path / "old.results.csv"
    old.write_text(LEGACY, encoding="utf-8")
    lines = latest_results(old)
    assert lines[2].document_ids == ("doc1", "doc2") and lines[2].row_digest == "d2"
    assert lines[2].error_kind is None
    assert lines[3].error_kind is ErrorKind.DECLINED  # the status says it
    assert lines[4].error_kind is None and lines[4].error == "RateLimitError: 429"  # unknown: blank


def test_a_run_appending_to_an_old_results_file_rewrites_it_with_the_error_kind_column(
    tmp_path: Path,
) -> None:
    old = tmp_path / "old.results.csv"
    old.write_text(LEGACY, encoding="utf-8")
    with ResultsWriter(old) as writer:
        writer.write(
            [ResultRow(4, "gamma", "failed", error="boom", error_kind=ErrorKind.CRASHED, row_digest="d4")]
        )
    rows = _lines(old)
    assert list(rows[0]) == list(RESULT_COLUMNS) and "error_kind" in RESULT_COLUMNS
    assert [(line["row"], line["status"], line["error_kind"]) for line in rows] == [
        ("4", "failed", "crashed")  # compaction keeps the rows this run wrote
    ]
    assert latest_results(old)[4].error_kind is ErrorKind.CRASHED


def test_the_error_kind_is_written_and_read_back(tmp_path: Path) -> None:
    out = tmp_path / "results.csv"
    with ResultsWriter(out) as writer:
        writer.write(
            [
                ResultRow(
                    2, "a", "invalid", error="country_code: missing", error_kind=ErrorKind.INVALID_INPUT
                ),
                ResultRow(3, "b", "completed"),
            ]
        )
    assert [line["error_kind"] for line in _lines(out)] == ["invalid_input", ""]
    assert {row: line.error_kind for row, line in latest_results(out).items()} == {
        2: ErrorKind.INVALID_INPUT,
        3: None,
    }


def test_old_results_on_a_store_are_fetched_in_todays_columns(tmp_path: Path) -> None:
    from telnyx_compliance import storage
    from telnyx_compliance.onboarding.results_csv import ResultsMirror

    storage.put_bytes("memory://results-legacy/r.csv", LEGACY.encode())
    local = tmp_path / "r.csv"
    ResultsMirror("memory://results-legacy/r.csv").fetch(local)
    assert list(_lines(local)[0]) == list(RESULT_COLUMNS)
    assert {row: line.status for row, line in latest_results(local).items()} == {
        2: "completed",
        3: "declined",
        4: "failed",
    }
