"""``client.number_orders``, ``client.sub_number_orders`` and ``client.number_order_phone_numbers``."""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from typing import Any

from ..._base_client import first_match, path_param, request_body, validate_e164
from ..._pagination import AsyncPaginator
from ...models.number_orders import (
    NumberOrder,
    NumberOrderCreateParams,
    NumberOrderCreateResponse,
    NumberOrderPhoneNumberListResponse,
    NumberOrderPhoneNumberParam,
    NumberOrderPhoneNumberRetrieveResponse,
    NumberOrderPhoneNumberUpdateRequirementGroupResponse,
    NumberOrderPhoneNumberUpdateRequirementsResponse,
    NumberOrderRetrieveResponse,
    NumberOrderUpdateParams,
    NumberOrderUpdateResponse,
    RegulatoryRequirementsUpdateParams,
    RequirementGroupAssignmentParams,
    SubNumberOrderCancelResponse,
    SubNumberOrderListResponse,
    SubNumberOrderRetrieveResponse,
    SubNumberOrderUpdateRequirementGroupResponse,
    SubNumberOrderUpdateResponse,
    UpdateRegulatoryRequirement,
)
from ._resource import LOOKUP_PAGE_SIZE, AsyncAPIResource, AsyncFindExisting, finder

__all__ = [
    "AsyncNumberOrderPhoneNumbersResource",
    "AsyncNumberOrdersResource",
    "AsyncSubNumberOrdersResource",
]

RequirementValues = Sequence[UpdateRegulatoryRequirement | Mapping[str, Any]]


def _requirements(values: RequirementValues | None) -> builtins.list[Any] | None:
    return None if values is None else builtins.list(values)


class AsyncNumberOrdersResource(AsyncAPIResource):
    async def find_by_reference(self, customer_reference: str) -> NumberOrder | None:
        """The number order placed under exactly this reference (the filter ignores case), or None."""
        page = await self.list(
            filter={"customer_reference": customer_reference}, page_size=LOOKUP_PAGE_SIZE
        ).first_page()
        return first_match(page.data, customer_reference)

    def _find_by_reference(self, customer_reference: str) -> AsyncFindExisting[NumberOrderCreateResponse]:
        async def shape(match: NumberOrder) -> NumberOrderCreateResponse | None:
            if not match.id:
                return None
            order = await self.retrieve(match.id)
            return NumberOrderCreateResponse(data=order.data)

        return finder(lambda: self.find_by_reference(customer_reference), shape)

    async def create(
        self,
        *,
        phone_numbers: Sequence[NumberOrderPhoneNumberParam | Mapping[str, Any]],
        billing_group_id: str | None = None,
        connection_id: str | None = None,
        customer_reference: str | None = None,
        messaging_profile_id: str | None = None,
        find_existing: AsyncFindExisting[NumberOrderCreateResponse] | None = None,
    ) -> NumberOrderCreateResponse:
        """Order numbers: ``phone_numbers=[{"phone_number": "+49...", "requirement_group_id": ...}]``."""
        body = request_body(
            NumberOrderCreateParams,
            phone_numbers=builtins.list(phone_numbers),
            billing_group_id=billing_group_id,
            connection_id=connection_id,
            customer_reference=customer_reference,
            messaging_profile_id=messaging_profile_id,
        )
        for index, entry in enumerate(body["phone_numbers"]):
            validate_e164(entry["phone_number"], field_name=f"phone_numbers[{index}].phone_number")
        if find_existing is None and customer_reference:
            find_existing = self._find_by_reference(customer_reference)
        return await self._client._post(
            "/number_orders", NumberOrderCreateResponse, json=body, find_existing=find_existing
        )

    def list(
        self,
        *,
        filter: Mapping[str, Any] | None = None,
        page_number: int | None = None,
        page_size: int | None = None,
    ) -> AsyncPaginator[NumberOrder]:
        """``filter={"status": ..., "customer_reference": ..., "requirements_met": True,
        "created_at": {"gt": ...}}``."""
        return AsyncPaginator(
            self._client,
            "/number_orders",
            NumberOrder,
            params={"filter": filter},
            page_number=page_number,
            page_size=page_size,
        )

    async def retrieve(self, number_order_id: str) -> NumberOrderRetrieveResponse:
        return await self._client._get(
            f"/number_orders/{path_param(number_order_id)}", NumberOrderRetrieveResponse
        )

    async def update(
        self,
        number_order_id: str,
        *,
        customer_reference: str | None = None,
        regulatory_requirements: RequirementValues | None = None,
    ) -> NumberOrderUpdateResponse:
        body = request_body(
            NumberOrderUpdateParams,
            customer_reference=customer_reference,
            regulatory_requirements=_requirements(regulatory_requirements),
        )
        return await self._client._patch(
            f"/number_orders/{path_param(number_order_id)}", NumberOrderUpdateResponse, json=body
        )


