"""Safe by default: exposure needs keys, a browser on another site cannot drive a loopback sandbox (Host
allow-list, admin writes take JSON or a key, links from the sandbox's own URL), URL uploads go through the net
guard, bodies are capped, and malformed input is a Telnyx-shaped 4xx, never a 5xx."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import re
import socket
import threading
import time
import warnings
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

import telnyx_compliance._netguard as netguard
import telnyx_compliance.sandbox as sandbox_package
from telnyx_compliance.cli import app as cli
from telnyx_compliance.sandbox import SandboxConfig, SandboxServer, create_app, serve
from telnyx_compliance.sandbox.hardening import (
    MAX_JSON_DEPTH,
    ExposureError,
    SafeJSONResponse,
    check_exposure,
    is_loopback_host,
)
from tests.sandbox.support import LOCAL_URL, PDF, complete_group, in_process, upload

with warnings.catch_warnings():  # Starlette's notice about httpx in its TestClient
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

KEY = "the-key"
AUTH = {"Authorization": f"Bearer {KEY}"}


def _error(response: httpx.Response) -> dict[str, Any]:
    """The first Telnyx error of a response, after checking the format."""
    assert response.headers["content-type"].startswith("application/json"), response.headers
    errors = response.json()["errors"]
    assert errors and all({"code", "title", "detail", "source", "meta"} <= set(item) for item in errors)
    return dict(errors[0])


# -- 1. exposure and the admin routes -----------------------------------------------------------------------


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "localhost", "::1", "[::1]", "::ffff:127.0.0.1"])
def test_loopback_hosts_are_recognised(host: str) -> None:
    assert is_loopback_host(host)
    check_exposure(SandboxConfig(), host)  # no key needed


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "", "192.168.1.20", "10.0.0.5", "203.0.113.7"])
def test_any_other_interface_needs_an_api_key(host: str) -> None:
    assert not is_loopback_host(host)
    with pytest.raises(ExposureError, match="without an API key"):
        check_exposure(SandboxConfig(), host)
    with pytest.raises(ExposureError):
        check_exposure(SandboxConfig(api_keys=" , "), host)  # blank keys are no keys
    check_exposure(SandboxConfig(api_keys=[KEY]), host)


def test_serve_and_the_server_helper_refuse_before_binding() -> None:
    with pytest.raises(ExposureError):
        serve(SandboxConfig(), host="0.0.0.0", port=1)
    with pytest.raises(ExposureError):
        SandboxServer(SandboxConfig(), host="0.0.0.0")


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> list[tuple[SandboxConfig, str]]:
    """``compliance sandbox`` with ``serve`` recorded instead of run."""
    calls: list[tuple[SandboxConfig, str]] = []
    monkeypatch.setattr(sandbox_package, "serve", lambda config, host, port: calls.append((config, host)))
    monkeypatch.delenv("SANDBOX_API_KEYS", raising=False)
    return calls


def test_the_cli_refuses_a_public_host_without_a_key_in_one_line(served: list[Any]) -> None:
    result = CliRunner().invoke(cli, ["sandbox", "--host", "0.0.0.0"])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: refusing to listen on 0.0.0.0 without an API key")
    assert "--api-key" in lines[0]
    assert served == []


def test_the_cli_serves_a_public_host_with_a_key_from_a_flag_or_the_environment(
    served: list[tuple[SandboxConfig, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert CliRunner().invoke(cli, ["sandbox", "--host", "0.0.0.0", "--api-key", KEY]).exit_code == 0
    monkeypatch.setenv("SANDBOX_API_KEYS", "from-env")
    assert CliRunner().invoke(cli, ["sandbox", "--host", "0.0.0.0"]).exit_code == 0
    assert [(config.api_keys, host) for config, host in served] == [
        ([KEY], "0.0.0.0"),
        (["from-env"], "0.0.0.0"),
    ]
    assert CliRunner().invoke(cli, ["sandbox"]).exit_code == 0  # loopback, the default
    assert served[-1][1] == "127.0.0.1"


@pytest.fixture
def keyed() -> Iterator[TestClient]:
    with in_process(SandboxConfig(seed=1, api_keys=[KEY, "second-key"])) as client:
        yield client


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/_sandbox/stats", None),
        ("PATCH", "/_sandbox/config", {"error_rate": 1}),
        ("POST", "/_sandbox/reset", None),
        ("GET", "/_sandbox/clock", None),
        ("POST", "/_sandbox/clock/advance", {"seconds": 3600}),
        ("GET", "/_sandbox/verification_codes/+15125550100", None),
        ("POST", "/_sandbox/requirement_groups/x/expire", None),
    ],
)
def test_with_keys_the_admin_routes_take_the_same_keys(
    keyed: TestClient, method: str, path: str, body: dict[str, Any] | None
) -> None:
    document = keyed.post("/v2/documents", json={"file": base64.b64encode(PDF).decode()}, headers=AUTH)
    keyed.post(
        "/v2/verified_numbers",
        json={"phone_number": "+15125550100", "verification_method": "sms"},
        headers=AUTH,
    )
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": KEY}):
        refused = keyed.request(method, path, json=body, headers=headers)
        assert refused.status_code == 401, (headers, refused.text)
        assert _error(refused)["code"] == "10009"
    # Nothing happened: the document survived, the knobs and the clock did not move.
    assert keyed.get(f"/v2/documents/{document.json()['data']['id']}", headers=AUTH).status_code == 200
    stats = keyed.get("/_sandbox/stats", headers=AUTH).json()
    assert stats["config"]["error_rate"] == 0 and stats["clock"]["offset_seconds"] == 0
    accepted = keyed.request(method, path, json=body, headers={"Authorization": "Bearer second-key"})
    assert accepted.status_code in (200, 404), accepted.text  # 404: the group "x" does not exist


def test_with_keys_health_and_download_links_stay_open(keyed: TestClient) -> None:
    assert keyed.get("/_sandbox/health").json() == {"status": "ok"}
    document = keyed.post("/v2/documents", json={"file": base64.b64encode(PDF).decode()}, headers=AUTH)
    link = keyed.get(f"/v2/documents/{document.json()['data']['id']}/download_link", headers=AUTH)
    url = httpx.URL(link.json()["data"]["url"])
    assert keyed.get(url.path).content == PDF  # the token in the URL is the credential
    assert keyed.get("/_sandbox/files/not-a-token").status_code == 404


def test_with_keys_v2_takes_only_those_keys(keyed: TestClient) -> None:
    assert keyed.get("/v2/documents", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert keyed.get("/v2/documents", headers=AUTH).status_code == 200


def test_without_keys_on_loopback_everything_works_as_before() -> None:
    with in_process(SandboxConfig()) as client:
        assert client.get("/_sandbox/stats").status_code == 200
        assert client.get("/v2/documents", headers={"Authorization": "Bearer anything"}).status_code == 200
        assert client.get("/v2/documents").status_code == 401


def test_the_server_helpers_send_the_key() -> None:
    with SandboxServer(SandboxConfig(seed=2, api_keys=[KEY])) as sandbox:
        assert httpx.get(f"{sandbox.root_url}/_sandbox/stats").status_code == 401
        assert sandbox.api_key == KEY
        sandbox.configure(approve_after=1.0)
        sandbox.advance_clock(10)
        assert sandbox.stats()["clock"]["offset_seconds"] == 10
        sandbox.reset()
        with httpx.Client(base_url=sandbox.base_url, headers=sandbox.auth_headers) as api:
            api.post("/verified_numbers", json={"phone_number": "+15125550100", "verification_method": "sms"})
        assert len(sandbox.verification_code("+15125550100")) == 6


# -- 1b. browsers on other sites: DNS rebinding, cross-site admin writes, links ---------------------------

REBINDING_HOSTS = [
    "evil.example",
    "evil.example:4010",
    "127.0.0.1.nip.io",  # a name that resolves to 127.0.0.1 is still a name the attacker owns
    "localhost.evil.example",
    "127.0.0.1:80@evil.example",
    "[::1].evil.example",
]
LOCAL_HOSTS = ["127.0.0.1", "127.0.0.1:4010", "localhost", "LOCALHOST:4010", "[::1]", "[::1]:4010"]


def _misdirected(response: httpx.Response) -> None:
    assert response.status_code == 421, response.text
    error = _error(response)
    assert (error["code"], error["title"]) == ("10015", "Misdirected request")
    assert "DNS rebinding" in error["detail"] and "SANDBOX_ALLOWED_HOSTS" in error["detail"]


@pytest.mark.parametrize("host", REBINDING_HOSTS)
def test_on_loopback_a_host_the_sandbox_is_not_known_by_is_a_421_on_every_route(host: str) -> None:
    with in_process(SandboxConfig(seed=6)) as client:
        created = client.post(
            "/v2/documents", json={"file": base64.b64encode(PDF).decode()}, headers=AUTH
        ).json()["data"]
        foreign = {"Host": host}
        for method, path, headers, body in (
            ("GET", f"/v2/documents/{created['id']}", AUTH, None),
            ("POST", "/v2/user_addresses", AUTH, {"first_name": "M"}),
            ("GET", "/v2/no_such_route", AUTH, None),
            ("GET", "/_sandbox/stats", {}, None),
            ("GET", "/_sandbox/health", {}, None),
            ("GET", "/_sandbox/openapi.json", {}, None),
            ("POST", "/_sandbox/reset", {}, {}),
            ("PATCH", "/_sandbox/config", {}, {"error_rate": 1}),
        ):
            _misdirected(client.request(method, path, json=body, headers=headers | foreign))
        # Nothing reached the app: the document survived the reset, the knobs and the counts did not move.
        assert client.get(f"/v2/documents/{created['id']}", headers=AUTH).status_code == 200
        stats = client.get("/_sandbox/stats").json()
    assert stats["config"]["error_rate"] == 0 and stats["requests"]["total"] == 2


@pytest.mark.parametrize("host", LOCAL_HOSTS)
def test_on_loopback_the_names_of_this_machine_are_answered(host: str) -> None:
    with in_process(SandboxConfig()) as client:
        assert client.get("/_sandbox/stats", headers={"Host": host}).status_code == 200
        assert client.get("/v2/documents", headers=AUTH | {"Host": host}).status_code == 200


def test_a_served_sandbox_refuses_a_rebinding_host_over_a_real_socket() -> None:
    with SandboxServer(SandboxConfig(seed=6)) as sandbox:
        stats = f"{sandbox.root_url}/_sandbox/stats"
        _misdirected(httpx.get(stats, headers={"Host": f"evil.example:{sandbox.port}"}))
        _misdirected(httpx.get(f"{sandbox.base_url}/documents", headers=AUTH | {"Host": "evil.example"}))
        for host in (f"127.0.0.1:{sandbox.port}", f"localhost:{sandbox.port}", f"[::1]:{sandbox.port}"):
            assert httpx.get(stats, headers={"Host": host}).status_code == 200, host


def test_configured_hosts_and_the_public_base_url_host_are_answered_too() -> None:
    config = SandboxConfig(
        allowed_hosts="Sandbox.Internal, 10.0.0.5", public_base_url="https://sb.example.com/"
    )
    with in_process(config) as client:
        for host in ("sandbox.internal", "sandbox.internal:4010", "10.0.0.5:4010", "sb.example.com"):
            assert client.get("/_sandbox/stats", headers={"Host": host}).status_code == 200, host
        _misdirected(client.get("/_sandbox/stats", headers={"Host": "evil.example"}))


def test_beyond_loopback_the_key_guards_unless_an_allow_list_is_configured() -> None:
    """Bound to a LAN interface with a key, clients use whatever name reaches it; a configured list holds."""
    open_names = create_app(SandboxConfig(api_keys=[KEY]), host="0.0.0.0")
    with TestClient(open_names, base_url="http://sandbox.lan:4010") as client:
        assert client.get("/_sandbox/stats", headers=AUTH).status_code == 200
    listed = create_app(SandboxConfig(api_keys=[KEY], allowed_hosts=["sandbox.lan"]), host="0.0.0.0")
    with TestClient(listed, base_url="http://sandbox.lan:4010") as client:
        assert client.get("/_sandbox/stats", headers=AUTH).status_code == 200
        _misdirected(client.get("/_sandbox/stats", headers=AUTH | {"Host": "evil.example"}))


@pytest.mark.parametrize(
    ("setting", "value", "expected"),
    [
        ("allowed_hosts", "http://sandbox.internal", "without scheme or port"),
        ("allowed_hosts", "sandbox.internal:4010", "without scheme or port"),
        ("public_base_url", "sandbox.internal", "http(s) URL with a host"),
        ("public_base_url", "http://user:secret@sandbox.internal", "http(s) URL with a host"),
        ("public_base_url", "http://127.0.0.1:4010/v2", "without the /v2"),
    ],
)
def test_a_bad_host_setting_is_one_clear_error(setting: str, value: str, expected: str) -> None:
    with pytest.raises(ValueError, match=re.escape(expected)):
        SandboxConfig(**{setting: value})


#: Every admin route that changes state: (method, path, JSON body).
ADMIN_WRITES = {
    "config": ("PATCH", "/_sandbox/config", {"approve_after": 1}),
    "clock": ("POST", "/_sandbox/clock/advance", {"seconds": 3600}),
    "reset": ("POST", "/_sandbox/reset", {}),
    "expire": ("POST", "/_sandbox/requirement_groups/{group}/expire", {}),
}

#: What each of them changes in ``_admin_state`` (after a reset, the group is gone: no status).
CHANGES = {
    "config": {"approve_after"},
    "clock": {"clock"},
    "reset": {"documents", "group"},
    "expire": {"group"},
}

#: What a page on another site can make a browser send without a CORS preflight.
SIMPLE_CONTENT_TYPES = [
    "text/plain",
    "text/plain; charset=utf-8",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
    None,
]


@pytest.fixture
def local() -> Iterator[tuple[TestClient, str]]:
    """A keyless in-process sandbox holding a document and a group (its id), as ``/_sandbox`` sees it."""
    with in_process(SandboxConfig(seed=6), f"{LOCAL_URL}/v2/") as client:
        client.headers.update(AUTH)
        group_id = str(complete_group(client)["id"])  # type: ignore[arg-type]
        del client.headers["Authorization"]  # a browser on another site cannot send one without a preflight
        yield client, group_id


def _admin_state(client: TestClient, group_id: str) -> dict[str, Any]:
    stats = client.get(f"{LOCAL_URL}/_sandbox/stats").json()
    return {
        "approve_after": stats["config"]["approve_after"],
        "clock": stats["clock"]["offset_seconds"],
        "documents": stats["resources"].get("documents", 0),
        "group": client.get(f"/requirement_groups/{group_id}", headers=AUTH).json().get("status"),
    }


def _admin_write(client: TestClient, route: str, group_id: str, headers: dict[str, str]) -> httpx.Response:
    method, path, body = ADMIN_WRITES[route]
    url = LOCAL_URL + path.format(group=group_id)
    return client.request(method, url, content=json.dumps(body).encode(), headers=headers)


@pytest.mark.parametrize("route", ADMIN_WRITES)
def test_a_cross_site_simple_request_to_an_admin_write_is_a_415_and_changes_nothing(
    local: tuple[TestClient, str], route: str
) -> None:
    client, group_id = local
    before = _admin_state(client, group_id)
    assert before == {"approve_after": 2, "clock": 0, "documents": 1, "group": "unapproved"}
    for content_type in SIMPLE_CONTENT_TYPES:
        headers = {"Content-Type": content_type} if content_type else {}
        response = _admin_write(client, route, group_id, headers)
        assert response.status_code == 415, (content_type, response.text)
        error = _error(response)
        assert error["title"] == "Unsupported media type"
        assert "Content-Type: application/json" in error["detail"]
    assert _admin_state(client, group_id) == before


@pytest.mark.parametrize("route", ADMIN_WRITES)
@pytest.mark.parametrize(
    "headers",
    [
        {"Content-Type": "application/json"},
        {"Content-Type": "Application/JSON; charset=utf-8"},
        {"Authorization": "Bearer any-key", "Content-Type": "text/plain"},  # a key: as on /v2 without keys
    ],
    ids=["json", "json-charset", "key"],
)
def test_an_admin_write_with_json_or_a_key_still_works(
    local: tuple[TestClient, str], route: str, headers: dict[str, str]
) -> None:
    client, group_id = local
    before = _admin_state(client, group_id)
    response = _admin_write(client, route, group_id, headers)
    assert response.status_code == 200, response.text
    after = _admin_state(client, group_id)
    assert {name for name in after if after[name] != before[name]} == CHANGES[route]


def test_with_keys_an_admin_write_in_text_plain_takes_the_key() -> None:
    with in_process(SandboxConfig(api_keys=[KEY])) as client:
        plain = {"Content-Type": "text/plain"}
        advance = json.dumps({"seconds": 60})
        assert client.post("/_sandbox/clock/advance", content=advance, headers=plain).status_code == 401
        response = client.post("/_sandbox/clock/advance", content=advance, headers=plain | AUTH)
        assert response.status_code == 200 and response.json()["data"]["offset_seconds"] == 60


def test_the_server_helpers_send_what_admin_writes_require() -> None:
    with SandboxServer(SandboxConfig(seed=6)) as sandbox:
        assert sandbox.configure(approve_after=1)["approve_after"] == 1
        sandbox.advance_clock(30)
        assert sandbox.stats()["clock"]["offset_seconds"] == 30
        sandbox.reset()
        assert sandbox.stats()["clock"]["offset_seconds"] == 0
        plain = httpx.post(f"{sandbox.root_url}/_sandbox/reset", headers={"Content-Type": "text/plain"})
        assert plain.status_code == 415


def test_a_download_link_is_on_the_sandbox_own_url_whatever_host_the_request_names() -> None:
    config = SandboxConfig(seed=6, allowed_hosts=["evil.example"])
    with SandboxServer(config) as sandbox, httpx.Client(base_url=sandbox.base_url, headers=AUTH) as api:
        document = upload(api)
        link = api.get(
            f"/documents/{document['id']}/download_link", headers={"Host": f"evil.example:{sandbox.port}"}
        )
        url = link.json()["data"]["url"]
        assert url.startswith(f"{sandbox.root_url}/_sandbox/files/"), url
        assert httpx.get(url).content == PDF
    public = SandboxConfig(
        seed=6, allowed_hosts=["evil.example"], public_base_url="https://sb.example.com/x/"
    )
    with in_process(public, "http://evil.example/v2/", headers=AUTH) as client:
        document = upload(client)  # type: ignore[arg-type]
        url = client.get(f"/documents/{document['id']}/download_link").json()["data"]["url"]
        assert url.startswith("https://sb.example.com/x/_sandbox/files/"), url
        # Behind a proxy that strips /x: the token still fetches the document.
        assert client.get("http://evil.example" + httpx.URL(url).path.removeprefix("/x")).content == PDF


# -- 2. documents from URLs ------------------------------------------------------------------------------


class Origin:
    """A tiny HTTP server on loopback: ``/doc.pdf``, ``/big``, ``/slow``, ``/missing``, ``/to-private``."""

    def __init__(self) -> None:
        self.hits: list[str] = []
        self.big = 5000
        origin = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_: Any) -> None:
                pass

            def do_GET(self) -> None:
                origin.hits.append(self.path)
                path = self.path.split("?")[0]
                if path == "/doc.pdf":
                    self._send(200, PDF, "application/pdf")
                elif path == "/big":
                    self._send(200, b"x" * origin.big, "application/octet-stream")
                elif path == "/slow":
                    self.send_response(200)
                    self.send_header("content-length", "100")
                    self.end_headers()
                    self.wfile.write(b"%PDF")
                    self.wfile.flush()
                    time.sleep(3)
                elif path == "/to-private":
                    self.send_response(302)
                    self.send_header("location", f"http://127.0.0.2:{origin.port}/doc.pdf?sig=TOPSECRET")
                    self.send_header("content-length", "0")
                    self.end_headers()
                else:
                    self._send(404, b"nope", "text/plain")

            def _send(self, status: int, body: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("content-type", content_type)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


@pytest.fixture
def origin() -> Iterator[Origin]:
    server = Origin()
    server.thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()


def _upload_url(base_url: str, url: str) -> httpx.Response:
    return httpx.post(f"{base_url}/documents", json={"url": url}, headers=AUTH, timeout=15)


def test_on_loopback_documents_come_from_private_urls_by_default(origin: Origin) -> None:
    with SandboxServer(SandboxConfig(seed=3)) as sandbox:
        response = _upload_url(sandbox.base_url, origin.url("/doc.pdf?sig=x"))
    assert response.status_code == 200, response.text
    document = response.json()["data"]
    assert document["sha256"] == hashlib.sha256(PDF).hexdigest() and document["filename"] == "doc.pdf"


def test_private_urls_are_refused_without_a_request_and_without_echoing_secrets(origin: Origin) -> None:
    secret_url = f"http://admin:hunter2@127.0.0.1:{origin.port}/doc.pdf?X-Amz-Signature=TOPSECRET"
    with SandboxServer(SandboxConfig(seed=3, allow_private_urls=False)) as sandbox:
        response = _upload_url(sandbox.base_url, secret_url)
    assert response.status_code == 422
    error = _error(response)
    assert error["source"]["pointer"] == "/url"
    assert "refused" in error["detail"] and "--allow-private-urls" in error["detail"]
    assert (
        "TOPSECRET" not in response.text and "hunter2" not in response.text and "admin" not in response.text
    )
    assert origin.hits == []


def test_an_app_that_does_not_know_its_host_refuses_private_urls(origin: Origin) -> None:
    with in_process(SandboxConfig()) as client:
        response = client.post("/v2/documents", json={"url": origin.url("/doc.pdf")}, headers=AUTH)
    assert response.status_code == 422 and _error(response)["source"]["pointer"] == "/url"
    assert origin.hits == []


def test_every_redirect_is_checked_again(origin: Origin, monkeypatch: pytest.MonkeyPatch) -> None:
    # Pretend 127.0.0.1 is a public host: the redirect to 127.0.0.2 must still be refused.
    real = netguard.is_public_address
    monkeypatch.setattr(
        netguard, "is_public_address", lambda address: address == "127.0.0.1" or real(address)
    )
    with SandboxServer(SandboxConfig(seed=3, allow_private_urls=False)) as sandbox:
        response = _upload_url(sandbox.base_url, origin.url("/to-private"))
    assert response.status_code == 422, response.text
    assert "127.0.0.2" in _error(response)["detail"] and "TOPSECRET" not in response.text
    assert origin.hits == ["/to-private"]


def test_fetched_documents_are_capped_and_deadlined(origin: Origin) -> None:
    config = SandboxConfig(seed=3, max_document_bytes=1000, url_fetch_timeout=0.5)
    with SandboxServer(config) as sandbox:
        too_big = _upload_url(sandbox.base_url, origin.url("/big"))
        started = time.monotonic()
        slow = _upload_url(sandbox.base_url, origin.url("/slow"))
        took = time.monotonic() - started
        missing = _upload_url(sandbox.base_url, origin.url("/missing?token=TOPSECRET"))
        assert sandbox.stats()["resources"].get("documents", 0) == 0
    assert too_big.status_code == 422 and "larger than 1000 bytes" in _error(too_big)["detail"]
    assert slow.status_code == 422 and took < 2.5
    assert missing.status_code == 422 and "HTTP 404" in _error(missing)["detail"]
    assert "TOPSECRET" not in missing.text


def test_uploaded_documents_are_capped_too() -> None:
    with in_process(SandboxConfig(max_document_bytes=100)) as client:
        as_json = client.post(
            "/v2/documents", json={"file": base64.b64encode(b"x" * 101).decode()}, headers=AUTH
        )
        multipart = client.post("/v2/documents", files={"file": ("a.pdf", b"x" * 101)}, headers=AUTH)
        fits = client.post("/v2/documents", files={"file": ("a.pdf", b"x" * 100)}, headers=AUTH)
    for response in (as_json, multipart):
        assert response.status_code == 422 and "larger than the 100 bytes" in _error(response)["detail"]
    assert fits.status_code == 200


# -- 3. request bodies -----------------------------------------------------------------------------------


def test_a_body_over_the_limit_is_a_413_and_is_never_handled() -> None:
    with in_process(SandboxConfig(max_body_bytes=1000)) as client:
        address = {"first_name": "M" * 2000, "last_name": "S", "business_name": "B", "street_address": "S",
                   "locality": "L", "country_code": "DE"}  # fmt: skip
        response = client.post("/v2/user_addresses", json=address, headers=AUTH)
        assert response.status_code == 413
        error = _error(response)
        assert "larger than the 1000 bytes" in error["detail"]
        assert (error["code"], error["title"]) == ("10015", "Request body too large")
        assert client.get("/v2/user_addresses", headers=AUTH).json()["meta"]["total_results"] == 0
        admin = client.patch("/_sandbox/config", content=b" " * 1001 + b"{}")
        assert admin.status_code == 413


def test_the_default_limit_fits_the_largest_document_as_base64_json_or_multipart() -> None:
    config = SandboxConfig(max_document_bytes=30_000)
    largest = bytes(range(256)) * (30_000 // 256) + b"x" * (30_000 % 256)
    with in_process(config) as client:
        as_json = client.post(
            "/v2/documents", json={"file": base64.b64encode(largest).decode()}, headers=AUTH
        )
        multipart = client.post("/v2/documents", files={"file": ("big.pdf", largest)}, headers=AUTH)
    assert as_json.status_code == 200 and multipart.status_code == 200, (as_json.text, multipart.text)
    assert SandboxConfig().body_limit > 20 * 1024 * 1024 * 4 // 3


def _raw_request(port: int, head: bytes, chunks: list[bytes]) -> bytes:
    """Send ``head`` then ``chunks`` (stopping quietly if the server hangs up), and read the response."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head)
        try:
            for chunk in chunks:
                sock.sendall(chunk)
        except OSError:
            pass  # the server answered and closed before the body was all sent
        received = b""
        try:
            while not received.endswith(b"}]}"):
                data = sock.recv(65536)
                if not data:
                    break
                received += data
        except OSError:
            pass
    return received


