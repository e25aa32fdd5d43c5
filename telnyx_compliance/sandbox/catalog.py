"""The seeded requirements catalog, billing bundles and phone-number classification.

Modelled on what ``/requirement_types``, ``/requirements`` and ``/regulatory_requirements`` return: each
country has its own requirement types (so acceptance criteria can differ per country), and each
(country, phone number type, action) has one requirement listing the types it needs. Ids are uuid5 of a
name, so they are stable across runs and seeds: ``requirement_type_id("DE", "VAT Number")``.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Literal

import phonenumbers
from phonenumbers import PhoneNumberType, geocoder

FieldType = Literal["address", "document", "textual"]

NAMESPACE = uuid.UUID("5b0b4c2e-8d0c-4f51-9d6b-2f1c3e7a9b10")
#: Creation date shown on every catalog record.
CATALOGUE_CREATED_AT = "2024-01-15T09:30:00.000000Z"

#: Files containing this marker are denied by the sandbox's document review (a scripted rejection).
DENY_MARKER = b"SANDBOX-DENY"
#: The standard antivirus test file; documents containing it are reported ``infected``.
EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"


def stable_id(name: str) -> str:
    return str(uuid.uuid5(NAMESPACE, name))


def requirement_type_id(country_code: str, name: str) -> str:
    """Id of a country's requirement type; it is also the ``requirement_id`` used in requirement groups."""
    return stable_id(f"requirement_type/{country_code.upper()}/{name}")


def requirement_id(country_code: str, phone_number_type: str, action: str) -> str:
    return stable_id(f"requirement/{country_code.upper()}/{phone_number_type}/{action}")


@dataclass(frozen=True)
class RequirementType:
    """One thing a customer provides: an address id, a document id or a text value."""

    country_code: str
    name: str
    field_type: FieldType
    description: str
    example: str
    regex: str | None = None
    min_length: int | None = None
    max_length: int | None = None
    acceptable_values: tuple[str, ...] = ()
    acceptable_characters: str | None = None
    locality_limit: str | None = None
    time_limit: str | None = None

    @property
    def id(self) -> str:
        return requirement_type_id(self.country_code, self.name)

    def check_text(self, value: str) -> str | None:
        """Why a textual value breaks this type's acceptance criteria, or ``None`` when it meets them."""
        if self.min_length is not None and len(value) < self.min_length:
            return f"'{value}' is shorter than {self.min_length} characters"
        if self.max_length is not None and len(value) > self.max_length:
            return f"'{value}' is longer than {self.max_length} characters"
        if self.acceptable_values and value not in self.acceptable_values:
            return f"'{value}' is not one of {', '.join(self.acceptable_values)}"
        if self.acceptable_characters is not None and any(
            ch not in self.acceptable_characters for ch in value
        ):
            return f"'{value}' contains characters outside '{self.acceptable_characters}'"
        if self.regex is not None and re.fullmatch(self.regex, value) is None:
            return f"'{value}' does not match {self.regex}"
        return None

    def as_requirement_type(self) -> dict[str, Any]:
        """``DocReqsRequirementType``."""
        criteria: dict[str, Any] = {}
        if self.acceptable_characters is not None:
            criteria["acceptable_characters"] = self.acceptable_characters
        if self.acceptable_values:
            criteria["acceptable_values"] = list(self.acceptable_values)
        if self.locality_limit is not None:
            criteria["locality_limit"] = self.locality_limit
        if self.max_length is not None:
            criteria["max_length"] = self.max_length
        if self.min_length is not None:
            criteria["min_length"] = self.min_length
        if self.time_limit is not None:
            criteria["time_limit"] = self.time_limit
        if self.regex is not None:
            criteria["regex"] = self.regex
        return {
            "id": self.id,
            "name": self.name,
            "type": self.field_type,
            "description": self.description,
            "example": self.example,
            "acceptance_criteria": criteria,
            "record_type": "requirement_type",
            "created_at": CATALOGUE_CREATED_AT,
            "updated_at": CATALOGUE_CREATED_AT,
        }

    def string_criteria(self) -> dict[str, Any]:
        """Acceptance criteria as ``/regulatory_requirements`` gives them: strings, values as a list."""
        criteria: dict[str, Any] = {}
        if self.acceptable_characters is not None:
            criteria["acceptable_characters"] = self.acceptable_characters
        if self.acceptable_values:
            criteria["acceptable_values"] = list(self.acceptable_values)
            criteria["case_sensitive"] = "true"
        if self.locality_limit is not None:
            criteria["locality_limit"] = self.locality_limit
        if self.max_length is not None:
            criteria["max_length"] = str(self.max_length)
        if self.min_length is not None:
            criteria["min_length"] = str(self.min_length)
        if self.regex is not None:
            criteria["regex"] = self.regex
        if self.time_limit is not None:
            criteria["time_limit"] = self.time_limit
        return criteria

    def as_regulatory_requirement(self) -> dict[str, Any]:
        """An item of ``RegulatoryRequirements.regulatory_requirements``."""
        return {
            "id": self.id,
            "name": self.name,
            "field_type": self.field_type,
            "description": self.description,
            "example": self.example,
            "acceptance_criteria": self.string_criteria(),
        }

    def as_phone_number_requirement(self) -> dict[str, Any]:
        """An item of ``RegulatoryRequirementsPhoneNumbers.regulatory_requirements``."""
        criteria: dict[str, Any] = {"field_type": self.field_type}
        if self.locality_limit is not None:
            criteria["locality_limit"] = self.locality_limit
        return {
            "id": self.id,
            "label": self.name,
            "field_type": self.field_type,
            "description": self.description,
            "example": self.example,
            "acceptance_criteria": criteria,
            "record_type": "regulatory_requirement",
        }


