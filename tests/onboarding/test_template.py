"""The market template: header, one comment per requirement, addresses from examples, fake values."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from configs.settings import TelnyxSettings
from telnyx_compliance.onboarding.csv_io import iter_rows, read_layout
from telnyx_compliance.onboarding.mapping import RequirementMapping
from telnyx_compliance.onboarding.requirements import RequirementSpec
from telnyx_compliance.onboarding.template import (
    example_address,
    fake_phone_numbers,
    fake_rows,
    render_template,
    write_template,
)
from telnyx_compliance.sandbox import SandboxServer

REQUIREMENTS = [
    RequirementSpec(
        id="req-address",
        name="Business Address",
        field_type="address",
        example="Friedrichstraße 123, 10117 Berlin",
    ),
    RequirementSpec(
        id="req-bill",
        name="Utility Bill",
        field_type="document",
        description="A recent bill\nat the address",
        acceptance_criteria={"time_limit": "Less than 3 months old"},
    ),
    RequirementSpec(
        id="req-vat",
        name="VAT Number",
        field_type="textual",
        example="DE123456789",
        acceptance_criteria={"regex": r"DE\d{9}"},
    ),
    RequirementSpec(id="req-size", name="Company Size", field_type="textual", example="Small"),
]


def test_the_template_has_a_comment_per_requirement_then_a_header_the_reader_accepts(tmp_path: Path) -> None:
    text = render_template(REQUIREMENTS, RequirementMapping.load(), "DE", "local", "ordering")
    comments = [line for line in text.splitlines() if line.startswith("#")]
    assert "# doc_proof_of_address: Utility Bill — document; A recent bill at the address;" in text
    assert any(
        line.startswith("# value_tax_id: VAT Number — textual;") and r"DE\d{9}" in line for line in comments
    )
    assert any(line.startswith("# value_company_size: Company Size — textual") for line in comments)
    assert any(line.startswith("# address_*: Business Address — address") for line in comments)
    header = next(csv.reader(io.StringIO(text.splitlines()[len(comments)])))
    assert header[:4] == ["customer_reference", "country_code", "phone_number_type", "action"]
    assert {"address_street_address", "doc_proof_of_address", "value_tax_id", "value_company_size"} <= set(
        header
    )

    path = tmp_path / "template.csv"
    path.write_text(text, encoding="utf-8")
    layout = read_layout(path)
    assert layout.comment_lines == len(comments) and layout.document_keys == ("proof_of_address",)


def test_address_cells_come_from_the_requirement_example() -> None:
    assert example_address("Friedrichstraße 123, 10117 Berlin", "DE") == {
        "address_country_code": "DE",
        "address_street_address": "Friedrichstraße 123",
        "address_locality": "Berlin",
        "address_postal_code": "10117",
    }
    us = example_address("600 Congress Avenue, 14th Floor, Austin, TX 78701", "US")
    assert us["address_extended_address"] == "14th Floor" and us["address_locality"] == "Austin"
    assert us["address_administrative_area"] == "TX" and us["address_postal_code"] == "78701"
    gb = example_address("10 Downing Street, London SW1A 2AA", "GB")
    assert gb["address_locality"] == "London" and gb["address_postal_code"] == "SW1A 2AA"


def test_fake_rows_are_valid_distinct_and_reproducible(tmp_path: Path) -> None:
    mapping = RequirementMapping.load()
    rows = fake_rows(REQUIREMENTS, mapping, 25, tmp_path, seed=5, country="DE")
    assert rows == fake_rows(REQUIREMENTS, mapping, 25, tmp_path, seed=5, country="DE")
    assert (
        len({row["customer_reference"] for row in rows}) == len({row["phone_numbers"] for row in rows}) == 25
    )
    assert len({row["value_tax_id"] for row in rows}) > 1  # varied digits, still DE + 9 digits
    assert (tmp_path / rows[0]["doc_proof_of_address"]).read_bytes().startswith(b"%PDF-")
    path = tmp_path / "fake.csv"
    path.write_text(render_template(REQUIREMENTS, mapping, "DE", "local", "ordering", rows), encoding="utf-8")
    parsed = list(iter_rows(path))
    assert [row.ok for row in parsed] == [True] * 25
    assert all(row.request and row.request.values["tax_id"].startswith("DE") for row in parsed)


def test_fake_phone_numbers_are_of_the_requested_type() -> None:
    import phonenumbers

    mobiles = fake_phone_numbers("GB", "mobile", 5, seed=1)
    assert len(mobiles) == 5
    assert all(
        phonenumbers.number_type(phonenumbers.parse(n)) == phonenumbers.PhoneNumberType.MOBILE
        for n in mobiles
    )


def test_write_template_looks_the_market_up_and_writes_rows_with_documents(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    out = tmp_path / "gb" / "template.csv"
    write_template(TelnyxSettings(base_url=sandbox.base_url), country="gb", out=out, rows=3)
    parsed = list(iter_rows(out))
    assert [row.ok for row in parsed] == [True, True, True]
    assert parsed[0].request is not None and parsed[0].request.country_code == "GB"
    assert (tmp_path / "gb" / "documents" / "proof_of_address.pdf").exists()
