"""Snapshots of Telnyx's requirements catalog and what changed between two of them, per market.

A snapshot is plain JSON (``/requirements`` by market plus ``/requirement_types``), so it can be kept as a
file (:class:`SnapshotStore`), diffed without the API (:func:`diff_snapshots`) and read by a person.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from telnyx_compliance import storage
from telnyx_compliance._client import AsyncTelnyx
from telnyx_compliance._text import escape_markdown, markdown_code
from telnyx_compliance.locations import Location
from telnyx_compliance.models.requirements import DocReqsRequirement, DocReqsRequirementType

__all__ = [
    "CatalogDiff",
    "CatalogSnapshot",
    "CatalogStateError",
    "FieldChange",
    "MarketChanges",
    "MarketRequirements",
    "RequirementTypeChange",
    "RequirementTypeSnapshot",
    "SnapshotStore",
    "catalog_diff_markdown",
    "diff_snapshots",
    "market_key",
    "snapshot_from_api",
    "take_snapshot",
]

_PAGE_SIZE = 250
#: Fields of a requirement type compared between snapshots (``acceptance_criteria`` per criterion).
_COMPARED_FIELDS = ("name", "type", "description", "example")


class RequirementTypeSnapshot(BaseModel):
    """One requirement type as the catalog describes it, with its non-empty acceptance criteria."""

    model_config = ConfigDict(frozen=True)

    id: str
    name: str | None = None
    type: str | None = None
    description: str | None = None
    example: str | None = None
    acceptance_criteria: dict[str, Any] = Field(default_factory=dict)

    @classmethod
    def from_api(cls, item: DocReqsRequirementType) -> RequirementTypeSnapshot:
        criteria = item.acceptance_criteria.model_dump(exclude_none=True) if item.acceptance_criteria else {}
        return cls(
            id=item.id or "",
            name=item.name,
            type=item.type,
            description=item.description,
            example=item.example,
            acceptance_criteria=criteria,
        )


class MarketRequirements(BaseModel):
    """The requirement of one market (country, number type, action, locality) and its requirement types."""

    model_config = ConfigDict(frozen=True)

    requirement_id: str
    country_code: str | None = None
    phone_number_type: str | None = None
    action: str | None = None
    locality: str | None = None
    types: dict[str, RequirementTypeSnapshot] = Field(default_factory=dict)


class CatalogSnapshot(BaseModel):
    """The whole catalog at one moment."""

    model_config = ConfigDict(frozen=True)

    taken_at: str
    markets: dict[str, MarketRequirements] = Field(default_factory=dict)
    requirement_types: dict[str, RequirementTypeSnapshot] = Field(default_factory=dict)


def market_key(requirement: DocReqsRequirement | MarketRequirements) -> str:
    """``DE local ordering`` (plus `` <locality>`` when the requirement is local to one)."""
    parts = [
        (requirement.country_code or "?").upper(),
        requirement.phone_number_type or "?",
        requirement.action or "?",
    ]
    if requirement.locality:
        parts.append(requirement.locality)
    return " ".join(parts)


def snapshot_from_api(
    requirements: Iterable[DocReqsRequirement],
    requirement_types: Iterable[DocReqsRequirementType],
    *,
    taken_at: datetime | None = None,
) -> CatalogSnapshot:
    """A snapshot from what ``/requirements`` and ``/requirement_types`` returned."""
    markets: dict[str, MarketRequirements] = {}
    for requirement in requirements:
        if not requirement.id:
            continue
        key = market_key(requirement)
        if key in markets:  # two requirements for one market: keep both, told apart by id
            key = f"{key} ({requirement.id})"
        markets[key] = MarketRequirements(
            requirement_id=requirement.id,
            country_code=requirement.country_code,
            phone_number_type=requirement.phone_number_type,
            action=requirement.action,
            locality=requirement.locality,
            types={
                t.id: RequirementTypeSnapshot.from_api(t)
                for t in requirement.requirements_types or []
                if t.id
            },
        )
    types = {t.id: RequirementTypeSnapshot.from_api(t) for t in requirement_types if t.id}
    stamp = (taken_at or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return CatalogSnapshot(
        taken_at=stamp,
        markets=dict(sorted(markets.items())),
        requirement_types=dict(sorted(types.items())),
    )


async def take_snapshot(client: AsyncTelnyx) -> CatalogSnapshot:
    """Read ``/requirements`` (every page) and ``/requirement_types``."""
    requirements = [r async for r in client.requirements.list(page_size=_PAGE_SIZE)]
    types = (await client.requirement_types.list()).data or []
    return snapshot_from_api(requirements, types)


# -- diff --------------------------------------------------------------------------------------------------


class FieldChange(BaseModel):
    """One field (or one acceptance criterion, ``acceptance_criteria.<name>``) that changed."""

    model_config = ConfigDict(frozen=True)

    field: str
    before: Any = None
    after: Any = None


class RequirementTypeChange(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    name: str | None
    changes: tuple[FieldChange, ...]


class MarketChanges(BaseModel):
    """What changed in one market's requirements."""

    model_config = ConfigDict(frozen=True)

    market: str
    status: str = Field(description="added, removed or changed")
    requirement_id_before: str | None = None
    requirement_id_after: str | None = None
    added: tuple[RequirementTypeSnapshot, ...] = ()
    removed: tuple[RequirementTypeSnapshot, ...] = ()
    changed: tuple[RequirementTypeChange, ...] = ()


