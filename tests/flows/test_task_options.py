"""How the onboarding tasks are declared: nothing cached or persisted, retries only for transient errors."""

from __future__ import annotations

import pytest
from prefect.cache_policies import NO_CACHE
from prefect.states import Failed

from tasks import address, documents, orders, plan, report, requirement_group, requirements
from tasks._retries import API_TASK_RETRIES, is_transient_failure
from telnyx_compliance import (
    APIConnectionError,
    APIStatusError,
    InternalServerError,
    RateLimitError,
    UnprocessableEntityError,
    is_transient,
)
from telnyx_compliance.onboarding.plan import PlanError
from telnyx_compliance.onboarding.request import OnboardingKey

API_TASKS = [
    requirements.look_up_requirements,
    address.create_address,
    documents.upload_documents,
    requirement_group.create_requirement_group,
    requirement_group.submit_requirement_group,
    requirement_group.wait_for_approval,
    orders.place_number_order,
    orders.attach_requirement_group,
]


@pytest.mark.parametrize(
    "task", [*API_TASKS, plan.plan_onboarding, report.publish_outcome], ids=lambda t: t.name
)
def test_no_task_caches_or_persists_what_it_handles(task: object) -> None:
    # Parameters are never hashed into cache keys and results never written to result storage.
    assert task.cache_policy is NO_CACHE  # type: ignore[attr-defined]
    assert task.persist_result is False  # type: ignore[attr-defined]


def test_api_tasks_retry_and_the_plan_does_not() -> None:
    assert {task.retries for task in API_TASKS} == {API_TASK_RETRIES}
    assert plan.plan_onboarding.retries == 0


def _status_error(kind: type[Exception], status: int) -> Exception:
    import httpx

    response = httpx.Response(status, request=httpx.Request("POST", "http://sandbox/v2/documents"))
    return kind("failed", response=response)  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("error", "retried"),
    [
        (APIConnectionError(), True),
        (_status_error(RateLimitError, 429), True),
        (_status_error(UnprocessableEntityError, 422), False),
        (
            PlanError(
                OnboardingKey(
                    customer_reference="a", country_code="DE", phone_number_type="local", action="ordering"
                ),
                [],
            ),
            False,
        ),
    ],
    ids=["connection", "429", "422", "plan"],
)
def test_prefect_retries_only_what_the_client_could_not(error: Exception, retried: bool) -> None:
    assert is_transient_failure(None, None, Failed(data=error)) is retried


def _outcome_unknown() -> Exception:
    error = APIConnectionError()
    error.outcome_unknown = True
    return error


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (_status_error(APIStatusError, 408), True),
        (_status_error(InternalServerError, 503), True),
        (_outcome_unknown(), False),
        (ValueError("not an API error"), False),
    ],
    ids=["408", "503", "outcome-unknown", "other"],
)
def test_one_definition_of_transient(error: Exception, transient: bool) -> None:
    # The library's definition is Prefect's retry condition too.
    assert is_transient(error) is transient
    assert is_transient_failure(None, None, Failed(data=error)) is transient