def test_over_a_real_socket_a_declared_or_streamed_body_over_the_limit_is_a_413() -> None:
    with SandboxServer(SandboxConfig(seed=4, max_body_bytes=50_000)) as sandbox:
        declared = _raw_request(
            sandbox.port,
            b"POST /v2/user_addresses HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer k\r\n"
            b"Content-Type: application/json\r\nContent-Length: 100000000\r\n\r\n",
            [],  # not a byte of the body: the answer comes from the header alone
        )
        chunk = b"x" * 8192
        streamed = _raw_request(
            sandbox.port,
            b"POST /v2/user_addresses HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer k\r\n"
            b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
            [b"%x\r\n%s\r\n" % (len(chunk), chunk)] * 8,  # 64 KiB, never terminated
        )
        assert sandbox.stats()["resources"].get("user_addresses", 0) == 0
    for response in (declared, streamed):
        assert response.startswith(b"HTTP/1.1 413"), response[:200]
        body = json.loads(response.split(b"\r\n\r\n", 1)[1])
        assert "larger than the 50000 bytes" in body["errors"][0]["detail"]


# -- 4. malformed input ------------------------------------------------------------------------------------


@pytest.fixture
def client() -> Iterator[TestClient]:
    with in_process(SandboxConfig(seed=5), raise_server_exceptions=False) as running:
        running.post(
            "/v2/verified_numbers",
            json={"phone_number": "+15125550100", "verification_method": "sms"},
            headers=AUTH,
        )
        yield running


