"""The `compliance` command as an operator meets it: help, start-up errors without tracebacks, templates."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from telnyx_compliance.cli import app
from telnyx_compliance.sandbox import SandboxServer

runner = CliRunner()


def test_help_lists_every_command() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("sandbox", "onboard-one", "onboard", "plan", "status", "template", "demo"):
        assert command in result.output


def test_missing_key_for_the_real_api_is_one_clear_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TELNYX_API_KEY", raising=False)
    monkeypatch.setenv("TELNYX_BASE_URL", "https://api.telnyx.com/v2")
    monkeypatch.chdir(tmp_path)
    csv_path = tmp_path / "customers.csv"
    csv_path.write_text("customer_reference,country_code\nacme,DE\n", encoding="utf-8")
    result = runner.invoke(app, ["onboard", str(csv_path)])
    assert result.exit_code == 2
    assert "TELNYX_API_KEY is not set" in result.output
    assert "Traceback" not in result.output


def test_template_lists_the_market_columns_from_a_live_lookup(
    sandbox: SandboxServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TELNYX_BASE_URL", sandbox.base_url)
    monkeypatch.delenv("TELNYX_API_KEY", raising=False)
    out = tmp_path / "de.csv"
    result = runner.invoke(app, ["template", "--country", "DE", "--out", str(out), "--rows", "2", "--fake"])
    assert result.exit_code == 0, result.output
    lines = [line for line in out.read_text(encoding="utf-8").splitlines() if not line.startswith("#")]
    header = lines[0].split(",")
    assert {"customer_reference", "country_code", "address_street_address", "doc_proof_of_address"} <= set(
        header
    )
    assert len(lines) == 3  # header + two fake rows
    assert (tmp_path / "documents").is_dir()


def test_rows_without_fake_is_refused(sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELNYX_BASE_URL", sandbox.base_url)
    result = runner.invoke(app, ["template", "--country", "DE", "--rows", "3"])
    assert result.exit_code == 2
    assert "--rows needs --fake" in result.output
