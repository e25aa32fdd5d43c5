"""Telnyx-shaped errors: ``{"errors": [{"code", "title", "detail", "source": {...}, "meta": {"url"}}]}``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ERROR_DOCS_URL = "https://developers.telnyx.com/docs/overview/errors/"

#: Telnyx error codes by HTTP status, used when a caller does not pick a more specific one.
DEFAULT_CODES = {
    400: "10015",
    401: "10009",
    404: "10005",
    405: "10006",
    413: "10015",
    415: "10015",
    421: "10015",
    422: "10015",
    429: "10011",
    500: "10007",
    502: "10008",
    503: "10008",
}

DEFAULT_TITLES = {
    400: "Bad Request",
    401: "Authentication failed",
    404: "Resource not found",
    405: "Method not allowed",
    413: "Request body too large",
    415: "Unsupported media type",
    421: "Misdirected request",
    422: "Invalid value",
    429: "Too many requests",
    500: "Unexpected error",
    502: "Bad gateway",
    503: "Service unavailable",
}


@dataclass
class ErrorItem:
    """One entry of ``errors[]``: ``pointer`` points into the body, ``parameter`` names a query parameter."""

    detail: str
    pointer: str | None = None
    parameter: str | None = None
    title: str | None = None
    code: str | None = None

    def render(self, status: int) -> dict[str, Any]:
        code = self.code or DEFAULT_CODES.get(status, "10007")
        source: dict[str, str] = {}
        if self.pointer is not None:
            source["pointer"] = self.pointer
        if self.parameter is not None:
            source["parameter"] = self.parameter
            source.setdefault("pointer", "/" + self.parameter.replace("[", "/").replace("]", "").rstrip("/"))
        if not source:
            source["pointer"] = "/"
        return {
            "code": code,
            "title": self.title or DEFAULT_TITLES.get(status, "Error"),
            "detail": self.detail,
            "source": source,
            "meta": {"url": ERROR_DOCS_URL + code},
        }


@dataclass
class SandboxError(Exception):
    """Raised by the store and routes; the app renders it as a Telnyx error response."""

    status: int
    items: list[ErrorItem] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.status}: " + "; ".join(item.detail for item in self.items)

    def body(self) -> dict[str, Any]:
        return {"errors": [item.render(self.status) for item in self.items]}


def error(
    status: int,
    detail: str,
    *,
    pointer: str | None = None,
    parameter: str | None = None,
    title: str | None = None,
    code: str | None = None,
) -> SandboxError:
    """A single-item ``SandboxError``."""
    return SandboxError(
        status, [ErrorItem(detail, pointer=pointer, parameter=parameter, title=title, code=code)]
    )


def not_found(kind: str, resource_id: str) -> SandboxError:
    return error(
        404,
        f"The requested {kind} '{resource_id}' does not exist.",
        pointer="/id",
        title="Resource not found",
    )


def error_body(status: int, detail: str, *, pointer: str | None = None) -> dict[str, Any]:
    """Body of a one-error response, for places that answer without raising (faults, auth)."""
    return error(status, detail, pointer=pointer).body()
