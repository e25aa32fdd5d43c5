"""``compliance status`` and ``group_status``: where every group of ours stands, read with GET list calls.

One sandbox state holds every case: a group approved whose order carries it, one approved whose extra order
does not carry it yet, one declined (documents denied by review), one expired, and one still pending.
"""

from __future__ import annotations

import asyncio
import csv
import json
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from telnyx_compliance._text import escape_markdown
from telnyx_compliance.cli import app
from telnyx_compliance.onboarding.reconcile import reconcile, reconcile_markdown
from telnyx_compliance.onboarding.results import OnboardingResult
from telnyx_compliance.onboarding.results_csv import ResultRow, ResultsWriter
from telnyx_compliance.onboarding.status import (
    GroupStanding,
    StatusReport,
    _parse_time,
    group_status,
    status_rows,
)
from telnyx_compliance.sandbox import SandboxServer

from .support import REVIEW_SECONDS, PendingFactory, client_for, order_without_group

runner = CliRunner()


async def _invoke(*args: str) -> Any:
    """The command in a thread: it runs its own event loop, as from a shell."""
    return await asyncio.to_thread(runner.invoke, app, list(args))


@dataclass
class State:
    approved: OnboardingResult
    waiting: OnboardingResult
    extra_order: str
    declined: OnboardingResult
    expired: OnboardingResult
    pending: OnboardingResult

    def group(self, report: StatusReport, result: OnboardingResult) -> GroupStanding:
        (found,) = [g for g in report.groups if g.group_id == result.requirement_group_id]
        return found


@pytest.fixture
async def state(slow_sandbox: SandboxServer, pending_onboardings: PendingFactory, tmp_path: Path) -> State:
    (approved,) = await pending_onboardings(1, seed=0)
    (waiting,) = await pending_onboardings(1, seed=3)
    extra_order = await order_without_group(slow_sandbox, waiting, tmp_path / "extra")
    (declined,) = await pending_onboardings(1, seed=1, deny=True)
    (expired,) = await pending_onboardings(1, seed=2)
    slow_sandbox.advance_clock(REVIEW_SECONDS + 1)
    slow_sandbox._call("POST", f"/requirement_groups/{expired.requirement_group_id}/expire")
    (pending,) = await pending_onboardings(1, seed=4)  # submitted after the others were decided
    return State(approved, waiting, extra_order, declined, expired, pending)


def _by_method(sandbox: SandboxServer) -> Counter[str]:
    counts: Counter[str] = Counter()
    for route, statuses in sandbox.stats()["requests"]["by_route"].items():
        counts[route.split(" ", 1)[0]] += sum(statuses.values())
    return counts


def _routes(sandbox: SandboxServer) -> Counter[str]:
    return Counter({route: sum(s.values()) for route, s in sandbox.stats()["requests"]["by_route"].items()})


async def test_every_group_is_reported_where_it_stands(slow_sandbox: SandboxServer, state: State) -> None:
    async with client_for(slow_sandbox) as client:
        report = await group_status(client)
    assert {g.group_id for g in report.groups} == {
        r.requirement_group_id
        for r in (state.approved, state.waiting, state.declined, state.expired, state.pending)
    }
    assert report.counts == {
        "declined": 1,
        "expired": 1,
        "pending": 1,
        "unapproved": 0,
        "approved": 2,
        "other": 0,
        "approved_not_attached": 1,
    }
    # Declined, expired and pending first: what needs a look leads.
    assert [g.state for g in report.groups][:3] == ["declined", "expired", "pending"]

    pending = state.group(report, state.pending)
    assert pending.state == "pending" and pending.since is not None and pending.age_seconds is not None
    assert [o.number_order_id for o in pending.waiting_orders] == [state.pending.number_order_id]

    declined = state.group(report, state.declined)
    assert declined.reasons and all("denied" in reason for reason in declined.reasons)
    for reason in declined.reasons:  # "<name>: <reason>", the name once (the sandbox's reason names it too)
        name, _, rest = reason.partition(": ")
        assert name and not rest.startswith(f"{name}:") and name not in rest, reason
        assert len(name) < 40 and not name.count("-") >= 4, f"named by id, not by name: {reason}"
    assert declined.requirement_reasons

    expired = state.group(report, state.expired)
    assert expired.state == "expired" and expired.reasons

    attached = state.group(report, state.approved)
    assert attached.state == "approved" and attached.attached is True
    assert attached.waiting_orders == ()  # its order carries it and its requirements are met

    waiting = state.group(report, state.waiting)
    assert waiting.state == "approved" and waiting.attached is False
    assert [o.number_order_id for o in waiting.orders_to_attach] == [state.extra_order]


