"""The onboarding library against the sandbox, without Prefect: ``onboard()`` and its steps."""

from __future__ import annotations

import asyncio
import hashlib
import signal
import sys
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from configs.settings import PipelineSettings
from telnyx_compliance import AsyncTelnyx
from telnyx_compliance.onboarding import lookups, runner
from telnyx_compliance.onboarding.errors import OnboardingError
from telnyx_compliance.onboarding.known import KnownResources
from telnyx_compliance.onboarding.lookups import RequirementsCache
from telnyx_compliance.onboarding.references import is_group_reference, order_reference_prefix_for_group
from telnyx_compliance.onboarding.report import outcome_markdown
from telnyx_compliance.onboarding.requirements import AcceptanceCriteria, RequirementSpec
from telnyx_compliance.onboarding.results import StepEvent
from telnyx_compliance.onboarding.runner import onboard
from telnyx_compliance.sandbox import SandboxServer
from tests.support import MakeRequest, count_writes

SETTINGS = PipelineSettings(
    approval_poll_timeout=10, approval_poll_interval=0.05, approval_poll_max_interval=0.2
)


@pytest.fixture
async def client(sandbox: SandboxServer) -> AsyncIterator[AsyncTelnyx]:
    async with AsyncTelnyx(api_key="test-key", base_url=sandbox.base_url, retry_max_wait=0.2) as api:
        yield api


def resources(sandbox: SandboxServer) -> dict[str, int]:
    return dict(sandbox.stats()["resources"])


@pytest.mark.parametrize(
    ("country", "number_type", "kinds"),
    [
        ("US", "local", {"address", "textual"}),
        ("DE", "local", {"address", "document", "textual"}),
        ("GB", "mobile", {"address", "document", "textual"}),
        ("FR", "national", {"address", "document", "textual"}),
    ],
)
async def test_happy_path_then_a_rerun_creates_nothing(
    client: AsyncTelnyx,
    sandbox: SandboxServer,
    make_request: MakeRequest,
    country: str,
    number_type: str,
    kinds: set[str],
) -> None:
    request = make_request(country, number_type, numbers=2)

    result = await onboard(client, request, settings=SETTINGS)

    assert result.status == "completed", result.error
    assert result.requirement_group_status == "approved"
    assert {outcome.kind for outcome in result.requirements} == kinds
    assert all(outcome.status == "approved" for outcome in result.requirements)
    assert result.address_id is not None and result.number_order_id is not None
    assert result.attached_orders and all(order.requirements_met for order in result.attached_orders)
    for document in result.documents:  # what Telnyx stored is the local file
        stored = (await client.documents.retrieve(document.document_id)).data
        assert stored is not None and stored.sha256 == document.sha256
        assert document.document_id in result.attached_orders[0].linked_document_ids
    for path in request.documents.values():
        assert hashlib.sha256(path.read_bytes()).hexdigest() in {d.sha256 for d in result.documents}

    before = resources(sandbox)
    rerun = await onboard(client, request, settings=SETTINGS)

    assert rerun.status == "completed"
    assert (rerun.requirement_group_id, rerun.address_id, rerun.document_ids, rerun.number_order_id) == (
        result.requirement_group_id,
        result.address_id,
        result.document_ids,
        result.number_order_id,
    )
    assert {event.outcome for event in rerun.steps if event.step not in {"attach"}} <= {
        "reused",
        "unchanged",
        "skipped",
    }
    assert resources(sandbox) == before
    assert sandbox.stats()["duplicates"] == {}


async def test_denied_document_is_declined_with_the_reason_named_once(
    client: AsyncTelnyx, make_request: MakeRequest
) -> None:
    request = make_request("DE", "local", denied=True)

    result = await onboard(client, request, settings=SETTINGS)

    assert (result.status, result.requirement_group_status) == ("declined", "declined")
    reasons = result.decline_reasons
    assert list(reasons) == ["Proof of Address"]
    assert "denied" in reasons["Proof of Address"]
    assert result.error is not None and result.error.count("Proof of Address") == 1
    assert result.attached_orders == () and result.number_order_id is None  # nothing ordered for a decline
    report = outcome_markdown(result)
    assert f"{request.customer_reference}-proof_of_address.pdf" in report and "denied" in report


async def test_address_outside_the_numbers_locality_is_declined(
    client: AsyncTelnyx, make_request: MakeRequest
) -> None:
    request = make_request("DE", "local", address={"postal_code": "ABCDE"})

    result = await onboard(client, request, settings=SETTINGS)

    assert result.status == "declined"
    assert "not in a DE locality" in result.decline_reasons["Address matching the phone number's locality"]


