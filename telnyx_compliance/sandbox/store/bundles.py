"""Bundle pricing: the catalog's billing bundles and the user bundles ordered from them."""

from __future__ import annotations

from typing import Any

from ..errors import ErrorItem, SandboxError, error, not_found
from ..query import filter_values
from .core import (
    MAX_USER_BUNDLES_PER_REQUEST,
    SANDBOX_USER_ID,
    Part,
    Record,
    _locked,
    _writes,
    iso_date,
    public,
)


class BundlesStore(Part):
    """``/bundle_pricing``: billing bundles from the catalog; user bundles ordered, listed, deactivated."""

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
        bundles = list(self.core.catalog.billing_bundles)
        if "country_iso" in filters:
            wanted = {v.upper() for v in filter_values(filters["country_iso"])}
            bundles = [b for b in bundles if b["country_iso"] in wanted]
        return [self.billing_bundle_summary(b) for b in bundles]

    def get_billing_bundle(self, bundle_id: str) -> Record:
        bundle = self.core.catalog.billing_bundle(bundle_id)
        if bundle is None:
            raise not_found("billing bundle", bundle_id)
        keys = ("id", "name", "slug", "cost_code", "active", "is_public", "created_at", "bundle_limits")
        return {key: bundle[key] for key in keys}

    @_writes
    def create_user_bundles(self, items: list[dict[str, Any]], idempotency_key: str | None) -> list[Record]:
        if idempotency_key:
            earlier = [
                b
                for b in self.core.tables["user_bundles"].values()
                if b.get("_idempotency_key") == idempotency_key
            ]
            if earlier:
                return [public(b) for b in earlier]
        problems = []
        for index, item in enumerate(items):
            if self.core.catalog.billing_bundle(str(item["billing_bundle_id"])) is None:
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
            bundle = self.core.catalog.billing_bundle(str(item["billing_bundle_id"]))
            assert bundle is not None
            for _ in range(int(item["quantity"])):
                user_bundle: Record = {
                    "id": self.core.new_id(),
                    "active": True,
                    "user_id": SANDBOX_USER_ID,
                    "created_at": iso_date(self.core.now()),
                    "updated_at": None,
                    "billing_bundle": self.billing_bundle_summary(bundle),
                    "resources": [],
                    "_idempotency_key": idempotency_key,
                    "_country": bundle["country_iso"],
                }
                self.core.tables["user_bundles"][user_bundle["id"]] = user_bundle
                created.append(public(user_bundle))
        return created

    def add_resource(self, bundle_id: str, phone_number: str) -> None:
        bundle = self.core.tables["user_bundles"][bundle_id]
        bundle["resources"].append(
            {
                "id": self.core.new_id(),
                "resource": phone_number,
                "resource_type": "number",
                "created_at": iso_date(self.core.now()),
                "updated_at": None,
            }
        )
        bundle["updated_at"] = iso_date(self.core.now())

    @_locked
    def list_user_bundles(self, filters: dict[str, Any]) -> list[Record]:
        bundles = list(self.core.tables["user_bundles"].values())
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
        return public(self.core.get_record("user_bundles", bundle_id, "user bundle"))

    @_writes
    def deactivate_user_bundle(self, bundle_id: str) -> Record:
        bundle = self.core.get_record("user_bundles", bundle_id, "user bundle")
        if not bundle["active"]:
            raise error(422, f"User bundle {bundle_id} is already deactivated.", pointer="/active")
        bundle["active"] = False
        bundle["updated_at"] = iso_date(self.core.now())
        return public(bundle)

    @_locked
    def user_bundle_resources(self, bundle_id: str) -> list[Record]:
        return list(self.core.get_record("user_bundles", bundle_id, "user bundle")["resources"])
