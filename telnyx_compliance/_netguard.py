"""Fetching a URL someone else typed: only public hosts, every redirect re-checked, one deadline, no leaks.

A bulk CSV (or a document) given as a URL comes from whoever can start a run, so fetching it is a classic
server-side request forgery hole: ``http://169.254.169.254/`` (cloud metadata), ``http://localhost:4200/api``
(the Prefect server holding the API key in a Secret block), or a public URL that redirects to one of those.
The rules here:

* only ``http``/``https``;
* the host must resolve to public addresses only. Loopback, private (RFC 1918, unique-local), link-local,
  multicast, reserved, unspecified and other special-purpose addresses (IANA's registries: CGNAT,
  documentation, benchmarking, 192.0.0.0/24, NAT64, 6to4, Teredo...) are refused, and so is an IPv6 address
  that carries such an IPv4 address, unless the caller allows private targets (the tests and the sandbox
  serve on loopback; ``COMPLIANCE_ALLOW_PRIVATE_URLS=1`` allows them for a deployment that fetches from an
  intranet share on purpose);
* redirects are followed by hand (at most :data:`MAX_REDIRECTS`) and each hop is checked again;
* one deadline covers the whole download, not each read, and a size cap stops an endless body;
* a partial download never survives a failure;
* messages name the URL through :func:`redact_url`: no ``user:pass@``, no query string (pre-signed URLs carry
  their credential there).

The check resolves the host and the connection resolves it again, so a DNS server that answers differently
within milliseconds (DNS rebinding) is not stopped here; a deployment that fears it fetches through an
egress proxy.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import socket
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Final
from urllib.parse import urljoin, urlsplit

import httpx

__all__ = [
    "ALLOW_PRIVATE_ENV",
    "MAX_REDIRECTS",
    "FetchError",
    "allow_private_from_env",
    "check_url",
    "download",
    "fetch_bytes",
    "is_public_address",
    "redact_url",
]

#: Environment variable that lets a deployment fetch from private and loopback hosts.
ALLOW_PRIVATE_ENV = "COMPLIANCE_ALLOW_PRIVATE_URLS"
#: Redirect hops followed before giving up.
MAX_REDIRECTS = 5
_REDIRECTS = {301, 302, 303, 307, 308}
#: Longest single read: a body that trickles in overruns the deadline by at most this much.
_READ_TIMEOUT = 10.0


class FetchError(ValueError):
    """The URL was refused or could not be fetched. The message names it redacted."""


def allow_private_from_env() -> bool:
    return os.environ.get(ALLOW_PRIVATE_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


def redact_url(url: str) -> str:
    """``url`` without credentials: ``https://user:pw@host/p?sig=…`` becomes ``https://host/p?...``."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return "<malformed URL>"
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{port}" if port else host
    return f"{parts.scheme}://{netloc}{parts.path}" + ("?..." if parts.query else "")


