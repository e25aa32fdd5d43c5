"""Last stage: publish what happened as a markdown artifact the operator reads in the UI."""

from __future__ import annotations

import hashlib

from prefect import task
from prefect.artifacts import acreate_markdown_artifact
from prefect.cache_policies import NO_CACHE

from tasks._names import run_name
from telnyx_compliance._text import escape_markdown
from telnyx_compliance.onboarding.report import outcome_markdown
from telnyx_compliance.onboarding.results import OnboardingResult


def artifact_key(result: OnboardingResult) -> str:
    """A stable artifact key per onboarding key (lowercase letters, digits, dashes: Prefect's rule)."""
    key = result.key
    digest = hashlib.sha256(key.slug().encode()).hexdigest()[:10]
    return f"onboarding-{key.country_code.lower()}-{digest}"


@task(
    name="publish-outcome",
    task_run_name=run_name("publish-outcome"),
    cache_policy=NO_CACHE,
    persist_result=False,
)
async def publish_outcome(result: OnboardingResult) -> None:
    """A markdown artifact: each requirement, its value (documents by filename) and the reviewer's reason."""
    await acreate_markdown_artifact(
        markdown=outcome_markdown(result),
        key=artifact_key(result),
        # The UI renders a description as markdown: the reference is shown as text.
        description=f"Onboarding of {escape_markdown(result.customer_reference)}: {result.status}",
    )
