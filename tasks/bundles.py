"""Bundle hygiene: survey user bundles, deactivate the old unused ones (only when asked), report."""

from __future__ import annotations

from prefect import task
from prefect.artifacts import acreate_markdown_artifact
from prefect.cache_policies import NO_CACHE

from tasks._client import telnyx_client
from tasks._retries import API_TASK_OPTIONS
from telnyx_compliance.bundles import (
    BundleSurvey,
    Deactivation,
    bundle_report_markdown,
    deactivate_bundles,
    survey_bundles,
)


@task(name="survey-user-bundles", **API_TASK_OPTIONS)
async def survey_user_bundles(older_than_days: int) -> BundleSurvey:
    async with telnyx_client() as client:
        return await survey_bundles(client, older_than_days=older_than_days)


@task(name="deactivate-unused-bundles", **API_TASK_OPTIONS)
async def deactivate_unused_bundles(bundle_ids: list[str], apply: bool) -> list[Deactivation]:
    """Re-read each bundle and deactivate it if still active and unused (a dry run unless ``apply``)."""
    async with telnyx_client() as client:
        return await deactivate_bundles(client, bundle_ids, apply=apply)


@task(name="publish-bundle-report", cache_policy=NO_CACHE, persist_result=False)
async def publish_bundle_report(survey: BundleSurvey, deactivations: list[Deactivation], apply: bool) -> None:
    done = sum(1 for d in deactivations if d.outcome in {"deactivated", "would_deactivate"})
    verb = "deactivated" if apply else "would be deactivated"
    await acreate_markdown_artifact(
        markdown=bundle_report_markdown(survey, deactivations, apply=apply),
        key="bundle-hygiene",
        description=f"{len(survey.unused)} unused; {done} {verb}",
    )
