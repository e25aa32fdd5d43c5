"""End to end on a real Prefect server: deployments run by a process worker, driven through the API as the
UI does (run, Retry, Resume with input), against the sandbox."""

from __future__ import annotations

import asyncio
import csv
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from prefect.client.orchestration import PrefectClient, get_client
from prefect.client.schemas.objects import FlowRun, State, StateType
from prefect.settings import PREFECT_API_URL, temporary_settings

from configs.settings import PipelineSettings
from telnyx_compliance import AsyncTelnyx
from telnyx_compliance.onboarding.csv_io import iter_rows
from telnyx_compliance.onboarding.mapping import RequirementMapping
from telnyx_compliance.onboarding.runner import onboard
from telnyx_compliance.onboarding.template import fake_rows, fetch_requirements
from telnyx_compliance.sandbox import SandboxConfig, SandboxServer

from .support import REPO as REPO_ROOT
from .support import PrefectStack

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(420)]

APPROVE_AFTER = 1.0  # sandbox review time for the bulk runs; reconcile's group waits for the clock instead


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(SandboxConfig(seed=11, approve_after=APPROVE_AFTER)) as server:
        yield server


@pytest.fixture(scope="module")
def stack(sandbox: SandboxServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrefectStack]:
    worker_env = {
        "TELNYX_BASE_URL": sandbox.base_url,
        "TELNYX_API_KEY": "e2e-key",
        # A small retry budget, so a fault storm fails the run quickly instead of being waited out.
        "TELNYX_MAX_RETRIES": "1",
        "TELNYX_RETRY_MAX_WAIT": "0.2",
        "TELNYX_RETRY_TOTAL_TIMEOUT": "5",
        "COMPLIANCE_APPROVAL_POLL_TIMEOUT": "30",
        "COMPLIANCE_APPROVAL_POLL_INTERVAL": "0.5",
        "COMPLIANCE_APPROVAL_POLL_MAX_INTERVAL": "1",
        # The CSVs of these runs are written under pytest's temporary folder, not the project folder.
        "COMPLIANCE_INPUT_ROOT": str(tmp_path_factory.getbasetemp()),
    }
    stack = PrefectStack(tmp_path_factory.mktemp("prefect-home"), worker_env)
    try:
        stack.start()
        yield stack
    finally:
        stack.stop()


@pytest.fixture
async def prefect(stack: PrefectStack) -> AsyncIterator[PrefectClient]:
    with temporary_settings({PREFECT_API_URL: stack.api_url}):
        async with get_client() as client:
            yield client


async def _run(client: PrefectClient, deployment: str, **parameters: Any) -> FlowRun:
    found = await client.read_deployment_by_name(deployment)
    return await client.create_flow_run_from_deployment(found.id, parameters=parameters)


