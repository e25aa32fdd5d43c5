"""Sync-agnostic core shared by ``AsyncTelnyx`` and its generated twin ``Telnyx``.

Everything here is pure (no I/O): configuration, URL and deepObject query building, response parsing,
error mapping, retry decisions, ``Retry-After`` parsing, key redaction and request statistics.

Retry and replay rules
----------------------
:func:`retry_verdict` decides whether a failed request is sent again (layer 1 of ``docs/retries.md``, which
describes every rule and every layer): ``408``, ``429`` and requests that never left the machine always,
idempotent requests on any transient failure, and a non-idempotent ``POST`` whose outcome is unknown never
blindly: ``find_existing`` looks the resource up first.

The verdict travels explicitly: an attempt that may be sent again raises :class:`RetryRequest` carrying
its error (set once, when it is made); tenacity retries exactly those, and when the attempts run out the
client raises the carried error itself. Every other error leaves the loop as it is.
"""

from __future__ import annotations

import email.utils
import enum
import functools
import ipaddress
import json
import math
import os
import random
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote, urlsplit

import httpx
import phonenumbers
from pydantic import BaseModel, SecretStr, TypeAdapter, ValidationError

from telnyx_compliance._safe_logging import library_logger

from ._concurrency import RoundTripFloor
from ._exceptions import (
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    ErrorObject,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    UnprocessableEntityError,
    is_transient,
)
from ._netguard import redact_url

if TYPE_CHECKING:
    from ._rate_limit import RateLimiter, Reservation
    from .models.shared import PaginationMeta

__all__ = ["DEFAULT_BASE_URL", "BaseTelnyx", "ClientStats", "MissingAPIKeyError", "build_query"]

R = TypeVar("R")
T = TypeVar("T")

DEFAULT_BASE_URL = "https://api.telnyx.com/v2"
logger = library_logger()

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "PATCH", "DELETE"})
#: Shortest wait after a 429 whose Retry-After is in the past, zero or negative.
MIN_RETRY_AFTER = 0.05
#: First backoff step; attempt n waits uniform(0, min(retry_max_wait, base * 2 ** (n - 1))).
BACKOFF_BASE = 0.5
_SNIPPET = 200


class MissingAPIKeyError(ValueError):
    """No API key was given and ``TELNYX_API_KEY`` is not set."""


# --------------------------------------------------------------------------------------------- stats
@dataclass
class ClientStats:
    """Counters of one client instance, for benchmarks and reports."""

    requests_sent: int = 0
    retries: int = 0
    rate_limited: int = 0
    server_errors: int = 0
    connection_errors: int = 0
    recovered_by_lookup: int = 0
    by_status: dict[int, int] = field(default_factory=dict)
    #: The lowest recent time from sending a request to its answer: bulk runs size their concurrency by it.
    round_trip: RoundTripFloor = field(default_factory=RoundTripFloor, repr=False, compare=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def record_sent(self) -> None:
        with self._lock:
            self.requests_sent += 1

    def record_status(self, status: int) -> None:
        with self._lock:
            self.by_status[status] = self.by_status.get(status, 0) + 1
            if status == 429:
                self.rate_limited += 1
            elif status >= 500:
                self.server_errors += 1

    def record_connection_error(self) -> None:
        with self._lock:
            self.connection_errors += 1

    def record_retry(self) -> None:
        with self._lock:
            self.retries += 1

    def record_recovery(self) -> None:
        with self._lock:
            self.recovered_by_lookup += 1

    def as_dict(self) -> dict[str, Any]:
        with self._lock:
            return {
                "requests_sent": self.requests_sent,
                "retries": self.retries,
                "rate_limited": self.rate_limited,
                "server_errors": self.server_errors,
                "connection_errors": self.connection_errors,
                "recovered_by_lookup": self.recovered_by_lookup,
                "by_status": dict(self.by_status),
            }


# --------------------------------------------------------------------------------------- URL + query
def path_param(value: str) -> str:
    """Percent-encode one path segment (``+`` of E.164 numbers kept literal)."""
    if not value:
        raise ValueError("path parameter must be a non-empty string")
    return quote(str(value), safe="+")


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, enum.Enum):
        return str(value.value)
    return str(value)


