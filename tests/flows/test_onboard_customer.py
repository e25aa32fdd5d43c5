"""The ``onboard_customer`` flow on a Prefect test harness against the sandbox."""

from __future__ import annotations

import ast
import asyncio
import inspect
import textwrap
import uuid
from collections.abc import Iterator
from typing import Any, cast
from uuid import UUID

import pytest

from configs.settings import PipelineSettings, TelnyxSettings
from telnyx_compliance.onboarding.errors import kind_of
from telnyx_compliance.onboarding.request import OnboardingRequest
from telnyx_compliance.onboarding.results import OnboardingResult
from telnyx_compliance.sandbox import SandboxServer
from tests.support import MakeRequest, count_writes

#: A recognisable key: it must never show up in logs, results, artifacts, names or state messages.
API_KEY = f"KEY-MUST-NOT-LEAK-{uuid.uuid4().hex}"
PIPELINE = PipelineSettings(
    approval_poll_timeout=10, approval_poll_interval=0.05, approval_poll_max_interval=0.2
)

pytestmark = pytest.mark.usefixtures("prefect_harness")


@pytest.fixture(autouse=True)
def settings(sandbox: SandboxServer) -> Iterator[None]:
    from tasks._client import use_settings

    telnyx = TelnyxSettings(api_key=API_KEY, base_url=sandbox.base_url, retry_max_wait=0.2)
    with use_settings(telnyx, PIPELINE):
        yield


async def run(
    request: OnboardingRequest, pipeline: PipelineSettings | None = None
) -> tuple[Any, OnboardingResult]:
    """Run the flow; return its final state and the result it carries (Failed states carry one too, except
    when an exception ended the run: then a failed result made from it, as ``run_onboard_one`` does)."""
    from flows.onboard_customer import onboard_customer
    from tasks._client import use_settings

    with use_settings(pipeline=pipeline):
        state = await onboard_customer(request, return_state=True)
    result = state.result(raise_on_failure=False)
    if asyncio.iscoroutine(result):
        result = await result
    if isinstance(result, Exception):
        assert state.is_failed()
        return state, OnboardingResult.failed(request.key, str(result), kind=kind_of(result))
    assert isinstance(result, OnboardingResult), result
    return state, result


async def artifacts_of(flow_run_id: UUID) -> list[Any]:
    from prefect import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    async with get_client() as client:
        return await client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]))
        )


#: The stage tasks' run names, each the library stage it runs (the wait is the flow's own step).
STAGE_TASK_NAMES = {
    "create-address": "address",
    "upload-documents": "documents",
    "create-requirement-group": "requirement_group",
    "submit-requirement-group": "submit",
    "wait-for-approval": "wait-for-approval",
    "place-number-order": "number_order",
    "attach-requirement-group": "attach",
}


def library_order() -> list[str]:
    """The order written once, in the library: ``SUBMISSION_STAGES``, the wait, ``COMPLETION_STAGES``."""
    from telnyx_compliance.onboarding.runner import COMPLETION_STAGES, SUBMISSION_STAGES

    stages = [stage.name for stage in SUBMISSION_STAGES]
    return [*stages, "wait-for-approval", *(stage.name for stage in COMPLETION_STAGES)]


def stage_task_names_in_library_order() -> list[str]:
    by_stage = {stage: task_name for task_name, stage in STAGE_TASK_NAMES.items()}
    return [by_stage[stage] for stage in library_order()]


def stage_run_by(task: Any) -> str:
    """The library stage a task runs: the first argument of its ``run_stage(...)`` call, found in the task's
    module; the task's own name when that is not a library stage (the wait)."""
    from telnyx_compliance.onboarding.runner import COMPLETION_STAGES, SUBMISSION_STAGES

    stage_names = {stage.run: stage.name for stage in (*SUBMISSION_STAGES, *COMPLETION_STAGES)}
    module = inspect.getmodule(task.fn)
    for node in ast.walk(ast.parse(textwrap.dedent(inspect.getsource(task.fn)))):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "run_stage":
            argument = node.args[0]
            function = getattr(module, argument.id, None) if isinstance(argument, ast.Name) else None
            return stage_names.get(function, task.name)  # type: ignore[arg-type]
    raise AssertionError(f"{task.name} runs no stage")


