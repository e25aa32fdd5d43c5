"""User addresses."""

from __future__ import annotations

from typing import Any

from ..query import operator_value
from .core import Part, Record, _locked, _writes, matches_reference, public


class AddressesStore(Part):
    """``/user_addresses``: create, list (filters), get."""

    @_writes
    def create_address(self, fields: dict[str, Any]) -> Record:
        country = str(fields["country_code"]).upper()
        address: Record = {"id": self.core.new_id(), "record_type": "user_address"}
        address.update({key: value for key, value in fields.items() if value is not None})
        address["country_code"] = country
        address.pop("skip_address_verification", None)
        self.core.stamp(address, created=True)
        self.core.tables["user_addresses"][address["id"]] = address
        return public(address)

    @_locked
    def list_addresses(self, filters: dict[str, Any]) -> list[Record]:
        addresses = list(self.core.tables["user_addresses"].values())
        if "customer_reference" in filters:
            addresses = [a for a in addresses if matches_reference(a, filters["customer_reference"])]
        street = filters.get("street_address")
        if street is not None:
            needle = str(operator_value(street, "contains") or "").lower()
            addresses = [a for a in addresses if needle in str(a.get("street_address", "")).lower()]
        return [public(a) for a in addresses]

    @_locked
    def get_address(self, address_id: str) -> Record:
        return public(self.core.get_record("user_addresses", address_id, "user address"))
