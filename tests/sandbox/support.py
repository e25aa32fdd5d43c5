"""Helpers of the sandbox tests: request builders, the contract checker (openapi-core on the vendored
spec), the test key and the default knobs."""

from __future__ import annotations

import base64
import re
import warnings
from pathlib import Path
from typing import Any

import httpx
import yaml
from openapi_core import OpenAPI
from openapi_core.datatypes import RequestParameters
from werkzeug.datastructures import Headers, ImmutableMultiDict

from telnyx_compliance.sandbox import SandboxConfig, create_app
from telnyx_compliance.sandbox.catalog import EICAR

with warnings.catch_warnings():  # Starlette's notice about httpx in its TestClient
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

API_KEY = "sandbox-test-key"

#: What in-process clients call the sandbox: a name it answers to (TestClient's own "testserver" is not one).
LOCAL_URL = "http://localhost"


def in_process(config: SandboxConfig, base_url: str = LOCAL_URL, **options: Any) -> TestClient:
    """The sandbox app under Starlette's ``TestClient``, reached as a client on this machine reaches it."""
    return TestClient(create_app(config), base_url=base_url, **options)


PDF = b"%PDF-1.4\n% sandbox test document\n%%EOF\n"
INFECTED = b"%PDF-1.4\n" + EICAR + b"\n%%EOF\n"


def create_address(api: httpx.Client, country: str = "DE", postal_code: str = "10117", **extra: Any) -> str:
    body = {
        "first_name": "Maria",
        "last_name": "Schmidt",
        "business_name": "Acme",
        "street_address": "Friedrichstraße 123",
        "locality": "Berlin",
        "postal_code": postal_code,
        "country_code": country,
        **extra,
    }
    response = api.post("/user_addresses", json=body)
    assert response.status_code == 200, response.text
    return str(response.json()["data"]["id"])


def upload(
    api: httpx.Client, content: bytes = PDF, filename: str = "doc.pdf", **extra: Any
) -> dict[str, Any]:
    body = {"file": base64.b64encode(content).decode(), "filename": filename, **extra}
    response = api.post("/documents", json=body)
    assert response.status_code == 200, response.text
    return dict(response.json()["data"])


def requirements(
    api: httpx.Client, country: str, number_type: str, action: str = "ordering"
) -> list[dict[str, Any]]:
    response = api.get(
        "/regulatory_requirements",
        params={
            "filter[country_code]": country,
            "filter[phone_number_type]": number_type,
            "filter[action]": action,
        },
    )
    assert response.status_code == 200, response.text
    return list(response.json()["data"][0]["regulatory_requirements"])


def complete_group(
    api: httpx.Client,
    country: str = "DE",
    number_type: str = "local",
    *,
    address_id: str | None = None,
    document_id: str | None = None,
    overrides: dict[str, str] | None = None,
    customer_reference: str | None = None,
) -> dict[str, Any]:
    """A group with every requirement filled (examples for text), not yet submitted."""
    address_id = address_id or create_address(api, country)
    document_id = document_id or upload(api)["id"]
    values = []
    for requirement in requirements(api, country, number_type):
        value = {"address": address_id, "document": document_id}.get(
            requirement["field_type"], requirement["example"]
        )
        values.append(
            {
                "requirement_id": requirement["id"],
                "field_value": (overrides or {}).get(requirement["name"], value),
            }
        )
    body: dict[str, Any] = {
        "country_code": country,
        "phone_number_type": number_type,
        "action": "ordering",
        "regulatory_requirements": values,
    }
    if customer_reference:
        body["customer_reference"] = customer_reference
    response = api.post("/requirement_groups", json=body)
    assert response.status_code == 200, response.text
    return dict(response.json())


def submit(api: httpx.Client, group_id: str) -> dict[str, Any]:
    response = api.post(f"/requirement_groups/{group_id}/submit_for_approval")
    assert response.status_code == 200, response.text
    return dict(response.json())


def get_group(api: httpx.Client, group_id: str) -> dict[str, Any]:
    response = api.get(f"/requirement_groups/{group_id}")
    assert response.status_code == 200, response.text
    return dict(response.json())


ROOT = Path(__file__).resolve().parents[2]
METHODS = ("get", "post", "put", "patch", "delete")


def spec_path() -> Path:
    return ROOT / "contracts" / "numbers-compliance.openapi.yml"


class _Request:
    """openapi-core's request protocol over an ``httpx.Request`` (as sent to the real API host)."""

    def __init__(self, request: httpx.Request) -> None:
        self.host_url = "https://api.telnyx.com"
        self.path = request.url.path
        self.full_url_pattern = self.host_url + self.path
        self.method = request.method.lower()
        self.body = getattr(request, "_content", b"")  # multipart bodies are streamed, never read
        self.content_type = request.headers.get("content-type", "application/json")
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(list(request.url.params.multi_items())),
            header=Headers(list(request.headers.items())),
            cookie=ImmutableMultiDict(),
        )


class _Response:
    def __init__(self, response: httpx.Response) -> None:
        self.status_code = response.status_code
        self.content_type = response.headers.get("content-type", "").split(";")[0]
        # A binary body (GET /documents/{id}/download, `type: string, format: binary`) is checked as a string:
        # the OAS 3.1 validator does not count bytes as a JSON-schema string.
        binary = "json" not in self.content_type
        self.data: Any = response.content.decode("latin-1") if binary else response.content
        self.headers = Headers(list(response.headers.items()))


class SpecChecker:
    """``check(response)`` validates one response and returns its operationId."""

    def __init__(self, path: Path) -> None:
        self.openapi = OpenAPI.from_file_path(str(path))
        document: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
        self.operations: list[tuple[re.Pattern[str], str, str]] = []
        for template, item in document["paths"].items():
            pattern = re.compile("^/v2" + re.sub(r"\{[^}]+\}", r"[^/]+", template) + "$")
            for method in METHODS:
                if method in item:
                    self.operations.append((pattern, method, item[method]["operationId"]))
        self.operations.sort(key=lambda entry: entry[0].pattern.count("[^/]+"))

    @property
    def operation_ids(self) -> set[str]:
        return {operation_id for _, _, operation_id in self.operations}

    def operation_id(self, request: httpx.Request) -> str:
        for pattern, method, operation_id in self.operations:
            if method == request.method.lower() and pattern.match(request.url.path):
                return operation_id
        raise AssertionError(f"{request.method} {request.url.path} is not an operation of the spec")

    def check(self, response: httpx.Response) -> str:
        operation_id = self.operation_id(response.request)
        self.openapi.validate_response(_Request(response.request), _Response(response))
        return operation_id


DEFAULT_KNOBS = {
    "latency_ms": 0.0,
    "latency_jitter_ms": 0.0,
    "rate_limit": 0.0,
    "rate_limit_window": 1.0,
    "throttle_rate": 0.0,
    "retry_after": 1.0,
    "error_rate": 0.0,
    "drop_rate": 0.0,
    "lost_response_rate": 0.0,
    "approve_after": 5.0,
    "group_ttl": 0.0,
    "document_ttl": 1800.0,
    "verification_code_ttl": 600.0,
    "download_link_ttl": 300.0,
}
