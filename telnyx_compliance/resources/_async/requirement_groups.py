"""``client.requirement_groups``: the API answers with unwrapped groups and a bare array for the list."""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from ..._base_client import path_param, request_body
from ...models.requirement_groups import (
    RegulatoryRequirementValue,
    RequirementGroup,
    RequirementGroupCreateParams,
    RequirementGroupUpdateParams,
)
from ._resource import AsyncAPIResource, AsyncFindExisting, finder

__all__ = ["AsyncRequirementGroupsResource"]

RequirementValues = Sequence[RegulatoryRequirementValue | Mapping[str, Any]]


class AsyncRequirementGroupsResource(AsyncAPIResource):
    async def find_by_reference(self, customer_reference: str) -> RequirementGroup | None:
        """The oldest group with exactly this reference (the filter ignores case), or None."""
        listed = await self.list(filter={"customer_reference": customer_reference})
        ours = [group for group in listed if group.customer_reference == customer_reference]
        return min(ours, key=lambda group: group.created_at or "", default=None)

    def _find_by_reference(self, customer_reference: str) -> AsyncFindExisting[RequirementGroup]:
        async def shape(group: RequirementGroup) -> RequirementGroup:
            return group

        return finder(lambda: self.find_by_reference(customer_reference), shape)

    async def create(
        self,
        *,
        action: Literal["ordering", "porting"],
        country_code: str,
        phone_number_type: Literal["local", "toll_free", "mobile", "national", "shared_cost"],
        customer_reference: str | None = None,
        regulatory_requirements: RequirementValues | None = None,
        find_existing: AsyncFindExisting[RequirementGroup] | None = None,
    ) -> RequirementGroup:
        """Create a group; with a ``customer_reference`` an ambiguous failure is resolved by looking it up."""
        body = request_body(
            RequirementGroupCreateParams,
            action=action,
            country_code=country_code,
            phone_number_type=phone_number_type,
            customer_reference=customer_reference,
            regulatory_requirements=None
            if regulatory_requirements is None
            else builtins.list(regulatory_requirements),
        )
        if find_existing is None and customer_reference:
            find_existing = self._find_by_reference(customer_reference)
        return await self._client._post(
            "/requirement_groups", RequirementGroup, json=body, find_existing=find_existing
        )

    async def list(self, *, filter: Mapping[str, Any] | None = None) -> builtins.list[RequirementGroup]:
        """``filter={"customer_reference": ..., "country_code": ..., "phone_number_type": ..., "action": ...,
        "status": ...}``; the API returns every match in one bare array."""
        return await self._client._get(
            "/requirement_groups", builtins.list[RequirementGroup], params={"filter": filter}
        )

    async def retrieve(self, id: str) -> RequirementGroup:
        return await self._client._get(f"/requirement_groups/{path_param(id)}", RequirementGroup)

    async def update(
        self,
        id: str,
        *,
        customer_reference: str | None = None,
        regulatory_requirements: RequirementValues | None = None,
    ) -> RequirementGroup:
        body = request_body(
            RequirementGroupUpdateParams,
            customer_reference=customer_reference,
            regulatory_requirements=None
            if regulatory_requirements is None
            else builtins.list(regulatory_requirements),
        )
        return await self._client._patch(f"/requirement_groups/{path_param(id)}", RequirementGroup, json=body)

    async def delete(self, id: str) -> RequirementGroup:
        return await self._client._delete(f"/requirement_groups/{path_param(id)}", RequirementGroup)

    async def submit_for_approval(self, id: str) -> RequirementGroup:
        """Submitting twice leaves the group pending either way, so this POST is retried like a PATCH."""
        return await self._client._post(
            f"/requirement_groups/{path_param(id)}/submit_for_approval", RequirementGroup, idempotent=True
        )
