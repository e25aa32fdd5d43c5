"""Finding 8: a hostile CSV's cells (and answers echoing them) reach nothing people read as control characters
or live markup: not the results CSV, log lines, artifacts, events or the terminal.

Before: a ``customer_reference`` cell holding a line break was written into the results CSV as it was (a
results file named ``x.pth`` then ran the line after it at Python's start), escape sequences reached the
operator's terminal, and a file name like ``in](https:evil) [x.csv`` forged a link in the run's summary.
"""

from __future__ import annotations

import csv
import html as html_text
import io
import json
import logging
import re
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from markdown_it import MarkdownIt
from rich.console import Console

from configs.settings import PipelineSettings
from telnyx_compliance import AsyncTelnyx, RateLimiter
from telnyx_compliance._text import escape_controls, escape_markdown, markdown_code
from telnyx_compliance.catalog_diff import (
    CatalogDiff,
    CatalogSnapshot,
    FieldChange,
    MarketChanges,
    RequirementTypeChange,
    RequirementTypeSnapshot,
    catalog_diff_markdown,
)
from telnyx_compliance.onboarding.bulk import BulkSummary, run_bulk_async
from telnyx_compliance.onboarding.reconcile import GroupOutcome, ReconcileReport, reconcile_markdown
from telnyx_compliance.onboarding.report import outcome_markdown
from telnyx_compliance.onboarding.results import GroupDecision, OnboardingResult, RequirementOutcome
from telnyx_compliance.onboarding.results_csv import MAX_CELL, ResultRow, latest_results
from telnyx_compliance.sandbox import SandboxServer
from telnyx_compliance.terminal import Terminal

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
#: Every character no text people read may hold as it is.
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
#: Cells of a hostile CSV: each is shown, escaped, wherever its row is reported.
HOSTILE = {
    "newline": "x\nimport os; os.mkdir('pwned-by-lf') #",
    "carriage return": "y\rimport os; os.mkdir('pwned-by-cr') #",
    "colour": "\x1b[31mred\x1b[0m",
    "clear screen": "a\x1b[2Jb",
    "terminal link": "\x1b]8;;http://evil.example\x07click\x1b]8;;\x07",
    "nul": "n\x00ul",
    "c1": "c1\x85\x9b31m",
    "separators": "a\u2028b\u2029c",
    "bidi": "\u202egnp.exe\u2066x\u2069",
    "backslashes": "lit\\nback\\x1b\\",
    "markup": "[bold red]boom[/] [link=http://evil.example]x[/link]",
    "huge": "r" + "\x1b" * 40_000,
}
PIPELINE = PipelineSettings(
    approval_poll_interval=0.05, approval_poll_max_interval=0.2, approval_poll_timeout=20
)


def hostile_csv(folder: Path, name: str = "hostile.csv") -> Path:
    """The example's header, one valid row (northwind, no documents), then a row per hostile cell: invalid
    (its reference breaks the format), with hostile text in other cells too."""
    with (EXAMPLES / "onboarding.csv").open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        columns = list(reader.fieldnames or [])
        valid = next(line for line in reader if line["customer_reference"] == "northwind-traders")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, restval="")
        writer.writeheader()
        writer.writerow(valid)
        for value in HOSTILE.values():
            writer.writerow(
                {
                    "customer_reference": value,
                    "country_code": "DE",
                    "address_street_address": "Street\r\n\x1b[2J1",
                    "phone_numbers": "+4930123\x1b]8;;http://evil.example\x07",
                    "value_tax_id": "\x1b[31m" + value[:50],
                }
            )
    return path


@pytest.fixture
async def client(sandbox: SandboxServer) -> AsyncIterator[AsyncTelnyx]:
    async with AsyncTelnyx(
        api_key="test-key", base_url=sandbox.base_url, max_retries=2, rate_limiter=RateLimiter(1000)
    ) as telnyx:
        yield telnyx


def assert_no_control_bytes(path: Path) -> None:
    """Each line of ``path`` (csv ends lines with CRLF) holds no control character at all."""
    data = path.read_bytes()
    assert data.endswith(b"\r\n")
    for line in data[:-2].split(b"\r\n"):
        assert CONTROL.search(line.decode("utf-8")) is None, line[:200]


