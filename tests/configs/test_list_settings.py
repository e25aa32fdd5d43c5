"""Settings that are lists are lists: the comma-separated form older ``.env`` files use, and a JSON list."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from configs.settings import PipelineSettings
from telnyx_compliance.onboarding.confine import ConfinementError, RunScope, confine_parameter


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("COMPLIANCE_STORAGE_ROOTS", raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env


@pytest.mark.parametrize(
    "given",
    [
        "s3://a/onboarding,s3://b/in",
        " s3://a/onboarding , s3://b/in ,",
        '["s3://a/onboarding", "s3://b/in"]',
    ],
)
def test_storage_roots_from_the_environment(monkeypatch: pytest.MonkeyPatch, given: str) -> None:
    monkeypatch.setenv("COMPLIANCE_STORAGE_ROOTS", given)
    assert PipelineSettings().storage_roots == ["s3://a/onboarding", "s3://b/in"]


def test_storage_roots_from_an_existing_env_file(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("COMPLIANCE_STORAGE_ROOTS=s3://a/onboarding,s3://b/in\n", encoding="utf-8")
    assert PipelineSettings().storage_roots == ["s3://a/onboarding", "s3://b/in"]


def test_no_storage_roots_is_an_empty_list(monkeypatch: pytest.MonkeyPatch) -> None:
    assert PipelineSettings().storage_roots == []
    monkeypatch.setenv("COMPLIANCE_STORAGE_ROOTS", "")
    assert PipelineSettings().storage_roots == []
    assert PipelineSettings(storage_roots=["s3://a/x"]).storage_roots == ["s3://a/x"]


def test_a_broken_json_list_is_a_settings_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COMPLIANCE_STORAGE_ROOTS", '["s3://a/x"')
    with pytest.raises(ValidationError, match="storage_roots"):
        PipelineSettings()


def test_a_deployment_reads_only_under_the_roots_the_settings_list(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("COMPLIANCE_STORAGE_ROOTS", "s3://a/onboarding,s3://b/in")
    scope = RunScope.for_deployment(tmp_path, storage_roots=tuple(PipelineSettings().storage_roots))
    assert confine_parameter("s3://b/in/x.csv", "csv", scope, name="csv") == "s3://b/in/x.csv"
    with pytest.raises(ConfinementError, match=r"outside the storage roots .*s3://a/onboarding, s3://b/in"):
        confine_parameter("s3://b/other/x.csv", "csv", scope, name="csv")
