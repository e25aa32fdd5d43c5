"""Bulk onboarding against the sandbox: the example CSV, grouping, reruns, --only-failed, the flow."""

from __future__ import annotations

import csv
import json
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from configs.settings import PipelineSettings, TelnyxSettings
from telnyx_compliance import AsyncTelnyx, RateLimiter
from telnyx_compliance.onboarding.bulk import BulkSummary, run_bulk_async
from telnyx_compliance.onboarding.csv_io import iter_rows
from telnyx_compliance.onboarding.errors import ErrorKind
from telnyx_compliance.onboarding.mapping import RequirementMapping
from telnyx_compliance.onboarding.plan import build_plan
from telnyx_compliance.onboarding.results_csv import latest_results
from telnyx_compliance.onboarding.template import fake_rows, fetch_requirements, render_template
from telnyx_compliance.sandbox import SandboxServer

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
#: What examples/onboarding.csv is built to show, row by row.
EXPECTED = {
    2: "completed",  # acme-telecom, DE: first row of a group of two
    3: "completed",  # acme-telecom, DE: same address and group, its own order
    4: "completed",  # GB
    5: "completed",  # US (address and contact name only)
    6: "completed",  # FR
    7: "completed",  # DE
    8: "declined",  # the bill carries the sandbox's deny marker
    9: "invalid",  # phone number not in E.164
    10: "invalid",  # unknown country
    11: "invalid",  # document missing
    12: "invalid",  # VAT number and register number break the market's criteria
}
PIPELINE = PipelineSettings(
    approval_poll_interval=0.05, approval_poll_max_interval=0.2, approval_poll_timeout=20
)


@pytest.fixture
def fresh_sandbox(sandbox: SandboxServer) -> Iterator[SandboxServer]:
    sandbox.reset()
    sandbox.configure(error_rate=0.0)
    yield sandbox
    sandbox.configure(error_rate=0.0)


@pytest.fixture
async def client(fresh_sandbox: SandboxServer) -> AsyncIterator[AsyncTelnyx]:
    async with AsyncTelnyx(
        api_key="test-key", base_url=fresh_sandbox.base_url, max_retries=2, rate_limiter=RateLimiter(1000)
    ) as telnyx:
        yield telnyx


@pytest.fixture
def example_csv(tmp_path: Path) -> Path:
    shutil.copytree(EXAMPLES / "documents", tmp_path / "documents")
    shutil.copy(EXAMPLES / "onboarding.csv", tmp_path / "onboarding.csv")
    return tmp_path / "onboarding.csv"


def resources(sandbox: SandboxServer) -> dict[str, int]:
    return {name: count for name, count in sandbox.stats()["resources"].items() if count}


def writes(sandbox: SandboxServer) -> int:
    routes: dict[str, dict[str, int]] = sandbox.stats()["requests"]["by_route"]
    return sum(sum(by_status.values()) for route, by_status in routes.items() if not route.startswith("GET"))


def statuses(path: Path) -> dict[int, str]:
    return {row: result.status for row, result in latest_results(path).items()}


async def run(csv_path: Path, client: AsyncTelnyx, **kwargs: Any) -> BulkSummary:
    return await run_bulk_async(csv_path, client, settings=PIPELINE, max_concurrency=4, **kwargs)


async def test_the_example_csv_onboards_valid_rows_and_reports_the_others(
    example_csv: Path, client: AsyncTelnyx, fresh_sandbox: SandboxServer
) -> None:
    seen: list[int] = []
    summary = await run(example_csv, client, on_row=lambda result: seen.append(result.row))

    out = example_csv.with_name("onboarding.results.csv")
    assert summary.results_path == out and statuses(out) == EXPECTED
    assert sorted(seen) == sorted(EXPECTED)  # progress heard of every row once
    assert summary.exit_code == 1 and summary.counts["completed"] == 6 and summary.groups == 7
    with out.open(encoding="utf-8", newline="") as handle:
        assert [int(line["row"]) for line in csv.DictReader(handle)] == sorted(EXPECTED)  # one line each

    results = latest_results(out)
    assert results[9].error.startswith("phone_numbers: ") and "E.164" in results[9].error
    assert results[10].error.startswith("country_code: ")
    assert results[11].error.startswith("doc_proof_of_address: ") and "not found" in results[11].error
    assert "[business_registration_number]" in results[12].error and "[tax_id]" in results[12].error
    assert "denied by review" in results[8].error and results[8].requirement_group_status == "declined"
    assert summary.errors["invalid business_registration_number, tax_id"] == 1
    # Each line says what kind of failure it was, as the pipeline caught it (not read from its text).
    assert {row: line.error_kind for row, line in results.items() if line.status != "completed"} == {
        8: ErrorKind.DECLINED,
        9: ErrorKind.INVALID_INPUT,
        10: ErrorKind.INVALID_INPUT,
        11: ErrorKind.INVALID_INPUT,
        12: ErrorKind.PLAN_UNMET,  # valid as CSV; the market's requirements cannot be met: invalid too
    }

    # Rows sharing customer, country, type and action share one address and group, each with its own order.
    acme = [results[2], results[3]]
    assert (
        acme[0].address_id == acme[1].address_id
        and acme[0].requirement_group_id == acme[1].requirement_group_id
    )
    assert acme[0].attached_orders and acme[1].attached_orders
    assert set(acme[0].attached_orders).isdisjoint(acme[1].attached_orders)
    created = resources(fresh_sandbox)
    assert (
        created["user_addresses"] == 6 and created["requirement_groups"] == 6
    )  # 6 onboardings reached Telnyx
    assert created["number_orders"] == 6  # acme's two rows, one order each; the declined one orders nothing
    assert fresh_sandbox.stats()["duplicates"] == {}