def test_the_flow_calls_its_stage_tasks_by_name_in_the_library_order() -> None:
    """The flow reads like a recipe, and its order is still the library's: each stage task called in the
    flow's body, in the order written, runs the next of ``SUBMISSION_STAGES``, the wait and
    ``COMPLETION_STAGES``."""
    from prefect import Task

    import flows.onboard_customer as module

    body = ast.parse(textwrap.dedent(inspect.getsource(module.onboard_customer.fn)))
    # the calls in the order written (ast.walk alone is breadth-first)
    calls = [node.func.id for node in sorted(
        (node for node in ast.walk(body) if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)),
        key=lambda node: (node.lineno, node.col_offset))]  # fmt: skip
    tasks = [getattr(module, name) for name in calls if isinstance(getattr(module, name, None), Task)]
    stage_tasks = [task for task in tasks if "run_stage" in inspect.getsource(task.fn)]

    assert [stage_run_by(task) for task in stage_tasks] == library_order()
    assert [task.name for task in stage_tasks] == stage_task_names_in_library_order()


async def test_happy_path_completes_with_runs_named_per_customer(
    sandbox: SandboxServer, make_request: MakeRequest
) -> None:
    from prefect import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    request = make_request("DE", "local")

    state, result = await run(request)

    assert state.is_completed() and result.status == "completed"
    assert result.attached_orders and all(order.requirements_met for order in result.attached_orders)
    flow_run_id = state.state_details.flow_run_id
    async with get_client() as client:
        flow_run = await client.read_flow_run(flow_run_id)
        task_runs = await client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id]))
        )
    assert flow_run.name == f"onboard-{request.customer_reference}-de"
    names = {run.name for run in task_runs}
    in_order = sorted(task_runs, key=lambda run: run.start_time or run.expected_start_time)
    started = [run.name.removesuffix(f"-{request.customer_reference}") for run in in_order]
    assert [name for name in started if name in STAGE_TASK_NAMES] == stage_task_names_in_library_order()
    for stage in ("look-up-requirements", "plan-onboarding", "create-address", "upload-documents",
                  "create-requirement-group", "submit-requirement-group", "wait-for-approval",
                  "place-number-order", "attach-requirement-group", "publish-outcome"):  # fmt: skip
        assert f"{stage}-{request.customer_reference}" in names
    (artifact,) = await artifacts_of(flow_run_id)
    assert artifact.type == "markdown" and "completed" in artifact.data
    assert sandbox.stats()["duplicates"] == {}


async def test_declined_ends_failed_with_a_markdown_artifact(make_request: MakeRequest) -> None:
    request = make_request("GB", "mobile", denied=True)

    state, result = await run(request)

    assert state.is_failed()
    assert "declined" in state.message and "denied" in state.message
    assert result.status == "declined"
    (artifact,) = await artifacts_of(state.state_details.flow_run_id)
    filename = request.documents["identity_document"].name
    assert f"| Identity Document | document | {filename} | declined |" in artifact.data
    assert "denied by review" in artifact.data
    assert "| Contact Name | textual | Maria Schmidt | approved |" in artifact.data


async def test_expired_ends_failed(sandbox: SandboxServer, make_request: MakeRequest) -> None:
    request = make_request("US", "local")
    assert (await run(request))[1].status == "completed"
    sandbox.configure(group_ttl=60)
    try:
        sandbox.advance_clock(120)
        state, result = await run(request)
    finally:
        sandbox.configure(group_ttl=0)

    assert state.is_failed() and "expired" in state.message
    assert result.requirement_group_status == "expired"
    (artifact,) = await artifacts_of(state.state_details.flow_run_id)
    assert "expired" in artifact.data


