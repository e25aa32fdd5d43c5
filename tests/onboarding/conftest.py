"""Builders for onboarding CSVs and their documents."""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

from telnyx_compliance.onboarding.fake import minimal_pdf, minimal_png

from .support import WriteCSV, valid_row


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
