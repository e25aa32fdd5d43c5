"""Start-up configuration: a clear error without a key for the real API, the sandbox needs none."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from configs.settings import SANDBOX_API_KEY, TelnyxSettings, is_local_url


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: pytest.TempPathFactory) -> None:
    for name in ("TELNYX_API_KEY", "TELNYX_BASE_URL", "TELNYX_RATE_LIMIT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env


def test_missing_key_for_the_real_api_names_the_variable_and_the_way_out() -> None:
    with pytest.raises(ValidationError) as excinfo:
        TelnyxSettings()
    message = str(excinfo.value)
    assert "TELNYX_API_KEY is not set" in message
    assert "https://api.telnyx.com/v2" in message
    assert "compliance sandbox" in message


def test_local_sandbox_gets_a_placeholder_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELNYX_BASE_URL", "http://127.0.0.1:4010/v2")
    settings = TelnyxSettings()
    assert settings.api_key_value == SANDBOX_API_KEY


def test_key_and_knobs_come_from_the_environment_and_the_key_never_prints(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TELNYX_API_KEY", "KEY-do-not-print-0123")
    monkeypatch.setenv("TELNYX_RATE_LIMIT", "7.5")
    settings = TelnyxSettings()
    assert settings.api_key_value == "KEY-do-not-print-0123"
    assert settings.rate_limit == 7.5
    assert "KEY-do-not-print-0123" not in repr(settings)
    assert "KEY-do-not-print-0123" not in str(settings.model_dump())


@pytest.mark.parametrize(
    ("url", "local"),
    [
        ("http://127.0.0.1:4010/v2", True),
        ("http://localhost:4010/v2", True),
        ("http://[::1]:4010/v2", True),
        ("https://api.telnyx.com/v2", False),
        ("http://10.0.0.5/v2", False),
    ],
)
def test_only_loopback_counts_as_local(url: str, local: bool) -> None:
    assert is_local_url(url) is local
