"""``client.bundle_pricing.billing_bundles`` and ``client.bundle_pricing.user_bundles``."""

from __future__ import annotations

import builtins
import uuid
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..._base_client import path_param, request_body
from ..._pagination import AsyncPaginator
from ...models.bundle_pricing import (
    BillingBundleRetrieveResponse,
    BillingBundleSummary,
    UserBundle,
    UserBundleCreateItem,
    UserBundleCreateParams,
    UserBundleCreateResponse,
    UserBundleDeactivateResponse,
    UserBundleListResourcesResponse,
    UserBundleListUnusedResponse,
    UserBundleRetrieveResponse,
)
from ._resource import AsyncAPIResource

if TYPE_CHECKING:
    from ..._client import AsyncTelnyx

__all__ = ["AsyncBillingBundlesResource", "AsyncBundlePricingResource", "AsyncUserBundlesResource"]


class AsyncBillingBundlesResource(AsyncAPIResource):
    def list(
        self,
        *,
        filter: Mapping[str, Any] | None = None,
        page_number: int | None = None,
        page_size: int | None = None,
    ) -> AsyncPaginator[BillingBundleSummary]:
        """Bundles you may order; ``filter={"country_iso": ["US"], "resource": ["+15617819942"]}``."""
        return AsyncPaginator(
            self._client,
            "/bundle_pricing/billing_bundles",
            BillingBundleSummary,
            params={"filter": filter},
            page_number=page_number,
            page_size=page_size,
        )

    async def retrieve(self, bundle_id: str) -> BillingBundleRetrieveResponse:
        return await self._client._get(
            f"/bundle_pricing/billing_bundles/{path_param(bundle_id)}", BillingBundleRetrieveResponse
        )


class AsyncUserBundlesResource(AsyncAPIResource):
    async def create(
        self,
        *,
        items: Sequence[UserBundleCreateItem | Mapping[str, Any]] | None = None,
        idempotency_key: str | None = None,
    ) -> UserBundleCreateResponse:
        """Order user bundles (201). An ``idempotency_key`` is generated when not given, which makes the POST
        safe to replay after an ambiguous failure."""
        body = request_body(
            UserBundleCreateParams,
            idempotency_key=idempotency_key or str(uuid.uuid4()),
            items=None if items is None else builtins.list(items),
        )
        return await self._client._post(
            "/bundle_pricing/user_bundles/bulk", UserBundleCreateResponse, json=body, idempotent=True
        )

    def list(
        self,
        *,
        filter: Mapping[str, Any] | None = None,
        page_number: int | None = None,
        page_size: int | None = None,
    ) -> AsyncPaginator[UserBundle]:
        return AsyncPaginator(
            self._client,
            "/bundle_pricing/user_bundles",
            UserBundle,
            params={"filter": filter},
            page_number=page_number,
            page_size=page_size,
        )

    async def list_unused(self, *, filter: Mapping[str, Any] | None = None) -> UserBundleListUnusedResponse:
        return await self._client._get(
            "/bundle_pricing/user_bundles/unused", UserBundleListUnusedResponse, params={"filter": filter}
        )

    async def retrieve(self, user_bundle_id: str) -> UserBundleRetrieveResponse:
        return await self._client._get(
            f"/bundle_pricing/user_bundles/{path_param(user_bundle_id)}", UserBundleRetrieveResponse
        )

    async def deactivate(self, user_bundle_id: str) -> UserBundleDeactivateResponse:
        return await self._client._delete(
            f"/bundle_pricing/user_bundles/{path_param(user_bundle_id)}", UserBundleDeactivateResponse
        )

    async def list_resources(self, user_bundle_id: str) -> UserBundleListResourcesResponse:
        return await self._client._get(
            f"/bundle_pricing/user_bundles/{path_param(user_bundle_id)}/resources",
            UserBundleListResourcesResponse,
        )


class AsyncBundlePricingResource(AsyncAPIResource):
    def __init__(self, client: AsyncTelnyx) -> None:
        super().__init__(client)
        self.billing_bundles = AsyncBillingBundlesResource(client)
        self.user_bundles = AsyncUserBundlesResource(client)
