"""Number orders, sub number orders and number order phone numbers."""

from __future__ import annotations

from typing import Literal

from .shared import PaginationMeta, RequestModel, TelnyxModel

__all__ = [
    "NumberOrder",
    "NumberOrderCreateParams",
    "NumberOrderCreateResponse",
    "NumberOrderPhoneNumber",
    "NumberOrderPhoneNumberListResponse",
    "NumberOrderPhoneNumberParam",
    "NumberOrderPhoneNumberRequirementGroup",
    "NumberOrderPhoneNumberRetrieveResponse",
    "NumberOrderPhoneNumberUpdateRequirementGroupResponse",
    "NumberOrderPhoneNumberUpdateRequirementsResponse",
    "NumberOrderRetrieveResponse",
    "NumberOrderUpdateParams",
    "NumberOrderUpdateResponse",
    "NumberOrderWithPhoneNumbers",
    "PhoneNumber",
    "PhoneNumberType",
    "PhoneNumbersJobPhoneNumber",
    "RegulatoryRequirementsUpdateParams",
    "RequirementGroupAssignmentParams",
    "SubNumberOrder",
    "SubNumberOrderCancelResponse",
    "SubNumberOrderListResponse",
    "SubNumberOrderPhoneNumber",
    "SubNumberOrderRegulatoryRequirement",
    "SubNumberOrderRegulatoryRequirementWithValue",
    "SubNumberOrderRetrieveResponse",
    "SubNumberOrderUpdateRequirementGroupResponse",
    "SubNumberOrderUpdateResponse",
    "SubNumberOrderWithPhoneNumbers",
    "UpdateRegulatoryRequirement",
]

PhoneNumberType = Literal["local", "toll_free", "mobile", "national", "shared_cost", "landline"]
OrderStatus = Literal["pending", "success", "failure"]
RequirementsStatus = Literal[
    "pending",
    "approved",
    "cancelled",
    "deleted",
    "requirement-info-exception",
    "requirement-info-pending",
    "requirement-info-under-review",
]
FieldType = Literal["textual", "datetime", "address", "document"]


class SubNumberOrderRegulatoryRequirement(TelnyxModel):
    requirement_id: str | None = None
    field_type: FieldType | str | None = None
    record_type: str | None = None


class SubNumberOrderRegulatoryRequirementWithValue(SubNumberOrderRegulatoryRequirement):
    field_value: str | None = None


class NumberOrderPhoneNumber(TelnyxModel):
    id: str | None = None
    record_type: str | None = None
    bundle_id: str | None = None
    country_code: str | None = None
    deadline: str | None = None
    is_block_number: bool | None = None
    locality: str | None = None
    order_request_id: str | None = None
    phone_number: str | None = None
    phone_number_type: PhoneNumberType | str | None = None
    regulatory_requirements: list[SubNumberOrderRegulatoryRequirementWithValue] | None = None
    requirements_met: bool | None = None
    requirements_status: RequirementsStatus | str | None = None
    status: OrderStatus | str | None = None
    sub_number_order_id: str | None = None


class NumberOrderPhoneNumberListResponse(TelnyxModel):
    data: list[NumberOrderPhoneNumber] | None = None
    meta: PaginationMeta | None = None


class NumberOrderPhoneNumberRetrieveResponse(TelnyxModel):
    data: NumberOrderPhoneNumber | None = None


class NumberOrderPhoneNumberUpdateRequirementsResponse(TelnyxModel):
    data: NumberOrderPhoneNumber | None = None


class RequirementValueStatus(TelnyxModel):
    requirement_id: str | None = None
    field_type: str | None = None
    field_value: str | None = None
    status: str | None = None


class NumberOrderPhoneNumberRequirementGroup(TelnyxModel):
    """``NumberOrderPhoneNumberRequirementGroupResponse``."""

    id: str | None = None
    record_type: str | None = None
    bundle_id: str | None = None
    country_code: str | None = None
    deadline: str | None = None
    is_block_number: bool | None = None
    locality: str | None = None
    order_request_id: str | None = None
    phone_number: str | None = None
    phone_number_type: str | None = None
    regulatory_requirements: list[RequirementValueStatus] | None = None
    requirements_met: bool | None = None
    requirements_status: str | None = None
    status: str | None = None
    sub_number_order_id: str | None = None


class NumberOrderPhoneNumberUpdateRequirementGroupResponse(TelnyxModel):
    data: NumberOrderPhoneNumberRequirementGroup | None = None


class PhoneNumbersJobPhoneNumber(TelnyxModel):
    id: str | None = None
    phone_number: str | None = None


