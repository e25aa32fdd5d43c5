"""Stages 8-9: place the number order and attach the approved group to every order."""

from __future__ import annotations

from prefect import get_run_logger, task

from tasks._client import telnyx_client
from tasks._names import run_name
from tasks._retries import API_TASK_OPTIONS
from telnyx_compliance.onboarding.plan import OnboardingPlan
from telnyx_compliance.onboarding.results import AttachedOrder, UploadedDocument
from telnyx_compliance.onboarding.steps import EnsuredOrder, GroupSnapshot, attach_orders, ensure_number_order


@task(name="place-number-order", task_run_name=run_name("place-number-order"), **API_TASK_OPTIONS)
async def place_number_order(plan: OnboardingPlan, group: GroupSnapshot | None) -> EnsuredOrder | None:
    """Order the request's phone numbers carrying the group (or find the order an earlier run placed); None
    without numbers."""
    async with telnyx_client() as client:
        order = await ensure_number_order(client, plan, group_id=group.id if group is not None else None)
    if order is not None:
        get_run_logger().info("number order %s %s", order.id, order.outcome)
    return order


@task(name="attach-requirement-group", task_run_name=run_name("attach-requirement-group"), **API_TASK_OPTIONS)
async def attach_requirement_group(
    plan: OnboardingPlan, group: GroupSnapshot, order: EnsuredOrder | None, documents: list[UploadedDocument]
) -> list[AttachedOrder]:
    """The group on each sub-number order and ordered number (those the order step placed carry it already);
    confirm requirements are met and the documents linked."""
    async with telnyx_client() as client:
        attached = await attach_orders(client, plan, group, order, documents)
    logger = get_run_logger()
    for attached_order in attached:
        logger.info(
            "%s %s: requirements_met=%s",
            attached_order.kind,
            attached_order.id,
            attached_order.requirements_met,
        )
    return attached
