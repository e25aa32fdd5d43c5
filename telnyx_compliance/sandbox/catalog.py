"""The seeded requirements catalog, billing bundles and phone-number classification.

Modelled on what ``/requirement_types``, ``/requirements`` and ``/regulatory_requirements`` return: each
country has its own requirement types (so acceptance criteria can differ per country), and each
(country, phone number type, action) has one requirement listing the types it needs. Ids are uuid5 of a
name, so they are stable across runs and seeds: ``requirement_type_id("DE", "VAT Number")``.

The seed data (countries, requirement types, which types each requirement lists, billing bundle tiers) is
``sandbox/data/catalog.yaml``, read once at import; this module gives it its types and API shapes.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any, Final, Literal

import phonenumbers
import yaml
from phonenumbers import geocoder

from telnyx_compliance.onboarding.request import TELNYX_NUMBER_TYPES

FieldType = Literal["address", "document", "textual"]

NAMESPACE = uuid.UUID("5b0b4c2e-8d0c-4f51-9d6b-2f1c3e7a9b10")

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
            "created_at": _CREATED_AT,
            "updated_at": _CREATED_AT,
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
            "created_at": _CREATED_AT,
            "updated_at": _CREATED_AT,
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


def _load() -> dict[str, Any]:
    """The seed data (``sandbox/data/catalog.yaml``), shipped inside the package."""
    text = (
        resources.files("telnyx_compliance.sandbox.data").joinpath("catalog.yaml").read_text(encoding="utf-8")
    )
    return dict(yaml.safe_load(text))


_DATA: Final = _load()
#: The creation date shown on every catalog record (billing bundles show its date part).
_CREATED_AT: Final[str] = _DATA["created_at"]
COUNTRIES: Final = tuple(
    Country(**{**entry, "number_types": tuple(entry["number_types"])}) for entry in _DATA["countries"]
)
COUNTRIES_BY_CODE: Final = {country.code: country for country in COUNTRIES}


def _fill(value: Any, country: Country) -> Any:
    """``value`` with each ``{field}`` replaced by the country's field of that name (text only)."""
    if not isinstance(value, str):
        return value
    for name, field_value in vars(country).items():
        if isinstance(field_value, str):
            value = value.replace(f"{{{name}}}", field_value)
    return value


def _types_for(country: Country) -> dict[str, RequirementType]:
    types: dict[str, RequirementType] = {}
    for template in _DATA["requirement_types"]:
        if template.get("only_with") and getattr(country, template["only_with"]) is None:
            continue
        criteria = {key: _fill(value, country) for key, value in template["acceptance_criteria"].items()}
        if "acceptable_values" in criteria:
            criteria["acceptable_values"] = tuple(criteria["acceptable_values"])
        example = _fill(template["example"], country)
        if "length_of_example" in template:
            criteria.update(min_length=len(example), max_length=len(example) + template["length_of_example"])
        description = _fill(template["description"], country)
        types[template["name"]] = RequirementType(
            country.code, template["name"], template["field_type"], description, example, **criteria
        )
    return types


def _requirements_for(country: Country) -> list[Requirement]:
    types = _types_for(country)

    def pick(names: list[str]) -> tuple[RequirementType, ...]:
        return tuple(types[name] for name in names if name in types)

    lists = _DATA["requirements"]
    requirements: list[Requirement] = []
    for number_type in country.number_types:
        ordering = "local_light" if number_type == "local" and country.light_local else number_type
        requirements.append(
            Requirement(country.code, number_type, "ordering", pick(lists["ordering"][ordering]))
        )
        if number_type != "national":
            requirements.append(Requirement(country.code, number_type, "porting", pick(lists["porting"])))
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
    created_on = _CREATED_AT[:10]
    for country in COUNTRIES:
        for tier in _DATA["billing_bundles"]:
            name = tier["tier"]
            slug = f"{name.lower()}-{country.code.lower()}"
            bundle_id = stable_id(f"billing_bundle/{slug}")
            bundles.append(
                {
                    "id": bundle_id,
                    "name": f"{country.name} {name}",
                    "slug": f"{slug}-{bundle_id[:4]}",
                    "cost_code": f"BUNDLE-PRICING-{name.upper()}-MRC",
                    "currency": "USD",
                    "mrc_price": tier["mrc_price"],
                    "is_public": tier["is_public"],
                    "active": True,
                    "created_at": created_on,
                    "specs": [spec.replace("{cc}", country.code) for spec in tier["specs"]],
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
                            "created_at": created_on,
                            "updated_at": created_on,
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
    number_type = TELNYX_NUMBER_TYPES.get(phonenumbers.number_type(parsed))
    if number_type is None:
        raise ValueError(f"'{phone_number}' is a number type the sandbox does not sell")
    e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    locality = (
        geocoder.description_for_number(parsed, "en")
        or COUNTRIES_BY_CODE.get(region, Country(region, region, "", "", (), "", "", "")).name
    )
    return NumberInfo(e164, region, number_type, locality)
