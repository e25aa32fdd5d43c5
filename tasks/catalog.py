"""Requirements catalog: snapshot it, compare with the previous snapshot, publish the changes."""

from __future__ import annotations

from pathlib import Path

from prefect import task
from prefect.artifacts import acreate_markdown_artifact
from prefect.cache_policies import NO_CACHE

from tasks._client import pipeline_settings, telnyx_client
from tasks._retries import API_TASK_OPTIONS
from telnyx_compliance.catalog_diff import (
    CatalogDiff,
    CatalogSnapshot,
    SnapshotStore,
    catalog_diff_markdown,
    take_snapshot,
)
from telnyx_compliance.locations import Location


def snapshot_store(state_dir: str | None) -> SnapshotStore:
    """Snapshots under ``state_dir/catalog``; by default under ``COMPLIANCE_STATE_DIR`` (``.state``). A
    store URL (``s3://bucket/compliance-state``) is shared by every worker."""
    location = state_dir or pipeline_settings().state_dir
    where = Location.parse(location)
    if not where.is_local:
        return SnapshotStore(where.child("catalog").text)
    return SnapshotStore(Path(location).expanduser() / "catalog")


@task(name="snapshot-requirements-catalog", **API_TASK_OPTIONS)
async def snapshot_catalog() -> CatalogSnapshot:
    """``/requirements`` (every page) and ``/requirement_types``, as one snapshot."""
    async with telnyx_client() as client:
        return await take_snapshot(client)


@task(name="load-previous-snapshot", cache_policy=NO_CACHE, persist_result=False)
def load_previous_snapshot(state_dir: str | None) -> CatalogSnapshot | None:
    return snapshot_store(state_dir).latest()


@task(name="save-snapshot", cache_policy=NO_CACHE, persist_result=False)
def save_snapshot(snapshot: CatalogSnapshot, state_dir: str | None) -> str:
    """Keep the snapshot as the next run's baseline (only after its changes were published)."""
    return str(snapshot_store(state_dir).save(snapshot))


@task(name="publish-catalog-changes", cache_policy=NO_CACHE, persist_result=False)
async def publish_catalog_changes(diff: CatalogDiff, snapshot: CatalogSnapshot) -> None:
    markets = len(diff.markets)
    await acreate_markdown_artifact(
        markdown=catalog_diff_markdown(diff, snapshot),
        key="requirements-catalog-changes",
        description=f"{markets} market(s) changed" if diff.changed else "no change",
    )
