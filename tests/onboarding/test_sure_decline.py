"""Fail before review: a document the upload's answer already says the review will decline (infected) ends
its row before the requirement group is created or submitted; the run does not wait for a review on it."""

from __future__ import annotations

import csv
import shutil
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from configs.settings import PipelineSettings
from telnyx_compliance import AsyncTelnyx, RateLimiter
from telnyx_compliance.onboarding.bulk import run_bulk_async
from telnyx_compliance.onboarding.errors import ErrorKind
from telnyx_compliance.onboarding.results_csv import latest_results
from telnyx_compliance.onboarding.runner import named_reason, onboard
from telnyx_compliance.sandbox import SandboxServer
from telnyx_compliance.sandbox.catalog import EICAR
from tests.support import MakeRequest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
#: The review takes a minute: a run that waited for it would take that long.
SLOW_REVIEW = 60.0
PIPELINE = PipelineSettings(
    approval_poll_interval=0.05, approval_poll_max_interval=0.2, approval_poll_timeout=120
)


@pytest.fixture
def slow_review(sandbox: SandboxServer) -> Iterator[SandboxServer]:
    sandbox.reset()
    before = sandbox.configure(approve_after=SLOW_REVIEW)["approve_after"]
    yield sandbox
    sandbox.configure(approve_after=0.2 if before == SLOW_REVIEW else before)


@pytest.fixture
async def client(slow_review: SandboxServer) -> AsyncIterator[AsyncTelnyx]:
    async with AsyncTelnyx(
        api_key="test-key", base_url=slow_review.base_url, max_retries=2, rate_limiter=RateLimiter(1000)
    ) as telnyx:
        yield telnyx


def writes_by_route(sandbox: SandboxServer) -> dict[str, int]:
    routes: dict[str, dict[str, int]] = sandbox.stats()["requests"]["by_route"]
    return {route: sum(s.values()) for route, s in routes.items() if not route.startswith("GET")}


async def test_an_infected_document_ends_the_onboarding_before_its_group_exists(
    client: AsyncTelnyx, slow_review: SandboxServer, make_request: MakeRequest
) -> None:
    request = make_request("DE", "local", infected=True)
    started = time.monotonic()

    result = await onboard(client, request, settings=PIPELINE)

    assert time.monotonic() - started < 10  # no review waited for
    assert result.status == "failed" and result.error_kind is ErrorKind.CHECK_FAILED
    assert result.requirement_group_id is None
    error = result.error or ""
    assert "Proof of Address" in error and "antivirus" in error and "infected" in error
    assert f"{request.customer_reference}-proof_of_address.pdf" in error
    assert "EICAR" not in error
    sent = writes_by_route(slow_review)
    assert not any("requirement_groups" in route for route in sent), sent
    stats = slow_review.stats()["resources"]
    assert stats.get("requirement_groups", 0) == 0 and stats.get("documents", 0) == 0  # rolled back


def _csv_with_one_infected_row(tmp_path: Path) -> Path:
    shutil.copytree(EXAMPLES / "documents", tmp_path / "documents")
    with (EXAMPLES / "onboarding.csv").open(encoding="utf-8") as source:
        rows = list(csv.DictReader(source))
    header = list(rows[0])
    healthy, infected = dict(rows[0]), dict(rows[2])  # acme-telecom and hanse-logistik, both DE
    bad = tmp_path / "documents" / "hanse-infected.pdf"
    bad.write_bytes((tmp_path / infected["doc_proof_of_address"]).read_bytes() + b"\n" + EICAR + b"\n")
    infected["doc_proof_of_address"] = "documents/hanse-infected.pdf"
    path = tmp_path / "onboarding.csv"
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, header)
        writer.writeheader()
        writer.writerows([healthy, infected])
    return path


async def test_a_bulk_run_ends_the_infected_row_without_waiting_for_its_review(
    client: AsyncTelnyx, slow_review: SandboxServer, tmp_path: Path
) -> None:
    path = _csv_with_one_infected_row(tmp_path)
    finished: dict[str, float] = {}
    started = time.monotonic()

    summary = await run_bulk_async(
        path,
        client,
        settings=PIPELINE.model_copy(update={"approval_poll_timeout": 3}),
        on_row=lambda line: finished.setdefault(line.customer_reference, time.monotonic() - started),
    )

    results = latest_results(tmp_path / "onboarding.results.csv")
    assert results[2].status == "pending_approval"  # the healthy row waited for its (slow) review
    assert results[3].status == "failed" and results[3].error_kind == ErrorKind.CHECK_FAILED
    assert "antivirus" in results[3].error and "hanse-infected.pdf" in results[3].error
    assert finished.get(results[3].customer_reference, 99) < 2.5, (
        finished
    )  # ended before the healthy row's wait did
    assert summary.counts["failed"] == 1
    groups = slow_review.stats()["resources"].get("requirement_groups", 0)
    assert groups == 1  # only the healthy row's


@pytest.mark.parametrize(
    ("reason", "expected"),
    [
        ("Proof of Address: document d-1 failed the antivirus scan (infected)", "Proof of Address: document"),
        ("document d-1 failed the antivirus scan", "Proof of Address: document d-1"),
        ("proof of address: blurry", "proof of address: blurry"),
    ],
)
def test_a_reason_names_its_requirement_once(reason: str, expected: str) -> None:
    named = named_reason("Proof of Address", reason)
    assert named.startswith(expected) and named.lower().count("proof of address") == 1


@pytest.mark.parametrize(
    ("scan", "status", "declines"),
    [
        ("infected", "pending", True),
        ("pending_scan", "pending", False),  # the scan has not run yet: the row proceeds
        ("not_scanned", None, False),
        ("scanned", "verified", False),
        ("scanned", "denied", False),  # its group was reviewed already: a rerun reports that decline
    ],
)
def test_only_an_infected_scan_is_a_sure_decline(scan: str, status: str | None, declines: bool) -> None:
    from telnyx_compliance.onboarding.index import KnownDocument

    assert (KnownDocument("d-1", "abc", scan, status).sure_decline is not None) is declines
