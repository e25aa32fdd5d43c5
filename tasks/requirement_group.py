"""The requirement group: create or update it, submit it, wait for the decision (library stages
``requirement_group_stage``, ``submit_stage`` and ``wait_for_review``)."""

from __future__ import annotations

from prefect import task
from prefect.transactions import get_transaction

from tasks._client import pipeline_settings
from tasks._names import run_name
from tasks._retries import API_TASK_OPTIONS
from tasks._stages import run_stage
from tasks.documents import REQUIREMENT_GROUP_ID
from telnyx_compliance import AsyncTelnyx
from telnyx_compliance.onboarding.runner import (
    StageContext,
    Submission,
    requirement_group_stage,
    submit_stage,
    wait_for_review,
)


@task(name="create-requirement-group", task_run_name=run_name("create-requirement-group"), **API_TASK_OPTIONS)
async def create_requirement_group(progress: Submission) -> Submission:
    """Create the group with every value, or PATCH only what changed since an earlier run."""
    done = await run_stage(requirement_group_stage, progress)
    transaction = get_transaction()
    if transaction is not None and done.group is not None:
        transaction.set(REQUIREMENT_GROUP_ID, done.group.id)  # the rollback keeps what it links
    return done


@task(name="submit-requirement-group", task_run_name=run_name("submit-requirement-group"), **API_TASK_OPTIONS)
async def submit_requirement_group(progress: Submission) -> Submission:
    """Submit the group for approval, unless it is already pending or decided."""
    return await run_stage(submit_stage, progress)


@task(name="wait-for-approval", task_run_name=run_name("wait-for-approval"), **API_TASK_OPTIONS)
async def wait_for_approval(progress: Submission) -> Submission:
    """Poll with backoff until decided or ``COMPLIANCE_APPROVAL_POLL_TIMEOUT`` (then reconcile takes over)."""

    async def wait(client: AsyncTelnyx, submission: Submission, context: StageContext) -> None:
        await wait_for_review(client, submission, pipeline_settings())

    return await run_stage(wait, progress)
