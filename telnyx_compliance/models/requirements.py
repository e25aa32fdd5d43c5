"""Requirements catalog: requirement types, requirements, regulatory requirements."""

from __future__ import annotations

from typing import Literal

from .shared import PaginationMeta, TelnyxModel

__all__ = [
    "AcceptanceCriteria",
    "DocReqsRequirement",
    "DocReqsRequirementType",
    "PhoneNumberRegulatoryRequirement",
    "PhoneNumbersRegulatoryRequirementRetrieveResponse",
    "RegulatoryRequirementDefinition",
    "RegulatoryRequirementRetrieveResponse",
    "RegulatoryRequirements",
    "RegulatoryRequirementsPhoneNumbers",
    "RequirementRetrieveResponse",
    "RequirementTypeListResponse",
    "RequirementTypeRetrieveResponse",
]


class AcceptanceCriteria(TelnyxModel):
    """Acceptance criteria; the spec types the same names differently per endpoint, so values stay loose."""

    acceptable_characters: str | None = None
    acceptable_values: list[str] | None = None
    locality_limit: str | None = None
    max_length: int | str | None = None
    min_length: int | str | None = None
    time_limit: str | None = None
    case_sensitive: str | bool | None = None
    regex: str | None = None
    field_type: str | None = None
    field_value: str | None = None


class DocReqsRequirementType(TelnyxModel):
    id: str | None = None
    record_type: str | None = None
    name: str | None = None
    description: str | None = None
    example: str | None = None
    type: Literal["document", "address", "textual"] | str | None = None
    acceptance_criteria: AcceptanceCriteria | None = None
    created_at: str | None = None
    updated_at: str | None = None


class DocReqsRequirement(TelnyxModel):
    id: str | None = None
    record_type: str | None = None
    action: Literal["both", "branded_calling", "ordering", "porting"] | str | None = None
    country_code: str | None = None
    locality: str | None = None
    phone_number_type: Literal["local", "national", "toll_free"] | str | None = None
    requirements_types: list[DocReqsRequirementType] | None = None
    created_at: str | None = None
    updated_at: str | None = None


class RequirementTypeListResponse(TelnyxModel):
    data: list[DocReqsRequirementType] | None = None
    meta: PaginationMeta | None = None


class RequirementTypeRetrieveResponse(TelnyxModel):
    data: DocReqsRequirementType | None = None


class RequirementRetrieveResponse(TelnyxModel):
    data: DocReqsRequirement | None = None


class RegulatoryRequirementDefinition(TelnyxModel):
    """One requirement of ``RegulatoryRequirements.regulatory_requirements``."""

    id: str | None = None
    name: str | None = None
    description: str | None = None
    example: str | None = None
    field_type: str | None = None
    acceptance_criteria: AcceptanceCriteria | None = None


class RegulatoryRequirements(TelnyxModel):
    action: str | None = None
    country_code: str | None = None
    phone_number_type: str | None = None
    regulatory_requirements: list[RegulatoryRequirementDefinition] | None = None


class RegulatoryRequirementRetrieveResponse(TelnyxModel):
    data: list[RegulatoryRequirements] | None = None


class PhoneNumberRegulatoryRequirement(TelnyxModel):
    id: str | None = None
    record_type: str | None = None
    label: str | None = None
    description: str | None = None
    example: str | None = None
    field_type: str | None = None
    acceptance_criteria: AcceptanceCriteria | None = None


class RegionInformation(TelnyxModel):
    region_name: str | None = None
    region_type: str | None = None


class RegulatoryRequirementsPhoneNumbers(TelnyxModel):
    phone_number: str | None = None
    phone_number_type: str | None = None
    record_type: str | None = None
    region_information: list[RegionInformation] | None = None
    regulatory_requirements: list[PhoneNumberRegulatoryRequirement] | None = None


class PhoneNumbersRegulatoryRequirementRetrieveResponse(TelnyxModel):
    data: list[RegulatoryRequirementsPhoneNumbers] | None = None
    meta: PaginationMeta | None = None
