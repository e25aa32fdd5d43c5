"""The user address every address requirement points at (library stage ``address_stage``)."""

from __future__ import annotations

from prefect import task

from tasks._names import run_name
from tasks._retries import API_TASK_OPTIONS
from tasks._stages import run_stage
from telnyx_compliance.onboarding.runner import Submission, address_stage


@task(name="create-address", task_run_name=run_name("create-address"), **API_TASK_OPTIONS)
async def create_address(progress: Submission) -> Submission:
    """Create the user address, or reuse the one an earlier run created under the same reference."""
    return await run_stage(address_stage, progress)