async def test_the_results_csv_holds_no_control_character_and_reruns_still_recognise_the_rows(
    tmp_path: Path, client: AsyncTelnyx
) -> None:
    csv_path = hostile_csv(tmp_path)
    out = tmp_path / "x.pth"  # Python runs a .pth file's lines starting with "import" when it starts

    first = await run_bulk_async(csv_path, client, out=out, settings=PIPELINE, max_concurrency=4)

    assert first.counts == {"completed": 1, "invalid": len(HOSTILE)}
    assert_no_control_bytes(out)
    lines = out.read_text(encoding="utf-8").splitlines()  # as site.py reads it: any line break counts
    assert len(lines) == 2 + len(HOSTILE) and not [line for line in lines if line.startswith("import")]
    site = subprocess.run(
        [sys.executable, "-S", "-c", "import site, sys; site.addsitedir(sys.argv[1])", str(tmp_path)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert site.returncode == 0, site.stderr
    assert not list(tmp_path.glob("pwned*"))
    # The file shows what the cells held, and reads back as it was (the huge one cut to a cell's size).
    text = out.read_text(encoding="utf-8")
    assert r"x\nimport os" in text and r"\x1b]8;;http://evil.example\x07" in text and r"\u202e" in text
    results = latest_results(out)
    references = {results[row].customer_reference for row in range(3, 3 + len(HOSTILE))}
    huge = HOSTILE["huge"][: MAX_CELL - 1] + "…"
    assert references == {*HOSTILE.values()} - {HOSTILE["huge"]} | {huge}

    # A rerun carries the completed row over and reports the invalid ones again, one line each.
    again = await run_bulk_async(csv_path, client, out=out, settings=PIPELINE, max_concurrency=4)
    assert again.carried_over == 1 and again.counts == first.counts
    assert latest_results(out) == results
    assert_no_control_bytes(out)
    # only_failed: no row failed, so every row keeps its line (the hostile references matched theirs).
    shutil.copy(out, tmp_path / "earlier.csv")
    second = tmp_path / "second.pth"
    selected = await run_bulk_async(
        csv_path, client, out=second, only_failed=tmp_path / "earlier.csv", settings=PIPELINE
    )
    assert selected.carried_over == 1 + len(HOSTILE)
    assert {row: line.customer_reference for row, line in latest_results(second).items()} == {
        row: line.customer_reference for row, line in results.items()
    }
    assert_no_control_bytes(second)


def _rendered(markdown: str) -> str:
    """HTML as a CommonMark renderer with tables makes it (Prefect's UI renders artifacts as such markdown);
    links of any scheme are kept, to see where they would lead."""
    renderer = MarkdownIt("commonmark").enable("table")
    renderer.validateLink = lambda url: True  # type: ignore[method-assign]
    return renderer.render(markdown)


def test_the_bulk_summary_names_files_in_code_spans_nothing_can_leave() -> None:
    summary = BulkSummary(
        csv_path=Path("x.csv"),
        results_path=Path("r.csv"),
        csv_location="s3://bucket/in](https:evil) [x\r\n# forged ``x`` `y`.csv",
        results_location="/data/a`` b\r](https://evil.example)\x1b[2J.csv",
    )
    summary.add(ResultRow(2, "acme", "failed", error="Boom\n| forged | row |: [x](https://evil.example)"))
    markdown = summary.markdown()

    assert CONTROL.search(markdown.replace("\n", "")) is None
    html = _rendered(markdown)
    assert "<a " not in html and "<h1>" not in html and html.count("<h2>") == 1
    # The status table (a header, five statuses) and the error table (a header, one error): no forged row.
    assert html.count("<tr>") == 1 + 5 + 1 + 1
    # Each name is one code span holding the whole name, its controls escaped.
    codes = re.findall(r"<code>(.*?)</code>", html)
    assert "in](https:evil) [x\\r\\n# forged ``x`` `y`.csv" in codes
    assert "/data/a`` b\\r](https://evil.example)\\x1b[2J.csv" in codes


@pytest.mark.parametrize("text", ["plain", "a`b", "``x``", "`", " x ", " `x", "x\r`y\n", "<b>&"])
def test_a_code_span_shows_its_text_whatever_it_holds(text: str) -> None:
    html = _rendered(f"before {markdown_code(text)} after")
    assert html.startswith("<p>before <code>") and html.endswith("</code> after</p>\n"), html
    (shown,) = re.findall(r"<code>(.*?)</code>", html)
    assert html_text.unescape(shown) == escape_controls(text)


def test_reconcile_and_catalog_reports_show_answers_as_text() -> None:
    outcomes = (
        GroupOutcome(
            group_id="rg-1](https://evil.example)",
            customer_reference="c\n# forged",
            status="declined\x1b[2J",
            action="declined",
            reasons=("blurry | [x](https://evil.example)\r\n",),
        ),
        GroupOutcome(group_id="rg-2\n|x|", customer_reference="c2", status="pending", action="pending"),
    )
    report = reconcile_markdown(ReconcileReport(prefix="tc", groups_seen=2, outcomes=outcomes))
    requirement = RequirementTypeSnapshot(id="t-1`](x)", name="Name [x](https://evil.example)\n# h")
    market = MarketChanges(
        market="DE local\n# forged",
        status="changed",
        added=(requirement,),
        changed=(
            RequirementTypeChange(
                id="t-2",
                name="n",
                changes=(FieldChange(field="desc`\r", before="a\nb", after="<img src=x>"),),
            ),
        ),
    )
    diff = CatalogDiff(before="2025\n# x", after="2026", markets=(market,))
    catalog = catalog_diff_markdown(diff, CatalogSnapshot.model_validate({"taken_at": "2026"}))
    for markdown in (report, catalog):
        assert CONTROL.search(markdown.replace("\n", "")) is None
        html = _rendered(markdown)
        assert "<a " not in html and "<img" not in html and html.count("<h1>") == 1  # the title's
    assert _rendered(report).count("<tr>") == 2 + 2  # two tables: header and one row each
    assert _rendered(catalog).count("<h2>") == 1  # one market


def test_the_outcome_report_shows_ids_and_values_from_answers_as_text() -> None:
    result = OnboardingResult.model_validate(
        {
            "customer_reference": "acme",
            "country_code": "DE",
            "phone_number_type": "local",
            "action": "ordering",
            "status": "declined",
            "requirement_group_id": "rg-1\n# forged [x](https://evil.example)",
            "requirement_group_status": "declined\x1b[2J",
            "address_id": "addr](https://evil.example)\r\n| a | b |",
            "error": HOSTILE["newline"],
            "requirements": [
                RequirementOutcome(
                    requirement_id="r1", name="Name\u202e", key="k", kind="textual", value=HOSTILE["colour"]
                ).model_dump()
            ],
        }
    )
    markdown = outcome_markdown(result)
    assert CONTROL.search(markdown.replace("\n", "")) is None
    html = _rendered(markdown)
    assert "<a " not in html and html.count("<h1>") == 1 and html.count("<tr>") == 2


def _strings(value: Any) -> Iterator[str]:
    """Every string in ``value`` (keys of mappings too)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(key)
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)


def test_events_carry_no_control_character() -> None:
    from tasks.events import bulk_summary_event, group_event

    decision = GroupDecision(
        requirement_group_id="rg-1\n",
        status="declined",
        customer_reference=HOSTILE["terminal link"],
        reasons={"Proof\u202e": HOSTILE["newline"]},
    )
    summary = BulkSummary(csv_path=Path("in\x1b[2J.csv"), results_path=Path("out\n.csv"))
    summary.add(ResultRow(2, "x", "failed", error="Boom\x1b[31m: x"))
    for spec in (group_event(decision, observed_by="bulk_onboard"), bulk_summary_event(summary, "run-1")):
        texts = list(_strings((spec.resource, spec.payload)))
        assert texts and not [text for text in texts if CONTROL.search(text)]
    event = group_event(decision, observed_by="bulk_onboard")
    assert event.payload["customer_reference"] == r"\x1b]8;;http://evil.example\x07click\x1b]8;;\x07"
    assert event.payload["reasons"] == {r"Proof\u202e": r"x\nimport os; os.mkdir('pwned-by-lf') #"}


@pytest.fixture
def library_log() -> Iterator[io.StringIO]:
    """What the library's bulk logger writes through a plain handler, as a log file would hold it."""
    import telnyx_compliance.onboarding.bulk  # noqa: F401  (its loggers carry the filter once it loads)

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    logger = logging.getLogger("telnyx_compliance.bulk")
    logger.addHandler(handler)
    try:
        yield stream
    finally:
        logger.removeHandler(handler)


def test_log_lines_escape_what_a_cell_holds_exception_text_included(library_log: io.StringIO) -> None:
    logger = logging.getLogger("telnyx_compliance.bulk")
    logger.warning("Row %d (%s) failed: %s", 3, HOSTILE["terminal link"], HOSTILE["newline"])
    try:
        raise ValueError("bad cell " + HOSTILE["carriage return"] + HOSTILE["clear screen"])
    except ValueError:
        logger.exception("Row %d (%s) stopped unexpectedly", 4, HOSTILE["bidi"])

    text = library_log.getvalue()
    assert CONTROL.search(text.replace("\n", "")) is None
    lines = text.splitlines()
    assert lines[0] == (
        r"WARNING telnyx_compliance.bulk: Row 3 (\x1b]8;;http://evil.example\x07click\x1b]8;;\x07) failed: "
        r"x\nimport os; os.mkdir('pwned-by-lf') #"
    )
    assert (
        lines[1] == r"ERROR telnyx_compliance.bulk: Row 4 (\u202egnp.exe\u2066x\u2069) stopped unexpectedly"
    )
    assert lines[2] == "Traceback (most recent call last):"
    assert lines[-1] == r"ValueError: bad cell y\rimport os; os.mkdir('pwned-by-cr') #a\x1b[2Jb"
    assert not [line for line in lines if line.startswith("import")]


@pytest.fixture
def restored_logging() -> Iterator[None]:
    """The terminal takes over the root logger's handlers and sets the library's level: put them back."""
    root, library = logging.getLogger(), logging.getLogger("telnyx_compliance")
    handlers, level, library_level = root.handlers[:], root.level, library.level
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        library.setLevel(library_level)


def test_the_terminal_prints_cells_and_log_lines_as_text(restored_logging: None) -> None:
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=160, color_system="truecolor")
    terminal = Terminal(console=console, live=True)
    terminal.route_logs()
    terminal.started(HOSTILE["clear screen"] + ".csv", 3, "/out/[bold]x\x1b]8;;http://e\x07.csv")
    logging.getLogger("telnyx_compliance.bulk").error("Row 2 (%s): %s", HOSTILE["markup"], HOSTILE["colour"])
    logging.getLogger("prefect.flow_runs").error("picked up %s", HOSTILE["terminal link"])
    summary = BulkSummary(csv_path=Path("h.csv"), results_path=Path("r.csv"))
    problems = [
        ResultRow(row, reference, "invalid", error="customer_reference: " + reference)
        for row, reference in enumerate(
            (HOSTILE["terminal link"], HOSTILE["markup"], HOSTILE["clear screen"]), start=2
        )
    ]
    for problem in problems:
        terminal.row(problem)
        summary.add(problem)
    terminal.summary(summary, problems, api_calls=0)

    raw = screen.getvalue()
    for sequence in ("\x1b]8;;http://e", "\x1b[2J", "\x07", "\x1b[0m\x1b[31mred"):
        assert sequence not in raw, sequence
    visible = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", raw)
    assert r"a\x1b[2Jb.csv" in visible and r"\x1b]8;;http://e\x07.csv" in visible
    assert "[bold red]boom[/] [link=http://evil.example]x[/link]" in visible  # markup shown as typed
    assert r"\x1b]8;;http://evil.example\x07click" in visible and r"\x1b[31mred\x1b[0m" in visible
    terminal.stop()


def test_table_cells_of_the_bulk_artifact_are_literal_text() -> None:
    import pandas as pd

    from tasks.bulk import not_completed_rows, results_link

    frame = pd.DataFrame(
        [
            {
                "row": "2",
                "customer_reference": "[x](https://evil.example)",
                "status": "invalid",
                "error": "a|b",
            },
            {
                "row": "3",
                "customer_reference": "old\nfile\x1b[2J",
                "status": "failed",
                "error": "<img src=x>",
            },
        ]
    )
    rows, total = not_completed_rows(frame)
    assert total == 2
    assert rows[0]["customer_reference"] == escape_markdown("[x](https://evil.example)")
    assert rows[1]["customer_reference"] == r"old\\nfile\\x1b\[2J" and "<img" not in rows[1]["error"]
    for location in (
        "/data/a b (1).csv",
        "/data/in](https:evil) [x.csv",
        "/d/t\x1b[2J\n.csv",
        "s3://b/a (1).csv",
    ):
        link = results_link(location)
        html = _rendered(f"[{escape_markdown(location)}]({link})")
        assert html.count("<a ") == 1 and f'href="{link}"' in html, html
        assert CONTROL.search(link) is None and not re.search(r"[ ()\[\]<>]", link)
        (text,) = re.findall(r"<a [^>]*>(.*?)</a>", html)
        assert html_text.unescape(text) == escape_controls(location)


def test_the_bulk_flow_publishes_hostile_cells_and_names_as_text(
    prefect_harness: None, sandbox: SandboxServer, tmp_path: Path
) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
    from prefect.client.schemas.sorting import ArtifactSort

    from configs.settings import TelnyxSettings
    from flows.bulk_onboard import run_bulk

    folder = tmp_path / "in](https:evil) [x `y` (1)"  # a link, a code span and parentheses in a name
    csv_path = hostile_csv(folder)
    summary = run_bulk(
        csv_path,
        settings=TelnyxSettings(base_url=sandbox.base_url, rate_limit=500),
        pipeline=PIPELINE,
        max_concurrency=4,
    )
    assert summary.counts["invalid"] == len(HOSTILE)

    keys = ["bulk-onboarding-summary", "bulk-onboarding-not-completed", "bulk-onboarding-results-file"]
    with get_client(sync_client=True) as prefect:
        artifacts: dict[str, Any] = {}
        for artifact in prefect.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=keys)), sort=ArtifactSort.CREATED_DESC
        ):
            artifacts.setdefault(str(artifact.key), artifact)
    for key, artifact in artifacts.items():
        for text in (str(artifact.data), str(artifact.description)):
            assert CONTROL.search(text.replace("\n", "")) is None, key
            assert "<a " not in _rendered(text) or key == "bulk-onboarding-results-file", key
    link = _rendered(str(artifacts["bulk-onboarding-results-file"].data))
    assert link.count("<a ") == 1
    (href,) = re.findall(r'href="([^"]*)"', link)
    assert href == summary.results_path.resolve().as_uri()  # every character that could end it encoded
    assert " " not in href and "(" not in href and "]" not in href
    codes = re.findall(r"<code>(.*?)</code>", _rendered(str(artifacts["bulk-onboarding-summary"].data)))
    assert html_text.unescape(codes[1]) == str(summary.results_path)  # the whole name, one code span
    table = json.loads(str(artifacts["bulk-onboarding-not-completed"].data))
    shown = {line["customer_reference"] for line in table}
    assert escape_markdown(escape_controls(HOSTILE["terminal link"], reversible=True)) in shown
    assert "<a " not in _rendered(" ".join(line["customer_reference"] for line in table))