async def test_plan_failure_fails_before_any_write(sandbox: SandboxServer, make_request: MakeRequest) -> None:
    request = make_request("FR", "national", values={"tax_id": "DE123"}).model_copy(update={"address": None})
    writes = count_writes(sandbox.stats())

    state, result = await run(request)

    assert state.is_failed()
    assert "Business Address" in state.message and "VAT Number" in state.message
    assert result.status == "failed" and result.requirement_group_id is None
    assert count_writes(sandbox.stats()) == writes


async def test_pending_after_the_poll_limit_completes_as_pending(
    sandbox: SandboxServer, make_request: MakeRequest
) -> None:
    request = make_request("DE", "local")
    sandbox.configure(approve_after=3600)
    try:
        state, result = await run(request, PIPELINE.model_copy(update={"approval_poll_timeout": 0.3}))
    finally:
        sandbox.configure(approve_after=0.2)

    assert state.is_completed()
    assert result.status == "pending_approval" and result.handover is not None
    assert result.handover.number_order_id == result.number_order_id
    # The order carries the pending group: its requirements are met when the review approves it.
    assert result.attached_orders and all(order.requirements_met is False for order in result.attached_orders)


async def test_429_storm_and_5xx_faults_complete_without_duplicates(
    sandbox: SandboxServer, make_request: MakeRequest
) -> None:
    sandbox.configure(throttle_rate=0.4, retry_after=0.02, error_rate=0.2)
    try:
        outcomes = [
            await run(make_request(country, kind)) for country, kind in [("DE", "local"), ("FR", "national")]
        ]
    finally:
        sandbox.configure(throttle_rate=0, error_rate=0)

    assert [state.is_completed() for state, _ in outcomes] == [True, True]
    faults = sandbox.stats()["requests"]["faults"]
    assert faults["throttled"] > 0 and faults["error"] > 0
    assert sandbox.stats()["duplicates"] == {}