async def test_textual_value_the_reviewer_declines(
    client: AsyncTelnyx, make_request: MakeRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Telnyx's reviewers may apply rules the API does not publish: drop the published criteria so the
    # plan lets a bad VAT number through, and the review declines it.
    real_lookup = lookups.lookup_requirements

    async def without_criteria(api: AsyncTelnyx, key: Any) -> list[RequirementSpec]:
        return [
            spec.model_copy(update={"acceptance_criteria": AcceptanceCriteria()})
            for spec in await real_lookup(api, key)
        ]

    monkeypatch.setattr(lookups, "lookup_requirements", without_criteria)
    request = make_request("DE", "local", values={"tax_id": "DE12"})

    result = await onboard(client, request, settings=SETTINGS)

    assert result.status == "declined"
    assert "shorter than 11 characters" in result.decline_reasons["VAT Number"]
    vat = next(outcome for outcome in result.requirements if outcome.name == "VAT Number")
    assert (vat.value, vat.status) == ("DE12", "declined")
    assert "| VAT Number | textual | DE12 | declined |" in outcome_markdown(result)


async def test_fixing_a_declined_value_patches_only_that_value_and_resubmits(
    client: AsyncTelnyx, make_request: MakeRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_lookup = lookups.lookup_requirements

    async def without_criteria(api: AsyncTelnyx, key: Any) -> list[RequirementSpec]:
        return [
            spec.model_copy(update={"acceptance_criteria": AcceptanceCriteria()})
            for spec in await real_lookup(api, key)
        ]

    monkeypatch.setattr(lookups, "lookup_requirements", without_criteria)
    declined = await onboard(client, make_request("DE", "local", customer="fixme", values={"tax_id": "DE12"}))
    assert declined.status == "declined"
    patches: list[Any] = []
    real_update = client.requirement_groups.update

    async def spy_update(group_id: str, **fields: Any) -> Any:
        patches.append(fields["regulatory_requirements"])
        return await real_update(group_id, **fields)

    monkeypatch.setattr(client.requirement_groups, "update", spy_update)

    fixed = await onboard(client, make_request("DE", "local", customer="fixme"), settings=SETTINGS)

    assert fixed.status == "completed" and fixed.requirement_group_id == declined.requirement_group_id
    assert [[entry["field_value"] for entry in patch] for patch in patches] == [["DE123456789"]]
    assert ("requirement_group", "updated") in {(event.step, event.outcome) for event in fixed.steps}


async def test_expired_group_ends_declined(
    client: AsyncTelnyx, sandbox: SandboxServer, make_request: MakeRequest
) -> None:
    request = make_request("US", "local")
    assert (await onboard(client, request, settings=SETTINGS)).status == "completed"
    sandbox.configure(group_ttl=60)
    try:
        sandbox.advance_clock(120)
        result = await onboard(client, request, settings=SETTINGS)
    finally:
        sandbox.configure(group_ttl=0)

    assert (result.status, result.requirement_group_status) == ("declined", "expired")
    assert "expired" in (result.error or "")


async def test_plan_failure_makes_no_write_and_names_every_problem(
    client: AsyncTelnyx, sandbox: SandboxServer, make_request: MakeRequest
) -> None:
    request = make_request("DE", "local", values={"tax_id": "FR1", "contact_name": ""})
    request = request.model_copy(update={"documents": {}})
    writes = count_writes(sandbox.stats())

    result = await onboard(client, request, settings=SETTINGS)

    assert result.status == "failed"
    assert result.error is not None
    for name in ("Proof of Address", "VAT Number", "Contact Name"):
        assert name in result.error
    assert count_writes(sandbox.stats()) == writes


async def test_a_number_of_another_market_is_a_plan_problem(
    client: AsyncTelnyx, make_request: MakeRequest
) -> None:
    request = make_request("DE", "local")
    mobile = make_request("GB", "mobile").phone_numbers[0]
    result = await onboard(client, request.model_copy(update={"phone_numbers": (mobile,)}), settings=SETTINGS)
    assert result.status == "failed"
    assert f"{mobile} (mobile, GB)" in (result.error or "")


async def test_pending_after_the_poll_limit_is_handed_over(
    client: AsyncTelnyx, sandbox: SandboxServer, make_request: MakeRequest
) -> None:
    request = make_request("DE", "local", numbers=1)
    sandbox.configure(approve_after=3600)
    try:
        settings = SETTINGS.model_copy(update={"approval_poll_timeout": 0.3})
        result = await onboard(client, request, settings=settings)
        # What the reconcile flow does: find our pending groups, then the orders waiting for each.
        pending = await client.requirement_groups.list(filter={"status": "pending-approval"})
        orders = [order async for order in client.number_orders.list(filter={"status": "pending"})]
    finally:
        sandbox.configure(approve_after=0.2)

    assert (result.status, result.requirement_group_status) == ("pending_approval", "pending-approval")
    # The number order carries the pending group (nothing is attached later; Telnyx meets its requirements
    # when the review approves it).
    assert [order.requirements_met for order in result.attached_orders] == [False]
    handover = result.handover
    assert handover is not None and handover.requirement_group_id == result.requirement_group_id
    ours = [group for group in pending if is_group_reference(group.customer_reference)]
    group = next(group for group in ours if group.id == result.requirement_group_id)
    assert group.customer_reference is not None
    prefix = order_reference_prefix_for_group(group.customer_reference)
    waiting = [order for order in orders if (order.customer_reference or "").startswith(prefix)]
    assert [order.id for order in waiting] == [handover.number_order_id]
    assert handover.sub_number_order_ids == tuple(waiting[0].sub_number_orders_ids or ())


async def test_faults_429_storm_5xx_and_lost_responses_create_no_duplicates(
    client: AsyncTelnyx, sandbox: SandboxServer, make_request: MakeRequest
) -> None:
    requests = [make_request("DE", "local"), make_request("GB", "mobile")]
    sandbox.configure(throttle_rate=0.3, retry_after=0.02, error_rate=0.15, lost_response_rate=0.2)
    try:
        results = [await onboard(client, request, settings=SETTINGS) for request in requests]
    finally:
        sandbox.configure(throttle_rate=0, error_rate=0, lost_response_rate=0)

    assert [result.status for result in results] == ["completed", "completed"], [r.error for r in results]
    faults = sandbox.stats()["requests"]["faults"]
    assert faults["throttled"] > 0 and faults["error"] > 0 and faults["lost_response"] > 0
    assert sandbox.stats()["duplicates"] == {}


class Killed(BaseException):
    """Stands for the process dying: not an ``Exception``, so no rollback runs (as with SIGKILL)."""


STEPS = ["address", "documents", "requirement_group", "submit", "approval", "number_order", "attach"]
#: What the rerun must do at the step after the one the first run died in.
RESUMES_WITH = {
    "address": ("documents", "created"),
    "documents": ("requirement_group", "created"),
    "requirement_group": ("submit", "updated"),
    "submit": ("approval", "unchanged"),
    "approval": ("number_order", "created"),
    "number_order": ("attach", "updated"),
    "attach": ("attach", "updated"),
}


@pytest.mark.parametrize("killed_after", STEPS)
async def test_killed_after_each_step_the_rerun_resumes_without_duplicates(
    client: AsyncTelnyx, sandbox: SandboxServer, make_request: MakeRequest, killed_after: str
) -> None:
    request = make_request("DE", "local")

    def die(event: StepEvent) -> None:
        if event.step == killed_after:
            raise Killed(killed_after)

    with pytest.raises(Killed):
        await onboard(client, request, settings=SETTINGS, on_step=die)

    result = await onboard(client, request, settings=SETTINGS)

    assert result.status == "completed", result.error
    done = STEPS[: STEPS.index(killed_after) + 1]
    for event in result.steps:
        if event.step in done and event.step not in {"approval", "attach"}:
            assert event.outcome in {"reused", "unchanged", "skipped"}, event
    step, outcome = RESUMES_WITH[killed_after]
    assert (step, outcome) in {(event.step, event.outcome) for event in result.steps}
    assert sandbox.stats()["duplicates"] == {}


async def test_failure_before_submission_deletes_the_documents_it_uploaded(
    client: AsyncTelnyx, make_request: MakeRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise OnboardingError("requirement group service unavailable")

    monkeypatch.setattr(runner, "ensure_requirement_group", broken)
    request = make_request("GB", "mobile")

    result = await onboard(client, request, settings=SETTINGS)

    assert result.status == "failed" and "unavailable" in (result.error or "")
    assert len(result.documents) == 1
    reference = result.documents[0].customer_reference
    left = await client.documents.list(filter={"customer_reference": {"eq": reference}})
    assert left.data == []


KILL_SCRIPT = """
import asyncio, os, signal, sys
from configs.settings import PipelineSettings
from telnyx_compliance import AsyncTelnyx
from telnyx_compliance.onboarding.request import OnboardingRequest
from telnyx_compliance.onboarding.runner import onboard

request = OnboardingRequest.model_validate_json(open(sys.argv[2]).read())

def die(event):
    if event.step == sys.argv[3]:
        os.kill(os.getpid(), signal.SIGKILL)

async def main():
    async with AsyncTelnyx(api_key="test-key", base_url=sys.argv[1]) as client:
        await onboard(client, request, settings=PipelineSettings(approval_poll_interval=0.05), on_step=die)

asyncio.run(main())
"""


async def test_sigkilled_process_is_resumed_by_a_rerun(
    client: AsyncTelnyx, sandbox: SandboxServer, make_request: MakeRequest, tmp_path: Path
) -> None:
    request = make_request("DE", "local")
    request_file = tmp_path / "request.json"
    request_file.write_text(request.model_dump_json(), encoding="utf-8")
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", KILL_SCRIPT, sandbox.base_url, str(request_file), "documents"
    )
    assert await process.wait() == -signal.SIGKILL

    result = await onboard(client, request, settings=SETTINGS)

    assert result.status == "completed", result.error
    outcomes = {event.step: event.outcome for event in result.steps}
    assert (outcomes["address"], outcomes["documents"], outcomes["requirement_group"]) == (
        "reused",
        "reused",
        "created",
    )
    assert sandbox.stats()["duplicates"] == {}


async def test_changing_a_value_while_the_group_is_under_review_says_so(
    client: AsyncTelnyx, sandbox: SandboxServer, make_request: MakeRequest
) -> None:
    pending_settings = SETTINGS.model_copy(update={"approval_poll_timeout": 0})
    sandbox.configure(approve_after=3600)
    try:
        first = await onboard(client, make_request("US", "local", customer="busy"), settings=pending_settings)
        changed = make_request("US", "local", customer="busy", values={"contact_name": "Erika Mustermann"})
        second = await onboard(client, changed, settings=pending_settings)
    finally:
        sandbox.configure(approve_after=0.2)

    assert first.status == "pending_approval"
    assert second.status == "failed"
    assert "under review, so Contact Name cannot be changed now" in (second.error or "")


def _calls(sandbox: SandboxServer) -> Counter[str]:
    by_route = sandbox.stats()["requests"]["by_route"]
    return Counter({route: sum(statuses.values()) for route, statuses in by_route.items()})


async def test_known_resources_replace_per_row_lookups(
    client: AsyncTelnyx, sandbox: SandboxServer, make_request: MakeRequest
) -> None:
    # Two rows of one customer and market (as a bulk CSV groups them): one address, document and group,
    # an order each. With a snapshot fetched once, no row looks its resources up one by one.
    first = make_request("GB", "mobile", customer="bulk-co")
    second = make_request("GB", "mobile", customer="bulk-co")
    known = await KnownResources.fetch(client, prefix="tc")
    cache = RequirementsCache()
    before = _calls(sandbox)

    results = [
        await onboard(client, request, settings=SETTINGS, index=known, cache=cache)
        for request in (first, second)
    ]

    assert [result.status for result in results] == ["completed", "completed"]
    assert results[0].requirement_group_id == results[1].requirement_group_id
    assert (
        results[0].address_id == results[1].address_id
        and results[0].number_order_id != results[1].number_order_id
    )
    calls = _calls(sandbox) - before
    for listing in (
        "GET /v2/user_addresses",
        "GET /v2/documents",
        "GET /v2/requirement_groups",
        "GET /v2/number_orders",
    ):
        assert calls[listing] == 0, listing
    assert calls["GET /v2/regulatory_requirements"] == 1  # cached per market
    assert calls["POST /v2/requirement_groups"] == 1 and calls["POST /v2/number_orders"] == 2

    rerun_known = await KnownResources.fetch(client, prefix="tc")
    rerun = await onboard(client, second, settings=SETTINGS, index=rerun_known)
    assert rerun.status == "completed", rerun.error
    assert rerun.number_order_id == results[1].number_order_id
    assert {event.outcome for event in rerun.steps if event.step != "attach"} <= {
        "reused",
        "unchanged",
        "skipped",
    }
    assert sandbox.stats()["duplicates"] == {}


async def test_a_submit_retried_after_its_response_was_lost_counts_as_submitted(
    client: AsyncTelnyx, make_request: MakeRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_submit = client.requirement_groups.submit_for_approval

    async def submitted_but_answer_lost_then_retried(group_id: str) -> Any:
        await real_submit(group_id)  # went through; the client retries and Telnyx says "already submitted"
        return await real_submit(group_id)

    monkeypatch.setattr(
        client.requirement_groups, "submit_for_approval", submitted_but_answer_lost_then_retried
    )

    result = await onboard(client, make_request("US", "local"), settings=SETTINGS)

    assert result.status == "completed", result.error


async def test_numbers_are_looked_up_twenty_per_call_and_none_is_lost(
    client: AsyncTelnyx, sandbox: SandboxServer
) -> None:
    # The endpoint answers one page of 20: a single call for 45 numbers would silently drop 25 of them,
    # which the plan would then report as "unknown to Telnyx".
    numbers = [f"+4930{7000000 + index:07d}" for index in range(45)]
    before = _calls(sandbox)
    found = await lookups.lookup_requirements_for_numbers(client, numbers)
    calls = _calls(sandbox) - before
    assert calls["GET /v2/phone_numbers_regulatory_requirements"] == 3
    assert [entry.phone_number for entry in found] == numbers
    assert {(entry.country_code, entry.phone_number_type) for entry in found} == {("DE", "local")}
    assert all(entry.requirements for entry in found)
