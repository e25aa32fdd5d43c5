"""``bundle_hygiene`` (daily): report user bundles and the unused ones; deactivate old unused ones on request.

A dry run by default: with ``apply=False`` it only reports what it would deactivate. Each bundle is re-read
right before it is deactivated, so one that got a number since the survey is kept.
"""

from __future__ import annotations

from prefect import flow, get_run_logger

from tasks.bundles import deactivate_unused_bundles, publish_bundle_report, survey_user_bundles
from telnyx_compliance.bundles import Deactivation


@flow(name="bundle_hygiene", persist_result=False)
async def bundle_hygiene(apply: bool = False, older_than_days: int = 30) -> list[Deactivation]:
    """List user bundles and unused ones; deactivate unused bundles older than ``older_than_days`` only
    when ``apply`` is true."""
    survey = await survey_user_bundles(older_than_days)
    eligible = [bundle.id for bundle in survey.eligible]
    deactivations = await deactivate_unused_bundles(eligible, apply) if eligible else []
    await publish_bundle_report(survey, deactivations, apply)
    get_run_logger().info(
        "%d bundle(s), %d unused, %d unused for %d+ day(s); %s",
        len(survey.bundles),
        len(survey.unused),
        len(eligible),
        older_than_days,
        "deactivated" if apply else "dry run, nothing deactivated",
    )
    return deactivations
