"""Finding 7: no input makes the pipeline do unbounded work or inject into what operators read.

Rows in flight are capped (a huge CSV is read as it is run, not all at once); values are at most 1 KiB; the
API's regular expressions are applied with a time bound; a document is re-checked when it is read for the
upload; markdown artifacts quote CSV values as text; spreadsheet formulas stay inert, NUL included.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest

from configs.settings import PipelineSettings
from telnyx_compliance import AsyncTelnyx
from telnyx_compliance.onboarding.bulk import BulkRunner, BulkSummary
from telnyx_compliance.onboarding.bulk import runner as bulk_runner
from telnyx_compliance.onboarding.csv_io import ParsedRow, iter_rows
from telnyx_compliance.onboarding.errors import DocumentChangedError
from telnyx_compliance.onboarding.fake import minimal_pdf
from telnyx_compliance.onboarding.lookups import RequirementsCache
from telnyx_compliance.onboarding.mapping import RequirementMapping
from telnyx_compliance.onboarding.plan import (
    REGEX_TIMEOUT,
    PlannedDocument,
    TextProblem,
    check_text,
    read_planned_document,
)
from telnyx_compliance.onboarding.report import outcome_markdown
from telnyx_compliance.onboarding.request import MAX_VALUE_LENGTH, OnboardingRequest
from telnyx_compliance.onboarding.requirements import AcceptanceCriteria
from telnyx_compliance.onboarding.results import OnboardingResult, RequirementOutcome
from telnyx_compliance.onboarding.results_csv import ResultsWriter, escape_cell


class _NoLimiter:
    rate_limiter = None


async def test_rows_are_read_as_they_are_run_not_all_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pulled = 0
    release = asyncio.Event()

    def rows() -> Iterator[ParsedRow]:
        nonlocal pulled
        for number in range(2, 100_002):
            pulled += 1
            request = OnboardingRequest(customer_reference=f"c{number}", country_code="DE")
            yield ParsedRow(number, request.customer_reference, request, digest=str(number))

    async def blocked_submit(*args: Any, **kwargs: Any) -> Any:
        await release.wait()
        raise asyncio.CancelledError

    monkeypatch.setattr(bulk_runner, "submit_onboarding", blocked_submit)
    cache = RequirementsCache(requirements={("DE", "local", "ordering"): []})
    summary = BulkSummary(csv_path=tmp_path / "in.csv", results_path=tmp_path / "out.csv")
    with ResultsWriter(summary.results_path) as writer:
        runner = BulkRunner(
            cast("AsyncTelnyx", _NoLimiter()),
            writer=writer,
            summary=summary,
            settings=PipelineSettings(),
            mapping=RequirementMapping.load(),
            max_concurrency=8,
            cache=cache,
        )
        task = asyncio.create_task(runner.run(rows()))
        await asyncio.sleep(0.5)
        # 8 rows in submission, the batch they came from and the one read ahead: not 100,000.
        assert pulled <= 8 + 2 * bulk_runner.LOOKAHEAD_ROWS, pulled
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


def test_a_value_longer_than_1_kib_is_refused_with_row_and_column(tmp_path: Path) -> None:
    path = tmp_path / "customers.csv"
    path.write_text(
        "customer_reference,country_code,value_tax_id,value_contact_name\n"
        f"long,DE,{'9' * (MAX_VALUE_LENGTH + 1)},Erika\n"
        f"fine,DE,{'9' * MAX_VALUE_LENGTH},Erika\n",
        encoding="utf-8",
    )
    long_row, fine_row = list(iter_rows(path))
    assert not long_row.ok and fine_row.ok
    (error,) = long_row.errors
    assert (error.row_number, error.column) == (2, "value_tax_id")
    assert "1,025 characters; at most 1,024 are accepted" in error.reason
    with pytest.raises(ValueError, match="at most 1,024"):
        OnboardingRequest(customer_reference="x", country_code="DE", values={"tax_id": "9" * 2000})


def test_a_pattern_that_backtracks_forever_is_cut_off() -> None:
    evil = AcceptanceCriteria(regex=r"^(a|aa)+$")  # exponential backtracking, even in `regex`
    started = time.monotonic()
    checked = check_text("a" * 40 + "!", evil)
    assert time.monotonic() - started < 1.0 + REGEX_TIMEOUT
    assert isinstance(checked, TextProblem) and "did not decide within" in checked.expected
    # Ordinary patterns still decide: a match passes, a mismatch names the pattern.
    assert check_text("DE123456789", AcceptanceCriteria(regex=r"DE\d{9}")) == "DE123456789"
    mismatch = check_text("DE12", AcceptanceCriteria(regex=r"DE\d{9}"))
    assert isinstance(mismatch, TextProblem) and r"DE\d{9}" in mismatch.expected
    # A pattern Python cannot compile, or an absurdly long one, is left to the reviewer.
    assert check_text("x", AcceptanceCriteria(regex="(unclosed")) == "x"
    assert check_text("x", AcceptanceCriteria(regex="a" * 5000)) == "x"


def test_a_document_is_checked_again_when_it_is_read_for_the_upload(tmp_path: Path) -> None:
    path = tmp_path / "proof.pdf"
    content = minimal_pdf("proof")
    path.write_bytes(content)
    planned = PlannedDocument(
        path=path,
        filename="proof.pdf",
        sha256=hashlib.sha256(content).hexdigest(),
        size=len(content),
        content_type="application/pdf",
        reference="tc-x-doc",
    )
    assert read_planned_document(planned) == content
    with path.open("ab") as grow:  # grown past what was checked (and past any cap): refused, not sent
        grow.write(b"\0" * 50_000_000)
    with pytest.raises(DocumentChangedError, match=r"proof\.pdf changed since it was checked"):
        read_planned_document(planned)
    path.write_bytes(content[:-1] + b"X")  # same size, other bytes
    with pytest.raises(DocumentChangedError):
        read_planned_document(planned)
    path.unlink()
    with pytest.raises(DocumentChangedError, match="cannot be read any more"):
        read_planned_document(planned)


def test_markdown_artifacts_quote_csv_values_as_text() -> None:
    hostile = (
        "[click](https://evil.example) ![x](https://evil.example/t.png) <img src=x> | col www.evil.example"
    )
    result = OnboardingResult.model_validate(
        {
            "customer_reference": "acme",
            "country_code": "DE",
            "phone_number_type": "local",
            "action": "ordering",
            "status": "declined",
            "error": hostile,
            "requirements": [
                RequirementOutcome(
                    requirement_id="r1",
                    name="Contact Name",
                    key="contact_name",
                    kind="textual",
                    value=hostile,
                    reason=hostile,
                ).model_dump()
            ],
        }
    )
    text = outcome_markdown(result)
    for injected in ("](https", "![", "<img", "https://"):
        assert injected not in text, injected
    assert re.search(r"(?<!\\)\| col", text) is None  # the pipe cannot end the table cell
    assert "www.evil" not in text  # no autolink either
    assert r"\[click\]\(https\://evil.example\)" in text and "&lt;img" in text


@pytest.mark.parametrize("value", ["=1+1", '\x00=HYPERLINK("http://evil")', "\x00", "@SUM(A1)", "-2+3"])
def test_formula_like_cells_are_inert_a_leading_nul_included(value: str) -> None:
    cell = escape_cell(value)
    # A formula start is quoted; a leading NUL is no NUL in the file at all (written as the text \x00).
    assert not cell.startswith(("=", "+", "-", "@", "\t", "\r", "\n", "\x00")) and "\x00" not in cell
    assert cell.startswith("'") or cell.startswith("\\x00")
    assert escape_cell("+493012345678") == "+493012345678"