def build_query(params: Mapping[str, Any] | None) -> list[tuple[str, str]]:
    """Flatten nested mappings to deepObject pairs.

    ``{"filter": {"customer_reference": {"eq": "x", "in": ["a", "b"]}}, "page": {"number": 2}}`` becomes
    ``filter[customer_reference][eq]=x``, ``filter[customer_reference][in][]=a``, ``...[in][]=b``,
    ``page[number]=2``. A top-level list repeats the key (``sort=a&sort=b``), as the spec's form style wants.
    ``None`` values are dropped.
    """
    pairs: list[tuple[str, str]] = []

    def walk(key: str, value: Any, nested: bool) -> None:
        if value is None:
            return
        if isinstance(value, BaseModel):
            value = value.model_dump(exclude_none=True, mode="json")
        if isinstance(value, Mapping):
            for sub_key, sub_value in value.items():
                walk(f"{key}[{sub_key}]", sub_value, True)
        elif isinstance(value, list | tuple | set | frozenset):
            for item in value:
                walk(f"{key}[]" if nested else key, item, nested)
        else:
            pairs.append((key, _scalar(value)))

    for name, value in (params or {}).items():
        walk(name, value, False)
    return pairs


# ------------------------------------------------------------------------------------------ E.164
def validate_e164(phone_number: str, *, field_name: str = "phone_number") -> str:
    """Return ``phone_number`` if it is a possible number in strict E.164, else raise ``ValueError``."""
    if not isinstance(phone_number, str) or not phone_number.startswith("+"):
        raise ValueError(f"{field_name} must be an E.164 number like '+4930123456', got {phone_number!r}")
    try:
        parsed = phonenumbers.parse(phone_number, None)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(f"{field_name} is not an E.164 phone number: {phone_number!r} ({exc})") from None
    formatted = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    if formatted != phone_number or not phonenumbers.is_possible_number(parsed):
        raise ValueError(
            f"{field_name} is not an E.164 phone number: {phone_number!r} "
            f"(expected '+' and digits only, like {formatted!r})"
        )
    return phone_number


def validate_e164_list(phone_numbers: str, *, field_name: str = "phone_number") -> str:
    """Validate a comma-separated list of E.164 numbers (the ``filter[phone_number]`` format)."""
    for number in phone_numbers.split(","):
        validate_e164(number.strip(), field_name=field_name)
    return phone_numbers


# ---------------------------------------------------------------------------------------- redaction
def redact(text: str, secret: str | None) -> str:
    if secret and secret in text:
        text = text.replace(secret, "***")
    return text


# ------------------------------------------------------------------------------------------ parsing
@functools.lru_cache(maxsize=256)
def _adapter(type_: Any) -> TypeAdapter[Any]:
    return TypeAdapter(type_)


def _snippet(response: httpx.Response) -> str:
    text = response.content[:_SNIPPET].decode("utf-8", errors="replace")
    return text + ("..." if len(response.content) > _SNIPPET else "")


def _operation(response: httpx.Response) -> str:
    return f"{response.request.method} {response.request.url.path}"


def decode_json(response: httpx.Response) -> Any:
    """The JSON body of a 2xx response, or ``APIResponseValidationError`` (never a raw JSONDecodeError)."""
    if not response.content.strip():
        raise APIResponseValidationError(
            f"{response.status_code} from {_operation(response)} has an empty body; expected JSON",
            response=response,
            body="",
        )
    try:
        return json.loads(response.content)
    except (ValueError, UnicodeDecodeError):
        raise APIResponseValidationError(
            f"{response.status_code} from {_operation(response)} is not valid JSON "
            f"(content-type {response.headers.get('content-type', 'missing')!r}): {_snippet(response)!r}",
            response=response,
            body=_snippet(response),
        ) from None


def validate_as(response: httpx.Response, type_: Any, payload: Any) -> Any:
    try:
        return _adapter(type_).validate_python(payload)
    except ValidationError as exc:
        raise APIResponseValidationError(
            f"{response.status_code} from {_operation(response)} does not match "
            f"{getattr(type_, '__name__', type_)}: {exc.error_count()} error(s), "
            f"first: {exc.errors()[0]['msg']}",
            response=response,
        ) from None