class PhoneNumber(TelnyxModel):
    """A phone number inside ``NumberOrderWithPhoneNumbers``."""

    id: str | None = None
    record_type: str | None = None
    bundle_id: str | None = None
    country_code: str | None = None
    country_iso_alpha2: str | None = None
    phone_number: str | None = None
    phone_number_type: PhoneNumberType | str | None = None
    regulatory_requirements: list[SubNumberOrderRegulatoryRequirementWithValue] | None = None
    requirements_met: bool | None = None
    requirements_status: RequirementsStatus | str | None = None
    status: OrderStatus | str | None = None


class _NumberOrderBase(TelnyxModel):
    id: str | None = None
    record_type: str | None = None
    billing_group_id: str | None = None
    connection_id: str | None = None
    customer_reference: str | None = None
    messaging_profile_id: str | None = None
    phone_numbers_count: int | None = None
    requirements_met: bool | None = None
    status: OrderStatus | str | None = None
    sub_number_orders_ids: list[str] | None = None
    created_at: str | None = None
    updated_at: str | None = None


class NumberOrder(_NumberOrderBase):
    """An item of ``GET /number_orders``."""

    phone_numbers: list[PhoneNumbersJobPhoneNumber] | None = None


class NumberOrderWithPhoneNumbers(_NumberOrderBase):
    phone_numbers: list[PhoneNumber] | None = None


class NumberOrderCreateResponse(TelnyxModel):
    data: NumberOrderWithPhoneNumbers | None = None


class NumberOrderRetrieveResponse(TelnyxModel):
    data: NumberOrderWithPhoneNumbers | None = None


class NumberOrderUpdateResponse(TelnyxModel):
    data: NumberOrderWithPhoneNumbers | None = None


class SubNumberOrder(TelnyxModel):
    id: str | None = None
    record_type: str | None = None
    country_code: str | None = None
    customer_reference: str | None = None
    is_block_sub_number_order: bool | None = None
    order_request_id: str | None = None
    phone_number_type: PhoneNumberType | str | None = None
    phone_numbers_count: int | None = None
    regulatory_requirements: list[SubNumberOrderRegulatoryRequirement] | None = None
    requirements_met: bool | None = None
    status: OrderStatus | str | None = None
    user_id: str | None = None
    created_at: str | None = None
    updated_at: str | None = None


class SubNumberOrderListResponse(TelnyxModel):
    data: list[SubNumberOrder] | None = None
    meta: PaginationMeta | None = None


class SubNumberOrderRetrieveResponse(TelnyxModel):
    data: SubNumberOrder | None = None


class SubNumberOrderUpdateResponse(TelnyxModel):
    data: SubNumberOrder | None = None


class SubNumberOrderCancelResponse(TelnyxModel):
    data: SubNumberOrder | None = None


class SubNumberOrderPhoneNumber(TelnyxModel):
    id: str | None = None
    record_type: str | None = None
    bundle_id: str | None = None
    country_code: str | None = None
    phone_number: str | None = None
    phone_number_type: str | None = None
    regulatory_requirements: list[RequirementValueStatus] | None = None
    requirements_met: bool | None = None
    requirements_status: str | None = None
    status: str | None = None


class SubNumberOrderWithPhoneNumbers(TelnyxModel):
    id: str | None = None
    record_type: str | None = None
    country_code: str | None = None
    customer_reference: str | None = None
    is_block_sub_number_order: bool | None = None
    order_request_id: str | None = None
    phone_number_type: str | None = None
    phone_numbers: list[SubNumberOrderPhoneNumber] | None = None
    phone_numbers_count: int | None = None
    regulatory_requirements: list[SubNumberOrderRegulatoryRequirement] | None = None
    requirements_met: bool | None = None
    status: str | None = None
    created_at: str | None = None
    updated_at: str | None = None


class SubNumberOrderUpdateRequirementGroupResponse(TelnyxModel):
    """``SubNumberOrderRequirementGroupResponse``."""

    data: SubNumberOrderWithPhoneNumbers | None = None


# ----------------------------------------------------------------------------------------- requests
class UpdateRegulatoryRequirement(RequestModel):
    requirement_id: str
    field_value: str


class NumberOrderPhoneNumberParam(RequestModel):
    phone_number: str
    bundle_id: str | None = None
    requirement_group_id: str | None = None


class NumberOrderCreateParams(RequestModel):
    """``CreateNumberOrderRequest``."""

    phone_numbers: list[NumberOrderPhoneNumberParam]
    billing_group_id: str | None = None
    connection_id: str | None = None
    customer_reference: str | None = None
    messaging_profile_id: str | None = None


class NumberOrderUpdateParams(RequestModel):
    customer_reference: str | None = None
    regulatory_requirements: list[UpdateRegulatoryRequirement] | None = None


class RegulatoryRequirementsUpdateParams(RequestModel):
    """``UpdateSubNumberOrderRequest`` / ``UpdateNumberOrderPhoneNumberRequest``."""

    regulatory_requirements: list[UpdateRegulatoryRequirement] | None = None


class RequirementGroupAssignmentParams(RequestModel):
    requirement_group_id: str
