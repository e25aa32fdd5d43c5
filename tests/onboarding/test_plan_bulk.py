"""``compliance plan``: a verdict per row that the apply then bears out, call for call.

The mixed-state test builds a sandbox holding every verdict (rows approved by an earlier run, a row whose
earlier run failed after its address, groups under review, changed values) and then plans and applies one
CSV: each row ends as its verdict said, the writes sent are the writes planned, and planning sent no write.
"""

from __future__ import annotations

import csv
import json
import shutil
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from configs.settings import PipelineSettings
from telnyx_compliance import AsyncTelnyx, RateLimiter
from telnyx_compliance.onboarding.bulk import run_bulk_async
from telnyx_compliance.onboarding.planning import ATTACH_SUB_ORDER, BulkPlan, plan_bulk
from telnyx_compliance.onboarding.results_csv import latest_results
from telnyx_compliance.sandbox import SandboxServer
from telnyx_compliance.sandbox.catalog import EICAR

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
QUICK_REVIEW = PipelineSettings(
    approval_poll_interval=0.05, approval_poll_max_interval=0.2, approval_poll_timeout=20
)
#: Reviews that outlast the run: its groups stay under review.
HANDED_OVER = QUICK_REVIEW.model_copy(update={"approval_poll_timeout": 0.5})

#: The final CSV, row by row: the verdict the plan gives, and how the apply ends the row.
EXPECTED = {
    2: ("done", "completed"),  # acme-telecom: approved by an earlier run, its order carries the group
    3: ("done", "completed"),  # acme-telecom's second row
    4: ("done", "completed"),  # brightline-media
    5: ("update", "pending_approval"),  # northwind-traders, contact name changed: back to review
    6: ("wait", "pending_approval"),  # lumiere-conseil: under review
    7: ("blocked", "failed"),  # nordsee-hafen: under review, contact name changed
    8: ("resume", "pending_approval"),  # nordlicht-design: its earlier run failed after the address
    9: ("create", "pending_approval"),  # alster-werft: new
    10: ("invalid", "invalid"),  # kiez-cafe: phone number not E.164
    11: ("invalid", "invalid"),  # alpen-audio: breaks the market's criteria
}


@pytest.fixture
def fresh_sandbox(sandbox: SandboxServer) -> Iterator[SandboxServer]:
    sandbox.reset()
    before = sandbox.configure(error_rate=0.0)["approve_after"]
    yield sandbox
    sandbox.configure(approve_after=before)


@pytest.fixture
async def client(fresh_sandbox: SandboxServer) -> AsyncIterator[AsyncTelnyx]:
    async with AsyncTelnyx(
        api_key="test-key", base_url=fresh_sandbox.base_url, max_retries=2, rate_limiter=RateLimiter(1000)
    ) as telnyx:
        yield telnyx


def writes(sandbox: SandboxServer) -> Counter[str]:
    routes: dict[str, dict[str, int]] = sandbox.stats()["requests"]["by_route"]
    return Counter(
        {
            route.replace(" /v2/", " /", 1): sum(by_status.values())
            for route, by_status in routes.items()
            if not route.startswith("GET")
        }
    )


def example_rows() -> tuple[list[str], list[dict[str, str]]]:
    with (EXAMPLES / "onboarding.csv").open(encoding="utf-8") as source:
        rows = list(csv.DictReader(source))
    return list(rows[0]), rows


def like(row: dict[str, str], **changes: str) -> dict[str, str]:
    return {**row, **changes}