def parse_response(response: httpx.Response, cast_to: type[R]) -> R:
    """Decode a successful response into ``cast_to`` (a pydantic model, ``list[Model]`` or ``bytes``)."""
    if cast_to is bytes:
        return response.content  # type: ignore[return-value]
    result: R = validate_as(response, cast_to, decode_json(response))
    return result


def parse_page(response: httpx.Response, item_type: type[T]) -> tuple[list[T], PaginationMeta | None]:
    """Decode a ``{"data": [...], "meta": {...}}`` list page."""
    from .models.shared import PaginationMeta

    payload = decode_json(response)
    if not isinstance(payload, dict) or not isinstance(payload.get("data"), list):
        raise APIResponseValidationError(
            f"{response.status_code} from {_operation(response)} is not a list page: {_snippet(response)!r}",
            response=response,
        )
    data: list[T] = validate_as(response, list[item_type], payload["data"])  # type: ignore[valid-type]
    meta = payload.get("meta")
    return data, (validate_as(response, PaginationMeta, meta) if isinstance(meta, dict) else None)


# -------------------------------------------------------------------------------------- error mapping
_STATUS_ERRORS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}


def status_error_class(status: int) -> type[APIStatusError]:
    if status >= 500:
        return InternalServerError
    return _STATUS_ERRORS.get(status, APIStatusError)


def make_status_error(response: httpx.Response, *, secret: str | None = None) -> APIStatusError:
    """Map an error response to its exception; the message renders every Telnyx ``errors[]`` entry."""
    head = f"{response.status_code} {response.reason_phrase or 'Error'} from {_operation(response)}"
    errors: list[ErrorObject] = []
    body: Any = None
    if not response.content.strip():
        detail = "(empty body)"
    else:
        try:
            body = json.loads(response.content)
        except (ValueError, UnicodeDecodeError):
            body = _snippet(response)
            detail = f"(non-JSON body: {body!r})"
        else:
            raw = body.get("errors") if isinstance(body, dict) else None
            if isinstance(raw, list):
                for item in raw:
                    try:
                        errors.append(ErrorObject.model_validate(item))
                    except ValidationError:
                        errors.append(ErrorObject(detail=str(item)[:_SNIPPET]))
            if errors:
                detail = "; ".join(error.render() for error in errors)
            elif isinstance(body, dict) and (body.get("title") or body.get("detail")):  # problem+json
                detail = " - ".join(str(body[key]) for key in ("title", "detail") if body.get(key))
            else:
                detail = f"(unexpected body: {_snippet(response)!r})"
    message = redact(f"{head}: {detail}", secret)
    return status_error_class(response.status_code)(message, response=response, errors=errors, body=body)


#: Transport failures that happen before a single byte of the request reached the server.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


def make_connection_error(exc: httpx.TransportError, request: httpx.Request) -> APIConnectionError:
    sent = not isinstance(exc, _NOT_SENT)
    where = f"{request.method} {request.url.path}"
    kind = type(exc).__name__
    if isinstance(exc, httpx.TimeoutException):
        return APITimeoutError(f"{kind}: {where} timed out", request=request, sent=sent)
    return APIConnectionError(f"{kind}: {where} failed: {exc}", request=request, sent=sent)


def _window_spent(response: httpx.Response | None) -> bool:
    """A 429 whose ``x-ratelimit-*`` headers say the account's window is spent (it tells when it resets)."""
    from ._rate_limit import RateLimitHeaders

    if response is None or response.status_code != 429:
        return False
    quota = RateLimitHeaders.parse(response.headers)
    return quota is not None and quota.remaining == 0


# --------------------------------------------------------------------------------------- retry rules
class Verdict(enum.Enum):
    RETRY = "retry"
    AMBIGUOUS = (
        "ambiguous"  # a non-idempotent write that may have been applied: look it up, never replay blindly
    )
    FATAL = "fatal"


class RetryRequest(Exception):
    """Raised inside a retry attempt to ask for another one; carries the error the attempt failed with.

    Only the retry loop sees it: once the attempts run out, the client raises :attr:`error` instead."""

    def __init__(self, error: APIError) -> None:
        super().__init__(error)
        self._error = error

    @property
    def error(self) -> APIError:
        return self._error