async def test_a_rerun_skips_finished_rows_and_creates_nothing(
    example_csv: Path, client: AsyncTelnyx, fresh_sandbox: SandboxServer
) -> None:
    await run(example_csv, client)
    before, written = resources(fresh_sandbox), writes(fresh_sandbox)

    again = await run(example_csv, client)

    assert again.carried_over == 6  # the completed rows were not run again
    assert statuses(again.results_path) == EXPECTED
    assert resources(fresh_sandbox) == before and writes(fresh_sandbox) == written


async def test_only_failed_reruns_just_the_failed_rows(
    example_csv: Path, client: AsyncTelnyx, fresh_sandbox: SandboxServer
) -> None:
    fresh_sandbox.configure(error_rate=1.0)  # every request 5xx: each valid row fails
    first = await run(example_csv, client)
    failed_rows = {row for row, status in statuses(first.results_path).items() if status == "failed"}
    # Row 12 is valid as CSV; only the market's requirements (unreachable now) would show it invalid.
    assert failed_rows == {2, 3, 4, 5, 6, 7, 8, 12}
    assert first.errors["transient API failure"] == 8  # counted by the kind each failure was caught as
    assert {
        line.error_kind for line in latest_results(first.results_path).values() if line.row in failed_rows
    } == {ErrorKind.TRANSIENT}

    fresh_sandbox.configure(error_rate=0.0)
    shutil.copy(first.results_path, example_csv.with_name("failed.csv"))
    second = await run(example_csv, client, only_failed=example_csv.with_name("failed.csv"))

    assert statuses(second.results_path) == EXPECTED
    assert second.carried_over == 3  # rows 9-11 (invalid as CSV) kept their line; nothing else was selected
    assert fresh_sandbox.stats()["duplicates"] == {}


async def test_only_failed_leaves_rows_that_did_not_fail_alone(
    example_csv: Path, client: AsyncTelnyx, fresh_sandbox: SandboxServer
) -> None:
    first = await run(example_csv, client)
    lines = latest_results(first.results_path)
    selection = example_csv.with_name("selection.csv")
    with selection.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["row", "customer_reference", "status"])
        for row, result in lines.items():
            writer.writerow([row, result.customer_reference, "failed" if row == 4 else result.status])
    requests_before = fresh_sandbox.stats()["requests"]["total"]

    second = await run(example_csv, client, only_failed=selection, out=example_csv.with_name("second.csv"))

    assert statuses(second.results_path) == EXPECTED
    assert second.carried_over == len(EXPECTED) - 1
    assert 0 < fresh_sandbox.stats()["requests"]["total"] - requests_before < 20  # one row's worth of calls


async def test_fake_rows_meet_the_market_and_a_small_bulk_run_completes_every_row(
    tmp_path: Path, client: AsyncTelnyx, fresh_sandbox: SandboxServer
) -> None:
    mapping = RequirementMapping.load()
    requirements = await fetch_requirements(client, "DE", "local", "ordering")
    rows = fake_rows(requirements, mapping, 40, tmp_path, seed=3, country="DE")
    path = tmp_path / "fake.csv"
    path.write_text(render_template(requirements, mapping, "DE", "local", "ordering", rows), encoding="utf-8")

    parsed = list(iter_rows(path))
    assert len(parsed) == 40 and all(row.ok for row in parsed), [
        row.error_text for row in parsed if not row.ok
    ]
    for row in parsed:
        assert row.request is not None
        build_plan(row.request, requirements, mapping)  # raises PlanError when a value misses its criteria
    assert len({row.request.phone_numbers for row in parsed if row.request}) == 40

    summary = await run_bulk_async(path, client, settings=PIPELINE, max_concurrency=16)

    assert summary.counts == {"completed": 40} and summary.exit_code == 0
    created = resources(fresh_sandbox)
    assert created["user_addresses"] == created["requirement_groups"] == created["number_orders"] == 40
    assert fresh_sandbox.stats()["duplicates"] == {}