#: Special-purpose IPv4 ranges that are not public hosts (IANA's IPv4 special-purpose registry, multicast).
_NOT_PUBLIC_V4: Final = tuple(
    ipaddress.IPv4Network(block)
    for block in (
        "0.0.0.0/8",  # "this network"
        "10.0.0.0/8",
        "100.64.0.0/10",  # shared address space (carrier-grade NAT)
        "127.0.0.0/8",
        "169.254.0.0/16",  # link-local: cloud metadata lives here
        "172.16.0.0/12",
        "192.0.0.0/24",  # IETF protocol assignments
        "192.0.2.0/24",  # documentation
        "192.88.99.0/24",  # 6to4 relay anycast (deprecated)
        "192.168.0.0/16",
        "198.18.0.0/15",  # benchmarking
        "198.51.100.0/24",  # documentation
        "203.0.113.0/24",  # documentation
        "224.0.0.0/4",  # multicast
        "240.0.0.0/4",  # reserved, 255.255.255.255 included
    )
)
#: Special-purpose IPv6 ranges that are not public hosts (IANA's IPv6 special-purpose registry, multicast).
_NOT_PUBLIC_V6: Final = tuple(
    ipaddress.IPv6Network(block)
    for block in (
        "::/96",  # unspecified, loopback and IPv4-compatible (::a.b.c.d)
        "::ffff:0:0/96",  # IPv4-mapped
        "64:ff9b::/96",  # NAT64 well-known prefix
        "64:ff9b:1::/48",  # local-use NAT64
        "100::/64",  # discard-only
        "2001::/23",  # IETF protocol assignments, Teredo (2001::/32) included
        "2001:db8::/32",  # documentation
        "2002::/16",  # 6to4
        "3fff::/20",  # documentation
        "5f00::/16",  # segment routing SIDs
        "fc00::/7",  # unique-local
        "fe80::/10",  # link-local
        "fec0::/10",  # site-local (deprecated)
        "ff00::/8",  # multicast
    )
)


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address carries (mapped, compatible, 6to4, Teredo, NAT64): a gateway may
    deliver to them."""
    found: list[ipaddress.IPv4Address] = []
    if ip.ipv4_mapped is not None:
        found.append(ip.ipv4_mapped)
    if ip.sixtofour is not None:
        found.append(ip.sixtofour)
    if ip.teredo is not None:
        found.extend(ip.teredo)
    low32 = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip in ipaddress.IPv6Network("::/96") or ip in ipaddress.IPv6Network("64:ff9b::/96"):
        found.append(low32)  # IPv4-compatible, NAT64 well-known prefix
    return found


def is_public_address(address: str) -> bool:
    """``address`` (an IP literal, optionally with ``%zone``) is a public unicast host: not loopback, private,
    link-local, multicast, reserved, documentation, shared (CGNAT) or another special-purpose range, and an
    IPv6 address carries no IPv4 address that is one. Checked against explicit lists: Python's
    ``is_global`` has changed between versions, so it only ever refuses more."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        if any(not is_public_address(str(embedded)) for embedded in _embedded_ipv4(ip)):
            return False
        blocked: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = _NOT_PUBLIC_V6
    else:
        blocked = _NOT_PUBLIC_V4
    if any(ip in network for network in blocked):
        return False
    return ip.is_global and not ip.is_multicast