async def test_failure_before_submission_rolls_back_the_uploaded_documents(
    sandbox: SandboxServer, make_request: MakeRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tasks.requirement_group
    from telnyx_compliance import AsyncTelnyx

    async def unavailable(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("requirement groups are unavailable")

    monkeypatch.setattr(tasks.requirement_group, "requirement_group_stage", unavailable)
    request = make_request("DE", "local")
    documents_before = sandbox.stats()["resources"]["documents"]

    state, _ = await run(request)

    assert state.is_failed() and "unavailable" in (state.message or "")
    assert sandbox.stats()["resources"]["documents"] == documents_before  # uploaded, then rolled back
    monkeypatch.undo()
    state, result = await run(request)
    assert state.is_completed() and result.status == "completed"
    async with AsyncTelnyx(api_key="k", base_url=sandbox.base_url) as client:
        stored = await client.documents.list(
            filter={"customer_reference": {"eq": result.documents[0].customer_reference}}
        )
    assert [document.id for document in stored.data] == [result.documents[0].document_id]
    assert sandbox.stats()["duplicates"] == {}


#: (task module, library stage it runs): interrupting right after that step's side effects.
INTERRUPTIONS = [
    ("tasks.address", "address_stage"),
    ("tasks.documents", "documents_stage"),
    ("tasks.requirement_group", "requirement_group_stage"),
    ("tasks.requirement_group", "submit_stage"),
    ("tasks.requirement_group", "wait_for_review"),
    ("tasks.orders", "number_order_stage"),
    ("tasks.orders", "attach_stage"),
]


@pytest.mark.parametrize(("module_name", "function"), INTERRUPTIONS, ids=[name for _, name in INTERRUPTIONS])
async def test_interrupted_after_each_step_a_rerun_completes_without_duplicates(
    sandbox: SandboxServer,
    make_request: MakeRequest,
    monkeypatch: pytest.MonkeyPatch,
    module_name: str,
    function: str,
) -> None:
    import importlib

    module = importlib.import_module(module_name)
    real = getattr(module, function)

    async def done_then_interrupted(*args: Any, **kwargs: Any) -> Any:
        await real(*args, **kwargs)
        raise RuntimeError(f"interrupted after {function}")

    monkeypatch.setattr(module, function, done_then_interrupted)
    request = make_request("GB", "mobile")
    state, _ = await run(request)
    assert state.is_failed() and f"interrupted after {function}" in (state.message or "")
    monkeypatch.undo()

    state, result = await run(request)

    assert state.is_completed() and result.status == "completed", result.error
    assert sandbox.stats()["duplicates"] == {}


async def test_the_key_never_reaches_logs_results_artifacts_or_run_metadata(
    sandbox: SandboxServer, make_request: MakeRequest
) -> None:
    from prefect import get_client
    from prefect.logging.handlers import APILogHandler

    request = make_request("DE", "local", infected=True)  # a declined run: error paths log more
    state, result = await run(request)
    document = request.documents["proof_of_address"].read_bytes()
    await APILogHandler.aflush()
    await asyncio.sleep(0.5)

    async with get_client() as client:
        logs = await client.read_logs()
        flow_runs = await client.read_flow_runs()
        task_runs = await client.read_task_runs()
        artifacts = await client.read_artifacts()
    assert len(logs) > 20 and len(flow_runs) >= 1 and artifacts
    surfaces = {
        "logs": "\n".join(log.message for log in logs),
        "flow runs": "\n".join(f"{r.name} {r.parameters} {r.state and r.state.message}" for r in flow_runs),
        "task runs": "\n".join(f"{r.name} {r.state and r.state.message}" for r in task_runs),
        "artifacts": "\n".join(f"{a.key} {a.description} {a.data}" for a in artifacts),
        "result": result.model_dump_json(),
        "state": str(state.message),
    }
    for surface, text in surfaces.items():
        assert API_KEY not in text, surface
        assert cast(str, document.decode("latin-1"))[:200] not in text, surface
    assert "EICAR" not in surfaces["result"] + surfaces["artifacts"]


def test_run_onboard_one_returns_the_result_for_the_cli(
    sandbox: SandboxServer, make_request: MakeRequest
) -> None:
    from flows.onboard_customer import run_onboard_one

    telnyx = TelnyxSettings(api_key=API_KEY, base_url=sandbox.base_url, retry_max_wait=0.2)
    completed = run_onboard_one(make_request("US", "local"), telnyx, PIPELINE)
    declined = run_onboard_one(make_request("DE", "local", denied=True), telnyx, PIPELINE)

    assert completed.status == "completed" and completed.requirement_group_status == "approved"
    assert declined.status == "declined" and "denied" in (declined.error or "")


async def test_a_declined_group_emits_a_declined_event_with_the_reasons(make_request: MakeRequest) -> None:
    from tests.support import read_events

    request = make_request("GB", "mobile", denied=True)

    state, result = await run(request)

    assert result.status == "declined" and result.requirement_group_id
    flow_run = f"prefect.flow-run.{state.state_details.flow_run_id}"
    (event,) = await read_events(["telnyx.requirement-group.declined"], related=flow_run)
    assert event.resource.id == f"telnyx.requirement-group.{result.requirement_group_id}"
    assert event.resource.name == request.customer_reference
    assert event.resource["telnyx.customer-reference"] == request.customer_reference
    assert event.resource["telnyx.country"] == "GB"
    assert event.payload["status"] == "declined"
    reasons = event.payload["reasons"]
    assert "denied by review" in reasons["Identity Document"]
    assert "Contact Name" not in reasons  # approved requirements carry no reason
    assert API_KEY not in event.model_dump_json()
    others = await read_events(
        ["telnyx.requirement-group.approved", "telnyx.requirement-group.expired"], related=flow_run, timeout=0
    )
    assert others == []


async def test_an_approved_group_emits_one_approved_event(make_request: MakeRequest) -> None:
    from tests.support import read_events

    state, result = await run(make_request("US", "local"))

    assert result.status == "completed"
    flow_run = f"prefect.flow-run.{state.state_details.flow_run_id}"
    (event,) = await read_events(["telnyx.requirement-group.approved"], related=flow_run)
    assert event.resource.id == f"telnyx.requirement-group.{result.requirement_group_id}"
    assert event.resource["telnyx.observed-by"] == "onboard_customer"
    assert "reasons" not in event.payload
