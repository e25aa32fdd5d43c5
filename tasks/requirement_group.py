"""Stages 5-7: the requirement group: create or update it, submit it, wait for the decision."""

from __future__ import annotations

from prefect import get_run_logger, task

from tasks._client import pipeline_settings, telnyx_client
from tasks._names import run_name
from tasks._retries import API_TASK_OPTIONS
from telnyx_compliance.onboarding.plan import OnboardingPlan
from telnyx_compliance.onboarding.results import UploadedDocument
from telnyx_compliance.onboarding.steps import (
    EnsuredAddress,
    EnsuredGroup,
    GroupSnapshot,
    ensure_requirement_group,
    group_values,
    poll_approval,
)
from telnyx_compliance.onboarding.steps import submit_requirement_group as submit_group


@task(name="create-requirement-group", task_run_name=run_name("create-requirement-group"), **API_TASK_OPTIONS)
async def create_requirement_group(
    plan: OnboardingPlan, address: EnsuredAddress | None, documents: list[UploadedDocument]
) -> EnsuredGroup:
    """Create the group with every value, or PATCH only what changed since an earlier run."""
    values = group_values(plan, address_id=address.id if address else None, documents=documents)
    async with telnyx_client() as client:
        ensured = await ensure_requirement_group(client, plan, values)
    get_run_logger().info(
        "requirement group %s %s (%s)", ensured.group.id, ensured.outcome, ensured.group.status
    )
    return ensured


@task(name="submit-requirement-group", task_run_name=run_name("submit-requirement-group"), **API_TASK_OPTIONS)
async def submit_requirement_group(plan: OnboardingPlan, group: GroupSnapshot) -> GroupSnapshot:
    """Submit the group for approval, unless it is already pending or decided."""
    async with telnyx_client() as client:
        submitted, outcome = await submit_group(client, group)
    get_run_logger().info("requirement group %s: submit %s -> %s", submitted.id, outcome, submitted.status)
    return submitted


@task(name="wait-for-approval", task_run_name=run_name("wait-for-approval"), **API_TASK_OPTIONS)
async def wait_for_approval(plan: OnboardingPlan, group: GroupSnapshot) -> GroupSnapshot:
    """Poll with backoff until decided or ``COMPLIANCE_APPROVAL_POLL_TIMEOUT`` (then reconcile takes over)."""
    settings = pipeline_settings()
    async with telnyx_client() as client:
        decided = await poll_approval(
            client,
            group.id,
            timeout=settings.approval_poll_timeout,
            interval=settings.approval_poll_interval,
            max_interval=settings.approval_poll_max_interval,
        )
    get_run_logger().info("requirement group %s is %s", decided.id, decided.status)
    return decided