def check_url(url: str, *, allow_private: bool) -> None:
    """Raise :class:`FetchError` unless ``url`` is http(s) to a host that resolves to allowed addresses."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise FetchError(f"{redact_url(url)}: not a valid URL") from None
    if parts.scheme not in {"http", "https"}:
        raise FetchError(f"{redact_url(url)}: only http(s) URLs are fetched")
    if not host:
        raise FetchError(f"{redact_url(url)}: the URL names no host")
    if allow_private:
        return
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise FetchError(f"{redact_url(url)}: the host does not resolve") from None
    blocked = sorted({str(info[4][0]) for info in infos if not is_public_address(str(info[4][0]))})
    if blocked:
        raise FetchError(
            f"{redact_url(url)}: refused, the host resolves to a private, loopback, link-local or "
            f"special-purpose address ({', '.join(blocked)}); set {ALLOW_PRIVATE_ENV}=1 to allow such hosts "
            "on purpose"
        )


def _next_hop(url: str, response: httpx.Response, hops: int) -> str:
    location = response.headers.get("location")
    if not location:
        raise FetchError(f"{redact_url(url)}: a redirect without a Location header")
    if hops >= MAX_REDIRECTS:
        raise FetchError(f"{redact_url(url)}: more than {MAX_REDIRECTS} redirects")
    return str(urljoin(url, location))


def _deadline_left(url: str, deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise FetchError(f"{redact_url(url)}: the download took longer than allowed")
    return left


def _status_error(url: str, response: httpx.Response) -> FetchError:
    return FetchError(f"{redact_url(url)}: could not fetch it (HTTP {response.status_code})")


@contextmanager
def _sync_stream(
    url: str, *, allow_private: bool, deadline: float, transport: httpx.BaseTransport | None
) -> Iterator[tuple[str, httpx.Response]]:
    hops = 0
    with httpx.Client(follow_redirects=False, trust_env=False, transport=transport) as client:
        while True:
            check_url(url, allow_private=allow_private)
            left = _deadline_left(url, deadline)
            with client.stream("GET", url, timeout=httpx.Timeout(min(left, _READ_TIMEOUT))) as response:
                if response.status_code in _REDIRECTS:
                    url, hops = _next_hop(url, response, hops), hops + 1
                    continue
                if response.status_code >= 400:
                    raise _status_error(url, response)
                yield url, response
                return


def download(
    url: str,
    target: Path,
    *,
    max_bytes: int,
    time_limit: float,
    allow_private: bool,
    transport: httpx.BaseTransport | None = None,
) -> Path:
    """Save ``url``'s body as ``target`` (atomically, via a new ``.NAME.*.part`` beside it, only this user's);
    nothing is left on failure.

    ``transport`` replaces the network (tests); the host checks apply all the same."""
    deadline = time.monotonic() + time_limit
    partial: Path | None = None
    done = False
    try:
        with _sync_stream(url, allow_private=allow_private, deadline=deadline, transport=transport) as (
            final,
            response,
        ):
            size = 0
            # A new file (O_EXCL, mode 0600): a symlink planted at a predictable name cannot redirect it.
            descriptor, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
            partial = Path(name)
            with os.fdopen(descriptor, "wb") as handle:
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > max_bytes:
                        raise FetchError(f"{redact_url(final)}: larger than {max_bytes} bytes")
                    _deadline_left(final, deadline)
                    handle.write(chunk)
        os.replace(partial, target)  # replaces a symlink at target itself, never what it points to
        done = True
        return target
    except (httpx.HTTPError, httpx.InvalidURL) as error:
        # httpx's own messages repeat the full URL, query string (a pre-signed credential) included.
        raise FetchError(f"{redact_url(url)}: could not fetch it ({type(error).__name__})") from None
    finally:
        if not done and partial is not None:
            partial.unlink(missing_ok=True)


@asynccontextmanager
async def _async_stream(
    url: str, *, allow_private: bool, deadline: float, transport: httpx.AsyncBaseTransport | None
) -> AsyncIterator[tuple[str, httpx.Response]]:
    hops = 0
    async with httpx.AsyncClient(follow_redirects=False, trust_env=False, transport=transport) as client:
        while True:
            await asyncio.to_thread(check_url, url, allow_private=allow_private)  # DNS: off the event loop
            left = _deadline_left(url, deadline)
            async with client.stream("GET", url, timeout=httpx.Timeout(min(left, _READ_TIMEOUT))) as response:
                if response.status_code in _REDIRECTS:
                    url, hops = _next_hop(url, response, hops), hops + 1
                    continue
                if response.status_code >= 400:
                    raise _status_error(url, response)
                yield url, response
                return


async def fetch_bytes(
    url: str,
    *,
    max_bytes: int,
    time_limit: float,
    allow_private: bool,
    transport: httpx.AsyncBaseTransport | None = None,
) -> tuple[bytes, str | None]:
    """``url``'s body and declared content type, under the same rules as :func:`download`."""
    deadline = time.monotonic() + time_limit
    try:
        async with _async_stream(
            url, allow_private=allow_private, deadline=deadline, transport=transport
        ) as (final, response):
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > max_bytes:
                    raise FetchError(f"{redact_url(final)}: larger than {max_bytes} bytes")
                _deadline_left(final, deadline)
                chunks.append(chunk)
            declared = response.headers.get("content-type", "").split(";")[0].strip() or None
            return b"".join(chunks), declared
    except (httpx.HTTPError, httpx.InvalidURL) as error:
        raise FetchError(f"{redact_url(url)}: could not fetch it ({type(error).__name__})") from None