def attempt_error(retry_state: Any) -> BaseException | None:
    """The error the attempt behind ``retry_state`` failed with (unwrapped from :class:`RetryRequest`)."""
    error = retry_state.outcome.exception() if retry_state.outcome else None
    return error.error if isinstance(error, RetryRequest) else error


def retry_verdict(error: APIError, *, idempotent: bool) -> Verdict:
    """Whether to send a failed request again: only after a transient failure (:func:`is_transient`), and a
    non-idempotent one only when it provably was not applied (``408``, ``429``, not sent); ``409`` is
    retried for idempotent requests only (a concurrent change they may override)."""
    if isinstance(error, APIStatusError) and error.status_code == 409:
        return Verdict.RETRY if idempotent else Verdict.FATAL
    if not is_transient(error):
        return Verdict.FATAL
    if idempotent:
        return Verdict.RETRY
    if isinstance(error, APIStatusError):
        return Verdict.RETRY if error.status_code in (408, 429) else Verdict.AMBIGUOUS
    if isinstance(error, APIConnectionError) and not error.sent:
        return Verdict.RETRY
    return Verdict.AMBIGUOUS


def mark_outcome_unknown(error: APIError) -> APIError:
    error.outcome_unknown = True
    error.message += (
        " The outcome of this request is unknown (it may have been applied); it was not replayed"
        " because it is not idempotent. Look the resource up (e.g. by customer_reference) before retrying."
    )
    error.args = (error.message,)
    return error


def parse_retry_after(value: str | None, *, cap: float, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP date), within [MIN, cap]."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if math.isnan(seconds):
        return None
    return min(max(seconds, MIN_RETRY_AFTER), cap)


def backoff_wait(attempt: int, *, cap: float) -> float:
    """Exponential backoff with full jitter for ``attempt`` (1-based)."""
    return random.uniform(0, min(cap, BACKOFF_BASE * 2 ** max(attempt - 1, 0)))


# ------------------------------------------------------------------------------------- shared client
class InsecureTransportError(ValueError):
    """The base URL would send the API key in clear text over the network."""


