"""Requirement groups, and the requirement values they (and ordered numbers) carry and review."""

from __future__ import annotations

from typing import Any

from ..catalog import COUNTRIES_BY_CODE, Requirement, RequirementType
from ..errors import ErrorItem, SandboxError, error
from ..query import operator_value
from .core import Part, Record, StoreCore, _locked, _writes, iso, matches_reference, public
from .documents import DocumentsStore


class RequirementGroupsStore(Part):
    """``/requirement_groups`` and the requirement values they (and ordered numbers) carry: checked against
    the catalog, documents and addresses, reviewed on the sandbox clock. Documents are reviewed and linked
    by ``documents``."""

    def __init__(self, core: StoreCore, documents: DocumentsStore) -> None:
        super().__init__(core)
        self.documents = documents

    def value_problem(self, requirement_type: RequirementType, value: str, country_code: str) -> str | None:
        """Why a value would be declined by review, or ``None`` when it passes."""
        if requirement_type.field_type == "textual":
            problem = requirement_type.check_text(value)
            return None if problem is None else f"{requirement_type.name}: {problem}"
        if requirement_type.field_type == "document":
            document = self.core.tables["documents"].get(value)
            if document is None:
                return f"{requirement_type.name}: document {value} no longer exists"
            self.documents.review(document)
            if document["av_scan_status"] == "infected":
                return f"{requirement_type.name}: document {value} failed the antivirus scan (infected)"
            if document["status"] == "denied":
                return f"{requirement_type.name}: document {value} was denied by review"
            return None
        address = self.core.tables["user_addresses"].get(value)
        if address is None:
            return f"{requirement_type.name}: address {value} no longer exists"
        if address.get("country_code", "").upper() != country_code.upper():
            return (
                f"{requirement_type.name}: address {value} is in {address.get('country_code')}, "
                f"the phone numbers are in {country_code}"
            )
        country = COUNTRIES_BY_CODE.get(country_code.upper())
        if requirement_type.locality_limit and requirement_type.locality_limit.startswith(
            "Identical locality"
        ):
            postal_code = str(address.get("postal_code") or "")
            if not address.get("locality") or country is None or not country.postal_code_ok(postal_code):
                return (
                    f"{requirement_type.name}: address {value} is not in a {country_code} locality "
                    f"(locality '{address.get('locality', '')}', postal code '{postal_code}')"
                )
        return None

    def _check_reference(self, requirement_type: RequirementType, value: str, pointer: str) -> None:
        """Address and document values must name an existing resource when they are set."""
        if requirement_type.field_type == "document" and value not in self.core.tables["documents"]:
            raise error(
                422,
                f"Document '{value}' does not exist ({requirement_type.name} needs a document id).",
                pointer=pointer,
            )
        if requirement_type.field_type == "address" and value not in self.core.tables["user_addresses"]:
            raise error(
                422,
                f"User address '{value}' does not exist ({requirement_type.name} needs an address id).",
                pointer=pointer,
            )

    def apply_values(
        self, requirement: Requirement, values: dict[str, str], updates: list[dict[str, Any]], pointer: str
    ) -> dict[str, str]:
        """``values`` with ``updates`` ({requirement_id, field_value}) applied, each one checked."""
        allowed = {t.id: t for t in requirement.types}
        merged = dict(values)
        problems: list[ErrorItem] = []
        for index, update in enumerate(updates):
            requirement_id = update.get("requirement_id")
            item_pointer = f"{pointer}/{index}"
            if requirement_id not in allowed:
                problems.append(
                    ErrorItem(
                        f"Requirement '{requirement_id}' does not apply to {requirement.country_code} "
                        f"{requirement.phone_number_type} {requirement.action}; expected one of "
                        f"{', '.join(sorted(allowed))}.",
                        pointer=f"{item_pointer}/requirement_id",
                    )
                )
                continue
            value = update.get("field_value")
            if value is None or value == "":
                merged.pop(requirement_id, None)
                continue
            try:
                self._check_reference(allowed[requirement_id], str(value), f"{item_pointer}/field_value")
            except SandboxError as exc:
                problems.extend(exc.items)
                continue
            merged[requirement_id] = str(value)
        if problems:
            raise SandboxError(422, problems)
        return merged

    def _requirement_for(self, country_code: str, phone_number_type: str, action: str) -> Requirement:
        requirement = self.core.catalog.find(country_code, phone_number_type, action)
        if requirement is None:
            raise error(
                422,
                f"There are no {action} requirements for {phone_number_type} numbers in "
                f"{country_code.upper()}; the sandbox serves {', '.join(sorted(COUNTRIES_BY_CODE))}.",
                pointer="/country_code",
            )
        return requirement

    @_writes
    def create_group(self, fields: dict[str, Any]) -> Record:
        requirement = self._requirement_for(
            fields["country_code"], fields["phone_number_type"], fields["action"]
        )
        values = self.apply_values(
            requirement, {}, fields.get("regulatory_requirements") or [], "/regulatory_requirements"
        )
        group: Record = {
            "id": self.core.new_id(),
            "record_type": "requirement_group",
            "country_code": requirement.country_code,
            "phone_number_type": requirement.phone_number_type,
            "action": requirement.action,
            "status": "unapproved",
            "_values": values,
            "_entries": {},
        }
        if fields.get("customer_reference") is not None:
            group["customer_reference"] = fields["customer_reference"]
        self.core.stamp(group, created=True)
        self.core.tables["requirement_groups"][group["id"]] = group
        self._sync_entries(group, requirement)
        return self._render_group(group)

    def _sync_entries(self, group: Record, requirement: Requirement) -> None:
        """Per-requirement entries (status, timestamps) follow the group's values; links follow documents."""
        entries: dict[str, Record] = group["_entries"]
        stamp = iso(self.core.now())
        for requirement_type in requirement.types:
            entry = entries.setdefault(
                requirement_type.id,
                {
                    "requirement_id": requirement_type.id,
                    "field_type": requirement_type.field_type,
                    "created_at": stamp,
                    "updated_at": stamp,
                    "status": "unapproved",
                },
            )
            value = group["_values"].get(requirement_type.id)
            if entry.get("field_value") != value:
                entry["updated_at"] = stamp
                entry["status"] = "unapproved"
                entry.pop("status_reason", None)
            if value is None:
                entry.pop("field_value", None)
            else:
                entry["field_value"] = value
        documents = [
            group["_values"][t.id]
            for t in requirement.types
            if t.field_type == "document" and t.id in group["_values"]
        ]
        self.documents.relink("requirement_group", group["id"], documents)

    def refresh(self, group: Record) -> None:
        """Apply review and expiry that are due on the sandbox clock."""
        now = self.core.now()
        if group["status"] == "pending-approval":
            decided_at = group["_submitted"] + self.core.config.approve_after
            if now >= decided_at:
                self._decide_group(group, decided_at)
        if group["status"] == "approved" and self.core.config.group_ttl > 0:
            expires = group["_approved"] + self.core.config.group_ttl
            if now >= expires:
                self._expire_group(group, expires)

    def _decide_group(self, group: Record, decided_at: float) -> None:
        requirement = self._requirement_for(
            group["country_code"], group["phone_number_type"], group["action"]
        )
        reasons: list[str] = []
        stamp = iso(decided_at)
        for requirement_type in requirement.types:
            entry = group["_entries"][requirement_type.id]
            value = group["_values"].get(requirement_type.id, "")
            problem = self.value_problem(requirement_type, value, group["country_code"])
            entry["updated_at"] = stamp
            if problem is None:
                entry["status"] = "approved"
                entry.pop("status_reason", None)
            else:
                entry["status"] = "declined"
                entry["status_reason"] = problem
                reasons.append(problem)
        group["updated_at"] = stamp
        if reasons:
            group["status"] = "declined"
            group["status_reason"] = "; ".join(reasons)
        else:
            group["status"] = "approved"
            group["_approved"] = decided_at
            group.pop("status_reason", None)
            if self.core.config.group_ttl > 0:
                for entry in group["_entries"].values():
                    entry["expires_at"] = iso(decided_at + self.core.config.group_ttl)

    def _expire_group(self, group: Record, at: float) -> None:
        group["status"] = "expired"
        group["status_reason"] = "The approval of this requirement group has expired; update and resubmit it."
        group["updated_at"] = iso(at)
        for entry in group["_entries"].values():
            entry["status"] = "expired"
            entry["updated_at"] = iso(at)

    def _render_group(self, group: Record) -> Record:
        self.refresh(group)
        rendered = public(group)
        rendered["regulatory_requirements"] = [dict(entry) for entry in group["_entries"].values()]
        return rendered

    def _group(self, group_id: str) -> Record:
        group = self.core.get_record("requirement_groups", group_id, "requirement group")
        self.refresh(group)
        return group

    @_locked
    def get_group(self, group_id: str) -> Record:
        return self._render_group(self._group(group_id))

    @_locked
    def list_groups(self, filters: dict[str, Any]) -> list[Record]:
        groups = list(self.core.tables["requirement_groups"].values())
        for group in groups:
            self.refresh(group)
        for key in ("country_code", "phone_number_type", "action", "status"):
            if key in filters:
                wanted = str(operator_value(filters[key]))
                groups = [g for g in groups if str(g.get(key, "")).upper() == wanted.upper()]
        if "customer_reference" in filters:
            groups = [g for g in groups if matches_reference(g, filters["customer_reference"])]
        return [self._render_group(g) for g in groups]

    @_writes
    def update_group(self, group_id: str, fields: dict[str, Any]) -> Record:
        group = self._group(group_id)
        if group["status"] == "pending-approval":
            raise error(
                422,
                "The requirement group is pending approval and cannot be changed until it is reviewed.",
                pointer="/status",
                title="Requirement group under review",
            )
        requirement = self._requirement_for(
            group["country_code"], group["phone_number_type"], group["action"]
        )
        updates = fields.get("regulatory_requirements")
        if updates is not None:
            group["_values"] = self.apply_values(
                requirement, group["_values"], updates, "/regulatory_requirements"
            )
            # A changed group needs a new review, like on Telnyx.
            group["status"] = "unapproved"
            group.pop("status_reason", None)
            for entry in group["_entries"].values():
                entry["status"] = "unapproved"
                entry.pop("status_reason", None)
                entry.pop("expires_at", None)
        if fields.get("customer_reference") is not None:
            group["customer_reference"] = fields["customer_reference"]
        self._sync_entries(group, requirement)
        self.core.stamp(group)
        return self._render_group(group)

    @_writes
    def submit_group(self, group_id: str) -> Record:
        group = self._group(group_id)
        if group["status"] in ("pending-approval", "approved"):
            raise error(
                422,
                f"The requirement group is already {group['status']}.",
                pointer="/status",
                title="Requirement group already submitted",
            )
        requirement = self._requirement_for(
            group["country_code"], group["phone_number_type"], group["action"]
        )
        missing = [(index, t) for index, t in enumerate(requirement.types) if t.id not in group["_values"]]
        if missing:
            raise SandboxError(
                422,
                [
                    ErrorItem(
                        f"Requirement '{t.name}' ({t.id}, {t.field_type}) has no value.",
                        pointer=f"/regulatory_requirements/{index}/field_value",
                        title="Missing requirement",
                    )
                    for index, t in missing
                ],
            )
        now = self.core.now()
        group["status"] = "pending-approval"
        group["_submitted"] = now
        group.pop("status_reason", None)
        for entry in group["_entries"].values():
            entry["status"] = "pending-approval"
            entry["updated_at"] = iso(now)
            entry.pop("status_reason", None)
            entry.pop("expires_at", None)
        self.core.stamp(group)
        return self._render_group(group)

    @_writes
    def expire_group(self, group_id: str) -> Record:
        """Sandbox-only: end an approval now (as the clock would after ``group_ttl``)."""
        group = self._group(group_id)
        self._expire_group(group, self.core.now())
        return self._render_group(group)

    @_writes
    def delete_group(self, group_id: str) -> Record:
        group = self._group(group_id)
        rendered = self._render_group(group)
        self.documents.relink("requirement_group", group_id, [])
        del self.core.tables["requirement_groups"][group_id]
        return rendered

    @_locked
    def group_requirement(self, group_id: str) -> Requirement:
        group = self.core.get_record("requirement_groups", group_id, "requirement group")
        return self._requirement_for(group["country_code"], group["phone_number_type"], group["action"])