class AsyncSubNumberOrdersResource(AsyncAPIResource):
    async def list(self, *, filter: Mapping[str, Any] | None = None) -> SubNumberOrderListResponse:
        """``filter={"order_request_id": ..., "country_code": ..., "phone_number_type": ...}``."""
        return await self._client._get(
            "/sub_number_orders", SubNumberOrderListResponse, params={"filter": filter}
        )

    async def retrieve(
        self, sub_number_order_id: str, *, filter: Mapping[str, Any] | None = None
    ) -> SubNumberOrderRetrieveResponse:
        """``filter={"include_phone_numbers": True}`` adds the first 50 phone numbers."""
        return await self._client._get(
            f"/sub_number_orders/{path_param(sub_number_order_id)}",
            SubNumberOrderRetrieveResponse,
            params={"filter": filter},
        )

    async def update(
        self, sub_number_order_id: str, *, regulatory_requirements: RequirementValues | None = None
    ) -> SubNumberOrderUpdateResponse:
        body = request_body(
            RegulatoryRequirementsUpdateParams, regulatory_requirements=_requirements(regulatory_requirements)
        )
        return await self._client._patch(
            f"/sub_number_orders/{path_param(sub_number_order_id)}", SubNumberOrderUpdateResponse, json=body
        )

    async def cancel(self, sub_number_order_id: str) -> SubNumberOrderCancelResponse:
        return await self._client._patch(
            f"/sub_number_orders/{path_param(sub_number_order_id)}/cancel", SubNumberOrderCancelResponse
        )

    async def update_requirement_group(
        self, id: str, *, requirement_group_id: str
    ) -> SubNumberOrderUpdateRequirementGroupResponse:
        """Attach a requirement group; setting the same association twice is harmless, so it is retried."""
        body = request_body(RequirementGroupAssignmentParams, requirement_group_id=requirement_group_id)
        return await self._client._post(
            f"/sub_number_orders/{path_param(id)}/requirement_group",
            SubNumberOrderUpdateRequirementGroupResponse,
            json=body,
            idempotent=True,
        )


class AsyncNumberOrderPhoneNumbersResource(AsyncAPIResource):
    async def list(self, *, filter: Mapping[str, Any] | None = None) -> NumberOrderPhoneNumberListResponse:
        """``filter={"country_code": "DE"}``."""
        return await self._client._get(
            "/number_order_phone_numbers", NumberOrderPhoneNumberListResponse, params={"filter": filter}
        )

    async def retrieve(self, number_order_phone_number_id: str) -> NumberOrderPhoneNumberRetrieveResponse:
        return await self._client._get(
            f"/number_order_phone_numbers/{path_param(number_order_phone_number_id)}",
            NumberOrderPhoneNumberRetrieveResponse,
        )

    async def update_requirements(
        self, number_order_phone_number_id: str, *, regulatory_requirements: RequirementValues | None = None
    ) -> NumberOrderPhoneNumberUpdateRequirementsResponse:
        body = request_body(
            RegulatoryRequirementsUpdateParams, regulatory_requirements=_requirements(regulatory_requirements)
        )
        return await self._client._patch(
            f"/number_order_phone_numbers/{path_param(number_order_phone_number_id)}",
            NumberOrderPhoneNumberUpdateRequirementsResponse,
            json=body,
        )

    async def update_requirement_group(
        self, id: str, *, requirement_group_id: str
    ) -> NumberOrderPhoneNumberUpdateRequirementGroupResponse:
        body = request_body(RequirementGroupAssignmentParams, requirement_group_id=requirement_group_id)
        return await self._client._post(
            f"/number_order_phone_numbers/{path_param(id)}/requirement_group",
            NumberOrderPhoneNumberUpdateRequirementGroupResponse,
            json=body,
            idempotent=True,
        )