@dataclass(frozen=True)
class Requirement:
    """What ordering or porting one type of number in one country needs."""

    country_code: str
    phone_number_type: str
    action: str
    types: tuple[RequirementType, ...]

    @property
    def id(self) -> str:
        return requirement_id(self.country_code, self.phone_number_type, self.action)

    def as_doc_reqs_requirement(self) -> dict[str, Any]:
        """``DocReqsRequirement`` (``/requirements``)."""
        return {
            "id": self.id,
            "country_code": self.country_code,
            "phone_number_type": self.phone_number_type,
            "action": self.action,
            "record_type": "requirement",
            "requirements_types": [t.as_requirement_type() for t in self.types],
            "created_at": CATALOGUE_CREATED_AT,
            "updated_at": CATALOGUE_CREATED_AT,
        }

    def as_regulatory_requirements(self) -> dict[str, Any]:
        """``RegulatoryRequirements`` (``/regulatory_requirements``)."""
        return {
            "country_code": self.country_code,
            "phone_number_type": self.phone_number_type,
            "action": self.action,
            "regulatory_requirements": [t.as_regulatory_requirement() for t in self.types],
        }


@dataclass(frozen=True)
class Country:
    code: str
    name: str
    postal_code_regex: str
    sample_address: str
    number_types: tuple[str, ...]
    registration_name: str
    registration_regex: str
    registration_example: str
    vat_name: str | None = None
    vat_regex: str | None = None
    vat_example: str | None = None
    light_local: bool = False  # local numbers need only an address and a contact (US/CA style)
    extra: dict[str, str] = field(default_factory=dict)

    def postal_code_ok(self, postal_code: str) -> bool:
        return re.fullmatch(self.postal_code_regex, postal_code.strip(), flags=re.IGNORECASE) is not None


