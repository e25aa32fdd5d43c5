"""The CSV template for one market, and synthetic rows filling it (sandbox runs, benchmarks).

``render_template`` writes one ``# <column>: <requirement> — <kind>; ...`` comment line per requirement
followed by the header (the reader skips comment lines above the header); ``fake_rows`` builds rows whose
values satisfy every requirement's criteria, with small generated PDF documents.
"""

from __future__ import annotations

import asyncio
import csv
import io
import random
from collections.abc import Mapping, Sequence
from pathlib import Path

import phonenumbers

from telnyx_compliance._client import AsyncTelnyx
from telnyx_compliance.onboarding.csv_io import ADDRESS_COLUMNS, DOCUMENT_PREFIX, VALUE_PREFIX
from telnyx_compliance.onboarding.fake import minimal_pdf, vary_example
from telnyx_compliance.onboarding.lookups import lookup_requirements
from telnyx_compliance.onboarding.mapping import RequirementMapping
from telnyx_compliance.onboarding.plan import TextProblem, check_text, describe_criteria
from telnyx_compliance.onboarding.request import OnboardingKey, check_country_code
from telnyx_compliance.onboarding.requirements import RequirementSpec
from telnyx_compliance.settings import TelnyxSettings

BASE_COLUMNS = ("customer_reference", "country_code", "phone_number_type", "action")
ORDER_COLUMNS = ("phone_numbers", "sub_number_order_ids", "number_order_phone_number_ids")
_NUMBER_TYPES: Mapping[str, tuple[int, ...]] = {
    "local": (phonenumbers.PhoneNumberType.FIXED_LINE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE),
    "mobile": (phonenumbers.PhoneNumberType.MOBILE,),
    "toll_free": (phonenumbers.PhoneNumberType.TOLL_FREE,),
    "shared_cost": (phonenumbers.PhoneNumberType.SHARED_COST,),
    "national": (
        phonenumbers.PhoneNumberType.UAN,
        phonenumbers.PhoneNumberType.VOIP,
        phonenumbers.PhoneNumberType.PERSONAL_NUMBER,
    ),
}


def requirement_column(requirement: RequirementSpec, mapping: RequirementMapping) -> str | None:
    """The CSV column filling ``requirement``; None for an address (filled from the ``address_*`` columns)."""
    if requirement.field_type == "address":
        return None
    prefix = DOCUMENT_PREFIX if requirement.field_type == "document" else VALUE_PREFIX
    return prefix + mapping.key_for(requirement.id, requirement.name)


def template_columns(requirements: Sequence[RequirementSpec], mapping: RequirementMapping) -> list[str]:
    """Header of the market's CSV: base, address (when required), order and requirement columns."""
    columns = list(BASE_COLUMNS)
    if any(requirement.field_type == "address" for requirement in requirements):
        columns += ADDRESS_COLUMNS
    columns += ORDER_COLUMNS
    for requirement in requirements:
        column = requirement_column(requirement, mapping)
        if column is not None and column not in columns:
            columns.append(column)
    return columns


def _one_line(text: str) -> str:
    return " ".join(text.split())


def describe_requirement(requirement: RequirementSpec, mapping: RequirementMapping) -> str:
    """``doc_proof_of_address: Proof of Address — document; <description>; criteria ...`` on one line."""
    column = requirement_column(requirement, mapping) or "address_*"
    parts = [f"{column}: {requirement.name} — {requirement.field_type}"]
    if requirement.description:
        parts.append(_one_line(requirement.description))
    criteria = requirement.acceptance_criteria
    if requirement.field_type == "textual":
        parts.append("expected " + describe_criteria(criteria, requirement.example))
    elif requirement.example:
        parts.append(f"e.g. {_one_line(requirement.example)}")
    for limit in (criteria.locality_limit, criteria.time_limit):
        if limit:
            parts.append(_one_line(limit))
    if requirement.field_type == "document":
        parts.append("a PDF, PNG, JPEG or TIFF file, path relative to this CSV's folder")
    return "; ".join(parts)


def render_template(
    requirements: Sequence[RequirementSpec],
    mapping: RequirementMapping,
    country: str,
    phone_number_type: str,
    action: str,
    rows: Sequence[Mapping[str, str]] = (),
) -> str:
    """Comment lines describing each requirement, the header, then ``rows`` (if any)."""
    buffer = io.StringIO()
    buffer.write(f"# Onboarding CSV for {country} {phone_number_type} numbers ({action}).\n")
    buffer.write("# Lines starting with # above the header are ignored. One row per onboarding.\n")
    for requirement in requirements:
        buffer.write(f"# {describe_requirement(requirement, mapping)}\n")
    writer = csv.DictWriter(buffer, fieldnames=template_columns(requirements, mapping), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def example_address(example: str, country: str) -> dict[str, str]:
    """``address_*`` cells from an address requirement's example (``"Friedrichstraße 123, 10117 Berlin"``).

    Splits ``street[, extra], [locality,] postal-code-and-locality``: tokens with digits in the last part are
    the postal code; with three parts or more, the second-to-last is the locality and the rest of the last
    part the administrative area.
    """
    parts = [part.strip() for part in example.split(",") if part.strip()]
    cells = {"address_country_code": country}
    if len(parts) < 2:
        return {**cells, "address_street_address": example or "Main Street 1", "address_locality": "Capital"}
    tokens = parts[-1].split()
    postal = " ".join(token for token in tokens if any(ch.isdigit() for ch in token))
    rest = " ".join(token for token in tokens if not any(ch.isdigit() for ch in token))
    cells["address_street_address"] = parts[0]
    if len(parts) >= 4:
        cells["address_extended_address"] = ", ".join(parts[1:-2])
    if len(parts) >= 3:
        cells["address_locality"] = parts[-2]
        if rest:
            cells["address_administrative_area"] = rest
    else:
        cells["address_locality"] = rest or parts[0]
    if postal:
        cells["address_postal_code"] = postal
    return cells


def fake_phone_numbers(country: str, phone_number_type: str, count: int, seed: int) -> list[str]:
    """``count`` distinct valid E.164 numbers of the type, varied from libphonenumber's example number."""
    types = _NUMBER_TYPES.get(phone_number_type, ())
    examples = (phonenumbers.example_number_for_type(country, kind) for kind in types)
    example = next((number for number in examples if number is not None), None)
    if example is None:
        return []
    national = str(example.national_number)
    width = min(6, len(national) - 2)
    rng = random.Random(seed)
    found: dict[str, None] = {}
    for _ in range(count * 20):
        if len(found) >= count:
            break
        candidate = national[:-width] + f"{rng.randrange(10**width):0{width}d}"
        parsed = phonenumbers.parse(f"+{example.country_code}{candidate}", None)
        if phonenumbers.is_valid_number(parsed) and phonenumbers.number_type(parsed) in types:
            found[phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)] = None
    return list(found)


