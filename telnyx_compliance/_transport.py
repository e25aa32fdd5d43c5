"""The HTTP transport under the client: httpx's interface, aiohttp's connection pool.

``httpx.AsyncClient(transport=AiohttpTransport(max_connections=n))`` keeps everything the client is written
against (``httpx.Request``/``Response``, its timeouts, its exception types) and sends through aiohttp,
whose pool hands a request an idle connection in constant time. httpcore's pool scans every connection
for every request (``has_expired`` makes a ``getpeername`` and a ``poll`` per connection), which made
the pool the largest single cost of a bulk run: encode/httpcore#1035. ``docs/benchmarks.md`` has the
per-call figures of each transport measured side by side (``python -m bench --cases transports``).

The exception mapping is the part that matters for safety. The client replays a POST without looking
first only when the request provably never reached the server (``httpx.ConnectError``,
``ConnectTimeout``, ``PoolTimeout``; see ``_base_client``). So only aiohttp's errors raised *before* a
byte was written map to those: failing to connect (``ClientConnectorError``) and timing out while
waiting for a connection (``ConnectionTimeoutError``). Everything after that, a server that closes the
connection mid-answer included (``ServerDisconnectedError``), maps to an error whose outcome is unknown
(``RemoteProtocolError``, ``ReadError``, ``ReadTimeout``), so the client looks for what the request may
have created before it sends it again. (httpx-aiohttp maps every ``ClientConnectionError``, disconnects
included, to ``ConnectTimeout``: a lost answer would read as "never sent" and a POST would be replayed.)
"""

from __future__ import annotations

from types import TracebackType

import aiohttp
import httpx

__all__ = ["TRANSPORTS", "AiohttpTransport", "AsyncTransports", "Transports"]


class AiohttpTransport(httpx.AsyncBaseTransport):
    """An ``httpx`` transport over one ``aiohttp.ClientSession`` of at most ``max_connections``."""

    def __init__(self, *, max_connections: int = 100, keepalive_expiry: float = 5.0) -> None:
        if max_connections < 1:
            raise ValueError("max_connections must be at least 1")
        self.max_connections = max_connections
        self.keepalive_expiry = keepalive_expiry
        self._session: aiohttp.ClientSession | None = None

    def _session_for_this_loop(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(
                limit=self.max_connections,
                limit_per_host=0,
                keepalive_timeout=self.keepalive_expiry,
                ttl_dns_cache=300,
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                cookie_jar=aiohttp.DummyCookieJar(),  # httpx keeps none for us either
                auto_decompress=False,  # httpx decodes the body by its headers
                timeout=aiohttp.ClientTimeout(total=None),
            )
        return self._session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        timeouts = request.extensions.get("timeout", {})
        timeout = aiohttp.ClientTimeout(
            total=None,
            connect=timeouts.get("pool"),  # aiohttp's "connect" is the wait for a pooled connection
            sock_connect=timeouts.get("connect"),
            sock_read=timeouts.get("read"),
        )
        body = await request.aread()
        headers = [(name.decode("latin-1"), value.decode("latin-1")) for name, value in request.headers.raw]
        session = self._session_for_this_loop()
        try:
            async with session.request(
                request.method,
                str(request.url),
                headers=headers,
                data=body or None,
                timeout=timeout,
                allow_redirects=False,
                skip_auto_headers=("User-Agent", "Accept-Encoding", "Content-Type"),
            ) as answer:
                content = await answer.read()
                return httpx.Response(
                    answer.status,
                    headers=[(k.decode("latin-1"), v.decode("latin-1")) for k, v in answer.raw_headers],
                    content=content,
                    request=request,
                    extensions={"http_version": b"HTTP/1.1"},
                )
        except aiohttp.ConnectionTimeoutError as exc:  # no connection in time: nothing was sent
            raise httpx.ConnectTimeout(
                str(exc) or "timed out waiting for a connection", request=request
            ) from exc
        except aiohttp.ClientConnectorError as exc:  # could not connect: nothing was sent
            raise httpx.ConnectError(str(exc), request=request) from exc
        except (TimeoutError, aiohttp.SocketTimeoutError) as exc:  # sent, no answer in time
            raise httpx.ReadTimeout(str(exc) or "timed out reading the answer", request=request) from exc
        except aiohttp.ServerDisconnectedError as exc:  # sent, the connection closed before the answer
            raise httpx.RemoteProtocolError(str(exc) or "server disconnected", request=request) from exc
        except aiohttp.ClientPayloadError as exc:
            raise httpx.RemoteProtocolError(str(exc), request=request) from exc
        except aiohttp.ClientError as exc:  # any other failure: the outcome is unknown
            raise httpx.ReadError(str(exc) or type(exc).__name__, request=request) from exc

    async def aclose(self) -> None:
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc_value: BaseException | None = None,
        traceback: TracebackType | None = None,
    ) -> None:
        await self.aclose()


TRANSPORTS = ("aiohttp", "httpx")


def _limits(max_connections: int) -> httpx.Limits:
    return httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)


def _check(name: str) -> None:
    if name not in TRANSPORTS:
        raise ValueError(f"unknown HTTP transport {name!r}: expected one of {', '.join(TRANSPORTS)}")


class AsyncTransports:
    """The async client's transports (``scripts/unasync.py`` turns the name into ``Transports``)."""

    @staticmethod
    def build(name: str, *, max_connections: int) -> httpx.AsyncBaseTransport:
        """``aiohttp`` (the default) or ``httpx`` (httpcore's pool), at most ``max_connections`` open."""
        _check(name)
        if name == "aiohttp":
            return AiohttpTransport(max_connections=max_connections)
        return httpx.AsyncHTTPTransport(limits=_limits(max_connections))


class Transports:
    """The sync client's: httpcore's pool whatever the name (aiohttp has no blocking client)."""

    @staticmethod
    def build(name: str, *, max_connections: int) -> httpx.BaseTransport:
        _check(name)
        return httpx.HTTPTransport(limits=_limits(max_connections))