async def _wait(
    client: PrefectClient, run_id: UUID, stack: PrefectStack, *, until: str = "final", timeout: float = 90
) -> FlowRun:
    """The run once final (or once Paused with ``until="Paused"``)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        run = await client.read_flow_run(run_id)
        state = run.state
        if state is not None and (state.name == until or (until == "final" and state.is_final())):
            return run
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(
                f"run {run.name} still {state.name if state else None} after {timeout}s\n"
                f"worker log:\n{stack.log('worker')}"
            )
        await asyncio.sleep(0.5)


async def _write_csv(sandbox: SandboxServer, folder: Path, n: int, seed: int) -> Path:
    async with AsyncTelnyx(api_key="e2e", base_url=sandbox.base_url) as client:
        requirements = await fetch_requirements(client, "DE", "local", "ordering")
    folder.mkdir(parents=True, exist_ok=True)
    rows = fake_rows(requirements, RequirementMapping.load(), n, folder, seed, country="DE")
    path = folder / "onboarding.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(dict.fromkeys(k for row in rows for k in row)))
        writer.writeheader()
        writer.writerows(rows)
    return path


def _results(csv_path: Path) -> dict[str, str]:
    with csv_path.with_suffix(".results.csv").open(encoding="utf-8") as handle:
        return {row["customer_reference"]: row["status"] for row in csv.DictReader(handle)}


async def test_bulk_onboarding_deployment_and_a_ui_retry(
    prefect: PrefectClient, stack: PrefectStack, sandbox: SandboxServer, tmp_path: Path
) -> None:
    csv_path = await _write_csv(sandbox, tmp_path / "ok", 2, seed=1)
    run = await _run(prefect, "bulk_onboard/bulk-onboard", csv_path=str(csv_path))
    run = await _wait(prefect, run.id, stack)
    assert run.state is not None and run.state.is_completed(), run.state
    assert set(_results(csv_path).values()) == {"completed"}

    # Faults beyond the client's retry budget: the run fails.
    failing_csv = await _write_csv(sandbox, tmp_path / "faults", 2, seed=2)
    sandbox.configure(error_rate=1.0)
    try:
        run = await _run(prefect, "bulk_onboard/bulk-onboard", csv_path=str(failing_csv))
        run = await _wait(prefect, run.id, stack)
    finally:
        sandbox.configure(error_rate=0.0)
    assert run.state is not None and run.state.is_failed(), run.state

    # The UI's Retry button: the same flow run, rescheduled; it finishes without creating anything twice.
    await prefect.set_flow_run_state(
        run.id,
        State(type=StateType.SCHEDULED, name="AwaitingRetry", message="Retry from the UI"),
        force=True,
    )
    run = await _wait(prefect, run.id, stack)
    assert run.state is not None and run.state.is_completed(), run.state
    assert run.run_count >= 2
    assert set(_results(failing_csv).values()) == {"completed"}
    assert sandbox.stats()["duplicates"] == {}


async def test_a_deployment_run_reads_nothing_outside_the_input_root(
    prefect: PrefectClient, stack: PrefectStack, sandbox: SandboxServer
) -> None:
    deployment = await prefect.read_deployment_by_name("bulk_onboard/bulk-onboard")
    assert "csv_path" not in (deployment.parameters or {})  # a Quick Run must name its CSV
    form = deployment.parameter_openapi_schema["properties"]  # what the UI's run form renders
    assert all(len(field.get("description") or "") > 40 for field in form.values()), form

    def bulk_calls() -> int:
        # What a bulk run sends first (its snapshot of addresses and documents, its CSV's writes); the
        # reconcile deployment, which the shipped trigger may start meanwhile, sends none of these.
        by_route = sandbox.stats()["requests"]["by_route"]
        return sum(
            sum(statuses.values())
            for route, statuses in by_route.items()
            if route.split("?")[0]
            in {"GET /v2/user_addresses", "GET /v2/documents", "POST /v2/user_addresses"}
        )

    calls = bulk_calls()
    secret = REPO_ROOT / ".secret-for-e2e"
    secret.write_text("TELNYX_API_KEY=KEYsecret0123456789\n", encoding="utf-8")
    try:
        for path in ("/etc/passwd", str(secret), "../../etc/hostname"):
            run = await _run(prefect, "bulk_onboard/bulk-onboard", csv_path=path)
            run = await _wait(prefect, run.id, stack)
            assert run.state is not None and run.state.is_failed(), run.state
            message = run.state.message or ""
            assert "outside the data root" in message, message
            assert "root:" not in message and "KEYsecret" not in message
    finally:
        secret.unlink()
    # A store URL outside COMPLIANCE_STORAGE_ROOTS (none set on this worker) is refused before it is read.
    run = await _run(prefect, "bulk_onboard/bulk-onboard", csv_path="s3://someone-elses-bucket/customers.csv")
    run = await _wait(prefect, run.id, stack)
    assert run.state is not None and run.state.is_failed(), run.state
    assert "outside the storage roots a deployment may use (none configured" in (run.state.message or "")
    assert "KEYsecret" not in stack.log("worker")
    assert bulk_calls() == calls  # nothing was sent


async def test_verify_number_pauses_for_the_code_and_completes(
    prefect: PrefectClient, stack: PrefectStack, sandbox: SandboxServer
) -> None:
    number = "+4930901830"
    run = await _run(prefect, "verify_number/verify-number", phone_number=number, poll_interval_seconds=1)
    run = await _wait(prefect, run.id, stack, until="Paused")
    # What an operator does in the Resume form: type the code the number received.
    await prefect.resume_flow_run(run.id, run_input={"verification_code": sandbox.verification_code(number)})
    run = await _wait(prefect, run.id, stack)
    assert run.state is not None and run.state.is_completed(), run.state
    async with AsyncTelnyx(api_key="e2e", base_url=sandbox.base_url) as client:
        verified = await client.verified_numbers.retrieve(number)
    assert verified.data is not None and verified.data.phone_number == number


async def test_reconcile_attaches_a_group_approved_after_hand_over(
    prefect: PrefectClient, stack: PrefectStack, sandbox: SandboxServer, tmp_path: Path
) -> None:
    # An onboarding handed over with its group pending (reviews now wait for the sandbox clock).
    sandbox.configure(approve_after=3600)
    try:
        csv_path = await _write_csv(sandbox, tmp_path, 1, seed=3)
        (request,) = [row.request for row in iter_rows(csv_path) if row.request is not None]
        async with AsyncTelnyx(api_key="e2e", base_url=sandbox.base_url) as client:
            result = await onboard(client, request, settings=PipelineSettings(approval_poll_timeout=0))
        assert result.status == "pending_approval", result.error
        assert result.number_order_id and result.requirement_group_id

        sandbox.advance_clock(3601)
        run = await _run(prefect, "reconcile_requirement_groups/reconcile-requirement-groups")
        run = await _wait(prefect, run.id, stack)
        assert run.state is not None and run.state.is_completed(), run.state
    finally:
        sandbox.configure(approve_after=APPROVE_AFTER)
    async with AsyncTelnyx(api_key="e2e", base_url=sandbox.base_url) as client:
        order = (await client.number_orders.retrieve(result.number_order_id)).data
        assert order is not None and order.requirements_met
        for sub_id in order.sub_number_orders_ids or []:
            sub = (await client.sub_number_orders.retrieve(sub_id)).data
            assert sub is not None
            assert (sub.model_extra or {}).get("requirement_group_id") == result.requirement_group_id
    assert sandbox.stats()["duplicates"] == {}
