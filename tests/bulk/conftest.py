"""Builders for onboarding CSVs and their documents."""

from __future__ import annotations

import csv
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import pytest

from telnyx_compliance.onboarding.fake import minimal_pdf, minimal_png

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


@pytest.fixture
def csv_dir(tmp_path: Path) -> Path:
    """A folder with ``documents/bill.pdf`` and ``documents/passport.png``."""
    documents = tmp_path / "documents"
    documents.mkdir()
    (documents / "bill.pdf").write_bytes(minimal_pdf(["Electricity bill", "Friedrichstrasse 12"]))
    (documents / "passport.png").write_bytes(minimal_png(seed=1))
    return tmp_path


@pytest.fixture
def write_csv(csv_dir: Path) -> WriteCSV:
    """``write_csv(rows, columns=None, name="onboarding.csv")``: the CSV in ``csv_dir``."""

    def write(
        rows: Sequence[Mapping[str, str]], columns: Sequence[str] | None = None, name: str = "onboarding.csv"
    ) -> Path:
        header = list(columns or dict.fromkeys(key for row in (rows or [valid_row()]) for key in row))
        path = csv_dir / name
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=header)
            writer.writeheader()
            writer.writerows(rows)
        return path

    return write
