"""Place the number order and attach the group to every order (library stages ``number_order_stage`` and
``attach_stage``)."""

from __future__ import annotations

from prefect import task

from tasks._names import run_name
from tasks._retries import API_TASK_OPTIONS
from tasks._stages import run_stage
from telnyx_compliance.onboarding.runner import Submission, attach_stage, number_order_stage


@task(name="place-number-order", task_run_name=run_name("place-number-order"), **API_TASK_OPTIONS)
async def place_number_order(progress: Submission) -> Submission:
    """Order the request's phone numbers carrying the group (or find the order an earlier run placed)."""
    return await run_stage(number_order_stage, progress)


@task(name="attach-requirement-group", task_run_name=run_name("attach-requirement-group"), **API_TASK_OPTIONS)
async def attach_requirement_group(progress: Submission) -> Submission:
    """The group on each sub-number order and ordered number (those the order step placed carry it already);
    confirm requirements are met and the documents linked."""
    return await run_stage(attach_stage, progress)