async def test_age_is_measured_from_the_submission(slow_sandbox: SandboxServer, state: State) -> None:
    async with client_for(slow_sandbox) as client:
        first = await group_status(client)
    since = _parse_time(state.group(first, state.pending).since)
    assert since is not None
    async with client_for(slow_sandbox) as client:
        later = await group_status(client, now=since + timedelta(hours=2, minutes=5))
    pending = state.group(later, state.pending)
    assert pending.age_seconds == pytest.approx(2 * 3600 + 5 * 60, abs=1)
    assert "2h 5m" in reconcile_markdown_for(later)


def reconcile_markdown_for(report: StatusReport) -> str:
    from telnyx_compliance.onboarding.status import status_markdown_lines

    return "\n".join(status_markdown_lines(report))


async def test_status_sends_only_list_calls(slow_sandbox: SandboxServer, state: State) -> None:
    before = _routes(slow_sandbox)
    async with client_for(slow_sandbox) as client:
        await group_status(client)
    sent = _routes(slow_sandbox) - before
    assert sent and all(route.startswith("GET ") for route in sent), sent
    # One list of groups, one of waiting orders, one of pending sub-orders, names of one market: never a
    # GET per group or per order.
    assert sum(sent.values()) <= 5, sent
    assert not any("{" in route for route in sent), sent


async def test_reconcile_publishes_the_same_rows_once_it_has_attached(
    slow_sandbox: SandboxServer, state: State
) -> None:
    async with client_for(slow_sandbox) as client:
        report = await reconcile(client, with_status=True)
        status = await group_status(client)
    assert report.status is not None
    assert report.count("attached") == 1  # the extra order, now carrying its approved group
    # Once attached, the status says so, and it is what `compliance status` reads right after.
    assert state.group(report.status, state.waiting).attached is True
    same = [(g.group_id, g.state, g.attached, g.reasons) for g in report.status.groups]
    assert same == [(g.group_id, g.state, g.attached, g.reasons) for g in status.groups]
    markdown = reconcile_markdown(report)
    for result in (state.declined, state.expired, state.pending):
        assert str(result.requirement_group_id) in markdown
    assert "## Needs action" in markdown and "## Waiting for Telnyx" in markdown
    for reason in state.group(status, state.declined).reasons:
        assert reason.split(": ", 1)[0] in markdown


# -- the command line ------------------------------------------------------------------------------------


@pytest.fixture
def cli_env(slow_sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch) -> SandboxServer:
    monkeypatch.setenv("TELNYX_BASE_URL", slow_sandbox.base_url)
    monkeypatch.delenv("TELNYX_API_KEY", raising=False)
    return slow_sandbox


def test_status_is_in_the_help() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0 and "status" in result.output


async def test_the_table_shows_every_case_and_sends_no_write(cli_env: SandboxServer, state: State) -> None:
    before = _by_method(cli_env)
    result = await _invoke("status")
    sent = _by_method(cli_env) - before
    assert result.exit_code == 0, result.output
    assert sent["GET"] > 0 and sent["POST"] == sent["PATCH"] == sent["DELETE"] == 0, sent
    output = result.output
    for title in ("Needs action", "Approved, not attached yet", "Waiting for Telnyx", "Approved:"):
        assert title in output
    for result_ in (state.approved, state.waiting, state.declined, state.expired, state.pending):
        assert str(result_.requirement_group_id) in output
    assert state.extra_order in output
    assert "denied" in output
    assert "1 pending, 1 declined, 1 expired, 2 approved (1 not attached yet)" in output


async def test_json_is_one_document(cli_env: SandboxServer, state: State) -> None:
    before = _by_method(cli_env)
    result = await _invoke("status", "--json")
    sent = _by_method(cli_env) - before
    assert result.exit_code == 0, result.output
    assert sent["POST"] == sent["PATCH"] == sent["DELETE"] == 0, sent
    document: dict[str, Any] = json.loads(result.stdout)
    assert document["prefix"] == "tc" and document["references"] is None and document["taken_at"]
    assert document["counts"]["approved_not_attached"] == 1
    groups = {g["group_id"]: g for g in document["groups"]}
    pending = groups[state.pending.requirement_group_id]
    assert pending["state"] == "pending" and pending["since"] and pending["age_seconds"] >= 0
    declined = groups[state.declined.requirement_group_id]
    assert declined["status"] == "declined" and declined["reasons"]
    waiting = groups[state.waiting.requirement_group_id]
    assert waiting["attached"] is False
    assert [o["number_order_id"] for o in waiting["waiting_orders"]] == [state.extra_order]
    assert groups[state.approved.requirement_group_id]["attached"] is True