VERIFY = "/v2/verified_numbers/+15125550100/actions/verify"


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        (rb'{"verification_code": "\udc80"}', "/verification_code"),  # the fuzzer's finding
        (rb'{"verification_code": "12\ud83d"}', "/verification_code"),  # half an emoji
        (rb'{"verification_code": "1", "\udc80": 1}', "/"),
        (rb'{"verification_code": "1", "extra": [{"a": "\udfff"}]}', "/extra/0/a"),
        (b'{"verification_code": NaN}', "/"),
        (b'{"verification_code": Infinity}', "/"),
        (b'{"verification_code": 1e999}', "/"),
        (b'{"verification_code": "\xff\xfe"}', "/"),  # not UTF-8
        (b"[" * 100_000, "/"),  # deeper than Python's recursion limit
        (b'{"a":' * (MAX_JSON_DEPTH + 1) + b"1" + b"}" * (MAX_JSON_DEPTH + 1), "/"),
        (b'"just a string"', "/"),
        (b"{", "/"),
    ],
)
def test_malformed_json_is_a_422_with_a_pointer(client: TestClient, body: bytes, pointer: str) -> None:
    response = client.post(VERIFY, content=body, headers=AUTH | {"content-type": "application/json"})
    assert response.status_code == 422, response.text
    assert _error(response)["source"]["pointer"] == pointer


