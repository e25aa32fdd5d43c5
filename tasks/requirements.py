"""Look up what the market (and the numbers being ordered) require."""

from __future__ import annotations

from prefect import task

from tasks._client import telnyx_client
from tasks._names import run_name
from tasks._retries import API_TASK_OPTIONS
from telnyx_compliance.onboarding.lookups import lookup_all_requirements
from telnyx_compliance.onboarding.plan import PlanProblem
from telnyx_compliance.onboarding.request import OnboardingRequest
from telnyx_compliance.onboarding.requirements import RequirementSpec


@task(name="look-up-requirements", task_run_name=run_name("look-up-requirements"), **API_TASK_OPTIONS)
async def look_up_requirements(request: OnboardingRequest) -> tuple[list[RequirementSpec], list[PlanProblem]]:
    """The market's requirements (plus the numbers'), and a problem per number outside the market."""
    async with telnyx_client() as client:
        return await lookup_all_requirements(client, request)