def write_csv(path: Path, header: list[str], rows: list[dict[str, str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, header)
        writer.writeheader()
        writer.writerows(rows)
    return path


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    shutil.copytree(EXAMPLES / "documents", tmp_path / "documents")
    clean = (tmp_path / "documents" / "nordlicht-proof-of-address.pdf").read_bytes()
    (tmp_path / "documents" / "nordlicht-infected.pdf").write_bytes(clean + b"\n" + EICAR + b"\n")
    return tmp_path


async def build_mixed_state(folder: Path, client: AsyncTelnyx, sandbox: SandboxServer) -> Path:
    """The sandbox after two earlier runs; returns the final CSV (every verdict in it)."""
    header, rows = example_rows()
    acme, acme2, brightline, northwind, lumiere, nordlicht, _, kiez, _, _, alpen = rows
    nordsee = like(nordlicht, customer_reference="nordsee-hafen", phone_numbers="+494012345671")
    alster = like(nordlicht, customer_reference="alster-werft", phone_numbers="+494012345672")
    infected = like(nordlicht, doc_proof_of_address="documents/nordlicht-infected.pdf")
    # Run 1, quick reviews: four rows approved and ordered; nordlicht fails on its infected document.
    first = write_csv(folder / "first.csv", header, [acme, acme2, brightline, northwind, infected])
    await run_bulk_async(first, client, settings=QUICK_REVIEW)
    assert [line.status for line in latest_results(folder / "first.results.csv").values()] == [
        "completed",
        "completed",
        "completed",
        "completed",
        "failed",
    ]
    # Run 2, reviews that outlast it: two groups handed over under review (their orders placed).
    sandbox.configure(approve_after=600)
    second = write_csv(folder / "second.csv", header, [lumiere, nordsee])
    await run_bulk_async(second, client, settings=HANDED_OVER)
    assert {line.status for line in latest_results(folder / "second.results.csv").values()} == {
        "pending_approval"
    }
    final_rows = [
        acme,
        acme2,
        brightline,
        like(northwind, value_contact_name="Dana W. Whitfield"),
        lumiere,
        like(nordsee, value_contact_name="Jonas P. Petersen"),
        nordlicht,
        alster,
        kiez,
        alpen,
    ]
    return write_csv(folder / "final.csv", header, final_rows)


async def test_every_verdict_is_borne_out_by_the_apply_call_for_call(
    folder: Path, client: AsyncTelnyx, fresh_sandbox: SandboxServer
) -> None:
    final = await build_mixed_state(folder, client, fresh_sandbox)
    before_plan = writes(fresh_sandbox)

    plan = await plan_bulk(final, client, settings=HANDED_OVER)

    assert writes(fresh_sandbox) == before_plan  # planning sent no POST, PATCH or DELETE
    verdicts = {row.row: row.verdict for row in plan.rows}
    assert verdicts == {row: verdict for row, (verdict, _) in EXPECTED.items()}
    by_row = {row.row: row for row in plan.rows}
    assert by_row[5].back_to_review and "Contact Name" in by_row[5].detail
    assert "under review" in by_row[7].detail and "Contact Name" in by_row[7].detail
    assert by_row[8].steps[0].startswith("upload") and not any("address" in s for s in by_row[8].steps)
    assert {column for column, _ in by_row[10].problems} == {"phone_numbers"}
    assert by_row[2].writes == () and by_row[3].writes == () and by_row[4].writes == ()
    assert plan.exit_code == 1 and plan.rate is not None and plan.seconds is not None

    await run_bulk_async(final, client, settings=HANDED_OVER)

    sent = writes(fresh_sandbox) - before_plan
    assert sent == plan.writes
    outcomes = {row: line.status for row, line in latest_results(folder / "final.results.csv").items()}
    assert outcomes == {row: outcome for row, (_, outcome) in EXPECTED.items()}


async def test_a_rerun_of_rows_that_are_all_done_sends_no_write(
    folder: Path, client: AsyncTelnyx, fresh_sandbox: SandboxServer
) -> None:
    header, rows = example_rows()
    path = write_csv(folder / "done.csv", header, rows[:4])
    fresh_sandbox.configure(approve_after=600)
    await run_bulk_async(path, client, settings=HANDED_OVER)  # handed over pending, orders placed
    fresh_sandbox.configure(approve_after=0.2)
    other = write_csv(folder / "again.csv", header, rows[:4])  # its own results: nothing carried over
    await run_bulk_async(other, client, settings=QUICK_REVIEW)  # the reviews end: attaches what it must
    final = write_csv(folder / "final.csv", header, rows[:4])
    before = writes(fresh_sandbox)

    plan = await plan_bulk(final, client, settings=QUICK_REVIEW)
    await run_bulk_async(final, client, settings=QUICK_REVIEW)

    assert {row.verdict for row in plan.rows} == {"done"} and plan.writes == Counter()
    assert writes(fresh_sandbox) == before  # not one POST /sub_number_orders/{id}/requirement_group
    assert ATTACH_SUB_ORDER not in writes(fresh_sandbox) - before
    assert {line.status for line in latest_results(folder / "final.results.csv").values()} == {"completed"}


def test_the_command_prints_the_plan_as_json_and_exits_by_its_verdicts(
    folder: Path, fresh_sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from telnyx_compliance.cli import app

    header, rows = example_rows()
    path = write_csv(folder / "plan.csv", header, [rows[0], rows[7]])
    monkeypatch.setenv("TELNYX_API_KEY", "test-key")
    monkeypatch.setenv("TELNYX_BASE_URL", fresh_sandbox.base_url)
    monkeypatch.chdir(folder)
    before = writes(fresh_sandbox)

    result = CliRunner().invoke(app, ["plan", str(path), "--json"])

    assert result.exit_code == 1, result.output
    shown = json.loads(result.stdout.strip().splitlines()[-1])
    assert [row["verdict"] for row in shown["rows"]] == ["create", "invalid"]
    assert shown["totals"]["create"] == 1 and shown["calls"]["writes"]["POST /requirement_groups"] == 1
    assert writes(fresh_sandbox) == before
    table = CliRunner().invoke(app, ["plan", str(path)])
    assert table.exit_code == 1 and "create" in table.stdout and "invalid" in table.stdout
    unusable = folder / "empty.csv"
    unusable.write_text("", encoding="utf-8")
    assert CliRunner().invoke(app, ["plan", str(unusable)]).exit_code == 2


def test_plan_is_a_bulk_plan() -> None:
    plan = BulkPlan(csv="x.csv")
    assert plan.exit_code == 0 and plan.seconds is None


async def test_by_default_numbers_are_checked_by_their_numbering_plan_and_agree_with_telnyx(
    folder: Path, client: AsyncTelnyx, fresh_sandbox: SandboxServer
) -> None:
    header, rows = example_rows()
    foreign = like(rows[3], customer_reference="wrong-country", phone_numbers="+442079460124")  # GB, US row
    mobile = like(rows[0], customer_reference="wrong-type", phone_numbers="+4915123456789")  # DE mobile
    path = write_csv(folder / "numbers.csv", header, [*rows, foreign, mobile])

    def lookups() -> int:
        routes: dict[str, dict[str, int]] = fresh_sandbox.stats()["requests"]["by_route"]
        return sum(
            sum(by_status.values())
            for route, by_status in routes.items()
            if route.startswith("GET /v2/phone_numbers_regulatory_requirements")
        )

    start = lookups()
    local = await plan_bulk(path, client, settings=QUICK_REVIEW)
    middle = lookups()
    looked_up = await plan_bulk(path, client, settings=QUICK_REVIEW, number_lookups=True)

    assert middle == start  # not one number looked up
    assert lookups() > middle
    assert [(r.row, r.verdict) for r in local.rows] == [(r.row, r.verdict) for r in looked_up.rows]
    wrong_country, wrong_type = local.rows[-2:]
    assert (wrong_country.verdict, wrong_type.verdict) == ("invalid", "invalid")
    assert wrong_country.problems[0][0] == "phone_numbers" and "GB" in wrong_country.problems[0][1]
    assert wrong_type.problems[0][0] == "phone_numbers" and "mobile" in wrong_type.problems[0][1]
    assert local.reads["GET /phone_numbers_regulatory_requirements"] >= 1  # the run's lookups, counted
    assert local.as_dict()["numbers_checked_by"] == "numbering plan"
    assert looked_up.as_dict()["numbers_checked_by"] == "telnyx"
    assert any("numbering plan" in line for line in local.summary_lines())