def test_any_unicode_verification_code_is_just_a_wrong_code(client: TestClient) -> None:
    for code in ("é", "１２３４５６", "\u0080", "😀"):
        response = client.post(VERIFY, json={"verification_code": code}, headers=AUTH)
        assert response.status_code == 400, (code, response.text)
        assert _error(response)["source"]["pointer"] == "/verification_code"


def test_surrogates_are_refused_everywhere_a_body_is_parsed(client: TestClient) -> None:
    surrogate = rb'"\udc80"'
    for method, path in (
        ("POST", "/v2/user_addresses"),
        ("POST", "/v2/requirement_groups"),
        ("PATCH", "/v2/documents/x"),
        ("POST", "/v2/documents"),
        ("POST", "/v2/number_orders"),
        ("PATCH", "/_sandbox/config"),
    ):
        body = (
            b'{"customer_reference": '
            + surrogate
            + b', "phone_numbers": [{"phone_number": '
            + surrogate
            + b"}]}"
        )
        response = client.request(
            method, path, content=body, headers=AUTH | {"content-type": "application/json"}
        )
        assert response.status_code == 422, (path, response.text)
    assert client.get("/v2/user_addresses", headers=AUTH).json()["meta"]["total_results"] == 0


def test_a_path_or_query_parameter_that_is_not_text_is_a_422() -> None:
    """Raw ASGI clients can put surrogates where HTTP servers cannot (they decode with replacement)."""
    app = create_app(SandboxConfig())

    async def call(path: str, query: bytes = b"") -> tuple[int, dict[str, Any]]:
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode("utf-8", "surrogateescape"),
            "query_string": query,
            "root_path": "",
            "headers": [(b"authorization", b"Bearer k")],
            "server": ("sandbox", 80),
        }
        await app(scope, receive, send)
        return sent[0]["status"], json.loads(b"".join(m.get("body", b"") for m in sent[1:]))

    status, body = asyncio.run(call("/v2/documents/\udc80"))
    assert status == 422 and body["errors"][0]["source"]["pointer"] == "/document_id"
    status, _ = asyncio.run(call("/v2/documents", b"filter%5Bfilename%5D%5Bcontains%5D=%ED%B2%80"))
    assert status == 200  # percent-encoded surrogate bytes decode to U+FFFD: text, harmless


