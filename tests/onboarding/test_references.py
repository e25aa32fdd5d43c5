"""customer_reference values: deterministic, role-specific, short, and distinct where customers differ."""

from __future__ import annotations

import pytest

from telnyx_compliance.onboarding.references import (
    MAX_REFERENCE_LENGTH,
    address_reference,
    document_reference,
    group_reference,
    is_group_reference,
    order_reference,
    order_reference_prefix_for_group,
)
from telnyx_compliance.onboarding.request import AddressInput, OnboardingKey

SHA = "08a96c641c3a74e44eb59afb61a24f2cb9f4d7188748e76ba4bb5edfa3cb7d1c"


def key(customer: str = "acme", country: str = "DE", number_type: str = "local") -> OnboardingKey:
    return OnboardingKey(
        customer_reference=customer, country_code=country, phone_number_type=number_type, action="ordering"
    )


def address(street: str = "Friedrichstraße 123") -> AddressInput:
    return AddressInput(
        first_name="Maria",
        last_name="Schmidt",
        business_name="Acme",
        street_address=street,
        locality="Berlin",
        country_code="DE",
    )


def test_references_are_readable_and_stable() -> None:
    assert group_reference(key()) == "tc-acme-de-local-ordering-group"
    assert order_reference(key(), ["+4930123", "+4930124"]).startswith("tc-acme-de-local-ordering-order-")
    assert order_reference(key(), ["+4930124", "+4930123"]) == order_reference(
        key(), ["+4930123", "+4930124"]
    )
    assert order_reference(key(), ["+4930123"]) != order_reference(key(), ["+4930124"])
    assert (
        document_reference(key(), "5F1C9E2A-1111", SHA)
        == "tc-acme-de-local-ordering-doc-5f1c9e2a-08a96c641c3a"
    )
    assert address_reference(key(), address()) == address_reference(key(), address())
    assert group_reference(key(), prefix="ops") == "ops-acme-de-local-ordering-group"


def test_changed_content_changes_the_reference() -> None:
    assert address_reference(key(), address()) != address_reference(key(), address("Unter den Linden 1"))
    assert document_reference(key(), "r1", SHA) != document_reference(key(), "r1", "f" * 64)
    assert document_reference(key(), "r1", SHA) != document_reference(key(), "r2", SHA)


@pytest.mark.parametrize(
    "customer",
    ["a-very-long-customer-reference-that-goes-on-and-on-and-on-xyz", "ACME", "Acme.Holdings_2024"],
)
def test_long_or_mixed_case_customers_are_hashed_within_the_limit(customer: str) -> None:
    refs = [
        group_reference(key(customer, number_type="shared_cost")),
        document_reference(key(customer, number_type="shared_cost"), "r" * 36, SHA),
        address_reference(key(customer, number_type="shared_cost"), address()),
    ]
    assert all(len(ref) <= MAX_REFERENCE_LENGTH for ref in refs)
    assert all(ref.startswith("tc-") for ref in refs)
    assert "~" in refs[0]


def test_customers_differing_only_in_case_get_different_references() -> None:
    assert group_reference(key("ACME")) != group_reference(key("acme"))
    assert group_reference(key("acme")) != group_reference(key("acme", country="FR"))


def test_reconcile_recognises_our_groups_and_finds_their_orders() -> None:
    reference = group_reference(key())
    assert is_group_reference(reference)
    assert not is_group_reference("someone-elses-group")
    assert not is_group_reference(None)
    assert order_reference(key(), ["+4930123"]).startswith(order_reference_prefix_for_group(reference))
