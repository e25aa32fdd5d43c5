"""Requirement groups (``/requirement_groups``): answered unwrapped, the list as a bare array."""

from __future__ import annotations

from enum import StrEnum
from typing import Final, Literal

from .shared import RequestModel, TelnyxModel

__all__ = [
    "FINAL_GROUP_STATUSES",
    "GROUP_DECISIONS",
    "REJECTED_GROUP_STATUSES",
    "GroupDecisionStatus",
    "GroupStatus",
    "RegulatoryRequirementValue",
    "RequirementGroup",
    "RequirementGroupCreateParams",
    "RequirementGroupUpdateParams",
    "UserRequirement",
]


class GroupStatus(StrEnum):
    """A requirement group's status (and each of its requirements'), as the API spells it: the one
    definition; the pipeline, its results and the sandbox import it. Any other status Telnyx adds later is
    kept as the string it came as, and reported as not understood."""

    APPROVED = "approved"
    UNAPPROVED = "unapproved"
    PENDING = "pending-approval"
    DECLINED = "declined"
    EXPIRED = "expired"


#: Statuses a review ends in.
FINAL_GROUP_STATUSES: Final = frozenset({GroupStatus.APPROVED, GroupStatus.DECLINED, GroupStatus.EXPIRED})
#: Statuses that need the customer to act (update the values and resubmit).
REJECTED_GROUP_STATUSES: Final = frozenset({GroupStatus.DECLINED, GroupStatus.EXPIRED})
#: Decisions on a requirement group that the pipeline reports as one event each.
GroupDecisionStatus = Literal[GroupStatus.APPROVED, GroupStatus.DECLINED, GroupStatus.EXPIRED]
GROUP_DECISIONS: Final[tuple[GroupDecisionStatus, ...]] = (
    GroupStatus.APPROVED,
    GroupStatus.DECLINED,
    GroupStatus.EXPIRED,
)


class UserRequirement(TelnyxModel):
    requirement_id: str | None = None
    field_type: str | None = None
    field_value: str | None = None
    status: GroupStatus | str | None = None
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
    status: GroupStatus | str | None = None
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
