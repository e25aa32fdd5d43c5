"""``sync_requirements_catalog`` (daily): what changed in Telnyx's requirements, per market.

Snapshots ``/requirements`` and ``/requirement_types``, compares with the previous snapshot (a JSON file
under ``state_dir``, default ``$COMPLIANCE_STATE_DIR/catalog`` or ``.state/catalog`` in the project folder)
and publishes the markets whose requirements or acceptance criteria changed as a markdown artifact. With
workers on several machines, point ``COMPLIANCE_STATE_DIR`` (or ``state_dir``) at a shared folder or a store
URL (``s3://bucket/compliance-state``): every worker then compares with the same baseline.
"""

from __future__ import annotations

from prefect import flow, get_run_logger

from tasks.catalog import load_previous_snapshot, publish_catalog_changes, save_snapshot, snapshot_catalog
from telnyx_compliance import storage
from telnyx_compliance.catalog_diff import CatalogDiff, diff_snapshots


@flow(name="sync_requirements_catalog", persist_result=False)
async def sync_requirements_catalog(state_dir: str | None = None) -> CatalogDiff:
    """Snapshot the requirements catalog and publish what changed since the previous snapshot.

    Args:
        state_dir: Where the previous snapshot is kept: a folder, or a store URL
            (s3://bucket/compliance-state) shared by every worker. Empty: COMPLIANCE_STATE_DIR (.state).
    """
    previous = load_previous_snapshot(state_dir)
    snapshot = await snapshot_catalog()
    diff = diff_snapshots(previous, snapshot)
    await publish_catalog_changes(diff, snapshot)
    saved = save_snapshot(snapshot, state_dir)
    logger = get_run_logger()
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
    return diff
