"""Safe by default: who may reach the sandbox, how big a request may be, which text it may carry.

* :func:`check_exposure`: a sandbox listening beyond loopback must have API keys (its ``/_sandbox`` routes
  can reset, reconfigure and read everything);
* :func:`key_accepted`: a Bearer key against the configured ones, in constant time;
* :class:`HostAllowList` and :func:`allowed_hosts`: on loopback, a ``Host`` header naming anything but this
  machine (or a configured name) gets a 421, so a web page whose name rebinds to 127.0.0.1 cannot drive the
  sandbox from a browser;
* :class:`BodyLimit`: an ASGI wrapper answering 413 (Telnyx error format) to a body over the limit, from its
  ``Content-Length`` or, for a chunked body, as soon as the bytes read pass the limit; the app only ever sees
  a body within the limit;
* :func:`parse_json_text` and :func:`check_text`: JSON that Python would accept but that is not valid
  interchange data (lone UTF-16 surrogates, ``NaN``/``Infinity``, numbers beyond a double, nesting deeper than
  :data:`MAX_JSON_DEPTH`) is refused with a 422 pointing at the value, before any route sees it;
* :class:`SafeJSONResponse`: even a string that slipped through renders as JSON instead of a 500.
"""

from __future__ import annotations

import contextlib
import hmac
import ipaddress
import json
import math
import re
import socket
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .config import SandboxConfig, normal_host
from .errors import SandboxError, error, error_body

#: JSON nested deeper than this is refused (the spec's bodies are at most four levels deep).
MAX_JSON_DEPTH = 32

#: The names a client on this machine reaches a loopback sandbox by; a rebinding page's name is none of them.
LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1"})

#: A Host header: a name or address, or a bracketed IPv6 address, then an optional port.
_HOST_HEADER = re.compile(r"(\[[^\]]*\]|[^:\[\]]*)(?::\d{1,5})?")


class ExposureError(ValueError):
    """The sandbox would listen beyond loopback without API keys."""


