"""build_plan: every criterion kind, every problem at once, documents hashed and sniffed."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from telnyx_compliance.onboarding.mapping import RequirementMapping
from telnyx_compliance.onboarding.plan import PlanError, build_plan, check_text
from telnyx_compliance.onboarding.request import AddressInput, OnboardingRequest
from telnyx_compliance.onboarding.requirements import AcceptanceCriteria, RequirementSpec

PDF = b"%PDF-1.4\n% test document\n"


def spec(rid: str, name: str, kind: str, **criteria: object) -> RequirementSpec:
    return RequirementSpec.model_validate(
        {"id": rid, "name": name, "field_type": kind, "example": "", "acceptance_criteria": criteria}
    )


ADDRESS = spec("a1", "Address", "address")
PROOF = spec("d1", "Proof of Address", "document")
VAT = spec("t1", "VAT Number", "textual", regex=r"DE\d{9}", min_length="11", max_length="13")
END_USER = spec(
    "t2", "Type of End User", "textual", acceptable_values=["Business", "Individual"], case_sensitive="true"
)
ACCOUNT = spec("t3", "Account Number", "textual", acceptable_characters="ABC0123456789-")


def address(country: str = "DE") -> AddressInput:
    return AddressInput(
        first_name="Maria",
        last_name="Schmidt",
        business_name="Acme GmbH",
        street_address="Friedrichstraße 123",
        locality="Berlin",
        postal_code="10117",
        country_code=country,
    )


def request(tmp_path: Path, **overrides: object) -> OnboardingRequest:
    proof = tmp_path / "proof.pdf"
    proof.write_bytes(PDF)
    fields: dict[str, object] = {
        "customer_reference": "acme",
        "country_code": "DE",
        "address": address(),
        "documents": {"proof_of_address": proof},
        "values": {"tax_id": "DE123456789", "type_of_end_user": "Business", "account_number": "AB-12"},
    }
    fields.update(overrides)
    return OnboardingRequest.model_validate(fields)


def test_a_valid_request_maps_every_requirement_to_its_value(tmp_path: Path) -> None:
    plan = build_plan(request(tmp_path), [ADDRESS, PROOF, VAT, END_USER, ACCOUNT], RequirementMapping.load())

    by_id = {item.requirement.id: item for item in plan.items}
    assert by_id["t1"].text == "DE123456789"
    assert by_id["t2"].text == "Business"
    document = by_id["d1"].document
    assert document is not None
    assert document.sha256 == hashlib.sha256(PDF).hexdigest()
    assert (document.size, document.content_type, document.filename) == (
        len(PDF),
        "application/pdf",
        "proof.pdf",
    )
    assert document.reference.startswith("tc-acme-de-local-ordering-doc-d1-")
    assert plan.address is not None and plan.address.reference.startswith(
        "tc-acme-de-local-ordering-address-"
    )
    assert plan.group_reference == "tc-acme-de-local-ordering-group"


def test_every_problem_is_reported_together(tmp_path: Path) -> None:
    bad = request(
        tmp_path,
        address=None,
        documents={},
        values={"tax_id": "FR123", "type_of_end_user": "business", "account_number": "ab_12"},
    )
    with pytest.raises(PlanError) as caught:
        build_plan(bad, [ADDRESS, PROOF, VAT, END_USER, ACCOUNT], RequirementMapping.load())

    problems = {problem.requirement_id: problem for problem in caught.value.problems}
    assert set(problems) == {"a1", "d1", "t1", "t2", "t3"}
    assert problems["a1"].got is None and "address in DE" in problems["a1"].expected
    assert problems["d1"].got is None and problems["d1"].column == "doc_proof_of_address"
    assert "DE\\d{9}" in problems["t1"].expected and "at least 11 characters" in problems["t1"].expected
    assert problems["t1"].got == "FR123" and problems["t1"].column == "value_tax_id"
    assert "'Business'" in problems["t2"].expected  # case-sensitive: "business" is not "Business"
    assert "not '_ab'" in problems["t3"].expected
    message = str(caught.value)
    assert "5 requirement(s)" in message and "VAT Number [tax_id]" in message


def test_missing_textual_value_names_the_key_and_an_example(tmp_path: Path) -> None:
    contact = RequirementSpec(id="t9", name="Contact Name", field_type="textual", example="Maria Schmidt")
    with pytest.raises(PlanError) as caught:
        build_plan(request(tmp_path), [contact], RequirementMapping())
    (problem,) = caught.value.problems
    assert (problem.key, problem.got) == ("contact_name", None)
    assert "Maria Schmidt" in problem.expected


@pytest.mark.parametrize(
    ("criteria", "value", "result"),
    [
        ({"regex": r"\d{5}"}, "12345", "12345"),
        ({"regex": r"\d{5}"}, "123456", None),  # full match, not search
        ({"regex": r"[a-z]+", "case_sensitive": "false"}, "ABC", "ABC"),
        ({"min_length": "3"}, "ab", None),
        ({"max_length": "3"}, "abcd", None),
        ({"min_length": "2", "max_length": "4"}, "abc", "abc"),
        ({"acceptable_values": ["Business", "Individual"]}, "Individual", "Individual"),
        ({"acceptable_values": ["Business"], "case_sensitive": "true"}, "BUSINESS", None),
        ({"acceptable_values": ["Business"], "case_sensitive": "false"}, "BUSINESS", "Business"),
        ({"acceptable_characters": "0123456789"}, "0042", "0042"),
        ({"acceptable_characters": "0123456789"}, "00-42", None),
        ({"regex": "(unclosed"}, "anything", "anything"),  # not checkable here: left to the reviewer
        ({}, "  padded  ", "padded"),
    ],
)
def test_each_textual_criterion(criteria: dict[str, object], value: str, result: str | None) -> None:
    checked = check_text(value, AcceptanceCriteria.model_validate(criteria))
    if result is None:
        assert not isinstance(checked, str)
    else:
        assert checked == result


def test_address_in_another_country_than_the_market(tmp_path: Path) -> None:
    # The request model refuses this combination; a plan built from an unvalidated copy must refuse it too.
    mismatched = request(tmp_path).model_copy(update={"address": address("FR")})
    with pytest.raises(PlanError) as caught:
        build_plan(mismatched, [ADDRESS], RequirementMapping())
    (problem,) = caught.value.problems
    assert problem.expected == "an address in DE" and problem.got == "an address in FR"


def test_document_file_must_exist_be_small_enough_and_of_an_accepted_type(tmp_path: Path) -> None:
    (tmp_path / "big.pdf").write_bytes(PDF + b"x" * 2048)
    (tmp_path / "notes.txt").write_text("hello", encoding="utf-8")
    (tmp_path / "empty.pdf").write_bytes(b"")
    documents = {
        "proof_of_address": tmp_path / "missing.pdf",
        "identity_document": tmp_path / "big.pdf",
        "business_registration": tmp_path / "notes.txt",
        "letter": tmp_path / "empty.pdf",
    }
    requirements = [
        PROOF,
        spec("d2", "Identity Document", "document"),
        spec("d3", "Business Registration", "document"),
        spec("d4", "Letter", "document"),
    ]
    with pytest.raises(PlanError) as caught:
        build_plan(
            request(tmp_path, documents=documents),
            requirements,
            RequirementMapping.load(),
            max_document_bytes=1024,
        )
    got = {problem.requirement_id: problem.got or "" for problem in caught.value.problems}
    assert "file not found" in got["d1"]
    assert "larger than 1.0 KB" in got["d2"]
    assert "text/plain" in got["d3"]
    assert "empty file" in got["d4"]


def test_content_type_comes_from_the_bytes_not_the_extension(tmp_path: Path) -> None:
    png = tmp_path / "scan.pdf"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 32)
    plan = build_plan(
        request(tmp_path, documents={"proof_of_address": png}), [PROOF], RequirementMapping.load()
    )
    assert plan.documents[0].document is not None
    assert plan.documents[0].document.content_type == "image/png"


def test_plan_error_survives_pickling(tmp_path: Path) -> None:
    import pickle

    with pytest.raises(PlanError) as caught:
        build_plan(request(tmp_path, values={}), [VAT], RequirementMapping.load())
    restored = pickle.loads(pickle.dumps(caught.value))  # noqa: S301 - our own bytes
    assert restored.problems == caught.value.problems and str(restored) == str(caught.value)


def test_a_document_named_by_a_file_url_with_a_host_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    with pytest.raises(PlanError) as caught:
        build_plan(
            request(tmp_path, documents={"proof_of_address": "file://fileserver/proof.pdf"}),
            [PROOF],
            RequirementMapping.load(),
        )
    (problem,) = caught.value.problems
    assert problem.got == "file://fileserver/proof.pdf: file:// URLs must name a local path (file:///…)"
