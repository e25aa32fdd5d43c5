"""Requirement groups (``/requirement_groups``): answered unwrapped, the list as a bare array."""

from __future__ import annotations

from typing import Literal

from .shared import RequestModel, TelnyxModel

__all__ = [
    "RegulatoryRequirementValue",
    "RequirementGroup",
    "RequirementGroupCreateParams",
    "RequirementGroupStatus",
    "RequirementGroupUpdateParams",
    "UserRequirement",
]

RequirementGroupStatus = Literal["approved", "unapproved", "pending-approval", "declined", "expired"]


class UserRequirement(TelnyxModel):
    requirement_id: str | None = None
    field_type: str | None = None
    field_value: str | None = None
    status: RequirementGroupStatus | str | None = None
    created_at: str | None = None
    updated_at: str | None = None
    expires_at: str | None = None


class RequirementGroup(TelnyxModel):
    id: str | None = None
    record_type: str | None = None
    action: str | None = None
    country_code: str | None = None
    customer_reference: str | None = None
    phone_number_type: str | None = None
    regulatory_requirements: list[UserRequirement] | None = None
    status: RequirementGroupStatus | str | None = None
    created_at: str | None = None
    updated_at: str | None = None


class RegulatoryRequirementValue(RequestModel):
    requirement_id: str
    field_value: str


class RequirementGroupCreateParams(RequestModel):
    action: Literal["ordering", "porting"]
    country_code: str
    phone_number_type: Literal["local", "toll_free", "mobile", "national", "shared_cost"]
    customer_reference: str | None = None
    regulatory_requirements: list[RegulatoryRequirementValue] | None = None


class RequirementGroupUpdateParams(RequestModel):
    customer_reference: str | None = None
    regulatory_requirements: list[RegulatoryRequirementValue] | None = None
