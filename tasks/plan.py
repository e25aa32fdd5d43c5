"""Decide which value fills each requirement and check it, before anything is written."""

from __future__ import annotations

from prefect import task
from prefect.cache_policies import NO_CACHE

from tasks._client import pipeline_settings
from tasks._names import run_name
from tasks._scope import documents_root, run_scope
from telnyx_compliance.onboarding.plan import OnboardingPlan, PlanProblem
from telnyx_compliance.onboarding.request import OnboardingRequest
from telnyx_compliance.onboarding.requirements import RequirementSpec
from telnyx_compliance.onboarding.runner import plan_request


@task(
    name="plan-onboarding",
    task_run_name=run_name("plan-onboarding"),
    cache_policy=NO_CACHE,
    persist_result=False,
)
def plan_onboarding(
    request: OnboardingRequest, requirements: list[RequirementSpec], number_problems: list[PlanProblem]
) -> OnboardingPlan:
    """The plan; raises ``PlanError`` naming every missing or invalid value (deterministic: no retries).
    Documents must lie in the run's documents root (a deployment's: its data root)."""
    return plan_request(
        request,
        requirements,
        number_problems,
        mapping=pipeline_settings().mapping(),
        settings=pipeline_settings(),
        documents_root=documents_root(run_scope()),
    )
