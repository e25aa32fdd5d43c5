"""Builders for onboarding CSVs (shared by the CSV, bulk and template tests)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

ADDRESS = {
    "address_first_name": "Erika",
    "address_last_name": "Mustermann",
    "address_business_name": "Acme GmbH",
    "address_street_address": "Friedrichstrasse 12",
    "address_locality": "Berlin",
    "address_postal_code": "10117",
}

WriteCSV = Callable[..., Path]


def valid_row(customer_reference: str = "acme", **cells: str) -> dict[str, str]:
    """A row valid under the CSV format (DE, local, ordering), with one document and one value."""
    row = {
        "customer_reference": customer_reference,
        "country_code": "DE",
        "phone_number_type": "local",
        "action": "ordering",
        **ADDRESS,
        "phone_numbers": "+4930123456",
        "doc_proof_of_address": "documents/bill.pdf",
        "value_tax_id": "DE123456789",
    }
    row.update(cells)
    return row
