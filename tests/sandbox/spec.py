"""Validate sandbox responses against the shared OpenAPI spec with openapi-core."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import yaml
from openapi_core import OpenAPI
from openapi_core.datatypes import RequestParameters
from werkzeug.datastructures import Headers, ImmutableMultiDict

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
