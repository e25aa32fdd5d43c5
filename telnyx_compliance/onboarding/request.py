"""What one onboarding asks for: a customer in a market, their address, documents and textual facts."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Final, Literal

import phonenumbers
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from telnyx_compliance.locations import Location

PhoneNumberType = Literal["local", "toll_free", "mobile", "national", "shared_cost"]
Action = Literal["ordering", "porting"]

PHONE_NUMBER_TYPES: tuple[str, ...] = ("local", "toll_free", "mobile", "national", "shared_cost")
ACTIONS: tuple[str, ...] = ("ordering", "porting")

_CUSTOMER_REFERENCE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_REQUIREMENT_KEY = re.compile(r"^[a-z0-9][a-z0-9_]{0,63}$")
#: Longest textual value: requirement values are registration numbers, names, short statements.
MAX_VALUE_LENGTH = 1024


def check_country_code(value: str) -> str:
    """Normalise an ISO 3166 alpha-2 code; reject codes no phone numbering plan knows."""
    code = value.strip().upper()
    if code not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(f"expected an ISO 3166 alpha-2 country code such as DE or GB, got {value!r}")
    return code


def check_e164(value: str) -> str:
    """Normalise a phone number to E.164; reject anything that is not a valid number."""
    raw = value.strip()
    if not raw.startswith("+"):
        raise ValueError(
            f"expected an E.164 phone number starting with + (e.g. +493012345678), got {value!r}"
        )
    try:
        parsed = phonenumbers.parse(raw, None)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(f"expected an E.164 phone number, got {value!r}: {exc}") from None
    if not phonenumbers.is_valid_number(parsed):
        raise ValueError(f"{value!r} is not a valid phone number in any numbering plan")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


#: libphonenumber's number types as Telnyx sells them; a type missing here is one Telnyx does not sell.
TELNYX_NUMBER_TYPES: Final[Mapping[int, PhoneNumberType]] = MappingProxyType(
    {
        phonenumbers.PhoneNumberType.FIXED_LINE: "local",
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE: "local",
        phonenumbers.PhoneNumberType.MOBILE: "mobile",
        phonenumbers.PhoneNumberType.TOLL_FREE: "toll_free",
        phonenumbers.PhoneNumberType.SHARED_COST: "shared_cost",
        phonenumbers.PhoneNumberType.UAN: "national",
        phonenumbers.PhoneNumberType.VOIP: "national",
        phonenumbers.PhoneNumberType.PERSONAL_NUMBER: "national",
    }
)


def numbering_plan_of(phone_number: str) -> tuple[str, PhoneNumberType | None] | None:
    """A number's country and Telnyx number type by its numbering plan, without asking anyone.

    ``None`` when it is not a valid number; the type is ``None`` when it is one Telnyx does not sell (premium
    rate, pager, ...). The numbering plan is libphonenumber's: for a few ranges Telnyx may class a number
    otherwise, which only a lookup (``GET /phone_numbers_regulatory_requirements``) tells.
    """
    try:
        parsed = phonenumbers.parse(phone_number, None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    region = phonenumbers.region_code_for_number(parsed)
    if not region:
        return None
    return region, TELNYX_NUMBER_TYPES.get(phonenumbers.number_type(parsed))


CountryCode = Annotated[str, AfterValidator(check_country_code)]
E164 = Annotated[str, AfterValidator(check_e164)]


_DOCUMENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,63}")


class OnboardingKey(BaseModel):
    """Onboardings sharing a key share one address and one requirement group."""

    model_config = ConfigDict(frozen=True)

    customer_reference: str
    country_code: str
    phone_number_type: str
    action: str

    def slug(self) -> str:
        return f"{self.customer_reference}-{self.country_code}-{self.phone_number_type}-{self.action}".lower()


class AddressInput(BaseModel):
    """A user address, field names as Telnyx's ``UserAddressCreate``."""

    model_config = ConfigDict(frozen=True, str_strip_whitespace=True)

    first_name: str = Field(min_length=1, max_length=255)
    last_name: str = Field(min_length=1, max_length=255)
    business_name: str = Field(min_length=1, max_length=255)
    street_address: str = Field(min_length=1, max_length=255)
    extended_address: str | None = Field(default=None, max_length=255)
    locality: str = Field(min_length=1, max_length=255)
    administrative_area: str | None = Field(default=None, max_length=255)
    postal_code: str | None = Field(default=None, max_length=32)
    country_code: CountryCode
    phone_number: E164 | None = None
    borough: str | None = Field(default=None, max_length=255)
    neighborhood: str | None = Field(default=None, max_length=255)


