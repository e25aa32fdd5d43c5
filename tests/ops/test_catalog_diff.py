"""The catalog diff: pure, from API-shaped models; plus one snapshot of the sandbox's catalog."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from telnyx_compliance.catalog_diff import (
    CatalogSnapshot,
    SnapshotStore,
    catalog_diff_markdown,
    diff_snapshots,
    snapshot_from_api,
    take_snapshot,
)
from telnyx_compliance.models.requirements import DocReqsRequirement, DocReqsRequirementType
from telnyx_compliance.sandbox import SandboxServer

from .support import client_for

ADDRESS = {
    "id": "t-addr",
    "name": "Address",
    "type": "address",
    "acceptance_criteria": {"locality_limit": "DE"},
}
TAX_ID = {
    "id": "t-tax",
    "name": "Tax ID",
    "type": "textual",
    "example": "DE123456789",
    "acceptance_criteria": {"regex": "^DE[0-9]{9}$", "max_length": 11},
}
PROOF = {
    "id": "t-proof",
    "name": "Proof of address",
    "type": "document",
    "acceptance_criteria": {"time_limit": "3 months"},
}


def _requirement(rid: str, country: str, types: list[dict[str, Any]], **fields: Any) -> DocReqsRequirement:
    return DocReqsRequirement.model_validate(
        {"id": rid, "country_code": country, "phone_number_type": "local", "action": "ordering", **fields}
        | {"requirements_types": types}
    )


def _snapshot(requirements: list[DocReqsRequirement], day: int) -> CatalogSnapshot:
    types = {t.id: t for r in requirements for t in r.requirements_types or []}
    return snapshot_from_api(
        requirements,
        [DocReqsRequirementType.model_validate(t.model_dump()) for t in types.values()],
        taken_at=datetime(2025, 1, day, tzinfo=UTC),
    )


def test_first_snapshot_is_a_baseline_without_changes() -> None:
    after = _snapshot([_requirement("r-de", "DE", [ADDRESS])], 1)
    diff = diff_snapshots(None, after)
    assert not diff.changed
    assert "First snapshot" in catalog_diff_markdown(diff, after)


def test_identical_snapshots_have_no_changes() -> None:
    before = _snapshot([_requirement("r-de", "DE", [ADDRESS, TAX_ID])], 1)
    after = _snapshot([_requirement("r-de", "DE", [TAX_ID, ADDRESS])], 2)
    diff = diff_snapshots(before, after)
    assert not diff.changed
    assert "No change" in catalog_diff_markdown(diff, after)


def test_changes_are_reported_per_market_and_per_criterion() -> None:
    stricter_tax = TAX_ID | {"acceptance_criteria": {"regex": "^DE[0-9]{9}$", "max_length": 12}}
    before = _snapshot(
        [_requirement("r-de", "DE", [ADDRESS, TAX_ID]), _requirement("r-fr", "FR", [ADDRESS])], 1
    )
    after = _snapshot(
        [
            _requirement("r-de", "DE", [stricter_tax, PROOF]),  # address removed, proof added, tax changed
            _requirement("r-it", "IT", [ADDRESS]),  # FR removed, IT added
        ],
        2,
    )
    diff = diff_snapshots(before, after)
    by_market = {m.market: m for m in diff.markets}
    assert set(by_market) == {"DE local ordering", "FR local ordering", "IT local ordering"}
    de = by_market["DE local ordering"]
    assert de.status == "changed"
    assert [t.id for t in de.added] == ["t-proof"]
    assert [t.id for t in de.removed] == ["t-addr"]
    (tax_change,) = de.changed
    assert [(c.field, c.before, c.after) for c in tax_change.changes] == [
        ("acceptance_criteria.max_length", 11, 12)
    ]
    assert by_market["FR local ordering"].status == "removed"
    assert by_market["IT local ordering"].status == "added"
    assert [t.id for t in diff.types_added] == ["t-proof"]
    assert [c.id for c in diff.types_changed] == ["t-tax"]

    markdown = catalog_diff_markdown(diff, after)
    assert "## DE local ordering: changed" in markdown
    assert "`acceptance_criteria.max_length`: 11 -> 12" in markdown
    assert "## FR local ordering: removed" in markdown
    assert "used by DE local ordering" in markdown


def test_a_new_requirement_id_for_the_same_market_is_a_change() -> None:
    before = _snapshot([_requirement("r-de-1", "DE", [ADDRESS])], 1)
    after = _snapshot([_requirement("r-de-2", "DE", [ADDRESS])], 2)
    (market,) = diff_snapshots(before, after).markets
    assert (market.requirement_id_before, market.requirement_id_after) == ("r-de-1", "r-de-2")


def test_store_keeps_latest_and_history(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path / "catalog")
    assert store.latest() is None
    first = _snapshot([_requirement("r-de", "DE", [ADDRESS])], 1)
    second = _snapshot([_requirement("r-de", "DE", [ADDRESS, TAX_ID])], 2)
    store.save(first)
    store.save(second)
    assert store.latest() == second
    assert sorted(p.name for p in (tmp_path / "catalog").iterdir()) == [
        "catalog-2025-01-01T000000Z.json",
        "catalog-2025-01-02T000000Z.json",
        "latest.json",
    ]


async def test_snapshot_of_the_sandbox_catalog(sandbox: SandboxServer) -> None:
    async with client_for(sandbox) as client:
        snapshot = await take_snapshot(client)
    assert "DE local ordering" in snapshot.markets
    assert snapshot.requirement_types
    market_types = {t for m in snapshot.markets.values() for t in m.types}
    assert market_types <= set(snapshot.requirement_types)
    assert not diff_snapshots(snapshot, snapshot).changed