def _fake_value(requirement: RequirementSpec, rng: random.Random) -> str:
    """The requirement's example, with digits varied when the variation still meets the criteria."""
    example = requirement.example or "Sample value"
    varied = vary_example(example, rng)
    if not isinstance(check_text(varied, requirement.acceptance_criteria), TextProblem):
        return varied
    return example


def fake_rows(
    requirements: Sequence[RequirementSpec],
    mapping: RequirementMapping,
    n: int,
    out_dir: Path,
    seed: int = 0,
    *,
    country: str,
    phone_number_type: str = "local",
    action: str = "ordering",
    with_phone_numbers: bool = True,
) -> list[dict[str, str]]:
    """``n`` rows with valid synthetic values; a small PDF per document requirement in ``out_dir/documents``.

    Paths in the rows are relative to ``out_dir`` (where the CSV goes). Rows get distinct customer
    references and, when ``with_phone_numbers`` and the market has numbers, one distinct number each.
    """
    country = check_country_code(country)
    rng = random.Random(seed)
    documents = out_dir / "documents"
    documents.mkdir(parents=True, exist_ok=True)
    shared: dict[str, str] = {}
    for requirement in requirements:
        column = requirement_column(requirement, mapping)
        if requirement.field_type == "address":
            shared.update(example_address(requirement.example, country))
        elif column is not None and requirement.field_type == "document":
            key = column[len(DOCUMENT_PREFIX) :]
            path = documents / f"{key}.pdf"
            path.write_bytes(
                minimal_pdf(
                    [requirement.name, _one_line(requirement.description)[:90], f"Country: {country}"],
                    title=f"Sample {requirement.name}",
                )
            )
            shared[column] = f"documents/{path.name}"
    numbers = fake_phone_numbers(country, phone_number_type, n, seed) if with_phone_numbers else []
    rows = []
    for index in range(n):
        row = {
            "customer_reference": f"fake-{seed}-{index:06d}",
            "country_code": country,
            "phone_number_type": phone_number_type,
            "action": action,
            **shared,
        }
        if "address_street_address" in row:
            row |= {
                "address_first_name": "Maria",
                "address_last_name": "Schmidt",
                "address_business_name": f"Sample Company {index}",
            }
        for requirement in requirements:
            column = requirement_column(requirement, mapping)
            if column is not None and requirement.field_type == "textual":
                row[column] = _fake_value(requirement, rng)
        if index < len(numbers):
            row["phone_numbers"] = numbers[index]
        rows.append(row)
    return rows


async def fetch_requirements(
    client: AsyncTelnyx, country: str, phone_number_type: str, action: str
) -> list[RequirementSpec]:
    """The market's requirements from Telnyx (``/regulatory_requirements``)."""
    key = OnboardingKey(
        customer_reference="template",
        country_code=check_country_code(country),
        phone_number_type=phone_number_type,
        action=action,
    )
    return await lookup_requirements(client, key)


def write_template(
    settings: TelnyxSettings,
    *,
    country: str,
    phone_number_type: str = "local",
    action: str = "ordering",
    out: Path | None = None,
    rows: int = 0,
    seed: int = 0,
    mapping: RequirementMapping | None = None,
) -> str:
    """Look the market up, render the template (with ``rows`` fake rows) to ``out`` or stdout; return it.

    Fake documents go to ``documents/`` next to ``out`` (or in the current folder when printing).
    """
    mapping = mapping or RequirementMapping.load()

    async def fetch() -> list[RequirementSpec]:
        async with settings.async_client() as client:
            return await fetch_requirements(client, country, phone_number_type, action)

    requirements = asyncio.run(fetch())
    country = check_country_code(country)
    folder = out.parent if out is not None else Path.cwd()
    fake = (
        fake_rows(
            requirements,
            mapping,
            rows,
            folder,
            seed,
            country=country,
            phone_number_type=phone_number_type,
            action=action,
        )
        if rows
        else []
    )
    text = render_template(requirements, mapping, country, phone_number_type, action, fake)
    if out is None:
        print(text, end="")
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
    return text


__all__ = [
    "describe_requirement",
    "example_address",
    "fake_phone_numbers",
    "fake_rows",
    "fetch_requirements",
    "render_template",
    "requirement_column",
    "template_columns",
    "write_template",
]