class OnboardingRequest(BaseModel):
    """One customer to take through compliance in one market.

    ``documents`` and ``values`` are keyed by *requirement key* (see ``onboarding.mapping``): the mapping in
    ``telnyx_compliance/onboarding/data/requirements.yaml`` says which Telnyx requirement each key satisfies.
    """

    model_config = ConfigDict(frozen=True, str_strip_whitespace=True)

    customer_reference: str = Field(description="Your id for the customer: letters, digits, '.', '_', '-'.")
    country_code: CountryCode
    phone_number_type: PhoneNumberType = "local"
    action: Action = "ordering"
    address: AddressInput | None = None
    documents: dict[str, str | Path] = Field(
        default_factory=dict,
        description="Requirement key -> the document: a file path (inside the documents folder), or a store "
        "URL (s3://bucket/docs/id.pdf, under COMPLIANCE_DOCUMENTS_BASE_DIR or COMPLIANCE_STORAGE_ROOTS) or "
        "an http(s) URL, read when the onboarding is planned.",
    )
    document_ids: dict[str, str] = Field(
        default_factory=dict,
        description="Requirement key -> the id of a document already uploaded to Telnyx (used as it is; "
        "checked to exist before the requirement group is written).",
    )
    values: dict[str, str] = Field(default_factory=dict, description="Requirement key -> textual value.")
    phone_numbers: tuple[E164, ...] = Field(default=(), description="Numbers to order (E.164).")
    sub_number_order_ids: tuple[str, ...] = Field(
        default=(), description="Existing sub-number orders to attach."
    )
    number_order_phone_number_ids: tuple[str, ...] = Field(
        default=(), description="Ordered numbers to attach."
    )

    @field_validator("customer_reference")
    @classmethod
    def _check_customer_reference(cls, value: str) -> str:
        if not _CUSTOMER_REFERENCE.match(value):
            raise ValueError(
                "expected 1-64 characters: letters, digits, '.', '_' or '-', starting with a letter or digit"
            )
        return value

    @field_validator("documents", mode="after")
    @classmethod
    def _paths_or_urls(cls, documents: dict[str, str | Path]) -> dict[str, str | Path]:
        """A URL stays text (a path would fold its ``//``); anything else is a path."""
        return {
            key: value if isinstance(value, Path) or Location.parse(value).has_scheme else Path(value)
            for key, value in documents.items()
        }

    @field_validator("document_ids")
    @classmethod
    def _check_document_ids(cls, ids: dict[str, str]) -> dict[str, str]:
        for key, value in ids.items():
            if not _DOCUMENT_ID.fullmatch(value):
                raise ValueError(f"document id of {key!r} must be a Telnyx id (letters, digits and '-')")
        return ids

    @field_validator("documents", "document_ids", "values")
    @classmethod
    def _check_keys(cls, mapping: dict[str, object]) -> dict[str, object]:
        for key in mapping:
            if not _REQUIREMENT_KEY.match(key):
                raise ValueError(f"requirement key {key!r} must be snake_case (a-z, 0-9, _)")
        return mapping

    @field_validator("values")
    @classmethod
    def _check_value_lengths(cls, values: dict[str, str]) -> dict[str, str]:
        for key, value in values.items():
            if len(value) > MAX_VALUE_LENGTH:
                raise ValueError(
                    f"value of {key!r} has {len(value):,} characters; "
                    f"at most {MAX_VALUE_LENGTH:,} are accepted"
                )
        return values

    @model_validator(mode="after")
    def _check_address_country(self) -> OnboardingRequest:
        if self.address is not None and self.address.country_code != self.country_code:
            raise ValueError(
                f"address country {self.address.country_code} differs from the onboarding country "
                f"{self.country_code}: Telnyx requires an address in the numbers' country"
            )
        return self

    @property
    def key(self) -> OnboardingKey:
        return OnboardingKey(
            customer_reference=self.customer_reference,
            country_code=self.country_code,
            phone_number_type=self.phone_number_type,
            action=self.action,
        )