def test_run_loggers_of_the_flows_escape_what_they_quote(prefect_harness: None) -> None:
    import asyncio

    from prefect import flow, get_client, get_run_logger
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId
    from prefect.logging.handlers import APILogHandler

    import tasks.events  # noqa: F401  (the flows' tasks modules guard Prefect's run loggers)

    @flow(name="logs-a-hostile-cell")
    def logs_a_hostile_cell() -> None:
        logger = get_run_logger()
        logger.warning("group %s (%s) declined", "rg-1", HOSTILE["terminal link"])
        try:
            raise ValueError(HOSTILE["newline"])
        except ValueError:
            logger.exception("row %s stopped", HOSTILE["clear screen"])

    state = logs_a_hostile_cell(return_state=True)

    async def logs() -> list[str]:
        await APILogHandler.aflush()
        async with get_client() as client:
            found = await client.read_logs(
                log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[state.state_details.flow_run_id]))
            )
        return [log.message for log in found]

    messages = asyncio.run(logs())
    quoted = [message for message in messages if "declined" in message or "stopped" in message]
    assert len(quoted) == 2, messages
    for message in quoted:
        assert CONTROL.search(message.replace("\n", "")) is None, message
        assert not [line for line in message.splitlines() if line.startswith("import")], message
    assert r"\x1b]8;;http://evil.example\x07click" in quoted[0] + quoted[1]
    assert r"ValueError: x\nimport os" in quoted[0] + quoted[1]
