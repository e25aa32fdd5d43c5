"""``client.user_addresses``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from ..._base_client import first_match, path_param, request_body, validate_e164
from ..._pagination import AsyncPaginator
from ...models.user_addresses import (
    UserAddress,
    UserAddressCreateParams,
    UserAddressCreateResponse,
    UserAddressRetrieveResponse,
)
from ._resource import LOOKUP_PAGE_SIZE, AsyncAPIResource, AsyncFindExisting, finder

__all__ = ["AsyncUserAddressesResource"]


class AsyncUserAddressesResource(AsyncAPIResource):
    async def find_by_reference(self, customer_reference: str) -> UserAddress | None:
        """The address stored under exactly this reference (the filter ignores case), or None."""
        page = await self.list(
            filter={"customer_reference": {"eq": customer_reference}}, page_size=LOOKUP_PAGE_SIZE
        ).first_page()
        return first_match(page.data, customer_reference)

    def _find_by_reference(self, customer_reference: str) -> AsyncFindExisting[UserAddressCreateResponse]:
        async def shape(address: UserAddress) -> UserAddressCreateResponse:
            return UserAddressCreateResponse(data=address)

        return finder(lambda: self.find_by_reference(customer_reference), shape)

    async def create(
        self,
        *,
        business_name: str,
        country_code: str,
        first_name: str,
        last_name: str,
        locality: str,
        street_address: str,
        administrative_area: str | None = None,
        borough: str | None = None,
        customer_reference: str | None = None,
        extended_address: str | None = None,
        neighborhood: str | None = None,
        phone_number: str | None = None,
        postal_code: str | None = None,
        skip_address_verification: bool | None = None,
        find_existing: AsyncFindExisting[UserAddressCreateResponse] | None = None,
    ) -> UserAddressCreateResponse:
        """Create an address; with a ``customer_reference`` an ambiguous failure is resolved by looking it up
        (``filter[customer_reference][eq]``) before the POST is replayed."""
        if phone_number is not None:
            validate_e164(phone_number)
        body = request_body(
            UserAddressCreateParams,
            business_name=business_name,
            country_code=country_code,
            first_name=first_name,
            last_name=last_name,
            locality=locality,
            street_address=street_address,
            administrative_area=administrative_area,
            borough=borough,
            customer_reference=customer_reference,
            extended_address=extended_address,
            neighborhood=neighborhood,
            phone_number=phone_number,
            postal_code=postal_code,
            skip_address_verification=skip_address_verification,
        )
        if find_existing is None and customer_reference:
            find_existing = self._find_by_reference(customer_reference)
        return await self._client._post(
            "/user_addresses", UserAddressCreateResponse, json=body, find_existing=find_existing
        )

    def list(
        self,
        *,
        filter: Mapping[str, Any] | None = None,
        page_number: int | None = None,
        page_size: int | None = None,
        sort: Literal["created_at", "first_name", "last_name", "business_name", "street_address"]
        | str
        | None = None,
    ) -> AsyncPaginator[UserAddress]:
        """``filter={"customer_reference": {"eq": ...} or {"contains": ...},
        "street_address": {"contains": ...}}``."""
        return AsyncPaginator(
            self._client,
            "/user_addresses",
            UserAddress,
            params={"filter": filter, "sort": sort},
            page_number=page_number,
            page_size=page_size,
        )

    async def retrieve(self, id: str) -> UserAddressRetrieveResponse:
        return await self._client._get(f"/user_addresses/{path_param(id)}", UserAddressRetrieveResponse)