COUNTRIES: tuple[Country, ...] = (
    Country(
        "US",
        "United States",
        r"\d{5}(-\d{4})?",
        "600 Congress Avenue, 14th Floor, Austin, TX 78701",
        ("local", "toll_free"),
        "Employer Identification Number (EIN)",
        r"\d{2}-\d{7}",
        "12-3456789",
        light_local=True,
    ),
    Country(
        "CA",
        "Canada",
        r"[A-Z]\d[A-Z] ?\d[A-Z]\d",
        "100 King Street West, Toronto, ON M5X 1A9",
        ("local", "toll_free"),
        "Business Number (BN)",
        r"\d{9}",
        "123456782",
        light_local=True,
    ),
    Country(
        "GB",
        "United Kingdom",
        r"[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}",
        "10 Downing Street, London SW1A 2AA",
        ("local", "mobile", "toll_free", "national"),
        "Companies House Registration Number",
        r"(\d{8}|[A-Z]{2}\d{6})",
        "09876543",
        "UK VAT Registration Number",
        r"GB\d{9}",
        "GB123456789",
    ),
    Country(
        "DE",
        "Germany",
        r"\d{5}",
        "Friedrichstraße 123, 10117 Berlin",
        ("local", "mobile", "toll_free", "national"),
        "Commercial Register Number (Handelsregisternummer)",
        r"HR[AB] \d{1,6}( [A-Z])?",
        "HRB 123456",
        "VAT Number (USt-IdNr.)",
        r"DE\d{9}",
        "DE123456789",
    ),
    Country(
        "FR",
        "France",
        r"\d{5}",
        "10 Rue de Rivoli, 75001 Paris",
        ("local", "mobile", "toll_free", "national"),
        "SIREN Number",
        r"\d{9}",
        "732829320",
        "VAT Number (TVA)",
        r"FR[0-9A-Z]{2}\d{9}",
        "FR40303265045",
    ),
    Country(
        "ES",
        "Spain",
        r"\d{5}",
        "Calle de Alcalá 50, 28014 Madrid",
        ("local", "mobile", "toll_free", "national"),
        "Tax Identification Number (NIF/CIF)",
        r"[A-HJNPQRSUVW]\d{7}[0-9A-J]",
        "B12345678",
        "VAT Number (IVA)",
        r"ES[0-9A-Z]\d{7}[0-9A-Z]",
        "ESB12345678",
    ),
    Country(
        "AU",
        "Australia",
        r"\d{4}",
        "1 Martin Place, Sydney NSW 2000",
        ("local", "mobile", "toll_free"),
        "Australian Business Number (ABN)",
        r"\d{11}",
        "51824753556",
    ),
    Country(
        "BR",
        "Brazil",
        r"\d{5}-?\d{3}",
        "Avenida Paulista 1000, São Paulo SP 01310-100",
        ("local", "mobile", "toll_free"),
        "CNPJ Number",
        r"\d{2}\.\d{3}\.\d{3}/\d{4}-\d{2}",
        "11.222.333/0001-81",
    ),
)

COUNTRIES_BY_CODE = {country.code: country for country in COUNTRIES}
ACTIONS = ("ordering", "porting")


