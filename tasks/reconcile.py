"""Reconcile: poll our pending requirement groups, attach approved ones, publish what happened."""

from __future__ import annotations

from prefect import get_run_logger, task
from prefect.artifacts import acreate_markdown_artifact
from prefect.cache_policies import NO_CACHE

from tasks._client import pipeline_settings, telnyx_client
from tasks._retries import API_TASK_OPTIONS
from telnyx_compliance.onboarding.reconcile import ReconcileReport, reconcile, reconcile_markdown
from telnyx_compliance.onboarding.results import HandOver


@task(name="reconcile-requirement-groups", **API_TASK_OPTIONS)
async def reconcile_groups(handovers: list[HandOver]) -> ReconcileReport:
    """One pass over every group with our reference prefix; attaching is idempotent, so a retry is safe."""
    prefix = pipeline_settings().reference_prefix
    async with telnyx_client() as client:
        # with_status: the artifact lists where every group stands, as ``compliance status`` prints it.
        report = await reconcile(client, prefix=prefix, handovers=handovers, with_status=True)
    logger = get_run_logger()
    for outcome in report.outcomes:
        if outcome.action == "attached":
            logger.info(
                "group %s (%s) approved: attached to %s",
                outcome.group_id,
                outcome.customer_reference,
                ", ".join(order.id for order in outcome.attached),
            )
        elif outcome in report.needs_attention:
            logger.warning(
                "group %s (%s) %s: %s",
                outcome.group_id,
                outcome.customer_reference,
                outcome.action,
                "; ".join(outcome.reasons) or outcome.error,
            )
    return report


@task(name="publish-reconcile-report", cache_policy=NO_CACHE, persist_result=False)
async def publish_reconcile_report(report: ReconcileReport) -> None:
    """A markdown artifact under one key, so the UI shows its history run after run."""
    await acreate_markdown_artifact(
        markdown=reconcile_markdown(report),
        key="reconcile-requirement-groups",
        description=(
            f"{report.count('attached')} attached, {report.count('pending')} pending, "
            f"{len(report.needs_attention)} need action"
        ),
    )