def test_the_bulk_flow_runs_the_example_and_publishes_its_report(
    prefect_harness: None, example_csv: Path, fresh_sandbox: SandboxServer
) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
    from prefect.client.schemas.sorting import ArtifactSort

    from flows.bulk_onboard import run_bulk

    heard: list[int] = []
    summary = run_bulk(
        example_csv,
        out=example_csv.with_name("flow-results.csv"),
        settings=TelnyxSettings(base_url=fresh_sandbox.base_url, rate_limit=500),
        pipeline=PIPELINE,
        max_concurrency=4,
        on_row=lambda result: heard.append(result.row),
    )

    assert statuses(summary.results_path) == EXPECTED and summary.exit_code == 1
    assert sorted(heard) == sorted(EXPECTED)
    with get_client(sync_client=True) as prefect:
        artifacts: dict[str, Any] = {}
        for artifact in prefect.read_artifacts(  # newest first: this run's, not an earlier test's
            artifact_filter=ArtifactFilter(
                key=ArtifactFilterKey(
                    any_=[
                        "bulk-onboarding-summary",
                        "bulk-onboarding-not-completed",
                        "bulk-onboarding-results-file",
                        "bulk-onboarding-progress",
                    ]
                )
            ),
            sort=ArtifactSort.CREATED_DESC,
        ):
            artifacts.setdefault(str(artifact.key), artifact)
    assert "| completed | 6 |" in str(artifacts["bulk-onboarding-summary"].data)
    assert "| declined | 1 |" in str(artifacts["bulk-onboarding-summary"].data)
    assert artifacts["bulk-onboarding-progress"].data == 100.0
    link = artifacts["bulk-onboarding-results-file"]
    assert link.type == "markdown" and summary.results_path.resolve().as_uri() in str(link.data)
    table = artifacts["bulk-onboarding-not-completed"]
    assert table.type == "table" and table.description.startswith("5 row(s) that did not complete")
    shown = json.loads(str(table.data))
    assert {int(line["row"]): line["status"] for line in shown} == {
        row: status for row, status in EXPECTED.items() if status != "completed"
    }
    assert set(shown[0]) == {"row", "customer_reference", "status", "error", "error_kind"}
    declined = next(line for line in shown if line["status"] == "declined")
    assert declined["customer_reference"] == "hanse-logistik" and "declined" in declined["error"]
    assert "acme-telecom" not in str(table.data)  # completed rows are not listed
    assert_bulk_events(summary)


def assert_bulk_events(summary: BulkSummary) -> None:
    """One summary event for the run, and one event per requirement group decided among its rows."""
    import asyncio

    from tests.support import read_events

    summaries = asyncio.run(
        read_events(
            ["telnyx.bulk-onboarding.summary"],
            where=lambda event: event.payload.get("results") == str(summary.results_path),
        )
    )
    (mine,) = [e for e in summaries if e.payload["results"] == str(summary.results_path)]
    assert mine.payload["counts"]["completed"] == 6 and mine.payload["counts"]["invalid"] == 4
    assert mine.payload["decisions"] == {"approved": 5, "declined": 1, "expired": 0}
    flow_run = mine.resource.id.removeprefix("telnyx.bulk-onboarding.")
    related = f"prefect.flow-run.{flow_run}"
    assert related in {r.id for r in mine.related}
    groups = asyncio.run(
        read_events(
            ["telnyx.requirement-group.approved", "telnyx.requirement-group.declined"],
            related=related,
            at_least=6,
        )
    )
    by_name: dict[str, list[Any]] = {}
    for event in groups:
        by_name.setdefault(event.event, []).append(event)
    approved = by_name.get("telnyx.requirement-group.approved", [])
    assert len(approved) == 5  # six completed rows; the two acme-telecom DE rows share one group
    assert len({e.resource.id for e in approved}) == 5
    (declined,) = by_name["telnyx.requirement-group.declined"]
    assert declined.resource.name == "hanse-logistik" and declined.resource["telnyx.country"] == "DE"
    assert declined.payload["reasons"] and all(declined.payload["reasons"].values())
    assert all(e.resource["telnyx.observed-by"] == "bulk_onboard" for e in groups)
