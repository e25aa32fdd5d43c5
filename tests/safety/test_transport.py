"""Finding 6: the API key is not sent in clear text over a network, and tests never see a real one."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from configs.settings import TelnyxSettings
from telnyx_compliance import AsyncTelnyx, Telnyx
from telnyx_compliance._base_client import InsecureTransportError


@pytest.mark.parametrize("client_class", [AsyncTelnyx, Telnyx])
@pytest.mark.parametrize(
    "base_url", ["http://api.telnyx.com/v2", "http://10.0.0.5:4010/v2", "http://sandbox.internal/v2"]
)
def test_plain_http_to_another_host_is_refused_with_a_key(client_class: type, base_url: str) -> None:
    with pytest.raises(
        InsecureTransportError, match="refusing to send the API key over plain http"
    ) as caught:
        client_class(api_key="KEYsecret", base_url=base_url)
    assert "KEYsecret" not in str(caught.value)
    client_class(api_key="KEYsecret", base_url=base_url, allow_insecure_http=True)  # on purpose: allowed


@pytest.mark.parametrize(
    "base_url",
    [
        "https://api.telnyx.com/v2",
        "http://127.0.0.1:4010/v2",
        "http://localhost:4010/v2",
        "http://[::1]:4010/v2",
    ],
)
def test_https_and_this_machine_are_fine(base_url: str) -> None:
    Telnyx(api_key="k", base_url=base_url).close()


def test_settings_carry_the_opt_in(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELNYX_API_KEY", "KEYsecret")
    monkeypatch.setenv("TELNYX_BASE_URL", "http://10.0.0.5:4010/v2")
    with pytest.raises(InsecureTransportError):
        TelnyxSettings().async_client()
    monkeypatch.setenv("TELNYX_ALLOW_INSECURE_HTTP", "1")
    assert TelnyxSettings().async_client().base_url == "http://10.0.0.5:4010/v2"


@pytest.mark.parametrize("base_url", ["ftp://api.telnyx.com/v2", "api.telnyx.com/v2", "https:///v2"])
def test_a_base_url_that_is_no_http_url_is_refused(base_url: str) -> None:
    with pytest.raises(ValueError, match="must be an http"):
        Telnyx(api_key="k", base_url=base_url)


def test_tests_run_in_a_temporary_folder_without_the_shells_settings(isolated: Path) -> None:
    assert Path.cwd() == isolated
    assert not [name for name in os.environ if name.startswith(("TELNYX_", "COMPLIANCE_", "SANDBOX_"))]
