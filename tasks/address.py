"""Stage 3: the user address every address requirement points at."""

from __future__ import annotations

from prefect import task

from tasks._client import telnyx_client
from tasks._names import run_name
from tasks._retries import API_TASK_OPTIONS
from telnyx_compliance.onboarding.plan import OnboardingPlan
from telnyx_compliance.onboarding.steps import EnsuredAddress, ensure_address


@task(name="create-address", task_run_name=run_name("create-address"), **API_TASK_OPTIONS)
async def create_address(plan: OnboardingPlan) -> EnsuredAddress:
    """Create the user address, or reuse the one an earlier run created under the same reference."""
    async with telnyx_client() as client:
        return await ensure_address(client, plan)