class CatalogDiff(BaseModel):
    """Everything that changed between two snapshots; empty when nothing did."""

    model_config = ConfigDict(frozen=True)

    before: str | None
    after: str
    markets: tuple[MarketChanges, ...] = ()
    types_added: tuple[RequirementTypeSnapshot, ...] = ()
    types_removed: tuple[RequirementTypeSnapshot, ...] = ()
    types_changed: tuple[RequirementTypeChange, ...] = ()

    @property
    def changed(self) -> bool:
        return bool(self.markets or self.types_added or self.types_removed or self.types_changed)


def _type_changes(before: RequirementTypeSnapshot, after: RequirementTypeSnapshot) -> tuple[FieldChange, ...]:
    changes = [
        FieldChange(field=name, before=getattr(before, name), after=getattr(after, name))
        for name in _COMPARED_FIELDS
        if getattr(before, name) != getattr(after, name)
    ]
    for criterion in sorted(set(before.acceptance_criteria) | set(after.acceptance_criteria)):
        old = before.acceptance_criteria.get(criterion)
        new = after.acceptance_criteria.get(criterion)
        if old != new:
            changes.append(FieldChange(field=f"acceptance_criteria.{criterion}", before=old, after=new))
    return tuple(changes)


def _diff_types(
    before: Mapping[str, RequirementTypeSnapshot], after: Mapping[str, RequirementTypeSnapshot]
) -> tuple[
    tuple[RequirementTypeSnapshot, ...],
    tuple[RequirementTypeSnapshot, ...],
    tuple[RequirementTypeChange, ...],
]:
    added = tuple(after[i] for i in sorted(set(after) - set(before)))
    removed = tuple(before[i] for i in sorted(set(before) - set(after)))
    changed = []
    for type_id in sorted(set(before) & set(after)):
        changes = _type_changes(before[type_id], after[type_id])
        if changes:
            changed.append(RequirementTypeChange(id=type_id, name=after[type_id].name, changes=changes))
    return added, removed, tuple(changed)


def diff_snapshots(before: CatalogSnapshot | None, after: CatalogSnapshot) -> CatalogDiff:
    """What changed from ``before`` to ``after``: markets added or removed, and per market the requirement
    types added, removed or changed (field by field, acceptance criterion by criterion).

    Without ``before`` (the first run) nothing is reported as changed: the snapshot is the baseline.
    """
    if before is None:
        return CatalogDiff(before=None, after=after.taken_at)
    markets: list[MarketChanges] = []
    for key in sorted(set(before.markets) | set(after.markets)):
        old, new = before.markets.get(key), after.markets.get(key)
        if old is None and new is not None:
            markets.append(
                MarketChanges(
                    market=key,
                    status="added",
                    requirement_id_after=new.requirement_id,
                    added=tuple(new.types.values()),
                )
            )
        elif new is None and old is not None:
            markets.append(
                MarketChanges(
                    market=key,
                    status="removed",
                    requirement_id_before=old.requirement_id,
                    removed=tuple(old.types.values()),
                )
            )
        elif old is not None and new is not None:
            added, removed, changed = _diff_types(old.types, new.types)
            if added or removed or changed or old.requirement_id != new.requirement_id:
                markets.append(
                    MarketChanges(
                        market=key,
                        status="changed",
                        requirement_id_before=old.requirement_id,
                        requirement_id_after=new.requirement_id,
                        added=added,
                        removed=removed,
                        changed=changed,
                    )
                )
    types_added, types_removed, types_changed = _diff_types(before.requirement_types, after.requirement_types)
    return CatalogDiff(
        before=before.taken_at,
        after=after.taken_at,
        markets=tuple(markets),
        types_added=types_added,
        types_removed=types_removed,
        types_changed=types_changed,
    )


def _cell(value: Any) -> str:
    """A value from the catalog as literal markdown (the API's text could carry links, HTML or controls)."""
    text = "" if value is None else json.dumps(value) if not isinstance(value, str) else value
    return escape_markdown(text if len(text) <= 120 else text[:117] + "...")


def _type_label(item: RequirementTypeSnapshot | RequirementTypeChange) -> str:
    return f"{escape_markdown(item.name or '(unnamed)')} ({markdown_code(item.id)})"


