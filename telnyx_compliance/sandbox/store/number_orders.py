"""Number orders, their sub-number orders and their ordered phone numbers."""

from __future__ import annotations

import itertools
from collections.abc import Set as AbstractSet
from typing import Any

from ..catalog import COUNTRIES_BY_CODE, Requirement, classify_number
from ..errors import ErrorItem, SandboxError, error
from .bundles import BundlesStore
from .core import (
    SANDBOX_USER_ID,
    Part,
    Record,
    StoreCore,
    _locked,
    _writes,
    iso,
    matches_reference,
    normal_time,
    public,
)
from .documents import DocumentsStore
from .requirement_groups import RequirementGroupsStore


class NumberOrdersStore(Part):
    """``/number_orders``, ``/sub_number_orders``, ``/number_order_phone_numbers``: numbers meet their
    requirements through a requirement group or values of their own; ordering may assign user bundles.
    Values are checked and groups refreshed by ``groups``, documents linked by ``documents``, bundles
    assigned by ``bundles``."""

    def __init__(
        self,
        core: StoreCore,
        *,
        groups: RequirementGroupsStore,
        documents: DocumentsStore,
        bundles: BundlesStore,
    ) -> None:
        super().__init__(core)
        self.groups = groups
        self.documents = documents
        self.bundles = bundles

    def _attachable_group(
        self, group_id: Any, country_code: str, phone_number_type: str, pointer: str
    ) -> Record:
        group = self.core.tables["requirement_groups"].get(str(group_id))
        if group is None:
            raise error(422, f"Requirement group '{group_id}' does not exist.", pointer=pointer)
        self.groups.refresh(group)
        expected = (country_code, phone_number_type, "ordering")
        actual = (group["country_code"], group["phone_number_type"], group["action"])
        if actual != expected:
            raise error(
                422,
                f"Requirement group {group['id']} is for {' '.join(actual)}; these numbers need "
                f"{' '.join(expected)}.",
                pointer=pointer,
                title="Requirement group mismatch",
            )
        if group["status"] in ("declined", "expired"):
            raise error(
                422,
                f"Requirement group {group['id']} is {group['status']}; update and resubmit it first.",
                pointer=pointer,
                title="Requirement group not usable",
            )
        return group

    def _active_numbers(self) -> AbstractSet[str]:
        """Phone numbers ordered and not cancelled. After orders were added (a bulk run adds one per row),
        only the new numbers are added; rebuilt after a cancellation (it changes the sub-number order, not
        the numbers) or when numbers went away."""
        table = self.core.tables["number_order_phone_numbers"]
        cached = self.core.active_numbers_cache
        if cached is None or cached[0][1] != self.core.cancellations or cached[0][0] > len(table):
            active = {n["phone_number"] for n in table.values() if not self._number_cancelled(n)}
        elif cached[0][0] < len(table):
            active = cached[1]
            for number in itertools.islice(table.values(), cached[0][0], None):  # in insertion order
                if not self._number_cancelled(number):
                    active.add(number["phone_number"])
        else:
            return cached[1]
        self.core.active_numbers_cache = ((len(table), self.core.cancellations), active)
        return active

    @_writes
    def create_number_order(self, fields: dict[str, Any]) -> Record:
        entries = fields.get("phone_numbers") or []
        if not entries:
            raise error(422, "phone_numbers must list at least one phone number.", pointer="/phone_numbers")
        problems: list[ErrorItem] = []
        infos = []
        active = self._active_numbers()
        seen: set[str] = set()
        for index, entry in enumerate(entries):
            pointer = f"/phone_numbers/{index}"
            try:
                info = classify_number(str(entry.get("phone_number", "")))
            except ValueError as exc:
                problems.append(ErrorItem(str(exc), pointer=f"{pointer}/phone_number"))
                continue
            if info.phone_number in seen or info.phone_number in active:
                problems.append(
                    ErrorItem(
                        f"{info.phone_number} is already ordered.",
                        pointer=f"{pointer}/phone_number",
                        title="Number not available",
                    )
                )
            seen.add(info.phone_number)
            if info.country_code not in COUNTRIES_BY_CODE:
                problems.append(
                    ErrorItem(
                        f"The sandbox does not sell numbers in {info.country_code}.",
                        pointer=f"{pointer}/phone_number",
                    )
                )
            try:
                if entry.get("requirement_group_id"):
                    self._attachable_group(
                        entry["requirement_group_id"],
                        info.country_code,
                        info.phone_number_type,
                        f"{pointer}/requirement_group_id",
                    )
                if entry.get("bundle_id"):
                    bundle = self.core.tables["user_bundles"].get(str(entry["bundle_id"]))
                    if bundle is None or not bundle["active"]:
                        raise error(
                            422,
                            f"User bundle '{entry['bundle_id']}' does not exist or is not active.",
                            pointer=f"{pointer}/bundle_id",
                        )
            except SandboxError as exc:
                problems.extend(exc.items)
            infos.append((entry, info))
        if problems:
            raise SandboxError(422, problems)

        order: Record = {
            "id": self.core.new_id(),
            "record_type": "number_order",
            "_sub_ids": [],
            "_number_ids": [],
        }
        for key in ("customer_reference", "connection_id", "messaging_profile_id", "billing_group_id"):
            if fields.get(key) is not None:
                order[key] = fields[key]
        self.core.stamp(order, created=True)
        subs: dict[tuple[str, str], Record] = {}
        for entry, info in infos:
            sub_key = (info.country_code, info.phone_number_type)
            sub = subs.get(sub_key)
            if sub is None:
                sub = {
                    "id": self.core.new_id(),
                    "record_type": "sub_number_order",
                    "order_request_id": order["id"],
                    "country_code": info.country_code,
                    "phone_number_type": info.phone_number_type,
                    "is_block_sub_number_order": False,
                    "user_id": SANDBOX_USER_ID,
                    "_number_ids": [],
                    "_cancelled": False,
                }
                if order.get("customer_reference") is not None:
                    sub["customer_reference"] = order["customer_reference"]
                self.core.stamp(sub, created=True)
                subs[sub_key] = sub
                self.core.tables["sub_number_orders"][sub["id"]] = sub
                order["_sub_ids"].append(sub["id"])
            number: Record = {
                "id": self.core.new_id(),
                "record_type": "number_order_phone_number",
                "phone_number": info.phone_number,
                "country_code": info.country_code,
                "phone_number_type": info.phone_number_type,
                "locality": info.locality,
                "order_request_id": order["id"],
                "sub_number_order_id": sub["id"],
                "bundle_id": entry.get("bundle_id") or None,
                "is_block_number": False,
                "deadline": iso(self.core.now() + 30 * 86400),
                "_group_id": entry.get("requirement_group_id") or None,
                "_values": {},
            }
            self.core.tables["number_order_phone_numbers"][number["id"]] = number
            sub["_number_ids"].append(number["id"])
            order["_number_ids"].append(number["id"])
            if number["bundle_id"]:
                self.bundles.add_resource(number["bundle_id"], info.phone_number)
            self._relink_number(number)
        for sub in subs.values():
            # Numbers ordered with one requirement group attach it to the sub-number order they make up.
            carried = {
                self.core.tables["number_order_phone_numbers"][nid]["_group_id"] for nid in sub["_number_ids"]
            }
            if len(carried) == 1 and None not in carried:
                sub["_group_id"] = carried.pop()
        self.core.tables["number_orders"][order["id"]] = order
        return self._render_order(order, full=True)

    def _number_cancelled(self, number: Record) -> bool:
        sub = self.core.tables["sub_number_orders"].get(number["sub_number_order_id"])
        return bool(sub and sub["_cancelled"])

    def _number_requirement(self, number: Record) -> Requirement | None:
        return self.core.catalog.find(number["country_code"], number["phone_number_type"], "ordering")

    def _number_state(self, number: Record) -> tuple[bool, str, list[Record]]:
        """(requirements_met, requirements_status, regulatory_requirements with values) of one number."""
        requirement = self._number_requirement(number)
        types = requirement.types if requirement else ()
        group = self.core.tables["requirement_groups"].get(number["_group_id"] or "")
        if group is not None:
            self.groups.refresh(group)
            values = group["_values"]
            statuses = {rid: entry["status"] for rid, entry in group["_entries"].items()}
        else:
            values = number["_values"]
            statuses = {}
        entries = []
        for requirement_type in types:
            entry: Record = {
                "requirement_id": requirement_type.id,
                "field_type": requirement_type.field_type,
                "record_type": "phone_number_regulatory_requirement",
            }
            if requirement_type.id in values:
                entry["field_value"] = values[requirement_type.id]
            if requirement_type.id in statuses:
                entry["status"] = statuses[requirement_type.id]
            entries.append(entry)
        if self._number_cancelled(number):
            return False, "cancelled", entries
        if not types:
            return True, "approved", entries
        if group is not None:
            status = {
                "approved": "approved",
                "pending-approval": "requirement-info-under-review",
                "unapproved": "requirement-info-pending",
            }.get(group["status"], "requirement-info-exception")
            return group["status"] == "approved", status, entries
        if all(t.id in values for t in types):
            problems = [self.groups.value_problem(t, values[t.id], number["country_code"]) for t in types]
            if all(problem is None for problem in problems):
                return True, "approved", entries
            return False, "requirement-info-exception", entries
        return False, "requirement-info-pending", entries

    def _render_number(self, number: Record, shape: str = "order_phone_number") -> Record:
        met, requirements_status, entries = self._number_state(number)
        rendered = public(number)
        rendered["requirements_met"] = met
        rendered["requirements_status"] = requirements_status
        rendered["status"] = (
            "failure" if self._number_cancelled(number) else ("success" if met else "pending")
        )
        if number["_group_id"]:
            rendered["requirement_group_id"] = number["_group_id"]
        if shape == "phone_number":  # NumberOrderWithPhoneNumbers.phone_numbers: no nulls, no extra fields
            rendered = {
                k: v
                for k, v in rendered.items()
                if v is not None
                and k
                not in {"order_request_id", "sub_number_order_id", "deadline", "is_block_number", "locality"}
            }
            rendered["country_iso_alpha2"] = number["country_code"]
            entries = [{k: v for k, v in e.items() if k != "status"} for e in entries]
        elif shape == "sub_order":
            entries = [{k: v for k, v in e.items() if k != "record_type"} for e in entries]
        rendered["regulatory_requirements"] = entries
        return rendered

    def _render_sub(self, sub: Record, *, include_numbers: bool = False) -> Record:
        numbers = [self.core.tables["number_order_phone_numbers"][nid] for nid in sub["_number_ids"]]
        states = [self._number_state(n) for n in numbers]
        rendered = public(sub)
        met = all(state[0] for state in states)
        rendered["requirements_met"] = met and not sub["_cancelled"]
        rendered["status"] = "failure" if sub["_cancelled"] else ("success" if met else "pending")
        rendered["phone_numbers_count"] = len(numbers)
        requirement = self.core.catalog.find(sub["country_code"], sub["phone_number_type"], "ordering")
        rendered["regulatory_requirements"] = [
            {
                "requirement_id": t.id,
                "field_type": t.field_type,
                "record_type": "phone_number_regulatory_requirement",
            }
            for t in (requirement.types if requirement else ())
        ]
        if sub.get("_group_id"):
            rendered["requirement_group_id"] = sub["_group_id"]
        if include_numbers:
            rendered["phone_numbers"] = [self._render_number(n, "sub_order") for n in numbers[:50]]
        return rendered

    def _render_order(self, order: Record, *, full: bool) -> Record:
        numbers = [self.core.tables["number_order_phone_numbers"][nid] for nid in order["_number_ids"]]
        subs = [self._render_sub(self.core.tables["sub_number_orders"][sid]) for sid in order["_sub_ids"]]
        rendered = public(order)
        rendered["sub_number_orders_ids"] = list(order["_sub_ids"])
        rendered["phone_numbers_count"] = len(numbers)
        live = [s for s in subs if s["status"] != "failure"]
        rendered["requirements_met"] = bool(live) and all(s["requirements_met"] for s in live)
        if not live:
            rendered["status"] = "failure"
        else:
            rendered["status"] = "success" if all(s["status"] == "success" for s in live) else "pending"
        if full:
            rendered["phone_numbers"] = [self._render_number(n, "phone_number") for n in numbers]
        else:
            rendered["phone_numbers"] = [{"id": n["id"], "phone_number": n["phone_number"]} for n in numbers]
        return rendered

    @_locked
    def list_number_orders(self, filters: dict[str, Any]) -> list[Record]:
        orders = [self._render_order(o, full=False) for o in self.core.tables["number_orders"].values()]
        if "customer_reference" in filters:
            orders = [o for o in orders if matches_reference(o, filters["customer_reference"])]
        if "status" in filters:
            orders = [o for o in orders if o["status"] == filters["status"]]
        if "requirements_met" in filters:
            wanted = str(filters["requirements_met"]).lower() == "true"
            orders = [o for o in orders if o["requirements_met"] is wanted]
        if "phone_numbers_count" in filters:
            orders = [
                o for o in orders if str(o["phone_numbers_count"]) == str(filters["phone_numbers_count"])
            ]
        created = filters.get("created_at")
        if isinstance(created, dict):
            if "gt" in created:
                orders = [o for o in orders if o["created_at"] > normal_time(created["gt"], "gt")]
            if "lt" in created:
                orders = [o for o in orders if o["created_at"] < normal_time(created["lt"], "lt")]
        return orders

    @_locked
    def get_number_order(self, order_id: str) -> Record:
        return self._render_order(self.core.get_record("number_orders", order_id, "number order"), full=True)

    @_writes
    def update_number_order(self, order_id: str, fields: dict[str, Any]) -> Record:
        order = self.core.get_record("number_orders", order_id, "number order")
        if fields.get("customer_reference") is not None:
            order["customer_reference"] = fields["customer_reference"]
        if fields.get("regulatory_requirements") is not None:
            for number_id in order["_number_ids"]:
                self._update_number_values(
                    self.core.tables["number_order_phone_numbers"][number_id],
                    fields["regulatory_requirements"],
                    lenient=True,
                )
        self.core.stamp(order)
        return self._render_order(order, full=True)

    def _update_number_values(self, number: Record, updates: list[dict[str, Any]], *, lenient: bool) -> None:
        requirement = self._number_requirement(number)
        if requirement is None:
            if lenient:
                return
            raise error(
                422,
                f"{number['phone_number']} has no regulatory requirements.",
                pointer="/regulatory_requirements",
            )
        if lenient:  # an order-wide update only touches the numbers each requirement applies to
            ids = {t.id for t in requirement.types}
            updates = [u for u in updates if u.get("requirement_id") in ids]
        number["_values"] = self.groups.apply_values(
            requirement, number["_values"], updates, "/regulatory_requirements"
        )
        self._relink_number(number)

    def _relink_number(self, number: Record) -> None:
        requirement = self._number_requirement(number)
        documents = [
            number["_values"][t.id]
            for t in (requirement.types if requirement else ())
            if t.field_type == "document" and t.id in number["_values"]
        ]
        self.documents.relink("number_order_phone_number", number["id"], documents)

    @_locked
    def list_sub_orders(self, filters: dict[str, Any]) -> list[Record]:
        subs = [self._render_sub(s) for s in self.core.tables["sub_number_orders"].values()]
        for key in ("country_code", "phone_number_type", "status", "order_request_id"):
            if key in filters:
                subs = [s for s in subs if str(s.get(key, "")).lower() == str(filters[key]).lower()]
        if "phone_numbers_count" in filters:
            subs = [s for s in subs if str(s["phone_numbers_count"]) == str(filters["phone_numbers_count"])]
        return subs

    @_locked
    def get_sub_order(self, sub_id: str, *, include_numbers: bool = False) -> Record:
        return self._render_sub(
            self.core.get_record("sub_number_orders", sub_id, "sub number order"),
            include_numbers=include_numbers,
        )

    @_writes
    def update_sub_order(self, sub_id: str, fields: dict[str, Any]) -> Record:
        sub = self.core.get_record("sub_number_orders", sub_id, "sub number order")
        if fields.get("regulatory_requirements") is not None:
            for number_id in sub["_number_ids"]:
                self._update_number_values(
                    self.core.tables["number_order_phone_numbers"][number_id],
                    fields["regulatory_requirements"],
                    lenient=False,
                )
        self.core.stamp(sub)
        return self._render_sub(sub)

    @_writes
    def cancel_sub_order(self, sub_id: str) -> Record:
        sub = self.core.get_record("sub_number_orders", sub_id, "sub number order")
        status = self._render_sub(sub)["status"]
        if status != "pending":
            raise error(
                422,
                f"Only pending sub number orders can be cancelled; this one is {status}.",
                pointer="/status",
                title="Sub number order not cancellable",
            )
        sub["_cancelled"] = True
        self.core.cancellations += 1
        self.core.stamp(sub)
        return self._render_sub(sub)

    @_writes
    def attach_group_to_sub_order(self, sub_id: str, group_id: str) -> Record:
        sub = self.core.get_record("sub_number_orders", sub_id, "sub number order")
        if sub["_cancelled"]:
            raise error(422, "The sub number order is cancelled.", pointer="/requirement_group_id")
        self._attachable_group(
            group_id, sub["country_code"], sub["phone_number_type"], "/requirement_group_id"
        )
        sub["_group_id"] = group_id
        for number_id in sub["_number_ids"]:
            self.core.tables["number_order_phone_numbers"][number_id]["_group_id"] = group_id
        self.core.stamp(sub)
        return self._render_sub(sub, include_numbers=True)

    @_locked
    def list_numbers(self, filters: dict[str, Any]) -> list[Record]:
        numbers = list(self.core.tables["number_order_phone_numbers"].values())
        if "country_code" in filters:
            numbers = [
                n for n in numbers if n["country_code"].upper() == str(filters["country_code"]).upper()
            ]
        return [self._render_number(n) for n in numbers]

    @_locked
    def get_number(self, number_id: str) -> Record:
        return self._render_number(
            self.core.get_record("number_order_phone_numbers", number_id, "number order phone number")
        )

    @_writes
    def update_number(self, number_id: str, fields: dict[str, Any]) -> Record:
        number = self.core.get_record("number_order_phone_numbers", number_id, "number order phone number")
        if fields.get("regulatory_requirements") is not None:
            self._update_number_values(number, fields["regulatory_requirements"], lenient=False)
        return self._render_number(number)

    @_writes
    def attach_group_to_number(self, number_id: str, group_id: str) -> Record:
        number = self.core.get_record("number_order_phone_numbers", number_id, "number order phone number")
        if self._number_cancelled(number):
            raise error(422, "The number's sub number order is cancelled.", pointer="/requirement_group_id")
        self._attachable_group(
            group_id, number["country_code"], number["phone_number_type"], "/requirement_group_id"
        )
        number["_group_id"] = group_id
        return self._render_number(number, "sub_order")
