"""``client.requirement_types``, ``client.requirements``, ``client.regulatory_requirements`` and
``client.phone_numbers_regulatory_requirements``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..._base_client import path_param, validate_e164_list
from ..._pagination import AsyncPaginator
from ...models.requirements import (
    DocReqsRequirement,
    PhoneNumbersRegulatoryRequirementRetrieveResponse,
    RegulatoryRequirementRetrieveResponse,
    RequirementRetrieveResponse,
    RequirementTypeListResponse,
    RequirementTypeRetrieveResponse,
)
from ._resource import AsyncAPIResource

__all__ = [
    "AsyncPhoneNumbersRegulatoryRequirementsResource",
    "AsyncRegulatoryRequirementsResource",
    "AsyncRequirementTypesResource",
    "AsyncRequirementsResource",
]


class AsyncRequirementTypesResource(AsyncAPIResource):
    async def list(
        self, *, filter: Mapping[str, Any] | None = None, sort: Sequence[str] | None = None
    ) -> RequirementTypeListResponse:
        """``filter={"name": {"contains": "utility bill"}}``, ``sort=["name"]``."""
        return await self._client._get(
            "/requirement_types", RequirementTypeListResponse, params={"filter": filter, "sort": sort}
        )

    async def retrieve(self, id: str) -> RequirementTypeRetrieveResponse:
        return await self._client._get(
            f"/requirement_types/{path_param(id)}", RequirementTypeRetrieveResponse
        )


class AsyncRequirementsResource(AsyncAPIResource):
    def list(
        self,
        *,
        filter: Mapping[str, Any] | None = None,
        page_number: int | None = None,
        page_size: int | None = None,
        sort: Sequence[str] | None = None,
    ) -> AsyncPaginator[DocReqsRequirement]:
        """``filter={"country_code": "DE", "phone_number_type": "local", "action": "ordering"}``."""
        return AsyncPaginator(
            self._client,
            "/requirements",
            DocReqsRequirement,
            params={"filter": filter, "sort": sort},
            page_number=page_number,
            page_size=page_size,
        )

    async def retrieve(self, id: str) -> RequirementRetrieveResponse:
        return await self._client._get(f"/requirements/{path_param(id)}", RequirementRetrieveResponse)


class AsyncRegulatoryRequirementsResource(AsyncAPIResource):
    async def retrieve(
        self, *, filter: Mapping[str, Any] | None = None
    ) -> RegulatoryRequirementRetrieveResponse:
        """``filter={"country_code": "DE", "phone_number_type": "local", "action": "ordering"}`` or
        ``{"phone_number": "+49..."}`` or ``{"requirement_group_id": ...}``."""
        if filter and filter.get("phone_number"):
            validate_e164_list(str(filter["phone_number"]), field_name="filter[phone_number]")
        return await self._client._get(
            "/regulatory_requirements", RegulatoryRequirementRetrieveResponse, params={"filter": filter}
        )


class AsyncPhoneNumbersRegulatoryRequirementsResource(AsyncAPIResource):
    async def retrieve(
        self, *, filter: Mapping[str, Any] | None = None
    ) -> PhoneNumbersRegulatoryRequirementRetrieveResponse:
        """``filter={"phone_number": "+41215470622,+41215470633"}`` (comma-separated E.164 numbers)."""
        if filter and filter.get("phone_number"):
            validate_e164_list(str(filter["phone_number"]), field_name="filter[phone_number]")
        return await self._client._get(
            "/phone_numbers_regulatory_requirements",
            PhoneNumbersRegulatoryRequirementRetrieveResponse,
            params={"filter": filter},
        )