def test_a_clock_advance_beyond_a_century_is_a_422(client: TestClient) -> None:
    response = client.post("/_sandbox/clock/advance", json={"seconds": 1e300})
    assert response.status_code == 422 and _error(response)["source"]["pointer"] == "/seconds"


def test_a_sandbox_bug_is_still_a_telnyx_shaped_500(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = client.app.state.sandbox  # type: ignore[attr-defined]

    def broken(*_: Any, **__: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(state.store.documents, "list_documents", broken)
    response = client.get("/v2/documents", headers=AUTH)
    assert response.status_code == 500 and _error(response)["code"] == "10007"
    assert "boom" not in response.text


def test_a_string_that_slips_through_still_renders() -> None:
    assert SafeJSONResponse({"a": "\udc80é"}).body == '{"a":"\\udc80é"}'.encode()


def test_one_request_cannot_make_the_sandbox_create_unbounded_records(client: TestClient) -> None:
    bundle = client.get("/v2/bundle_pricing/billing_bundles", headers=AUTH).json()["data"][0]["id"]
    items = [{"billing_bundle_id": bundle, "quantity": 10**9}]
    started = time.monotonic()
    response = client.post("/v2/bundle_pricing/user_bundles/bulk", json={"items": items}, headers=AUTH)
    assert response.status_code == 422 and _error(response)["source"]["pointer"] == "/items"
    assert time.monotonic() - started < 2
    assert client.get("/v2/bundle_pricing/user_bundles", headers=AUTH).json()["meta"]["total_results"] == 0


def test_a_created_at_filter_at_the_edge_of_time_is_not_a_500(client: TestClient) -> None:
    """Found by the fuzzer: 0001-01-01T00:00:00+00:01 is before year 1 in UTC."""
    client.post("/v2/documents", json={"file": base64.b64encode(PDF).decode()}, headers=AUTH)
    for operator, value, found in (
        ("lt", "0001-01-01T00:00:00+00:01", 0),
        ("gt", "0001-01-01T00:00:00+00:01", 1),
        ("lt", "9999-12-31T23:59:59-00:01", 1),
    ):
        response = client.get(
            "/v2/documents", params={f"filter[created_at][{operator}]": value}, headers=AUTH
        )
        assert response.status_code == 200, response.text
        assert response.json()["meta"]["total_results"] == found
