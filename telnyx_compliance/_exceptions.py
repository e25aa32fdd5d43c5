"""Exceptions raised by the client.

Hierarchy (catch the most specific one you can act on)::

    APIError
    ├── APIConnectionError            the request could not be completed (DNS, refused, reset, ...)
    │   └── APITimeoutError           connect, read, write or pool timeout
    ├── APIResponseValidationError    a 2xx answer whose body is not what the spec promises
    └── APIStatusError                the API answered with a 4xx/5xx status
        ├── BadRequestError           400
        ├── AuthenticationError       401
        ├── PermissionDeniedError     403
        ├── NotFoundError             404
        ├── ConflictError             409
        ├── UnprocessableEntityError  422
        ├── RateLimitError            429
        └── InternalServerError       >= 500

Messages carry the method, path, status and the parsed Telnyx ``errors[]`` (code, title, detail,
``source.pointer``); they never carry the API key.
"""

from __future__ import annotations

from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ConflictError",
    "ErrorObject",
    "ErrorSource",
    "InternalServerError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "UnprocessableEntityError",
    "is_transient",
]


class ErrorSource(BaseModel):
    model_config = ConfigDict(extra="allow")

    pointer: str | None = None
    parameter: str | None = None


class ErrorObject(BaseModel):
    """One entry of a Telnyx ``{"errors": [...]}`` body."""

    model_config = ConfigDict(extra="allow")

    code: str | None = None
    title: str | None = None
    detail: str | None = None
    source: ErrorSource | None = None
    meta: dict[str, Any] | None = None

    def render(self) -> str:
        parts = [
            f"[{self.code}]" if self.code else "",
            self.title or "",
            f"- {self.detail}" if self.detail else "",
        ]
        text = " ".join(part for part in parts if part)
        if self.source is not None and (self.source.pointer or self.source.parameter):
            text += f" (source: {self.source.pointer or self.source.parameter})"
        return text


class APIError(Exception):
    """Base class of every error the client raises about an API call."""

    message: str
    request: httpx.Request | None
    #: Set when a non-idempotent request may or may not have been applied by the server.
    outcome_unknown: bool

    def __init__(self, message: str, *, request: httpx.Request | None = None) -> None:
        super().__init__(message)
        self.message = message
        # Every error hands its request to user code: the API key must not travel with it.
        if request is not None and "authorization" in request.headers:
            request.headers["authorization"] = "Bearer ***"
        self.request = request
        self.outcome_unknown = False

    def __str__(self) -> str:
        return self.message


class APIConnectionError(APIError):
    """The request did not complete: the connection failed, was refused or was dropped."""

    def __init__(
        self, message: str = "Connection error.", *, request: httpx.Request | None = None, sent: bool = True
    ) -> None:
        super().__init__(message, request=request)
        #: False when the request provably never reached the server (safe to retry for any method).
        self.sent = sent


class APITimeoutError(APIConnectionError):
    """The request timed out (connect, read, write or waiting for a pooled connection)."""

    def __init__(
        self, message: str = "Request timed out.", *, request: httpx.Request | None = None, sent: bool = True
    ) -> None:
        super().__init__(message, request=request, sent=sent)


class APIResponseValidationError(APIError):
    """A successful status whose body could not be decoded or does not match the expected model."""

    def __init__(self, message: str, *, response: httpx.Response, body: str | None = None) -> None:
        super().__init__(message, request=response.request)
        self.response = response
        self.status_code = response.status_code
        self.headers = response.headers
        self.body = body


class APIStatusError(APIError):
    """The API answered with an error status; ``errors`` holds the parsed Telnyx error objects."""

    def __init__(
        self,
        message: str,
        *,
        response: httpx.Response,
        errors: list[ErrorObject] | None = None,
        body: Any = None,
    ) -> None:
        super().__init__(message, request=response.request)
        self.response = response
        self.status_code = response.status_code
        self.headers = response.headers
        self.errors: list[ErrorObject] = errors or []
        self.body = body


class BadRequestError(APIStatusError):
    """400."""


class AuthenticationError(APIStatusError):
    """401."""


class PermissionDeniedError(APIStatusError):
    """403."""


class NotFoundError(APIStatusError):
    """404."""


class ConflictError(APIStatusError):
    """409."""


class UnprocessableEntityError(APIStatusError):
    """422."""


class RateLimitError(APIStatusError):
    """429."""


class InternalServerError(APIStatusError):
    """Any status >= 500."""


def is_transient(error: BaseException | None) -> bool:
    """Whether ``error`` is a failure of the API, not of the request, so that sending the same request
    again later may succeed. The one definition: the client's retry policy (``retry_verdict``), the bulk
    runner (``OnboardingResult.transient``) and Prefect's ``retry_condition_fn`` (``tasks/_retries``) use it.

    Transient: a connection error (timeouts included), ``408`` (the server gave up waiting for the request,
    so it did not act on it), ``429`` and any ``5xx``. Not transient: other ``4xx`` answers (repeating them
    cannot succeed), a response that does not match the spec, anything that is not an :class:`APIError`, and
    a write whose outcome stayed unknown (``outcome_unknown``): it may have been applied, and the client
    already tried to find what it created (``find_existing``) and could not, so it is never replayed as
    is; only a run that looks its resources up by ``customer_reference`` again (a flow rerun, a rerun of the
    bulk file) may go on from it.
    """
    if not isinstance(error, APIError) or error.outcome_unknown:
        return False
    if isinstance(error, APIConnectionError):
        return True
    return isinstance(error, APIStatusError) and (error.status_code in (408, 429) or error.status_code >= 500)