def _types_for(country: Country) -> dict[str, RequirementType]:
    cc = country.code

    def make(
        name: str, field_type: FieldType, description: str, example: str, **criteria: Any
    ) -> RequirementType:
        return RequirementType(cc, name, field_type, description, example, **criteria)

    types = [
        make(
            "Address matching the phone number's locality",
            "address",
            f"Address in {country.name} matching the DID area code (street, building number, postal code, "
            "city and country)",
            country.sample_address,
            locality_limit="Identical locality as the numbers desired",
        ),
        make(
            "Business Address",
            "address",
            f"Registered business address of the end user in {country.name}",
            country.sample_address,
            locality_limit=f"Within {country.name}",
        ),
        make(
            "Proof of Address",
            "document",
            "Proves the end user has a physical address in the same locality as the phone number",
            "Utility bill, internet bill, phone bill, or lease",
            time_limit="Less than 3 months old",
            locality_limit="Identical locality as the numbers desired",
        ),
        make(
            "Identity Document",
            "document",
            "Government-issued photo identification of the end user",
            "Passport, national identity card or driving licence",
            time_limit="Current and not expired",
        ),
        make(
            "Business Registration Certificate",
            "document",
            f"Certificate of incorporation or extract from the {country.name} business register",
            "Certificate of incorporation",
            time_limit="Issued within the last 12 months",
        ),
        make(
            "Letter of Authorization",
            "document",
            "Signed letter authorising Telnyx to port the numbers away from the current provider",
            "Signed LOA listing every number to port",
            time_limit="Signed within the last 30 days",
        ),
        make(
            "Recent Invoice from the Current Provider",
            "document",
            "Invoice from the losing carrier listing the numbers to port",
            "Latest monthly telephone bill",
            time_limit="Less than 3 months old",
        ),
        make(
            "Business Registration Number",
            "textual",
            f"{country.registration_name} of the end user",
            country.registration_example,
            regex=country.registration_regex,
        ),
        make(
            "Contact Name",
            "textual",
            "Full name of the person responsible for the numbers",
            "Maria Schmidt",
            min_length=2,
            max_length=100,
            regex=r"[^\W\d_][^\W\d_ .'-]*([ .'-]+[^\W\d_]+)*\.?",
        ),
        make(
            "Type of End User",
            "textual",
            "Whether the numbers are used by a business or an individual",
            "Business",
            acceptable_values=("Business", "Individual"),
        ),
        make(
            "Description of Use",
            "textual",
            "What the numbers will be used for",
            "Customer support hotline for our online shop",
            min_length=10,
            max_length=300,
        ),
        make(
            "Current Provider Account Number",
            "textual",
            "Account number at the losing carrier",
            "ACC-1234567",
            min_length=4,
            max_length=20,
            regex=r"[A-Za-z0-9-]+",
            acceptable_characters="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-",
        ),
    ]
    if country.vat_name and country.vat_regex and country.vat_example:
        types.append(
            make(
                "VAT Number",
                "textual",
                f"{country.vat_name} of the end user",
                country.vat_example,
                regex=country.vat_regex,
                min_length=len(country.vat_example),
                max_length=len(country.vat_example) + 2,
            )
        )
    return {t.name: t for t in types}


def _requirements_for(country: Country) -> list[Requirement]:
    types = _types_for(country)

    def pick(*names: str) -> tuple[RequirementType, ...]:
        return tuple(types[name] for name in names if name in types)

    requirements: list[Requirement] = []
    for number_type in country.number_types:
        if number_type == "local":
            if country.light_local:
                ordering = pick("Address matching the phone number's locality", "Contact Name")
            else:
                ordering = pick(
                    "Address matching the phone number's locality",
                    "Proof of Address",
                    "Business Registration Number",
                    "VAT Number",
                    "Contact Name",
                )
        elif number_type == "national":
            ordering = pick(
                "Business Address",
                "Business Registration Certificate",
                "Business Registration Number",
                "VAT Number",
            )
        elif number_type == "mobile":
            ordering = pick("Business Address", "Identity Document", "Contact Name", "Type of End User")
        else:  # toll_free
            ordering = pick("Business Address", "Business Registration Number", "Description of Use")
        requirements.append(Requirement(country.code, number_type, "ordering", ordering))
        if number_type != "national":
            porting = pick(
                "Letter of Authorization",
                "Recent Invoice from the Current Provider",
                "Business Address",
                "Current Provider Account Number",
            )
            requirements.append(Requirement(country.code, number_type, "porting", porting))
    return requirements


class Catalog:
    """Requirements by (country, number type, action), requirement types and billing bundles, by id."""

    def __init__(self, requirements: list[Requirement], billing_bundles: list[dict[str, Any]]) -> None:
        self.requirements = tuple(requirements)
        self.billing_bundles = tuple(billing_bundles)
        self._types: dict[str, RequirementType] = {}
        for requirement in self.requirements:
            for requirement_type in requirement.types:
                self._types.setdefault(requirement_type.id, requirement_type)
        self._requirements = {r.id: r for r in self.requirements}
        self._by_key = {(r.country_code, r.phone_number_type, r.action): r for r in self.requirements}
        self._bundles = {b["id"]: b for b in self.billing_bundles}

    @property
    def requirement_types(self) -> list[RequirementType]:
        return list(self._types.values())

    def requirement_type(self, type_id: str) -> RequirementType | None:
        return self._types.get(type_id)

    def requirement(self, req_id: str) -> Requirement | None:
        return self._requirements.get(req_id)

    def find(self, country_code: str, phone_number_type: str, action: str) -> Requirement | None:
        return self._by_key.get((country_code.upper(), phone_number_type, action))

    def billing_bundle(self, bundle_id: str) -> dict[str, Any] | None:
        return self._bundles.get(bundle_id)


