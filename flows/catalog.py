"""``sync_requirements_catalog`` (daily): what changed in Telnyx's requirements, per market.

Snapshots ``/requirements`` and ``/requirement_types``, compares with the previous snapshot (a JSON file
under ``state_dir``, default ``$COMPLIANCE_STATE_DIR/catalog`` or ``.state/catalog`` in the project folder)
and publishes the markets whose requirements or acceptance criteria changed as a markdown artifact. With
workers on several machines, point ``COMPLIANCE_STATE_DIR`` (or ``state_dir``) at a shared folder or a store
URL (``s3://bucket/compliance-state``): every worker then compares with the same baseline.
"""

from __future__ import annotations

from prefect import flow, get_run_logger
from prefect.client.schemas.objects import State
from prefect.states import Completed, Failed

from tasks._scope import run_scope
from tasks.catalog import load_previous_snapshot, publish_catalog_changes, save_snapshot, snapshot_catalog
from telnyx_compliance import storage
from telnyx_compliance._text import escape_controls
from telnyx_compliance.catalog_diff import CatalogDiff, CatalogStateError, diff_snapshots
from telnyx_compliance.onboarding.confine import ConfinementError, confine_parameter


@flow(name="sync_requirements_catalog", persist_result=False)
async def sync_requirements_catalog(state_dir: str | None = None) -> State[CatalogDiff]:
    """Snapshot the requirements catalog and publish what changed since the previous snapshot.

    Args:
        state_dir: Where the previous snapshot is kept: a folder, or a store URL
            (s3://bucket/compliance-state) shared by every worker; a deployment's run names a folder in
            its data root (COMPLIANCE_INPUT_ROOT) or under COMPLIANCE_STORAGE_ROOTS. Empty:
            COMPLIANCE_STATE_DIR (.state).
    """
    logger = get_run_logger()
    try:
        if state_dir:  # the configured COMPLIANCE_STATE_DIR is the operator's; a parameter is the caller's
            state_dir = confine_parameter(state_dir, "state", run_scope(), name="state_dir")
        previous = load_previous_snapshot(state_dir)
    except (ConfinementError, CatalogStateError) as error:
        logger.error("%s", error)
        return Failed(message=escape_controls(str(error)))
    snapshot = await snapshot_catalog()
    diff = diff_snapshots(previous, snapshot)
    await publish_catalog_changes(diff, snapshot)
    saved = save_snapshot(snapshot, state_dir)
    if previous is None:
        logger.info("first snapshot: %d market(s), saved to %s", len(snapshot.markets), storage.redact(saved))
    else:
        logger.info(
            "%d market(s) changed, %d requirement type(s) changed since %s; saved to %s",
            len(diff.markets),
            len(diff.types_changed) + len(diff.types_added) + len(diff.types_removed),
            previous.taken_at,
            storage.redact(saved),
        )
    return Completed(message=f"{len(diff.markets)} market(s) changed", data=diff)
