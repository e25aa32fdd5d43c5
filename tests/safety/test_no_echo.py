"""Finding 2: a file that is not an onboarding CSV is refused without its contents showing anywhere.

Before: ``compliance onboard .env`` printed the API key, because the header error quoted unknown columns in
full, and the ``bulk-onboard`` deployment let anyone read a worker file's first line that way.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from telnyx_compliance.cli import app
from telnyx_compliance.onboarding.csv_io import CSVFormatError, iter_rows, read_layout

SECRET = "KEY0123456789ABCDEFsecretpart_abcdefghij"


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        (".env", f"TELNYX_API_KEY={SECRET}\n", "hidden files"),
        (".netrc", f"machine api.telnyx.com password {SECRET}\n", "hidden files"),
        ("keys.csv", f"TELNYX_API_KEY={SECRET}\n", "is not the header of an onboarding CSV"),
        (
            "id_rsa",
            f"-----BEGIN OPENSSH PRIVATE KEY-----\n{SECRET}\n",
            "is not the header of an onboarding CSV",
        ),
        ("passwd", f"root:x:0:0:{SECRET}:/root:/bin/bash\n", "is not the header of an onboarding CSV"),
        ("db.sqlite", f"SQLite format 3\x00{SECRET}", "holds binary data"),
        ("latin1.csv", "customer_reference,country_code\nm\xfcller,DE\n", "not UTF-8"),
    ],
)
def test_files_that_are_not_onboarding_csvs_are_refused_without_their_contents(
    tmp_path: Path, name: str, content: str, reason: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content.encode("latin-1" if name == "latin1.csv" else "utf-8"))
    with pytest.raises(CSVFormatError) as caught:
        read_layout(path)
    assert reason in str(caught.value)
    assert SECRET not in str(caught.value) and SECRET[:12] not in str(caught.value)
    result = CliRunner().invoke(app, ["onboard", str(path), "--json"], env={"TELNYX_API_KEY": "k"})
    assert result.exit_code == 2, result.output
    assert SECRET[:12] not in result.output
    assert not list(tmp_path.glob("*.results.csv"))


def test_unknown_columns_of_a_real_header_are_named_short_and_clean(tmp_path: Path) -> None:
    path = tmp_path / "customers.csv"
    long_name = "value_" + "x" * 500
    path.write_text(
        f'customer_reference,country_code,adress_locality,"{long_name}","\x1b[31mred"\n', encoding="utf-8"
    )
    with pytest.raises(CSVFormatError) as caught:
        read_layout(path)
    text = str(caught.value)
    assert "'adress_locality'" in text  # a typo is shown, so it can be fixed
    assert "x" * 60 not in text and "…" in text
    assert "\x1b" not in text


def test_a_cell_is_quoted_as_a_short_excerpt(tmp_path: Path) -> None:
    path = tmp_path / "customers.csv"
    path.write_text(
        "customer_reference,country_code,phone_number_type\n" + f"acme,DE,{'z' * 5000}\x1b]8;;evil\n",
        encoding="utf-8",
    )
    (row,) = list(iter_rows(path))
    assert not row.ok
    assert len(row.error_text) < 400 and "z" * 50 not in row.error_text and "\x1b" not in row.error_text


def test_the_json_summary_of_a_refused_file_holds_no_content(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text(f"password: {SECRET}\nmore secrets\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["onboard", str(path), "--json"], env={"TELNYX_API_KEY": "k"})
    assert result.exit_code == 2
    assert SECRET[:12] not in result.output
    for line in result.stdout.splitlines():
        if line.startswith("{"):
            assert SECRET[:12] not in json.dumps(json.loads(line))