def _results_csv(path: Path, results: list[OnboardingResult]) -> Path:
    with ResultsWriter(path) as writer:
        writer.write(
            ResultRow(
                row=index + 2,
                customer_reference=result.customer_reference,
                status="pending_approval",
                requirement_group_id=result.requirement_group_id or "",
            )
            for index, result in enumerate(results)
        )
    return path


async def test_a_results_csv_restricts_to_its_batch(
    cli_env: SandboxServer, state: State, tmp_path: Path
) -> None:
    results = _results_csv(tmp_path / "batch.results.csv", [state.declined, state.pending])
    result = await _invoke("status", "--results", str(results), "--json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert {g["group_id"] for g in document["groups"]} == {
        state.declined.requirement_group_id,
        state.pending.requirement_group_id,
    }
    assert sorted(document["references"]) == sorted(
        [state.declined.customer_reference, state.pending.customer_reference]
    )
    table = await _invoke("status", "--results", str(results))
    assert table.exit_code == 0, table.output
    assert str(state.approved.requirement_group_id) not in table.output
    assert str(state.declined.requirement_group_id) in table.output


def test_a_file_that_is_not_a_results_csv_is_refused(cli_env: SandboxServer, tmp_path: Path) -> None:
    other = tmp_path / "customers.csv"
    with other.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([["customer_reference", "country_code"], ["acme", "DE"]])
    result = runner.invoke(app, ["status", "--results", str(other)])
    assert result.exit_code == 2
    assert "not a results CSV" in result.output and "Traceback" not in result.output


# -- rendering ---------------------------------------------------------------------------------------------


def test_a_reason_names_its_requirement_once() -> None:
    from telnyx_compliance.models.requirement_groups import RequirementGroup
    from telnyx_compliance.onboarding.snapshots import GroupSnapshot
    from telnyx_compliance.onboarding.status import _reasons

    group = RequirementGroup.model_validate(
        {
            "id": "rg-1",
            "status": "declined",
            "regulatory_requirements": [
                {
                    "requirement_id": "req-poa",
                    "status": "declined",
                    "status_reason": "Proof of Address: Proof of Address: document d-1 failed the "
                    "antivirus scan",
                },
                {"requirement_id": "req-tax", "status": "declined", "status_reason": "req-tax: too short"},
                {"requirement_id": "req-ok", "status": "approved"},
            ],
        }
    )
    reasons, by_id = _reasons(
        GroupSnapshot.from_api(group), "a summary", {"req-poa": "Proof of Address", "req-tax": "Tax ID"}
    )
    assert reasons == (
        "Proof of Address: document d-1 failed the antivirus scan",
        "Tax ID: too short",
    )
    assert by_id == {"req-poa": "document d-1 failed the antivirus scan", "req-tax": "too short"}


def test_the_table_shows_answers_as_text() -> None:
    import io

    from rich.console import Console

    from telnyx_compliance.terminal_status import print_status

    hostile = GroupStanding(
        group_id="rg-1\x1b[2J",
        customer_reference="tc-[bold red]x[/]-group",
        status="declined\x07",
        state="declined",
        reasons=("Name: bad\r\nforged line \x1b]8;;https://evil.example\x1b\\link",),
    )
    report = StatusReport(prefix="tc", taken_at="2026-01-01T00:00:00Z", groups=(hostile,))
    out = io.StringIO()
    print_status(report, Console(file=out, width=300, color_system=None))
    shown = out.getvalue()
    assert "\x1b" not in shown and "\x07" not in shown and "\r" not in shown
    assert "[bold red]x[/]" in shown  # as typed, never read as markup
    assert "rg-1\\x1b[2J" in shown


@pytest.mark.usefixtures("prefect_harness")
async def test_the_scheduled_reconcile_publishes_the_status_rows(
    slow_sandbox: SandboxServer, state: State
) -> None:
    from prefect.client.orchestration import get_client

    from configs.settings import TelnyxSettings
    from flows.reconcile import reconcile_requirement_groups
    from tasks._client import use_settings

    with use_settings(TelnyxSettings(base_url=slow_sandbox.base_url, max_retries=1)):
        flow_state = await reconcile_requirement_groups(return_state=True)
    assert flow_state.is_completed(), flow_state.message
    report = await flow_state.result()
    assert report.status is not None
    async with get_client() as client:
        artifacts = await client.read_latest_artifacts(limit=200)
    (artifact,) = [a for a in artifacts if a.key == "reconcile-requirement-groups"]
    published = str(artifact.data)
    # Every row `compliance status` prints, in the same sections, once this run's attach is done.
    async with client_for(slow_sandbox) as client:
        now = await group_status(client)
    for title, _, rows in status_rows(now):
        assert f"## {title}" in published
        for row in rows:
            assert escape_markdown(row[0]) in published and escape_markdown(row[1]) in published
    assert state.group(now, state.waiting).attached is True
