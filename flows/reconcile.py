"""``reconcile_requirement_groups``: finish the onboardings handed over while their group was pending.

Scheduled every 15 minutes. Finds the requirement groups this pipeline created (by reference prefix), polls
them, attaches the approved ones to the orders waiting for them, and reports declined and expired groups
with the reviewer's reasons. Safe to run concurrently with itself: it works only from what Telnyx says,
re-reads each order before attaching, and attaching is an assignment (the deployment also allows one run at
a time and cancels a scheduled run that would overlap).
"""

from __future__ import annotations

from prefect import flow, get_run_logger
from prefect.client.schemas.objects import State
from prefect.states import Completed, Failed

from tasks.events import decisions_of_reconcile, emit, group_event
from tasks.reconcile import publish_reconcile_report, reconcile_groups
from telnyx_compliance.onboarding.reconcile import ReconcileReport
from telnyx_compliance.onboarding.results import HandOver


@flow(name="reconcile_requirement_groups", persist_result=False)
async def reconcile_requirement_groups(handovers: list[HandOver] | None = None) -> State[ReconcileReport]:
    """Poll pending requirement groups, attach approved ones to waiting orders, report declines.

    ``handovers``: optional hand-overs of onboardings whose orders were given by id (nothing on Telnyx ties
    those to the group before it is attached); orders the pipeline placed are found on their own.
    """
    report = await reconcile_groups(list(handovers or []))
    for decision in decisions_of_reconcile(report.outcomes):
        emit(group_event(decision, observed_by="reconcile_requirement_groups"))
    await publish_reconcile_report(report)
    message = (
        f"{report.groups_seen} group(s) of ours: {report.count('attached')} attached now, "
        f"{report.count('pending')} pending, {report.count('declined')} declined, "
        f"{report.count('expired')} expired, {report.count('failed')} failed"
    )
    get_run_logger().info(message)
    if report.count("failed"):
        return Failed(message=message, data=report)
    return Completed(message=message, data=report)