def is_loopback_host(host: str) -> bool:
    """True when ``host`` (an address or a name) reaches this machine's loopback interface only."""
    name = host.strip().strip("[]").rstrip(".").lower()
    if not name:
        return False  # "" binds every interface
    if name == "localhost" or name.endswith(".localhost"):
        return True  # RFC 6761: always loopback
    try:
        return _loopback_address(name)
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(name, None, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return False
    addresses = {str(info[4][0]) for info in infos}
    return bool(addresses) and all(_loopback_address(address) for address in addresses)


def _loopback_address(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback


def check_exposure(config: SandboxConfig, host: str) -> None:
    """Raise :class:`ExposureError` when ``host`` is not loopback and no API key is configured."""
    if config.api_keys or is_loopback_host(host):
        return
    raise ExposureError(
        f"refusing to listen on {host or 'every interface'} without an API key: anyone who can reach it "
        "could read, reset and reconfigure the sandbox. Pass --api-key KEY (or set SANDBOX_API_KEYS), "
        "or listen on 127.0.0.1."
    )


def key_accepted(key: str, keys: Iterable[str]) -> bool:
    """Whether ``key`` is one of ``keys``; every key is compared, in constant time."""
    given = key.encode("utf-8", "surrogatepass")
    found = False
    for accepted in keys:
        found |= hmac.compare_digest(given, accepted.encode("utf-8", "surrogatepass"))
    return found


# -- the Host header ---------------------------------------------------------------------------------------


def allowed_hosts(
    config: SandboxConfig, host: str | None = None, root_url: str | None = None
) -> frozenset[str] | None:
    """The names a request's ``Host`` may carry, or None when any may.

    ``LOOPBACK_NAMES``, ``config.allowed_hosts``, the hosts of ``config.public_base_url`` and ``root_url``,
    and the interface ``host`` itself. None (no check) only beyond loopback with API keys and no
    ``allowed_hosts``: the key guards it there (a page cannot make a browser send it). An unknown interface
    (``host`` None: an app served by another server) is checked, as loopback is.
    """
    if not config.allowed_hosts and config.api_keys and host is not None and not is_loopback_host(host):
        return None
    names = set(LOOPBACK_NAMES) | set(config.allowed_hosts)
    urls = (url for url in (config.public_base_url, root_url) if url)
    for name in (*(urlsplit(url).hostname for url in urls), host):
        with contextlib.suppress(ValueError):  # a name normal_host cannot read: nothing to add
            known = normal_host(name or "")
            if not _unspecified(known):  # 0.0.0.0 is no name a client should use
                names.add(known)
    return frozenset(names)


def host_of(header: str) -> str | None:
    """The host a ``Host`` header names (lower case, IPv6 without brackets, no port); None when malformed."""
    match = _HOST_HEADER.fullmatch(header.strip())
    if match is None:
        return None
    try:
        return normal_host(match.group(1))
    except ValueError:
        return None


def _unspecified(name: str) -> bool:
    try:
        return ipaddress.ip_address(name).is_unspecified
    except ValueError:
        return False


class HostAllowList:
    """ASGI wrapper: a request whose ``Host`` names none of ``allowed`` gets a 421 and never reaches the app.

    A request without ``Host`` passes: browsers always send one, and the guard is against browsers (an
    HTTP/1.0 client or a raw ASGI caller may leave it out).
    """

    def __init__(self, app: ASGIApp, *, allowed: frozenset[str]) -> None:
        self.app = app
        self.allowed = allowed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            for name, value in scope.get("headers", []):
                if name.lower() == b"host" and host_of(value.decode("latin-1")) not in self.allowed:
                    await _reply(send, 421, _misdirected(value.decode("latin-1")))
                    return
        await self.app(scope, receive, send)


def _misdirected(header: str) -> str:
    shown = header if len(header) <= 100 else header[:100] + "..."
    return (
        f"This sandbox does not answer to the host {shown!r} (a guard against DNS rebinding): use 127.0.0.1, "
        "localhost or [::1], or start it with that name in SANDBOX_ALLOWED_HOSTS or SANDBOX_PUBLIC_BASE_URL."
    )


# -- request bodies --------------------------------------------------------------------------------------


class BodyLimit:
    """ASGI wrapper: a request body larger than ``limit()`` bytes gets a 413 and never reaches the app.

    The body is read (up to the limit) before the app runs and handed to it in one message, so the check
    covers chunked bodies as well as declared ones; a declared ``Content-Length`` over the limit is refused
    before a byte of the body is read.
    """

    def __init__(self, app: ASGIApp, *, limit: Callable[[], int]) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit()
        declared = _content_length(scope)
        if declared == -1:
            await _reply(send, 400, "The Content-Length header is not a number.")
            return
        if declared is not None and declared > limit:
            await _reply(send, 413, _too_large(limit))
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away before sending its whole body
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await _reply(send, 413, _too_large(limit))
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        pending: list[Message] = [{"type": "http.request", "body": b"".join(chunks), "more_body": False}]

        async def replay() -> Message:
            if pending:
                return pending.pop()
            return await receive()

        await self.app(scope, replay, send)


def _content_length(scope: Scope) -> int | None:
    """The declared length; None when absent, -1 when it is not a number."""
    for name, value in scope.get("headers", []):
        if name.lower() == b"content-length":
            try:
                length = int(value)
            except ValueError:
                return -1
            return length if length >= 0 else -1
    return None


def _too_large(limit: int) -> str:
    return f"The request body is larger than the {limit} bytes this sandbox accepts."


async def _reply(send: Send, status: int, detail: str) -> None:
    body = json.dumps(error_body(status, detail)).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


# -- text --------------------------------------------------------------------------------------------------


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is out of range")
    return value


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_json_text(raw: bytes) -> Any:
    """Strict JSON: UTF-8, no ``NaN``/``Infinity``, finite numbers, text only; else ``SandboxError`` (422)."""
    try:
        data = json.loads(raw, parse_float=_finite_float, parse_constant=_no_constant)
    except (ValueError, RecursionError):  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise error(422, "The request body is not valid JSON.", pointer="/") from None
    check_text(data)
    return data


def has_surrogate(text: str) -> bool:
    """Whether ``text`` holds a lone UTF-16 surrogate (``"\\udc80"`` in JSON): not encodable as UTF-8."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _invalid_text(pointer: str) -> SandboxError:
    return error(
        422,
        "The value holds a lone UTF-16 surrogate (an unpaired \\ud800-\\udfff escape), which is not text.",
        pointer=pointer or "/",
    )


def _escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def check_text(data: Any) -> None:
    """Refuse decoded JSON holding a lone surrogate (in a key or a value) or nested too deeply."""
    stack: list[tuple[Any, str, int]] = [(data, "", 0)]
    while stack:
        value, pointer, depth = stack.pop()
        if isinstance(value, str):
            if has_surrogate(value):
                raise _invalid_text(pointer)
            continue
        if not isinstance(value, dict | list):
            continue
        if depth >= MAX_JSON_DEPTH:
            raise error(422, f"The request body is nested deeper than {MAX_JSON_DEPTH} levels.", pointer="/")
        if isinstance(value, dict):
            for key, item in value.items():
                if has_surrogate(key):
                    raise _invalid_text(pointer)
                stack.append((item, f"{pointer}/{_escape(key)}", depth + 1))
        else:
            stack.extend((item, f"{pointer}/{index}", depth + 1) for index, item in enumerate(value))


def check_parameters(path_params: dict[str, Any], query: Iterable[tuple[str, str]]) -> None:
    """Refuse path and query parameters that are not text (raw ASGI clients can send surrogates)."""
    for name, value in path_params.items():
        if isinstance(value, str) and has_surrogate(value):
            raise _invalid_text(f"/{name}")
    for name, value in query:
        if has_surrogate(name) or has_surrogate(value):
            raise error(
                422,
                "A query parameter holds a lone UTF-16 surrogate, which is not text.",
                parameter=name.encode("utf-8", "backslashreplace").decode("utf-8"),
            )


class SafeJSONResponse(JSONResponse):
    """Starlette's JSON response, except that a lone surrogate renders as its ``\\uXXXX`` escape: no 500."""

    def render(self, content: Any) -> bytes:
        return json.dumps(
            content, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")
        ).encode("utf-8", "backslashreplace")