def _billing_bundles() -> list[dict[str, Any]]:
    bundles = []
    for country in COUNTRIES:
        for tier, price, specs in (
            (
                "Basic",
                2.0,
                [
                    "1 {cc} Number",
                    "Emergency Calling",
                    "All inbound and outbound calling billed pay-as-you-go",
                ],
            ),
            (
                "Pro",
                9.5,
                ["1 {cc} Number", "Emergency Calling", "1000 outbound minutes", "Unlimited inbound"],
            ),
        ):
            slug = f"{tier.lower()}-{country.code.lower()}"
            bundle_id = stable_id(f"billing_bundle/{slug}")
            bundles.append(
                {
                    "id": bundle_id,
                    "name": f"{country.name} {tier}",
                    "slug": f"{slug}-{bundle_id[:4]}",
                    "cost_code": f"BUNDLE-PRICING-{tier.upper()}-MRC",
                    "currency": "USD",
                    "mrc_price": price,
                    "is_public": tier == "Basic",
                    "active": True,
                    "created_at": CATALOGUE_CREATED_AT[:10],
                    "specs": [spec.format(cc=country.code) for spec in specs],
                    "country_iso": country.code,
                    "bundle_limits": [
                        {
                            "id": stable_id(f"bundle_limit/{slug}"),
                            "service": "E911" if country.code in {"US", "CA"} else "emergency",
                            "billing_service": "emergency",
                            "metric": "number",
                            "limit": 1,
                            "rate": "5",
                            "country_iso": country.code,
                            "country_code": phonenumbers.country_code_for_region(country.code),
                            "direction": "inbound",
                            "types": list(country.number_types),
                            "created_at": CATALOGUE_CREATED_AT[:10],
                            "updated_at": CATALOGUE_CREATED_AT[:10],
                        }
                    ],
                }
            )
    return bundles


@cache
def default_catalog() -> Catalog:
    """The catalog every sandbox serves (it does not depend on the seed)."""
    requirements = [r for country in COUNTRIES for r in _requirements_for(country)]
    return Catalog(requirements, _billing_bundles())


# -- phone numbers -------------------------------------------------------------------------------------------

_NUMBER_TYPES = {
    PhoneNumberType.FIXED_LINE: "local",
    PhoneNumberType.FIXED_LINE_OR_MOBILE: "local",
    PhoneNumberType.MOBILE: "mobile",
    PhoneNumberType.TOLL_FREE: "toll_free",
    PhoneNumberType.SHARED_COST: "shared_cost",
    PhoneNumberType.UAN: "national",
    PhoneNumberType.VOIP: "national",
    PhoneNumberType.PERSONAL_NUMBER: "national",
}


@dataclass(frozen=True)
class NumberInfo:
    phone_number: str
    country_code: str
    phone_number_type: str
    locality: str


def classify_number(phone_number: str) -> NumberInfo:
    """Country, number type and locality of an E.164 number; ``ValueError`` when it is not a valid number."""
    if not phone_number.startswith("+"):
        raise ValueError(f"'{phone_number}' is not in E.164 format (+ and country code)")
    try:
        parsed = phonenumbers.parse(phone_number, None)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(f"'{phone_number}' is not a phone number: {exc}") from None
    if not phonenumbers.is_valid_number(parsed):
        raise ValueError(f"'{phone_number}' is not a valid phone number")
    region = phonenumbers.region_code_for_number(parsed) or ""
    number_type = _NUMBER_TYPES.get(phonenumbers.number_type(parsed))
    if number_type is None:
        raise ValueError(f"'{phone_number}' is a number type the sandbox does not sell")
    e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    locality = (
        geocoder.description_for_number(parsed, "en")
        or COUNTRIES_BY_CODE.get(region, Country(region, region, "", "", (), "", "", "")).name
    )
    return NumberInfo(e164, region, number_type, locality)
