"""All sandbox state and the rules that change it, behind one lock.

Records are kept as JSON-ready dicts in the API's shape; keys starting with ``_`` are internal (sandbox-clock
timestamps, links between resources) and never leave the store. Time-driven transitions (review, approval,
expiry, document TTL) are evaluated lazily from the sandbox clock whenever state is read, so nothing runs in
the background and ``advance_clock`` is all a test needs.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import random
import secrets
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any, ParamSpec, TypeVar

from .catalogue import (
    COUNTRIES_BY_CODE,
    DENY_MARKER,
    EICAR,
    Catalogue,
    Requirement,
    RequirementType,
    classify_number,
    default_catalogue,
    stable_id,
)
from .config import SandboxConfig
from .errors import ErrorItem, SandboxError, error, not_found
from .query import filter_values, operator_value

P = ParamSpec("P")
R = TypeVar("R")

Record = dict[str, Any]

KINDS = (
    "documents",
    "document_links",
    "user_addresses",
    "requirement_groups",
    "number_orders",
    "sub_number_orders",
    "number_order_phone_numbers",
    "user_bundles",
    "verified_numbers",
)
#: The user every sandbox resource belongs to.
SANDBOX_USER_ID = stable_id("sandbox-user")
GROUP_STATUSES = ("approved", "unapproved", "pending-approval", "declined", "expired")
#: One bulk request orders at most this many user bundles (the contract sets no bound; each is a record).
MAX_USER_BUNDLES_PER_REQUEST = 1000


def iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def iso_date(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")


def public(record: Record) -> Record:
    """A record without its internal ``_`` keys."""
    return {key: value for key, value in record.items() if not key.startswith("_")}


def _locked(method: Callable[P, R]) -> Callable[P, R]:
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        store = args[0]
        assert isinstance(store, Store)
        with store.lock:
            store._tick()
            return method(*args, **kwargs)

    wrapper.__name__ = method.__name__
    wrapper.__doc__ = method.__doc__
    return wrapper


def _writes(method: Callable[P, R]) -> Callable[P, R]:
    """A locked method that changes state: persisted afterwards when persistence is on."""

    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        store = args[0]
        assert isinstance(store, Store)
        with store.lock:
            store._tick()
            try:
                return method(*args, **kwargs)
            finally:
                store._changed()

    wrapper.__name__ = method.__name__
    wrapper.__doc__ = method.__doc__
    return wrapper


def _matches_reference(record: Record, raw: Any) -> bool:
    """``customer_reference`` filters: plain, ``eq``, ``in``, ``contains`` (case-insensitive like Telnyx)."""
    reference = str(record.get("customer_reference") or "")
    if isinstance(raw, dict):
        if "eq" in raw and reference.lower() != str(raw["eq"]).lower():
            return False
        if "in" in raw and reference not in filter_values(raw["in"]):
            return False
        return not ("contains" in raw and str(raw["contains"]).lower() not in reference.lower())
    return reference == str(raw)


class Store:
    """The sandbox's state. Thread-safe: every public method holds ``lock``."""

    def __init__(self, config: SandboxConfig, catalogue: Catalogue | None = None) -> None:
        self.config = config
        self.catalogue = catalogue or default_catalogue()
        self.lock = threading.RLock()
        #: Called (under the lock) after every change, e.g. to persist; set by the persistence layer.
        self.on_change: Callable[[Store], None] | None = None
        #: Cancellations so far, and the active numbers as of (number count, cancellations).
        self._cancellations = 0
        self._active_cache: tuple[tuple[int, int], frozenset[str]] | None = None
        self._init_state()

    def _init_state(self) -> None:
        self._rng = random.Random(self.config.seed)
        self._clock_offset = 0.0
        self.tables: dict[str, dict[str, Record]] = {kind: {} for kind in KINDS}
        self._active_cache = None
        self.blobs: dict[str, bytes] = {}
        self.download_tokens: dict[str, Record] = {}
        self.verifications: dict[str, Record] = {}
        self._next_sweep = 0.0

    # -- clock and ids --------------------------------------------------------------------------------------

    def now(self) -> float:
        """Sandbox clock: wall clock plus every ``advance_clock``."""
        return time.time() + self._clock_offset

    @property
    def clock_offset(self) -> float:
        return self._clock_offset

    @_writes
    def advance_clock(self, seconds: float) -> float:
        if seconds < 0:
            raise error(
                422, "seconds must be positive; the sandbox clock never goes back.", pointer="/seconds"
            )
        self._clock_offset += seconds
        self._next_sweep = 0.0
        return self.now()

    @_writes
    def reset(self) -> None:
        """Forget every resource and restart ids, codes and the clock from the seed."""
        self._init_state()

    def _new_id(self) -> str:
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def _stamp(self, record: Record, *, created: bool = False) -> Record:
        now = self.now()
        if created:
            record["created_at"] = iso(now)
            record["_created"] = now
        record["updated_at"] = iso(now)
        return record

    def _tick(self) -> None:
        """Apply time-driven deletions due on the sandbox clock (document TTL, expired tokens)."""
        now = self.now()
        if now < self._next_sweep:
            return
        next_sweep = now + 3600.0
        for document in list(self.tables["documents"].values()):
            since = document.get("_unlinked_since")
            if since is None:
                continue
            due = since + self.config.document_ttl
            if due <= now:
                self._delete_document(document["id"])
            else:
                next_sweep = min(next_sweep, due)
        for token, link in list(self.download_tokens.items()):
            if link["expires"] <= now:
                del self.download_tokens[token]
        self._next_sweep = next_sweep

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change(self)

    def config_changed(self) -> None:
        with self.lock:
            self._next_sweep = 0.0

    def _get(self, kind: str, resource_id: str, label: str) -> Record:
        record = self.tables[kind].get(resource_id)
        if record is None:
            raise not_found(label, resource_id)
        return record

    # -- documents ------------------------------------------------------------------------------------------

    @_writes
    def create_document(
        self, content: bytes, *, filename: str | None, content_type: str, customer_reference: str | None
    ) -> Record:
        document_id = self._new_id()
        infected = EICAR in content
        document: Record = {
            "id": document_id,
            "record_type": "document",
            "filename": filename or f"{document_id}.bin",
            "content_type": content_type,
            "sha256": hashlib.sha256(content).hexdigest(),
            "size": {"amount": len(content), "unit": "bytes"},
            "av_scan_status": "infected" if infected else "scanned",
            "status": "pending",
        }
        if customer_reference is not None:
            document["customer_reference"] = customer_reference
        self._stamp(document, created=True)
        document["_unlinked_since"] = document["_created"]
        self._next_sweep = min(self._next_sweep, document["_created"] + self.config.document_ttl)
        self.tables["documents"][document_id] = document
        self.blobs[document_id] = content
        return self._render_document(document)

    def _review_document(self, document: Record) -> None:
        """pending -> verified/denied once the review time has passed on the sandbox clock."""
        if document["status"] != "pending" or self.now() < document["_created"] + self.config.approve_after:
            return
        content = self.blobs.get(document["id"], b"")
        denied = document["av_scan_status"] == "infected" or DENY_MARKER in content
        document["status"] = "denied" if denied else "verified"

    def _render_document(self, document: Record) -> Record:
        self._review_document(document)
        return public(document)

    @_locked
    def list_documents(self, filters: dict[str, Any]) -> list[Record]:
        documents = list(self.tables["documents"].values())
        if "customer_reference" in filters:
            documents = [d for d in documents if _matches_reference(d, filters["customer_reference"])]
        filename = filters.get("filename")
        if filename is not None:
            needle = str(operator_value(filename, "contains") or "").lower()
            documents = [d for d in documents if needle in d["filename"].lower()]
        created = filters.get("created_at")
        if isinstance(created, dict):
            if "gt" in created:
                documents = [d for d in documents if d["created_at"] > _normal_time(created["gt"], "gt")]
            if "lt" in created:
                documents = [d for d in documents if d["created_at"] < _normal_time(created["lt"], "lt")]
        return [self._render_document(d) for d in documents]

    @_locked
    def get_document(self, document_id: str) -> Record:
        return self._render_document(self._get("documents", document_id, "document"))

    @_writes
    def update_document(self, document_id: str, changes: dict[str, Any]) -> Record:
        document = self._get("documents", document_id, "document")
        for key in ("customer_reference", "filename"):
            if key in changes and changes[key] is not None:
                document[key] = changes[key]
        self._stamp(document)
        return self._render_document(document)

    @_writes
    def delete_document(self, document_id: str) -> Record:
        document = self._get("documents", document_id, "document")
        links = [
            link for link in self.tables["document_links"].values() if link["document_id"] == document_id
        ]
        if links:
            linked = ", ".join(f"{link['linked_record_type']} {link['linked_resource_id']}" for link in links)
            raise error(
                422,
                f"Document {document_id} is linked to {linked}; unlink it before deleting it.",
                pointer="/id",
                title="Document is linked",
            )
        rendered = self._render_document(document)
        self._delete_document(document_id)
        return rendered

    def _delete_document(self, document_id: str) -> None:
        self.tables["documents"].pop(document_id, None)
        self.blobs.pop(document_id, None)
        for token, link in list(self.download_tokens.items()):
            if link["document_id"] == document_id:
                del self.download_tokens[token]

    @_locked
    def document_content(self, document_id: str) -> tuple[bytes, Record]:
        document = self._get("documents", document_id, "document")
        return self.blobs[document_id], public(document)

    @_writes
    def create_download_token(self, document_id: str) -> str:
        self._get("documents", document_id, "document")
        token = secrets.token_urlsafe(24)
        self.download_tokens[token] = {
            "document_id": document_id,
            "expires": self.now() + self.config.download_link_ttl,
        }
        return token

    @_locked
    def content_for_token(self, token: str) -> tuple[bytes, Record]:
        link = self.download_tokens.get(token)
        if link is None or link["expires"] <= self.now():
            raise error(404, "This download link does not exist or has expired.", pointer="/token")
        document = self._get("documents", link["document_id"], "document")
        return self.blobs[document["id"]], public(document)

    @_locked
    def list_document_links(self, filters: dict[str, Any]) -> list[Record]:
        links = list(self.tables["document_links"].values())
        for key in ("linked_record_type", "linked_resource_id"):
            if key in filters:
                links = [link for link in links if link[key] == str(filters[key])]
        return [public(link) for link in links]

    def _relink(self, record_type: str, resource_id: str, document_ids: Iterable[str]) -> None:
        """Make the document links of one resource exactly ``document_ids``."""
        wanted = set(document_ids)
        links = self.tables["document_links"]
        for link_id, old in list(links.items()):
            if old["linked_resource_id"] == resource_id and old["document_id"] not in wanted:
                del links[link_id]
                self._mark_unlinked(old["document_id"])
        existing = {
            link["document_id"] for link in links.values() if link["linked_resource_id"] == resource_id
        }
        for document_id in sorted(wanted - existing):
            link: Record = {
                "id": self._new_id(),
                "record_type": "document_link",
                "document_id": document_id,
                "linked_record_type": record_type,
                "linked_resource_id": resource_id,
            }
            links[link["id"]] = self._stamp(link, created=True)
            document = self.tables["documents"].get(document_id)
            if document is not None:
                document["_unlinked_since"] = None

    def _mark_unlinked(self, document_id: str) -> None:
        document = self.tables["documents"].get(document_id)
        if document is None:
            return
        if not any(link["document_id"] == document_id for link in self.tables["document_links"].values()):
            document["_unlinked_since"] = self.now()
            self._next_sweep = min(self._next_sweep, self.now() + self.config.document_ttl)

    # -- user addresses -------------------------------------------------------------------------------------

    @_writes
    def create_address(self, fields: dict[str, Any]) -> Record:
        country = str(fields["country_code"]).upper()
        address: Record = {"id": self._new_id(), "record_type": "user_address"}
        address.update({key: value for key, value in fields.items() if value is not None})
        address["country_code"] = country
        address.pop("skip_address_verification", None)
        self._stamp(address, created=True)
        self.tables["user_addresses"][address["id"]] = address
        return public(address)

    @_locked
    def list_addresses(self, filters: dict[str, Any]) -> list[Record]:
        addresses = list(self.tables["user_addresses"].values())
        if "customer_reference" in filters:
            addresses = [a for a in addresses if _matches_reference(a, filters["customer_reference"])]
        street = filters.get("street_address")
        if street is not None:
            needle = str(operator_value(street, "contains") or "").lower()
            addresses = [a for a in addresses if needle in str(a.get("street_address", "")).lower()]
        return [public(a) for a in addresses]

    @_locked
    def get_address(self, address_id: str) -> Record:
        return public(self._get("user_addresses", address_id, "user address"))

    # -- requirement values ---------------------------------------------------------------------------------

    def _value_problem(self, requirement_type: RequirementType, value: str, country_code: str) -> str | None:
        """Why a value would be declined by review, or ``None`` when it passes."""
        if requirement_type.field_type == "textual":
            problem = requirement_type.check_text(value)
            return None if problem is None else f"{requirement_type.name}: {problem}"
        if requirement_type.field_type == "document":
            document = self.tables["documents"].get(value)
            if document is None:
                return f"{requirement_type.name}: document {value} no longer exists"
            self._review_document(document)
            if document["av_scan_status"] == "infected":
                return f"{requirement_type.name}: document {value} failed the antivirus scan (infected)"
            if document["status"] == "denied":
                return f"{requirement_type.name}: document {value} was denied by review"
            return None
        address = self.tables["user_addresses"].get(value)
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
        if requirement_type.field_type == "document" and value not in self.tables["documents"]:
            raise error(
                422,
                f"Document '{value}' does not exist ({requirement_type.name} needs a document id).",
                pointer=pointer,
            )
        if requirement_type.field_type == "address" and value not in self.tables["user_addresses"]:
            raise error(
                422,
                f"User address '{value}' does not exist ({requirement_type.name} needs an address id).",
                pointer=pointer,
            )

    def _apply_values(
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

    # -- requirement groups ---------------------------------------------------------------------------------

    def _requirement_for(self, country_code: str, phone_number_type: str, action: str) -> Requirement:
        requirement = self.catalogue.find(country_code, phone_number_type, action)
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
        values = self._apply_values(
            requirement, {}, fields.get("regulatory_requirements") or [], "/regulatory_requirements"
        )
        group: Record = {
            "id": self._new_id(),
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
        self._stamp(group, created=True)
        self.tables["requirement_groups"][group["id"]] = group
        self._sync_entries(group, requirement)
        return self._render_group(group)

    def _sync_entries(self, group: Record, requirement: Requirement) -> None:
        """Per-requirement entries (status, timestamps) follow the group's values; links follow documents."""
        entries: dict[str, Record] = group["_entries"]
        stamp = iso(self.now())
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
        self._relink("requirement_group", group["id"], documents)

    def _refresh_group(self, group: Record) -> None:
        """Apply review and expiry that are due on the sandbox clock."""
        now = self.now()
        if group["status"] == "pending-approval":
            decided_at = group["_submitted"] + self.config.approve_after
            if now >= decided_at:
                self._decide_group(group, decided_at)
        if group["status"] == "approved" and self.config.group_ttl > 0:
            expires = group["_approved"] + self.config.group_ttl
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
            problem = self._value_problem(requirement_type, value, group["country_code"])
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
            if self.config.group_ttl > 0:
                for entry in group["_entries"].values():
                    entry["expires_at"] = iso(decided_at + self.config.group_ttl)

    def _expire_group(self, group: Record, at: float) -> None:
        group["status"] = "expired"
        group["status_reason"] = "The approval of this requirement group has expired; update and resubmit it."
        group["updated_at"] = iso(at)
        for entry in group["_entries"].values():
            entry["status"] = "expired"
            entry["updated_at"] = iso(at)

    def _render_group(self, group: Record) -> Record:
        self._refresh_group(group)
        rendered = public(group)
        rendered["regulatory_requirements"] = [dict(entry) for entry in group["_entries"].values()]
        return rendered

    def _group(self, group_id: str) -> Record:
        group = self._get("requirement_groups", group_id, "requirement group")
        self._refresh_group(group)
        return group

    @_locked
    def get_group(self, group_id: str) -> Record:
        return self._render_group(self._group(group_id))

    @_locked
    def list_groups(self, filters: dict[str, Any]) -> list[Record]:
        groups = list(self.tables["requirement_groups"].values())
        for group in groups:
            self._refresh_group(group)
        for key in ("country_code", "phone_number_type", "action", "status"):
            if key in filters:
                wanted = str(operator_value(filters[key]))
                groups = [g for g in groups if str(g.get(key, "")).upper() == wanted.upper()]
        if "customer_reference" in filters:
            groups = [g for g in groups if _matches_reference(g, filters["customer_reference"])]
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
            group["_values"] = self._apply_values(
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
        self._stamp(group)
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
        now = self.now()
        group["status"] = "pending-approval"
        group["_submitted"] = now
        group.pop("status_reason", None)
        for entry in group["_entries"].values():
            entry["status"] = "pending-approval"
            entry["updated_at"] = iso(now)
            entry.pop("status_reason", None)
            entry.pop("expires_at", None)
        self._stamp(group)
        return self._render_group(group)

    @_writes
    def expire_group(self, group_id: str) -> Record:
        """Sandbox-only: end an approval now (as the clock would after ``group_ttl``)."""
        group = self._group(group_id)
        self._expire_group(group, self.now())
        return self._render_group(group)

    @_writes
    def delete_group(self, group_id: str) -> Record:
        group = self._group(group_id)
        rendered = self._render_group(group)
        self._relink("requirement_group", group_id, [])
        del self.tables["requirement_groups"][group_id]
        return rendered

    @_locked
    def group_requirement(self, group_id: str) -> Requirement:
        group = self._get("requirement_groups", group_id, "requirement group")
        return self._requirement_for(group["country_code"], group["phone_number_type"], group["action"])

    # -- number orders --------------------------------------------------------------------------------------

    def _attachable_group(
        self, group_id: Any, country_code: str, phone_number_type: str, pointer: str
    ) -> Record:
        group = self.tables["requirement_groups"].get(str(group_id))
        if group is None:
            raise error(422, f"Requirement group '{group_id}' does not exist.", pointer=pointer)
        self._refresh_group(group)
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

    def _active_numbers(self) -> frozenset[str]:
        """Phone numbers ordered and not cancelled. Rebuilt only after orders were added (a bulk run adds
        one order per row) or cancelled (a cancellation changes the sub-number order, not the numbers)."""
        table = self.tables["number_order_phone_numbers"]
        key = (len(table), self._cancellations)
        cached = self._active_cache
        if cached is None or cached[0] != key:
            cached = self._active_cache = (
                key,
                frozenset(n["phone_number"] for n in table.values() if not self._number_cancelled(n)),
            )
        return cached[1]

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
                    bundle = self.tables["user_bundles"].get(str(entry["bundle_id"]))
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
            "id": self._new_id(),
            "record_type": "number_order",
            "_sub_ids": [],
            "_number_ids": [],
        }
        for key in ("customer_reference", "connection_id", "messaging_profile_id", "billing_group_id"):
            if fields.get(key) is not None:
                order[key] = fields[key]
        self._stamp(order, created=True)
        subs: dict[tuple[str, str], Record] = {}
        for entry, info in infos:
            sub_key = (info.country_code, info.phone_number_type)
            sub = subs.get(sub_key)
            if sub is None:
                sub = {
                    "id": self._new_id(),
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
                self._stamp(sub, created=True)
                subs[sub_key] = sub
                self.tables["sub_number_orders"][sub["id"]] = sub
                order["_sub_ids"].append(sub["id"])
            number: Record = {
                "id": self._new_id(),
                "record_type": "number_order_phone_number",
                "phone_number": info.phone_number,
                "country_code": info.country_code,
                "phone_number_type": info.phone_number_type,
                "locality": info.locality,
                "order_request_id": order["id"],
                "sub_number_order_id": sub["id"],
                "bundle_id": entry.get("bundle_id") or None,
                "is_block_number": False,
                "deadline": iso(self.now() + 30 * 86400),
                "_group_id": entry.get("requirement_group_id") or None,
                "_values": {},
            }
            self.tables["number_order_phone_numbers"][number["id"]] = number
            sub["_number_ids"].append(number["id"])
            order["_number_ids"].append(number["id"])
            if number["bundle_id"]:
                self._add_bundle_resource(number["bundle_id"], info.phone_number)
            self._relink_number(number)
        for sub in subs.values():
            # Numbers ordered with one requirement group attach it to the sub-number order they make up.
            carried = {
                self.tables["number_order_phone_numbers"][nid]["_group_id"] for nid in sub["_number_ids"]
            }
            if len(carried) == 1 and None not in carried:
                sub["_group_id"] = carried.pop()
        self.tables["number_orders"][order["id"]] = order
        return self._render_order(order, full=True)

    def _number_cancelled(self, number: Record) -> bool:
        sub = self.tables["sub_number_orders"].get(number["sub_number_order_id"])
        return bool(sub and sub["_cancelled"])

    def _number_requirement(self, number: Record) -> Requirement | None:
        return self.catalogue.find(number["country_code"], number["phone_number_type"], "ordering")

    def _number_state(self, number: Record) -> tuple[bool, str, list[Record]]:
        """(requirements_met, requirements_status, regulatory_requirements with values) of one number."""
        requirement = self._number_requirement(number)
        types = requirement.types if requirement else ()
        group = self.tables["requirement_groups"].get(number["_group_id"] or "")
        if group is not None:
            self._refresh_group(group)
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
            problems = [self._value_problem(t, values[t.id], number["country_code"]) for t in types]
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
        numbers = [self.tables["number_order_phone_numbers"][nid] for nid in sub["_number_ids"]]
        states = [self._number_state(n) for n in numbers]
        rendered = public(sub)
        met = all(state[0] for state in states)
        rendered["requirements_met"] = met and not sub["_cancelled"]
        rendered["status"] = "failure" if sub["_cancelled"] else ("success" if met else "pending")
        rendered["phone_numbers_count"] = len(numbers)
        requirement = self.catalogue.find(sub["country_code"], sub["phone_number_type"], "ordering")
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
        numbers = [self.tables["number_order_phone_numbers"][nid] for nid in order["_number_ids"]]
        subs = [self._render_sub(self.tables["sub_number_orders"][sid]) for sid in order["_sub_ids"]]
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
        orders = [self._render_order(o, full=False) for o in self.tables["number_orders"].values()]
        if "customer_reference" in filters:
            orders = [o for o in orders if _matches_reference(o, filters["customer_reference"])]
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
                orders = [o for o in orders if o["created_at"] > _normal_time(created["gt"], "gt")]
            if "lt" in created:
                orders = [o for o in orders if o["created_at"] < _normal_time(created["lt"], "lt")]
        return orders

    @_locked
    def get_number_order(self, order_id: str) -> Record:
        return self._render_order(self._get("number_orders", order_id, "number order"), full=True)

    @_writes
    def update_number_order(self, order_id: str, fields: dict[str, Any]) -> Record:
        order = self._get("number_orders", order_id, "number order")
        if fields.get("customer_reference") is not None:
            order["customer_reference"] = fields["customer_reference"]
        if fields.get("regulatory_requirements") is not None:
            for number_id in order["_number_ids"]:
                self._update_number_values(
                    self.tables["number_order_phone_numbers"][number_id],
                    fields["regulatory_requirements"],
                    lenient=True,
                )
        self._stamp(order)
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
        number["_values"] = self._apply_values(
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
        self._relink("number_order_phone_number", number["id"], documents)

    @_locked
    def list_sub_orders(self, filters: dict[str, Any]) -> list[Record]:
        subs = [self._render_sub(s) for s in self.tables["sub_number_orders"].values()]
        for key in ("country_code", "phone_number_type", "status", "order_request_id"):
            if key in filters:
                subs = [s for s in subs if str(s.get(key, "")).lower() == str(filters[key]).lower()]
        if "phone_numbers_count" in filters:
            subs = [s for s in subs if str(s["phone_numbers_count"]) == str(filters["phone_numbers_count"])]
        return subs

    @_locked
    def get_sub_order(self, sub_id: str, *, include_numbers: bool = False) -> Record:
        return self._render_sub(
            self._get("sub_number_orders", sub_id, "sub number order"), include_numbers=include_numbers
        )

    @_writes
    def update_sub_order(self, sub_id: str, fields: dict[str, Any]) -> Record:
        sub = self._get("sub_number_orders", sub_id, "sub number order")
        if fields.get("regulatory_requirements") is not None:
            for number_id in sub["_number_ids"]:
                self._update_number_values(
                    self.tables["number_order_phone_numbers"][number_id],
                    fields["regulatory_requirements"],
                    lenient=False,
                )
        self._stamp(sub)
        return self._render_sub(sub)

    @_writes
    def cancel_sub_order(self, sub_id: str) -> Record:
        sub = self._get("sub_number_orders", sub_id, "sub number order")
        status = self._render_sub(sub)["status"]
        if status != "pending":
            raise error(
                422,
                f"Only pending sub number orders can be cancelled; this one is {status}.",
                pointer="/status",
                title="Sub number order not cancellable",
            )
        sub["_cancelled"] = True
        self._cancellations += 1
        self._stamp(sub)
        return self._render_sub(sub)

    @_writes
    def attach_group_to_sub_order(self, sub_id: str, group_id: str) -> Record:
        sub = self._get("sub_number_orders", sub_id, "sub number order")
        if sub["_cancelled"]:
            raise error(422, "The sub number order is cancelled.", pointer="/requirement_group_id")
        self._attachable_group(
            group_id, sub["country_code"], sub["phone_number_type"], "/requirement_group_id"
        )
        sub["_group_id"] = group_id
        for number_id in sub["_number_ids"]:
            self.tables["number_order_phone_numbers"][number_id]["_group_id"] = group_id
        self._stamp(sub)
        return self._render_sub(sub, include_numbers=True)

    @_locked
    def list_numbers(self, filters: dict[str, Any]) -> list[Record]:
        numbers = list(self.tables["number_order_phone_numbers"].values())
        if "country_code" in filters:
            numbers = [
                n for n in numbers if n["country_code"].upper() == str(filters["country_code"]).upper()
            ]
        return [self._render_number(n) for n in numbers]

    @_locked
    def get_number(self, number_id: str) -> Record:
        return self._render_number(
            self._get("number_order_phone_numbers", number_id, "number order phone number")
        )

    @_writes
    def update_number(self, number_id: str, fields: dict[str, Any]) -> Record:
        number = self._get("number_order_phone_numbers", number_id, "number order phone number")
        if fields.get("regulatory_requirements") is not None:
            self._update_number_values(number, fields["regulatory_requirements"], lenient=False)
        return self._render_number(number)

    @_writes
    def attach_group_to_number(self, number_id: str, group_id: str) -> Record:
        number = self._get("number_order_phone_numbers", number_id, "number order phone number")
        if self._number_cancelled(number):
            raise error(422, "The number's sub number order is cancelled.", pointer="/requirement_group_id")
        self._attachable_group(
            group_id, number["country_code"], number["phone_number_type"], "/requirement_group_id"
        )
        number["_group_id"] = group_id
        return self._render_number(number, "sub_order")

    # -- bundles --------------------------------------------------------------------------------------------

    def billing_bundle_summary(self, bundle: Record) -> Record:
        keys = (
            "id",
            "name",
            "slug",
            "cost_code",
            "currency",
            "mrc_price",
            "is_public",
            "created_at",
            "specs",
        )
        return {key: bundle[key] for key in keys}

    def list_billing_bundles(self, filters: dict[str, Any]) -> list[Record]:
        bundles = list(self.catalogue.billing_bundles)
        if "country_iso" in filters:
            wanted = {v.upper() for v in filter_values(filters["country_iso"])}
            bundles = [b for b in bundles if b["country_iso"] in wanted]
        return [self.billing_bundle_summary(b) for b in bundles]

    def get_billing_bundle(self, bundle_id: str) -> Record:
        bundle = self.catalogue.billing_bundle(bundle_id)
        if bundle is None:
            raise not_found("billing bundle", bundle_id)
        keys = ("id", "name", "slug", "cost_code", "active", "is_public", "created_at", "bundle_limits")
        return {key: bundle[key] for key in keys}

    @_writes
    def create_user_bundles(self, items: list[dict[str, Any]], idempotency_key: str | None) -> list[Record]:
        if idempotency_key:
            earlier = [
                b
                for b in self.tables["user_bundles"].values()
                if b.get("_idempotency_key") == idempotency_key
            ]
            if earlier:
                return [public(b) for b in earlier]
        problems = []
        for index, item in enumerate(items):
            if self.catalogue.billing_bundle(str(item["billing_bundle_id"])) is None:
                problems.append(
                    ErrorItem(
                        f"Billing bundle '{item['billing_bundle_id']}' does not exist.",
                        pointer=f"/items/{index}/billing_bundle_id",
                    )
                )
            if int(item["quantity"]) < 1:
                problems.append(ErrorItem("quantity must be at least 1.", pointer=f"/items/{index}/quantity"))
        if not problems and sum(int(item["quantity"]) for item in items) > MAX_USER_BUNDLES_PER_REQUEST:
            problems.append(
                ErrorItem(
                    f"The sandbox creates at most {MAX_USER_BUNDLES_PER_REQUEST} user bundles per request.",
                    pointer="/items",
                )
            )
        if problems:
            raise SandboxError(422, problems)
        created = []
        for item in items:
            bundle = self.catalogue.billing_bundle(str(item["billing_bundle_id"]))
            assert bundle is not None
            for _ in range(int(item["quantity"])):
                user_bundle: Record = {
                    "id": self._new_id(),
                    "active": True,
                    "user_id": SANDBOX_USER_ID,
                    "created_at": iso_date(self.now()),
                    "updated_at": None,
                    "billing_bundle": self.billing_bundle_summary(bundle),
                    "resources": [],
                    "_idempotency_key": idempotency_key,
                    "_country": bundle["country_iso"],
                }
                self.tables["user_bundles"][user_bundle["id"]] = user_bundle
                created.append(public(user_bundle))
        return created

    def _add_bundle_resource(self, bundle_id: str, phone_number: str) -> None:
        bundle = self.tables["user_bundles"][bundle_id]
        bundle["resources"].append(
            {
                "id": self._new_id(),
                "resource": phone_number,
                "resource_type": "number",
                "created_at": iso_date(self.now()),
                "updated_at": None,
            }
        )
        bundle["updated_at"] = iso_date(self.now())

    @_locked
    def list_user_bundles(self, filters: dict[str, Any]) -> list[Record]:
        bundles = list(self.tables["user_bundles"].values())
        if "country_iso" in filters:
            wanted = {v.upper() for v in filter_values(filters["country_iso"])}
            bundles = [b for b in bundles if b["_country"] in wanted]
        if "resource" in filters:
            wanted = set(filter_values(filters["resource"]))
            bundles = [b for b in bundles if wanted & {r["resource"] for r in b["resources"]}]
        return [public(b) for b in bundles]

    @_locked
    def unused_user_bundles(self, filters: dict[str, Any]) -> list[Record]:
        grouped: dict[str, Record] = {}
        for bundle in self.list_user_bundles(filters):
            if bundle["active"] and not bundle["resources"]:
                entry = grouped.setdefault(
                    bundle["billing_bundle"]["id"],
                    {"billing_bundle": bundle["billing_bundle"], "user_bundle_ids": []},
                )
                entry["user_bundle_ids"].append(bundle["id"])
        return list(grouped.values())

    @_locked
    def get_user_bundle(self, bundle_id: str) -> Record:
        return public(self._get("user_bundles", bundle_id, "user bundle"))

    @_writes
    def deactivate_user_bundle(self, bundle_id: str) -> Record:
        bundle = self._get("user_bundles", bundle_id, "user bundle")
        if not bundle["active"]:
            raise error(422, f"User bundle {bundle_id} is already deactivated.", pointer="/active")
        bundle["active"] = False
        bundle["updated_at"] = iso_date(self.now())
        return public(bundle)

    @_locked
    def user_bundle_resources(self, bundle_id: str) -> list[Record]:
        return list(self._get("user_bundles", bundle_id, "user bundle")["resources"])

    # -- verified numbers -----------------------------------------------------------------------------------

    def _code_for(self, phone_number: str, attempt: int) -> str:
        digest = hmac.new(
            str(self.config.seed).encode(), f"{phone_number}/{attempt}".encode(), hashlib.sha256
        )
        return f"{int.from_bytes(digest.digest()[:8], 'big') % 1_000_000:06d}"

    @_writes
    def request_verification(self, phone_number: str, method: str) -> Record:
        try:
            info = classify_number(phone_number)
        except ValueError as exc:
            raise error(422, str(exc), pointer="/phone_number", code="10016") from None
        if info.phone_number in self.tables["verified_numbers"]:
            raise error(422, f"{info.phone_number} is already verified.", pointer="/phone_number")
        previous = self.verifications.get(info.phone_number)
        attempt = previous["attempt"] + 1 if previous else 1
        self.verifications[info.phone_number] = {
            "code": self._code_for(info.phone_number, attempt),
            "attempt": attempt,
            "method": method,
            "expires": self.now() + self.config.verification_code_ttl,
        }
        return {"phone_number": info.phone_number, "verification_method": method}

    @_locked
    def verification_code(self, phone_number: str) -> Record:
        pending = self.verifications.get(phone_number)
        if pending is None:
            raise error(404, f"No verification was requested for {phone_number}.", pointer="/phone_number")
        return {
            "phone_number": phone_number,
            "verification_code": pending["code"],
            "verification_method": pending["method"],
            "expires_at": iso(pending["expires"]),
            "expired": pending["expires"] <= self.now(),
        }

    @_writes
    def verify(self, phone_number: str, code: str) -> Record:
        pending = self.verifications.get(phone_number)
        if pending is None:
            raise error(404, f"No verification is pending for {phone_number}.", pointer="/phone_number")
        if pending["expires"] <= self.now():
            raise error(
                422,
                "The verification code has expired; request a new one.",
                pointer="/verification_code",
                title="Verification code expired",
            )
        # Bytes: compare_digest refuses str holding anything but ASCII (a TypeError, so a 500, for "é").
        given = code.encode("utf-8", "surrogatepass")
        if not hmac.compare_digest(str(pending["code"]).encode(), given):
            raise error(
                400,
                "The verification code is not correct.",
                pointer="/verification_code",
                title="Invalid verification code",
            )
        del self.verifications[phone_number]
        record = {
            "phone_number": phone_number,
            "record_type": "verified_number",
            "verified_at": datetime.fromtimestamp(self.now(), UTC).strftime("%Y-%m-%dT%H:%M:%S.%f"),
        }
        self.tables["verified_numbers"][phone_number] = record
        return dict(record)

    @_locked
    def list_verified(self) -> list[Record]:
        return [dict(r) for r in self.tables["verified_numbers"].values()]

    @_locked
    def get_verified(self, phone_number: str) -> Record:
        return dict(self._get("verified_numbers", phone_number, "verified number"))

    @_writes
    def delete_verified(self, phone_number: str) -> Record:
        record = self._get("verified_numbers", phone_number, "verified number")
        del self.tables["verified_numbers"][phone_number]
        return dict(record)

    # -- introspection and persistence ----------------------------------------------------------------------

    @_locked
    def resource_counts(self) -> dict[str, int]:
        return {kind: len(table) for kind, table in self.tables.items()}

    @_locked
    def duplicates(self) -> dict[str, dict[str, int]]:
        """Resources of one type sharing a ``customer_reference``: what an idempotent pipeline avoids."""
        found: dict[str, dict[str, int]] = {}
        for kind, table in self.tables.items():
            counts = Counter(r["customer_reference"] for r in table.values() if r.get("customer_reference"))
            repeated = {reference: n for reference, n in sorted(counts.items()) if n > 1}
            if repeated:
                found[kind] = repeated
        return found

    @_locked
    def snapshot(self) -> dict[str, Any]:
        """The whole state as JSON-ready data (document bytes base64)."""
        return {
            "version": 1,
            "clock_offset": self._clock_offset,
            "rng": _rng_state(self._rng),
            "tables": self.tables,
            "blobs": {key: base64.b64encode(value).decode() for key, value in self.blobs.items()},
            "download_tokens": self.download_tokens,
            "verifications": self.verifications,
        }

    def restore(self, snapshot: dict[str, Any]) -> None:
        with self.lock:
            self._init_state()
            self._clock_offset = float(snapshot["clock_offset"])
            state = snapshot["rng"]
            self._rng.setstate((state[0], tuple(state[1]), state[2]))
            for kind in KINDS:
                self.tables[kind] = dict(snapshot["tables"].get(kind, {}))
            self.blobs = {key: base64.b64decode(value) for key, value in snapshot["blobs"].items()}
            self.download_tokens = dict(snapshot["download_tokens"])
            self.verifications = dict(snapshot["verifications"])


def _rng_state(rng: random.Random) -> list[Any]:
    version, internal, gauss = rng.getstate()
    return [version, list(internal), gauss]


def _normal_time(value: Any, operator: str) -> str:
    """A ``created_at[gt|lt]`` filter value in the store's timestamp format, for string comparison."""
    text = str(value).strip().replace(" ", "+")
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise error(
            422,
            f"filter[created_at][{operator}] must be an ISO 8601 date-time; got '{value}'.",
            parameter=f"filter[created_at][{operator}]",
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        parsed = parsed.astimezone(UTC)
    except OverflowError:
        # In UTC it falls before year 1 or after 9999 (e.g. 0001-01-01T00:00+00:01): the ends of the range
        # compare the same way with every stored timestamp.
        parsed = (datetime.min if parsed.year == 1 else datetime.max).replace(tzinfo=UTC)
    return parsed.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