def catalog_diff_markdown(diff: CatalogDiff, after: CatalogSnapshot) -> str:
    """The changes as an operator reads them: one section per market, then the requirement types."""
    lines = ["# Requirements catalog", ""]
    summary = f"{len(after.markets)} market(s), {len(after.requirement_types)} requirement type(s)"
    before_name, after_name = _cell(diff.before), _cell(diff.after)
    if diff.before is None:
        return "\n".join(
            [*lines, f"First snapshot ({after_name}): {summary}. Later runs report changes.", ""]
        )
    if not diff.changed:
        return "\n".join([*lines, f"No change between {before_name} and {after_name} ({summary}).", ""])
    lines += [f"Changes between {before_name} and {after_name} ({summary}).", ""]
    for market in diff.markets:
        lines += [f"## {_cell(market.market)}: {market.status}", ""]
        if market.requirement_id_before != market.requirement_id_after and market.status == "changed":
            lines.append(
                f"Requirement id {markdown_code(market.requirement_id_before or '')} -> "
                f"{markdown_code(market.requirement_id_after or '')}."
            )
        lines += [f"- added: {_type_label(t)}" for t in market.added]
        lines += [f"- removed: {_type_label(t)}" for t in market.removed]
        for change in market.changed:
            lines.append(f"- changed: {_type_label(change)}")
            lines += [
                f"  - {markdown_code(c.field)}: {_cell(c.before)} -> {_cell(c.after)}" for c in change.changes
            ]
        lines.append("")
    if diff.types_added or diff.types_removed or diff.types_changed:
        lines += ["## Requirement types (all markets)", ""]
        lines += [f"- added: {_type_label(t)}" for t in diff.types_added]
        lines += [f"- removed: {_type_label(t)}" for t in diff.types_removed]
        for change in diff.types_changed:
            users = [key for key, m in after.markets.items() if change.id in m.types]
            used_by = _cell(", ".join(users)) or "no market"
            lines.append(f"- changed: {_type_label(change)}; used by {used_by}")
            lines += [
                f"  - {markdown_code(c.field)}: {_cell(c.before)} -> {_cell(c.after)}" for c in change.changes
            ]
        lines.append("")
    return "\n".join(lines)


# -- persistence -----------------------------------------------------------------------------------------


#: A snapshot larger than this is not one of ours (the whole catalog is a few hundred KB).
_MAX_SNAPSHOT_BYTES = 64 * 1024 * 1024


class CatalogStateError(ValueError):
    """The state folder holds something that is not a catalog snapshot of ours (its content is not shown)."""


class SnapshotStore:
    """Snapshots as JSON files in one folder or store prefix: ``latest.json`` plus one file per snapshot.

    ``folder`` is a path or a store URL (``s3://bucket/compliance-state/catalog``, see
    :mod:`telnyx_compliance.storage`), so workers on several machines share one baseline. Each file is
    written whole (a local file through a temporary file renamed into place, an object in one put), so a
    crash never leaves a half-written latest.
    """

    LATEST = "latest.json"

    def __init__(self, folder: Path | str, options: Mapping[str, Any] | None = None) -> None:
        text = str(folder)
        storage.check_location(text, writable=True)
        where = Location.parse(text)
        self.location = str(where.path) if where.is_local else text.rstrip("/")
        self.options = options

    @property
    def folder(self) -> Path:
        """The local folder (for a store prefix, refused)."""
        return storage.local_path(self.location)

    def _join(self, name: str) -> str:
        return Location.parse(self.location).child(name).text

    def latest(self) -> CatalogSnapshot | None:
        """The snapshot saved last; None before the first. Raises :class:`CatalogStateError` (without
        quoting the file) when ``latest.json`` is not a snapshot this pipeline wrote."""
        location = self._join(self.LATEST)
        try:
            data = storage.read_bytes(location, options=self.options, max_bytes=_MAX_SNAPSHOT_BYTES)
        except FileNotFoundError:
            return None
        except storage.StorageError as error:
            raise CatalogStateError(str(error)) from None
        try:
            return CatalogSnapshot.model_validate_json(data)
        except ValueError:  # pydantic's ValidationError quotes the input: never shown
            raise CatalogStateError(
                f"{storage.redact(location)} is not a catalog snapshot written by this pipeline (its content "
                "is not shown): name another state folder, or move that file away"
            ) from None

    def save(self, snapshot: CatalogSnapshot) -> str:
        """Keep ``snapshot`` as the latest and in the history; returns the history file's location."""
        data = snapshot.model_dump_json(indent=1).encode()
        history = self._join(f"catalog-{snapshot.taken_at.replace(':', '')}.json")
        for location in (history, self._join(self.LATEST)):
            storage.put_bytes(location, data, self.options)
        return history
