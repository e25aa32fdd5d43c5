"""``onboard_customer``: one customer from nothing to an approved requirement group attached to its orders.

Every step is a task that looks up before it creates, so a rerun (or the UI's Retry) resumes at the first
unfinished step without creating anything twice. Outcomes:

* approved and attached -> Completed, ``status="completed"``;
* still pending after ``COMPLIANCE_APPROVAL_POLL_TIMEOUT`` -> Completed, ``status="pending_approval"``
  (the reconcile flow finishes it);
* declined or expired -> Failed, with a markdown artifact listing each requirement, its value and reason;
* a plan that cannot be met -> Failed before any write, every problem named;
* a failure before submission rolls back: documents uploaded by this run and not linked are deleted.

The stages and their order are the library's (``SUBMISSION_STAGES``, the wait, then ``COMPLETION_STAGES`` in
``telnyx_compliance.onboarding.runner``): this flow calls one task per stage, in that order, so the UI shows
one run per stage, and the bulk runner and ``onboard()`` follow the same order.
``tests/flows/test_onboard_customer.py`` holds the calls below equal to the library's order.
"""

from __future__ import annotations

import asyncio
from typing import Any, cast

from prefect import flow, get_run_logger
from prefect.client.schemas.objects import State
from prefect.runtime import flow_run
from prefect.states import Completed, Failed
from prefect.transactions import transaction

from configs.settings import PipelineSettings, TelnyxSettings
from tasks._client import use_settings
from tasks._names import customer_of
from tasks._scope import confine_request, run_scope
from tasks.address import create_address
from tasks.documents import upload_documents
from tasks.events import emit, result_events
from tasks.orders import attach_requirement_group, place_number_order
from tasks.plan import plan_onboarding
from tasks.report import publish_outcome
from tasks.requirement_group import create_requirement_group, submit_requirement_group, wait_for_approval
from tasks.requirements import look_up_requirements
from telnyx_compliance._text import escape_controls
from telnyx_compliance.onboarding.confine import ConfinementError
from telnyx_compliance.onboarding.errors import ErrorKind, kind_of
from telnyx_compliance.onboarding.plan import PlanError
from telnyx_compliance.onboarding.request import OnboardingRequest
from telnyx_compliance.onboarding.results import OnboardingResult
from telnyx_compliance.onboarding.runner import Submission


def _flow_run_name() -> str:
    parameters: dict[str, Any] = dict(flow_run.parameters or {})
    request = parameters.get("request")
    country = (
        request.get("country_code") if isinstance(request, dict) else getattr(request, "country_code", "")
    ) or ""
    return f"onboard-{customer_of(parameters)}-{str(country).lower()}".rstrip("-")


@flow(name="onboard_customer", flow_run_name=_flow_run_name, persist_result=False)
async def onboard_customer(request: OnboardingRequest) -> State[OnboardingResult]:
    """Onboard one customer in one market: plan, address, documents, requirement group, approval, orders."""
    try:  # a deployment's run reads documents from its data root only (docs/safety.md)
        request = confine_request(request, run_scope())
    except ConfinementError as error:
        return await _refused(request, error)
    requirements, number_problems = await look_up_requirements(request)
    try:
        plan = plan_onboarding(request, requirements, number_problems)
    except PlanError as error:
        result = OnboardingResult.failed(request.key, str(error), kind=ErrorKind.PLAN_UNMET)
        await publish_outcome(result)
        return Failed(message=escape_controls(str(error)), data=result)

    progress = Submission(plan=plan)
    with transaction():  # a failure in here rolls back the documents uploaded (tasks/documents.py)
        progress = await create_address(progress)
        progress = await upload_documents(progress)
        progress = await create_requirement_group(progress)
        progress = await submit_requirement_group(progress)
    progress = await wait_for_approval(progress)
    progress = await place_number_order(progress)
    progress = await attach_requirement_group(progress)

    result = progress.result()
    for event in result_events(result, observed_by="onboard_customer"):
        emit(event)
    await publish_outcome(result)
    return _final_state(result)


async def _refused(request: OnboardingRequest, error: ConfinementError) -> State[OnboardingResult]:
    result = OnboardingResult.failed(request.key, str(error), kind=ErrorKind.INVALID_INPUT)
    await publish_outcome(result)
    get_run_logger().error("%s", error)
    return Failed(message=escape_controls(str(error)), data=result)


def _final_state(result: OnboardingResult) -> State[OnboardingResult]:
    message = escape_controls(f"{result.customer_reference}: {result.status}")
    if result.status in {"declined", "failed"}:
        get_run_logger().error("%s: %s", message, result.error)
        return Failed(message=escape_controls(f"{message}: {result.error}"), data=result)
    if result.status == "pending_approval":
        get_run_logger().info(
            "%s: group %s still pending; handed over to reconcile", message, result.requirement_group_id
        )
    return Completed(message=message, data=result)


def run_onboard_one(
    request: OnboardingRequest, settings: TelnyxSettings, pipeline: PipelineSettings | None = None
) -> OnboardingResult:
    """Run ``onboard_customer`` for one request (``compliance onboard-one``); its result in any state."""

    async def run() -> State[OnboardingResult]:
        # The flow returns a State itself (to end Failed with a result); Prefect hands that state back.
        return cast("State[OnboardingResult]", await onboard_customer(request, return_state=True))

    with use_settings(settings, pipeline):
        final = asyncio.run(run())
    outcome = final.result(raise_on_failure=False)
    if isinstance(outcome, OnboardingResult):
        return outcome
    if isinstance(outcome, BaseException):
        return OnboardingResult.failed(
            request.key, f"{type(outcome).__name__}: {outcome}", kind=kind_of(outcome)
        )
    return OnboardingResult.failed(request.key, str(final.message), kind=ErrorKind.CRASHED)
