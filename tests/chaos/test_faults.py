"""Faults: 300 rows through ``compliance onboard`` against a sandbox answering 20% 429, 5% 5xx, dropping 2% of
the connections and losing 2% of the responses (writes committed): every row completes, nothing is created
twice, every input row has exactly one line in the results CSV.

Runs ``python -m bench.chaos`` (the harness of ``make chaos``) at 300 rows; see bench/chaos.py.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any, cast

import httpx
import pytest

from configs.settings import PipelineSettings
from telnyx_compliance import AsyncTelnyx, is_transient
from telnyx_compliance._exceptions import APIConnectionError
from telnyx_compliance.onboarding.bulk import BulkRunner, BulkSummary
from telnyx_compliance.onboarding.bulk import runner as bulk_runner
from telnyx_compliance.onboarding.csv_io import ParsedRow
from telnyx_compliance.onboarding.errors import ErrorKind, OnboardingError, kind_of
from telnyx_compliance.onboarding.known import KnownResources
from telnyx_compliance.onboarding.lookups import RequirementsCache
from telnyx_compliance.onboarding.mapping import RequirementMapping
from telnyx_compliance.onboarding.request import OnboardingRequest
from telnyx_compliance.onboarding.results import OnboardingResult, StepEvent
from telnyx_compliance.onboarding.results_csv import ResultRow, ResultsWriter, latest_results
from telnyx_compliance.onboarding.runner import onboard
from telnyx_compliance.sandbox import SandboxServer
from tests.support import MakeRequest

from .support import chaos

FAST = PipelineSettings(approval_poll_interval=0.05, approval_poll_max_interval=0.2, approval_poll_timeout=20)


@pytest.mark.slow
def test_300_rows_under_faults_complete_once_each() -> None:
    report = chaos("--rows", "300", "--seed", "7", "--kill-rounds", "0", "--runner", "cli")
    run = report["faults"]
    check = run["check"]
    assert check["rows"] == 300
    assert check["not_completed"] == {}, check["not_completed"]
    assert check["completed"] == 300
    assert check["duplicates"] == {}
    assert check["missing_rows"] == []
    assert check["extra_lines"] == 0
    assert check["number_orders"] == 300
    assert run["exit_code"] == 0, run.get("output_tail")
    # Every kind of fault was actually injected, and the client retried through them.
    assert all(count > 0 for count in run["faults"].values()), run["faults"]
    assert run["client_retries"] and run["client_retries"] >= sum(run["faults"].values()) // 2
    assert report["ok"]


# -- regressions found by the fault runs ----------------------------------------------------------------


def _result(
    request: OnboardingRequest, status: str, error: str | None = None, **fields: Any
) -> OnboardingResult:
    key = request.key
    return OnboardingResult.model_validate(
        {
            "customer_reference": key.customer_reference,
            "country_code": key.country_code,
            "phone_number_type": key.phone_number_type,
            "action": key.action,
            "status": status,
            "error": error,
            **fields,
        }
    )


async def test_a_row_failed_on_a_transient_api_error_runs_again(
    make_request: MakeRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Seven 429s in a row for one request (0.2^7 per request: a few rows per thousand) used to leave the row
    failed although nothing was wrong with it; the runner now runs such a row again, and only such a row."""
    flaky = make_request("DE", customer="flaky", numbers=0)
    broken = make_request("DE", customer="broken", numbers=0)
    calls: Counter[str] = Counter()

    async def fake_submit(client: Any, request: OnboardingRequest, **kwargs: Any) -> OnboardingResult:
        calls[request.customer_reference] += 1
        if request.customer_reference == "broken":
            return _result(
                request, "failed", "BadRequestError: 400 the request is wrong", error_kind=ErrorKind.REJECTED
            )
        if calls["flaky"] < 3:
            return _result(request, "failed", "RateLimitError: 429", error_kind=ErrorKind.TRANSIENT)
        return _result(request, "completed", requirement_group_status="approved")

    monkeypatch.setattr(bulk_runner, "submit_onboarding", fake_submit)
    monkeypatch.setattr(bulk_runner, "TRANSIENT_PAUSE", 0.0)
    rows = [
        ParsedRow(number, request.customer_reference, request, digest=str(number))
        for number, request in ((2, flaky), (3, broken))
    ]
    results_path = tmp_path / "results.csv"
    summary = BulkSummary(csv_path=tmp_path / "in.csv", results_path=results_path)
    # looked up already: the fake client has no API
    cache = RequirementsCache(requirements={("DE", "local", "ordering"): []})
    results: list[ResultRow] = []
    with ResultsWriter(results_path) as writer:
        runner = BulkRunner(
            cast("AsyncTelnyx", _NoLimiter()),
            writer=writer,
            summary=summary,
            settings=PipelineSettings(),
            mapping=RequirementMapping.load(),
            max_concurrency=2,
            cache=cache,
            on_row=results.append,
        )
        await runner.run(rows)
    assert {result.customer_reference: result.status for result in results} == {
        "flaky": "completed",
        "broken": "failed",
    }
    assert calls == {"flaky": 3, "broken": 1}  # two further runs at most; a request error is not retried
    assert {line.customer_reference: line.error_kind for line in latest_results(results_path).values()} == {
        "flaky": None,
        "broken": ErrorKind.REJECTED,
    }


class _NoLimiter:
    """Stands in for the client: the runner only reads its limiter (for its concurrency)."""

    rate_limiter = None


async def test_a_rolled_back_document_is_uploaded_again_by_the_next_onboarding_of_its_key(
    sandbox: SandboxServer, make_request: MakeRequest
) -> None:
    """In bulk (one KnownResources for the run) a row that failed before submitting deleted the documents
    it had uploaded but left them in the snapshot: the next row of its group, or its rerun, reused an id
    that no longer existed. The rollback now forgets what it deleted."""
    sandbox.reset()
    request = make_request("DE")

    def crash_after_documents(event: StepEvent) -> None:
        if event.step == "documents":
            raise OnboardingError("stopped after the documents")

    async with AsyncTelnyx(api_key="k", base_url=sandbox.base_url, max_retries=2) as client:
        known = await KnownResources.fetch(client)
        first = await onboard(client, request, index=known, on_step=crash_after_documents, settings=FAST)
        assert first.status == "failed"
        assert sandbox.stats()["resources"]["documents"] == 0  # rolled back
        assert not known.documents
        second = await onboard(client, request, index=known, settings=FAST)
    assert second.status == "completed", second.error
    assert sandbox.stats()["duplicates"] == {}


async def test_a_write_whose_outcome_is_unknown_is_not_transient() -> None:
    lost = APIConnectionError(
        message="connection lost", request=httpx.Request("POST", "http://x/v2/documents")
    )
    assert is_transient(lost) and kind_of(lost) is ErrorKind.TRANSIENT
    lost.outcome_unknown = True
    assert not is_transient(lost)
    assert kind_of(lost) is ErrorKind.OUTCOME_UNKNOWN  # reported as such, never run again