def is_loopback_host(host: str | None) -> bool:
    """True for ``localhost`` and loopback addresses: a key sent there never leaves the machine."""
    if not host:
        return False
    if host.lower() == "localhost" or host.lower().endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_transport(base_url: str, *, allow_insecure_http: bool = False) -> None:
    """Refuse a base URL that is not http(s), or plain ``http://`` to a host other than this machine (the
    key would cross the network in clear) unless ``allow_insecure_http`` says so on purpose."""
    parts = urlsplit(base_url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ValueError(f"base_url must be an http(s) URL with a host, got {redact_url(base_url)}")
    if parts.scheme == "http" and not is_loopback_host(parts.hostname) and not allow_insecure_http:
        raise InsecureTransportError(
            f"refusing to send the API key over plain http to {parts.hostname}: use https://, or set "
            "TELNYX_ALLOW_INSECURE_HTTP=1 for a test server on a private network"
        )


class BaseTelnyx:
    """Configuration and pure helpers common to ``AsyncTelnyx`` and ``Telnyx``."""

    def __init__(
        self,
        api_key: str | None,
        *,
        base_url: str | None,
        timeout: float,
        max_retries: int,
        retry_max_wait: float,
        retry_total_timeout: float,
        rate_limiter: RateLimiter | None,
        allow_insecure_http: bool = False,
    ) -> None:
        key = api_key if api_key is not None else os.environ.get("TELNYX_API_KEY")
        if not key:
            raise MissingAPIKeyError(
                "No Telnyx API key: pass api_key=... or set the TELNYX_API_KEY environment variable."
            )
        if max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        self._api_key = SecretStr(key)
        self.base_url = (base_url or os.environ.get("TELNYX_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")
        check_transport(self.base_url, allow_insecure_http=allow_insecure_http)
        self.timeout = timeout
        self.max_retries = max_retries
        self.retry_max_wait = retry_max_wait
        self.retry_total_timeout = retry_total_timeout
        self.rate_limiter = rate_limiter
        self.stats = ClientStats()

    def __repr__(self) -> str:
        name = type(self).__name__
        return f"{name}(base_url={self.base_url!r}, api_key='***', max_retries={self.max_retries})"

    def _build_request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        files: Mapping[str, Any] | None = None,
        data: Mapping[str, Any] | None = None,
    ) -> httpx.Request:
        headers = {
            "Authorization": f"Bearer {self._api_key.get_secret_value()}",
            "Accept": "application/json",
            "User-Agent": "telnyx-compliance/0.1",
        }
        query: list[tuple[str, str | int | float | bool | None]] = [*build_query(params)]
        return httpx.Request(
            method,
            self.base_url + path,
            params=query or None,
            json=json,
            files=files,
            data=data,
            headers=headers,
            extensions={"timeout": httpx.Timeout(self.timeout).as_dict()},
        )

    def _observe(self, reservation: Reservation | None, response: httpx.Response | None) -> None:
        """Tell the limiter what the server said of its rate limit (or that no answer came)."""
        if self.rate_limiter is not None:
            if response is None:
                self.rate_limiter.observe(reservation, None, None)
            else:
                self.rate_limiter.observe(reservation, response.headers, response.status_code)

    def _check_response(self, response: httpx.Response) -> None:
        """Record the status and raise the mapped error for a 4xx/5xx.

        A 429 whose ``x-ratelimit-*`` headers say the window is spent is paced by the limiter, which now
        knows when the window resets; any other 429 pauses every caller for its ``Retry-After``.
        """
        self.stats.record_status(response.status_code)
        if response.is_success:
            return
        if response.status_code == 429 and self.rate_limiter is not None and not _window_spent(response):
            pause = parse_retry_after(response.headers.get("retry-after"), cap=self.retry_max_wait)
            if pause is not None:
                self.rate_limiter.pause(pause)
        raise make_status_error(response, secret=self._api_key.get_secret_value())

    def _connection_error(self, exc: httpx.TransportError, request: httpx.Request) -> APIConnectionError:
        self.stats.record_connection_error()
        error = make_connection_error(exc, request)
        error.message = redact(error.message, self._api_key.get_secret_value())
        error.args = (error.message,)
        return error

    # tenacity configuration, identical for AsyncRetrying and Retrying
    def _retry_wait(self, retry_state: Any) -> float:
        error = attempt_error(retry_state)
        wait: float | None = None
        if (
            isinstance(error, RateLimitError)
            and self.rate_limiter is not None
            and _window_spent(error.response)
        ):
            wait = MIN_RETRY_AFTER  # the shared limiter holds the retry until the window resets
        elif isinstance(error, APIStatusError):
            wait = parse_retry_after(error.headers.get("retry-after"), cap=self.retry_max_wait)
        if wait is None:
            wait = backoff_wait(retry_state.attempt_number, cap=self.retry_max_wait)
        remaining = self.retry_total_timeout - float(retry_state.seconds_since_start or 0.0)
        return max(0.0, min(wait, remaining))

    def _log_retry(self, retry_state: Any, method: str, path: str) -> None:
        self.stats.record_retry()
        error = attempt_error(retry_state)
        status = getattr(error, "status_code", None)
        reason = f"status {status}" if status is not None else type(error).__name__
        wait = retry_state.next_action.sleep if retry_state.next_action else 0.0
        logger.warning(
            "Retrying %s %s (attempt %d of %d) in %.2fs after %s",
            method,
            path,
            retry_state.attempt_number + 1,
            self.max_retries + 1,
            wait,
            reason,
        )


Caster = Callable[[httpx.Response], R]


def caster(cast_to: type[R]) -> Callable[[httpx.Response], R]:
    return functools.partial(parse_response, cast_to=cast_to)


def first_match(items: Sequence[T], customer_reference: str) -> T | None:
    """The first item whose ``customer_reference`` is exactly ``customer_reference`` (filters ignore case)."""
    for item in items:
        if getattr(item, "customer_reference", None) == customer_reference:
            return item
    return None


def request_body(model: type[BaseModel], **fields: Any) -> dict[str, Any]:
    """Validate keyword arguments against a request model and return the JSON body (``None`` dropped)."""
    given = {name: value for name, value in fields.items() if value is not None}
    body: dict[str, Any] = model.model_validate(given).model_dump(exclude_none=True, mode="json")
    return body
