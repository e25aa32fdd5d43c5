"""User addresses (``/user_addresses``)."""

from __future__ import annotations

from .shared import RequestModel, TelnyxModel

__all__ = [
    "UserAddress",
    "UserAddressCreateParams",
    "UserAddressCreateResponse",
    "UserAddressRetrieveResponse",
]


class UserAddress(TelnyxModel):
    id: str | None = None
    record_type: str | None = None
    customer_reference: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    business_name: str | None = None
    phone_number: str | None = None
    street_address: str | None = None
    extended_address: str | None = None
    locality: str | None = None
    administrative_area: str | None = None
    neighborhood: str | None = None
    borough: str | None = None
    postal_code: str | None = None
    country_code: str | None = None
    created_at: str | None = None
    updated_at: str | None = None


class UserAddressCreateResponse(TelnyxModel):
    data: UserAddress | None = None


class UserAddressRetrieveResponse(TelnyxModel):
    data: UserAddress | None = None


class UserAddressCreateParams(RequestModel):
    """``UserAddressCreate``."""

    first_name: str
    last_name: str
    business_name: str
    street_address: str
    locality: str
    country_code: str
    administrative_area: str | None = None
    borough: str | None = None
    customer_reference: str | None = None
    extended_address: str | None = None
    neighborhood: str | None = None
    phone_number: str | None = None
    postal_code: str | None = None
    skip_address_verification: bool | None = None
