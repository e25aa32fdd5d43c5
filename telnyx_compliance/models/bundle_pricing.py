"""Bundle pricing: billing bundles and user bundles (``/bundle_pricing/...``)."""

from __future__ import annotations

from typing import Literal

from .shared import PaginationMeta, RequestModel, TelnyxModel

__all__ = [
    "BillingBundle",
    "BillingBundleRetrieveResponse",
    "BillingBundleSummary",
    "BundleLimit",
    "UnusedUserBundle",
    "UserBundle",
    "UserBundleCreateItem",
    "UserBundleCreateParams",
    "UserBundleCreateResponse",
    "UserBundleDeactivateResponse",
    "UserBundleListResourcesResponse",
    "UserBundleListUnusedResponse",
    "UserBundleResource",
    "UserBundleRetrieveResponse",
]


class BillingBundleSummary(TelnyxModel):
    id: str | None = None
    name: str | None = None
    cost_code: str | None = None
    currency: str | None = None
    is_public: bool | None = None
    mrc_price: float | None = None
    slug: str | None = None
    specs: list[str] | None = None
    created_at: str | None = None


class BundleLimit(TelnyxModel):
    """``BundleLimitSchema``."""

    id: str | None = None
    billing_service: str | None = None
    country: str | None = None
    country_code: int | None = None
    country_iso: str | None = None
    direction: Literal["inbound", "outbound"] | str | None = None
    limit: int | None = None
    metric: str | None = None
    rate: str | None = None
    service: str | None = None
    types: list[str] | None = None
    created_at: str | None = None
    updated_at: str | None = None


class BillingBundle(TelnyxModel):
    """``BillingBundleSchema``."""

    id: str | None = None
    name: str | None = None
    active: bool | None = None
    bundle_limits: list[BundleLimit] | None = None
    cost_code: str | None = None
    is_public: bool | None = None
    slug: str | None = None
    created_at: str | None = None


class BillingBundleRetrieveResponse(TelnyxModel):
    data: BillingBundle | None = None


class UserBundleResource(TelnyxModel):
    """``UserBundleResourceSchema``."""

    id: str | None = None
    resource: str | None = None
    resource_type: str | None = None
    created_at: str | None = None
    updated_at: str | None = None


class UserBundle(TelnyxModel):
    id: str | None = None
    active: bool | None = None
    billing_bundle: BillingBundleSummary | None = None
    resources: list[UserBundleResource] | None = None
    user_id: str | None = None
    created_at: str | None = None
    updated_at: str | None = None


class UnusedUserBundle(TelnyxModel):
    """``UnusedUserBundlesSchema``."""

    billing_bundle: BillingBundleSummary | None = None
    user_bundle_ids: list[str] | None = None


class UserBundleCreateResponse(TelnyxModel):
    """``CreatedUserBundlesResponse`` (201)."""

    data: list[UserBundle] | None = None


class UserBundleListUnusedResponse(TelnyxModel):
    data: list[UnusedUserBundle] | None = None


class UserBundleRetrieveResponse(TelnyxModel):
    data: UserBundle | None = None


class UserBundleDeactivateResponse(TelnyxModel):
    data: UserBundle | None = None


class UserBundleListResourcesResponse(TelnyxModel):
    data: list[UserBundleResource] | None = None


class UserBundleCreateItem(RequestModel):
    billing_bundle_id: str
    quantity: int


class UserBundleCreateParams(RequestModel):
    """``CreateUserBundlesBulkRequest``."""

    idempotency_key: str | None = None
    items: list[UserBundleCreateItem] | None = None


PaginationResponse = PaginationMeta
